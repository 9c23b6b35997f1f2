import type { ApiSpec, Field } from '../schema.js';

/** Kafka's common struct `TopicPartitions` (owned partitions in the request, the assignment in the response). */
const topicPartitionsFields = [
  { name: 'topicId', type: 'uuid', versions: '0+' },
  { name: 'partitions', type: '[]int32', versions: '0+' },
] as const satisfies readonly Field[];

export const spec = {
  apiKey: 68,
  name: 'ConsumerGroupHeartbeat',
  validVersions: [0, 1],
  flexibleVersions: 0,
  request: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'memberId', type: 'string', versions: '0+' },
    { name: 'memberEpoch', type: 'int32', versions: '0+' }, // 0 = join, -1 = leave, -2 = static member leaving for now.
    { name: 'instanceId', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    { name: 'rackId', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    { name: 'rebalanceTimeoutMs', type: 'int32', versions: '0+', default: -1 },
    { name: 'subscribedTopicNames', type: '[]string', versions: '0+', nullableVersions: '0+', default: null },
    { name: 'subscribedTopicRegex', type: 'string', versions: '1+', nullableVersions: '1+', default: null },
    { name: 'serverAssignor', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    {
      name: 'topicPartitions', type: '[]', versions: '0+', nullableVersions: '0+', default: null,
      fields: topicPartitionsFields,
    },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    { name: 'memberId', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    { name: 'memberEpoch', type: 'int32', versions: '0+' },
    { name: 'heartbeatIntervalMs', type: 'int32', versions: '0+' },
    {
      name: 'assignment', type: 'struct', versions: '0+', nullableVersions: '0+', default: null,
      fields: [
        {
          name: 'topicPartitions', type: '[]', versions: '0+',
          fields: topicPartitionsFields,
        },
      ],
    },
  ],
} as const satisfies ApiSpec;
