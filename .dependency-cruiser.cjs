/**
 * The layers of src/ (docs/ARCHITECTURE.md, "Layers"), checked by `npm run lint:deps`: no import
 * cycle anywhere, and no layer importing one above it. Each rule names what a folder must not reach.
 */
const layer = (name, path, forbidden, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path },
  to: { path: forbidden },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle ties its files into one unit that cannot be tested or replaced alone.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    layer(
      'protocol-is-sans-io',
      '^src/protocol/',
      '^(src/(?!protocol/)|node:(net|fs|fs/promises|child_process|dgram|tls|http|https))',
      'The wire protocol does no I/O and knows nothing of the broker: bytes in, typed messages out.',
    ),
    layer(
      'ground-floor',
      '^src/(config|logger)\\.ts$',
      '^src/(?!(config|logger)\\.ts$)',
      'Configuration and logging are below everything else.',
    ),
    layer('native-is-a-leaf', '^src/native/', '^src/(?!(native|protocol)/)', 'The addon wrapper depends on nothing but protocol types.'),
    layer('records-below-storage', '^src/records/', '^src/(?!(records|protocol|native)/)', 'Record batches are a format, not a store.'),
    layer(
      'storage-below-metadata',
      '^src/storage/',
      '^src/(metadata|cluster|group|delay|trace|handlers|server|client|cli)/|^src/broker\\.ts$',
      'Storage speaks logs and segments; it knows no topics registry, groups or requests.',
    ),
    layer(
      'metadata-below-groups',
      '^src/metadata/',
      '^src/(cluster|group|handlers|server|client|cli)/|^src/broker\\.ts$',
      'Topic state and the ports are below their users.',
    ),
    layer(
      'cluster-beside-metadata',
      '^src/cluster/',
      '^src/(group|handlers|server|cli)/|^src/broker\\.ts$',
      'The cluster (etcd, membership, controller, replication) implements the metadata ports; it never sees requests or groups. Followers fetch through src/client/ like any client.',
    ),
    layer(
      'only-cluster-speaks-etcd',
      '^src/(?!cluster/)',
      '^node_modules/etcd3/',
      'etcd is reached through src/cluster/etcd-store.ts alone.',
    ),
    layer(
      'transactions-below-handlers',
      '^src/txn/',
      '^src/(group|cluster|handlers|server|client|cli)/|^src/broker\\.ts$',
      'The transaction coordinator receives ports, never the broker, the groups or the request layer.',
    ),
    layer(
      'delay-below-handlers',
      '^src/delay/',
      '^src/(group|txn|cluster|handlers|server|client|cli)/|^src/broker\\.ts$',
      'Delayed delivery receives ports (the partition logs); it never sees the broker, coordinators or requests.',
    ),
    layer(
      'trace-below-handlers',
      '^src/trace/',
      '^src/(group|txn|cluster|delay|handlers|server|client|cli)/|^src/broker\\.ts$',
      'Message trace receives ports (partition logs, topics, a groups lookup); it never sees the broker, coordinators or requests.',
    ),
    layer(
      'groups-below-handlers',
      '^src/group/',
      '^src/(handlers|server|client|cli)/|^src/broker\\.ts$',
      'The group coordinator receives ports, never the broker or the request layer.',
    ),
    layer(
      'handlers-below-server',
      '^src/handlers/',
      '^src/(server|client|cli)/|^src/broker\\.ts$',
      'Handlers receive BrokerServices; they do no socket work and never see the Broker.',
    ),
    layer(
      'http-beside-server',
      '^src/http/',
      '^src/(server|cli|cluster|txn|delay|trace)/|^src/broker\\.ts$',
      'The HTTP layer calls the handlers and their ports, as the Kafka listener does; it is wired by the broker.',
    ),
    layer(
      'console-is-browser-code',
      '^src/console/',
      '^(src/(?!console/)|node:)',
      'The web console runs in the browser: it talks to the broker over HTTP only, never imports broker code.',
    ),
    layer('server-below-broker', '^src/server/', '^src/(client|cli)/|^src/broker\\.ts$', 'The listener is wired by the broker, not the other way round.'),
    layer(
      'client-is-a-client',
      '^src/client/',
      '^src/(?!(client|protocol|records)/)',
      'The client speaks the protocol like any other Kafka client: no broker internals.',
    ),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|native/target)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
