import type { ApiSpec } from '../schema.js';

export const spec = {
  apiKey: 43,
  name: 'ElectLeaders',
  validVersions: [0, 2],
  flexibleVersions: 2,
  request: [
    { name: 'electionType', type: 'int8', versions: '1+', default: 0 }, // 0 preferred replica, 1 unclean (KIP-460).
    {
      name: 'topicPartitions', type: '[]', versions: '0+', nullableVersions: '0+',
      fields: [
        { name: 'topic', type: 'string', versions: '0+' },
        { name: 'partitionId', type: '[]int32', versions: '0+' },
      ],
    },
    { name: 'timeoutMs', type: 'int32', versions: '0+', default: 60000 },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '1+', default: 0 },
    {
      name: 'replicaElectionResults', type: '[]', versions: '0+',
      fields: [
        { name: 'topic', type: 'string', versions: '0+' },
        {
          name: 'partitionResult', type: '[]', versions: '0+',
          fields: [
            { name: 'partitionId', type: 'int32', versions: '0+' },
            { name: 'errorCode', type: 'int16', versions: '0+' },
            { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
          ],
        },
      ],
    },
  ],
} as const satisfies ApiSpec;
