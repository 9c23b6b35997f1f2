/**
 * AlterConfigs (33), v0-2.
 *
 * Behavior: for a TOPIC resource the request's configs replace the topic's whole set of overrides
 * (a key left out goes back to its default), as Kafka's legacy AlterConfigs does. Every key and value
 * is checked by validateTopicConfigs (INVALID_CONFIG for unknown keys or bad values); a null value is
 * INVALID_REQUEST ("Null value not supported for : key"), a key given twice INVALID_REQUEST, an
 * unknown topic UNKNOWN_TOPIC_OR_PARTITION. validateOnly checks everything and changes nothing.
 * Changes are persisted (franz-topics.json) and applied to the open logs at once.
 * BROKER resources are refused with INVALID_REQUEST: franz does not support dynamic broker configs
 * (broker configs come from server.properties, FRANZ_* variables and --set, read at start-up).
 * A resource named twice is INVALID_REQUEST for each occurrence; other types are INVALID_REQUEST.
 * Version notes: v1 is v0 with throttling semantics; v2 is flexible.
 */
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/33-alter-configs.js';
import type { DecodedRequest, Elem } from '../protocol/schema.js';
import { alterAll, alterTarget, applyTopicOverrides, type AlterResult, type ConfigServices } from './config-resources.js';
import { defineHandler } from './registry.js';

type Resource = Elem<DecodedRequest<typeof spec>['resources']>;

function alterOne(services: ConfigServices, r: Resource, validateOnly: boolean): AlterResult {
  const target = alterTarget(services, r, { allowEmptyBrokerName: false });
  if (!('overrides' in target)) return target;
  const next: Record<string, string> = {};
  const nulls: string[] = [];
  for (const c of r.configs) {
    if (c.value === null) nulls.push(c.name);
    else next[c.name] = c.value;
  }
  if (nulls.length > 0) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Null value not supported for : ${nulls.join(', ')}` };
  return applyTopicOverrides(services, r.resourceName, next, validateOnly);
}

export const alterConfigs = defineHandler(spec, {
  versions: [0, 2],
  handle(ctx, req) {
    return alterAll(ctx, req.resources, req.validateOnly, alterOne);
  },
});
