import type { ApiSpec } from '../schema.js';

export const spec = {
  apiKey: 46,
  name: 'ListPartitionReassignments',
  validVersions: [0, 0],
  flexibleVersions: 0,
  request: [
    { name: 'timeoutMs', type: 'int32', versions: '0+', default: 60000 },
    {
      // null lists every reassignment in progress.
      name: 'topics', type: '[]', versions: '0+', nullableVersions: '0+', default: null,
      fields: [
        { name: 'name', type: 'string', versions: '0+' },
        { name: 'partitionIndexes', type: '[]int32', versions: '0+' },
      ],
    },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    {
      name: 'topics', type: '[]', versions: '0+',
      fields: [
        { name: 'name', type: 'string', versions: '0+' },
        {
          name: 'partitions', type: '[]', versions: '0+',
          fields: [
            { name: 'partitionIndex', type: 'int32', versions: '0+' },
            { name: 'replicas', type: '[]int32', versions: '0+' },
            { name: 'addingReplicas', type: '[]int32', versions: '0+' },
            { name: 'removingReplicas', type: '[]int32', versions: '0+' },
          ],
        },
      ],
    },
  ],
} as const satisfies ApiSpec;
