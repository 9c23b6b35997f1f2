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
import { ALTER_OK, alterTarget, applyTopicOverrides, duplicateResources, type AlterResource, type AlterResult } from './config-resources.js';
import type { Handler } from './registry.js';
import type { Broker } from '../broker.js';

function alterOne(broker: Broker, r: AlterResource, validateOnly: boolean): AlterResult {
  const target = alterTarget(broker, r, { allowEmptyBrokerName: false });
  if (!('overrides' in target)) return target;
  const nulls = r.configs.filter((c) => c.value === null).map((c) => c.name);
  if (nulls.length > 0) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Null value not supported for : ${nulls.join(', ')}` };
  const next: Record<string, string> = {};
  for (const c of r.configs) next[c.name] = c.value!;
  return applyTopicOverrides(broker, r.resourceName, next, validateOnly);
}

export const alterConfigs: Handler = {
  apiKey: 33,
  versions: [0, 2],
  handle(ctx, req) {
    const resources = req.resources as AlterResource[];
    const duplicates = duplicateResources(resources);
    const responses = resources.map((r) => {
      const res: AlterResult = duplicates.has(r)
        ? { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Each resource must appear at most once.' }
        : alterOne(ctx.broker, r, req.validateOnly === true);
      return { ...ALTER_OK, ...res, resourceType: r.resourceType, resourceName: r.resourceName };
    });
    return { throttleTimeMs: 0, responses };
  },
};
