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
import { ErrorCode } from '../protocol/errors.js';
import { TOPIC_KEYS } from '../config.js';
import {
  ALTER_OK,
  alterTarget,
  applyTopicOverrides,
  duplicateResources,
  isListKey,
  type AlterResource,
  type AlterResult,
} from './config-resources.js';
import type { Handler } from './registry.js';
import type { Broker } from '../broker.js';

const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;
const OP_NAMES = ['SET', 'DELETE', 'APPEND', 'SUBTRACT'];

function parts(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function alterOne(broker: Broker, r: AlterResource, validateOnly: boolean): AlterResult {
  const nulls = r.configs.filter((c) => c.configOperation !== DELETE && c.value === null).map((c) => c.name);
  if (nulls.length > 0) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Null value not supported for : ${nulls.join(', ')}` };
  const target = alterTarget(broker, r, { allowEmptyBrokerName: true });
  if (!('overrides' in target)) return target;
  const next = target.overrides;
  for (const c of r.configs) {
    const op = c.configOperation ?? SET;
    if (op < SET || op > SUBTRACT) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unknown operation type ${op}` };
    if (!(c.name in TOPIC_KEYS)) return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: `Unknown topic config name: ${c.name}` };
    if (op === SET) {
      next[c.name] = c.value!;
    } else if (op === DELETE) {
      delete next[c.name];
    } else {
      if (!isListKey(c.name)) {
        return {
          errorCode: ErrorCode.INVALID_CONFIG,
          errorMessage: `Can't ${OP_NAMES[op]} to key ${c.name} because its type is not LIST.`,
        };
      }
      const current = parts(next[c.name] ?? broker.config.topicDefault(c.name).value);
      const change = parts(c.value!);
      const result = op === APPEND ? [...current, ...change.filter((v) => !current.includes(v))] : current.filter((v) => !change.includes(v));
      next[c.name] = result.join(',');
    }
  }
  return applyTopicOverrides(broker, r.resourceName, next, validateOnly);
}

export const incrementalAlterConfigs: Handler = {
  apiKey: 44,
  versions: [0, 1],
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
