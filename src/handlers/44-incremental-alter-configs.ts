/**
 * IncrementalAlterConfigs (44), v0-1.
 *
 * Behavior: for a TOPIC resource each entry changes one override: SET (0) sets it, DELETE (1) removes
 * it (back to the broker default), APPEND (2) and SUBTRACT (3) add or remove comma-separated values
 * of a list-typed key (cleanup.policy) starting from the current value, override or default. APPEND
 * or SUBTRACT on a key that is not a list is INVALID_CONFIG, an unknown key INVALID_CONFIG, an
 * unknown operation INVALID_REQUEST, a null value outside DELETE INVALID_REQUEST, a key given twice
 * INVALID_REQUEST. The resulting set of overrides is checked as a whole (validateTopicConfigs) and
 * applied at once or not at all; validateOnly checks and changes nothing.
 * BROKER resources (this node's id or "") are refused with INVALID_REQUEST: franz does not support
 * dynamic broker configs. BROKER_LOGGER is INVALID_REQUEST too (franz has no log4j loggers).
 * Version notes: v1 is flexible.
 */
import { isTopicKey } from '../config.js';
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/44-incremental-alter-configs.js';
import type { DecodedRequest, Elem } from '../protocol/schema.js';
import { alterAll, alterTarget, applyTopicOverrides, isListKey, type AlterResult, type ConfigServices } from './config-resources.js';
import { defineHandler } from './registry.js';

type Resource = Elem<DecodedRequest<typeof spec>['resources']>;

const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;
const OP_NAMES = ['SET', 'DELETE', 'APPEND', 'SUBTRACT'];

function parts(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function alterOne(services: ConfigServices, r: Resource, validateOnly: boolean): AlterResult {
  const nulls = r.configs.filter((c) => c.configOperation !== DELETE && c.value === null).map((c) => c.name);
  if (nulls.length > 0) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Null value not supported for : ${nulls.join(', ')}` };
  const target = alterTarget(services, r, { allowEmptyBrokerName: true });
  if (!('overrides' in target)) return target;
  const next = target.overrides;
  for (const c of r.configs) {
    const op = c.configOperation;
    if (op < SET || op > SUBTRACT) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unknown operation type ${op}` };
    const key = c.name;
    if (!isTopicKey(key)) return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: `Unknown topic config name: ${key}` };
    if (op === DELETE) {
      delete next[key];
    } else if (c.value === null) {
      return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Null value not supported for : ${key}` };
    } else if (op === SET) {
      next[key] = c.value;
    } else {
      if (!isListKey(key)) {
        return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: `Can't ${OP_NAMES[op]} to key ${key} because its type is not LIST.` };
      }
      const current = parts(next[key] ?? services.config.topicDefault(key).value);
      const change = parts(c.value);
      const result =
        op === APPEND ? [...current, ...change.filter((v) => !current.includes(v))] : current.filter((v) => !change.includes(v));
      next[key] = result.join(',');
    }
  }
  return applyTopicOverrides(services, r.resourceName, next, validateOnly);
}

export const incrementalAlterConfigs = defineHandler(spec, {
  versions: [0, 1],
  handle(ctx, req) {
    return alterAll(ctx, req.resources, req.validateOnly, alterOne);
  },
});
