/**
 * DeleteTopics (20), v1-6.
 *
 * Behavior: deletes each named topic and its partition logs at once (there is no asynchronous
 * deletion to wait for). With delete.topic.enable=false every topic gets TOPIC_DELETION_DISABLED, or
 * INVALID_REQUEST before v3, as Kafka answers. Unknown names get UNKNOWN_TOPIC_OR_PARTITION, unknown
 * ids UNKNOWN_TOPIC_ID. A name or id given twice gets INVALID_REQUEST once and is not deleted.
 * Version notes: v5 adds errorMessage; v4 is flexible; v6 names topics by `topics` entries holding a
 * name or (name null) a topic id, and answers with both; earlier versions send `topicNames`.
 */
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/20-delete-topics.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import type { Elem, ResponseBody } from '../protocol/schema.js';
import { defineHandler } from './registry.js';

type Result = Elem<ResponseBody<typeof spec>['responses']>;

interface Target {
  name: string | null;
  topicId: string;
}

function result(name: string | null, topicId: string, errorCode: number, errorMessage: string | null): Result {
  return { name, topicId, errorCode, errorMessage };
}

export const deleteTopics = defineHandler(spec, {
  versions: [1, 6],
  handle(ctx, req) {
    const { topics } = ctx;
    const targets: Target[] =
      ctx.version >= 6
        ? req.topics.map((t) => ({ name: t.name, topicId: t.topicId }))
        : req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
    const keyOf = (t: Target): string => (t.name !== null ? `n:${t.name}` : `i:${t.topicId}`);
    const counts = new Map<string, number>();
    for (const t of targets) counts.set(keyOf(t), (counts.get(keyOf(t)) ?? 0) + 1);

    const enabled = ctx.config.bool('delete.topic.enable');
    const responses: Result[] = [];
    const reported = new Set<string>();
    for (const t of targets) {
      const key = keyOf(t);
      if (counts.get(key)! > 1) {
        if (!reported.has(key)) {
          responses.push(
            result(t.name, t.topicId, ErrorCode.INVALID_REQUEST, t.name !== null ? 'Duplicate topic name.' : 'Duplicate topic id.'),
          );
        }
        reported.add(key);
        continue;
      }
      if (!enabled) {
        responses.push(
          ctx.version < 3
            ? result(t.name, t.topicId, ErrorCode.INVALID_REQUEST, 'Topic deletion is disabled.')
            : result(t.name, t.topicId, ErrorCode.TOPIC_DELETION_DISABLED, 'Topic deletion is disabled (delete.topic.enable=false).'),
        );
        continue;
      }
      const topic = t.name !== null ? topics.get(t.name) : topics.getById(t.topicId);
      if (topic === undefined) {
        responses.push(
          t.name !== null
            ? result(t.name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.')
            : result(null, t.topicId, ErrorCode.UNKNOWN_TOPIC_ID, 'This server does not host this topic ID.'),
        );
        continue;
      }
      const code = topics.deleteTopic(topic.name);
      responses.push(result(topic.name, topic.id, code, code === ErrorCode.NONE ? null : 'Topic could not be deleted.'));
    }
    return { throttleTimeMs: 0, responses };
  },
});
