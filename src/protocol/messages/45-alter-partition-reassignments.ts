import type { ApiSpec } from '../schema.js';

export const spec = {
  apiKey: 45,
  name: 'AlterPartitionReassignments',
  validVersions: [0, 1],
  flexibleVersions: 0,
  request: [
    { name: 'timeoutMs', type: 'int32', versions: '0+', default: 60000 },
    // KIP-860: false refuses a target whose size differs from the partition's replica count.
    { name: 'allowReplicationFactorChange', type: 'bool', versions: '1+', default: true },
    {
      name: 'topics', type: '[]', versions: '0+',
      fields: [
        { name: 'name', type: 'string', versions: '0+' },
        {
          name: 'partitions', type: '[]', versions: '0+',
          fields: [
            { name: 'partitionIndex', type: 'int32', versions: '0+' },
            // null cancels the partition's reassignment in progress.
            { name: 'replicas', type: '[]int32', versions: '0+', nullableVersions: '0+', default: null },
          ],
        },
      ],
    },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'allowReplicationFactorChange', type: 'bool', versions: '1+', default: true },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    {
      name: 'responses', type: '[]', versions: '0+',
      fields: [
        { name: 'name', type: 'string', versions: '0+' },
        {
          name: 'partitions', type: '[]', versions: '0+',
          fields: [
            { name: 'partitionIndex', type: 'int32', versions: '0+' },
            { name: 'errorCode', type: 'int16', versions: '0+' },
            { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
          ],
        },
      ],
    },
  ],
} as const satisfies ApiSpec;
