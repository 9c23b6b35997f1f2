/**
 * DescribeCluster (60), v0-2.
 *
 * Behavior: the cluster is this node: brokers = [this node] (never fenced), controllerId = this
 * node's id (Kafka also answers a broker id there, since clients cannot reach its controllers), the
 * cluster id, and clusterAuthorizedOperations = INT32_MIN (no authorizer, as the schema's default).
 * endpointType 1 (brokers) is answered; 2 (controllers) is MISMATCHED_ENDPOINT_TYPE (114) because
 * this is a broker endpoint, and any other type UNSUPPORTED_ENDPOINT_TYPE (115), both with Kafka's
 * messages; v0 cannot carry those codes and gets INVALID_REQUEST instead, as in Kafka.
 * Version notes: v1 adds endpointType (KIP-919); v2 adds includeFencedBrokers and isFenced (KIP-1073).
 */
import { ErrorCode } from '../protocol/errors.js';
import { spec } from '../protocol/messages/60-describe-cluster.js';
import { defineHandler } from './registry.js';

const BROKERS = 1;
const CONTROLLERS = 2;

export const describeCluster = defineHandler(spec, {
  versions: [0, 2],
  handle(ctx, req) {
    const { cluster } = ctx;
    const type = req.endpointType;
    const refuse = (code: number, errorMessage: string) => ({
      throttleTimeMs: 0,
      errorCode: ctx.version === 0 ? ErrorCode.INVALID_REQUEST : code,
      errorMessage,
      endpointType: BROKERS,
      clusterId: '',
      controllerId: -1,
      brokers: [],
      clusterAuthorizedOperations: -2147483648,
    });
    if (type !== BROKERS && type !== CONTROLLERS) {
      return refuse(ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, `Unsupported endpoint type ${type}`);
    }
    if (type === CONTROLLERS) {
      return refuse(
        ErrorCode.MISMATCHED_ENDPOINT_TYPE,
        'The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER',
      );
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      endpointType: BROKERS,
      clusterId: cluster.clusterId,
      controllerId: cluster.controllerId,
      brokers: cluster.brokers().map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack, isFenced: false })),
      clusterAuthorizedOperations: -2147483648,
    };
  },
});
