import type { ApiSpec } from '../schema.js';

export const spec = {
  apiKey: 47,
  name: 'OffsetDelete',
  validVersions: [0, 0],
  flexibleVersions: null,
  request: [
    { name: 'groupId', type: 'string', versions: '0+' },
    {
      name: 'topics', type: '[]', versions: '0+',
      fields: [
        { name: 'name', type: 'string', versions: '0+' },
        {
          name: 'partitions', type: '[]', versions: '0+',
          fields: [
            { name: 'partitionIndex', type: 'int32', versions: '0+' },
          ],
        },
      ],
    },
  ],
  response: [
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    {
      name: 'topics', type: '[]', versions: '0+',
      fields: [
        { name: 'name', type: 'string', versions: '0+' },
        {
          name: 'partitions', type: '[]', versions: '0+',
          fields: [
            { name: 'partitionIndex', type: 'int32', versions: '0+' },
            { name: 'errorCode', type: 'int16', versions: '0+' },
          ],
        },
      ],
    },
  ],
} as const satisfies ApiSpec;
