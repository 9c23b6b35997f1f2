import type { ApiSpec } from '../schema.js';

export const spec = {
  apiKey: 42,
  name: 'DeleteGroups',
  validVersions: [0, 2],
  flexibleVersions: 2,
  request: [
    { name: 'groupsNames', type: '[]string', versions: '0+' },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    {
      name: 'results', type: '[]', versions: '0+',
      fields: [
        { name: 'groupId', type: 'string', versions: '0+' },
        { name: 'errorCode', type: 'int16', versions: '0+' },
      ],
    },
  ],
} as const satisfies ApiSpec;
