/**
 * FindCoordinator (10), v0-6.
 *
 * Behavior: a group's coordinator is the leader of its `__consumer_offsets` partition, a
 * transactional id's the leader of its `__transaction_state` partition (the only broker on a
 * single node); COORDINATOR_NOT_AVAILABLE while that partition has no leader. Key type 0 is a
 * group, 1 a transactional id; share groups (2) are not supported (INVALID_REQUEST). An empty
 * group id is INVALID_GROUP_ID, an empty transactional id INVALID_REQUEST, as in Kafka.
 * Version notes: v1 adds key type and error message; v3 flexible; v4 batches several keys.
 */
import { CoordinatorKeyType } from '../protocol/constants.js';
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/10-find-coordinator.js';
import { OFFSETS_TOPIC } from '../group/group-store.js';
import { TRANSACTION_STATE_TOPIC } from '../txn/transaction-store.js';
import { defineHandler, type RequestContext } from './registry.js';

const { GROUP, TRANSACTION } = CoordinatorKeyType;

type Node = { nodeId: number; host: string; port: number };
const NONE_NODE: Node = { nodeId: -1, host: '', port: -1 };

function lookup(ctx: RequestContext, key: string, keyType: number): { errorCode: number; errorMessage: string | null } & Node {
  if (keyType !== GROUP && keyType !== TRANSACTION) {
    return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `key type ${keyType} is not supported`, ...NONE_NODE };
  }
  if (keyType === GROUP && key === '')
    return { errorCode: ErrorCode.INVALID_GROUP_ID, errorMessage: 'the group id is empty', ...NONE_NODE };
  if (keyType === TRANSACTION && key === '')
    return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'the transactional id is empty', ...NONE_NODE };
  const { cluster } = ctx;
  const self = { nodeId: cluster.nodeId, host: cluster.advertised.host, port: cluster.advertised.port };
  const leader =
    keyType === TRANSACTION
      ? (cluster.replicaState(TRANSACTION_STATE_TOPIC, ctx.transactions.store.partitionFor(key))?.leader ?? -1)
      : (cluster.replicaState(OFFSETS_TOPIC, ctx.groups.store.partitionFor(key))?.leader ?? -1);
  const b = leader === cluster.nodeId ? self : cluster.brokers().find((x) => x.nodeId === leader);
  if (b === undefined)
    return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: 'the coordinator is not available', ...NONE_NODE };
  return { errorCode: ErrorCode.NONE, errorMessage: null, nodeId: b.nodeId, host: b.host, port: b.port };
}

export const findCoordinator = defineHandler(spec, {
  versions: [0, 6],
  handle(ctx, req) {
    if (ctx.version >= 4) {
      return { throttleTimeMs: 0, coordinators: req.coordinatorKeys.map((key) => ({ key, ...lookup(ctx, key, req.keyType) })) };
    }
    return { throttleTimeMs: 0, ...lookup(ctx, req.key, req.keyType) };
  },
});
