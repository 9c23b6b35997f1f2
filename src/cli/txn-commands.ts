/**
 * `franz txn list|describe|producers|abort`: transaction tooling in the manner of Kafka's
 * kafka-transactions.sh, over the Kafka protocol (ListTransactions, FindCoordinator and
 * DescribeTransactions, DescribeProducers, WriteTxnMarkers).
 */
import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { clientCommand, common, integer, repeatable } from './args.js';
import { dash, jsonLine, out, table, withClient } from './io.js';

export function txnCommand(): CommandUnknownOpts {
  const txn = new Command('txn').description('list and describe transactions, find and abort hanging ones');

  txn.addCommand(
    clientCommand('list')
      .description('every transactional id of the cluster, with its producer id, state and coordinator')
      .option(
        '--state <STATE>',
        'only transactions in this state (Ongoing, CompleteCommit, ...); repeatable',
        repeatable((s) => s),
      )
      .option('--producer-id <ID>', 'only this producer id; repeatable', repeatable(integer(0)))
      .option('--duration-ms <MS>', 'only transactions open for longer than this', integer(0))
      .action(async (opts) => {
        const c = common(opts);
        await withClient(c, async (client) => {
          const all = await client.transactions.list({
            states: opts.state ?? [],
            producerIds: opts.producerId ?? [],
            ...(opts.durationMs === undefined ? {} : { durationMs: opts.durationMs }),
          });
          if (c.json) await out(all.map(jsonLine).join(''));
          else {
            await out(
              table([
                ['TRANSACTIONAL ID', 'PRODUCER ID', 'STATE', 'COORDINATOR'],
                ...all.map((t) => [t.transactionalId, String(t.producerId), t.state, String(t.coordinator)]),
              ]),
            );
          }
        });
      }),
  );

  txn.addCommand(
    clientCommand('describe')
      .description("a transactional id's state, producer, timeout, start time and partitions")
      .argument('<transactional-id>', 'transactional id')
      .action(async (id, opts) => {
        const c = common(opts);
        await withClient(c, async (client) => {
          const d = await client.transactions.describe(id);
          if (c.json) await out(jsonLine(d));
          else {
            const parts = d.partitions.map((p) => `${p.topic}-${p.partition}`).join(',') || '-';
            await out(
              table([
                ['TRANSACTIONAL ID', 'STATE', 'PRODUCER ID', 'EPOCH', 'TIMEOUT MS', 'STARTED', 'COORDINATOR', 'PARTITIONS'],
                [
                  d.transactionalId,
                  d.state,
                  String(d.producerId),
                  String(d.producerEpoch),
                  String(d.timeoutMs),
                  d.startTimeMs < 0 ? '-' : new Date(d.startTimeMs).toISOString(),
                  String(d.coordinator),
                  parts,
                ],
              ]),
            );
          }
        });
      }),
  );

  txn.addCommand(
    clientCommand('producers')
      .description("a partition's producers, and the first offset of each one's open transaction there")
      .requiredOption('--topic <TOPIC>', 'topic')
      .requiredOption('--partition <P>', 'partition', integer(0))
      .action(async (opts) => {
        const c = common(opts);
        await withClient(c, async (client) => {
          const ps = await client.transactions.describeProducers(opts.topic, opts.partition);
          if (c.json) await out(ps.map(jsonLine).join(''));
          else {
            await out(
              table([
                ['PRODUCER ID', 'EPOCH', 'LAST SEQUENCE', 'LAST TIMESTAMP', 'OPEN TRANSACTION FROM'],
                ...ps.map((p) => [
                  String(p.producerId),
                  String(p.producerEpoch),
                  String(p.lastSequence),
                  p.lastTimestamp < 0 ? '-' : new Date(p.lastTimestamp).toISOString(),
                  dash(p.currentTxnStartOffset < 0 ? null : p.currentTxnStartOffset),
                ]),
              ]),
            );
          }
        });
      }),
  );

  txn.addCommand(
    clientCommand('abort')
      .description('ends a hanging transaction: an abort marker on one partition for a producer whose transaction there is open')
      .requiredOption('--topic <TOPIC>', 'topic')
      .requiredOption('--partition <P>', 'partition', integer(0))
      .requiredOption('--producer-id <ID>', 'the producer whose transaction to abort (see franz txn producers)', integer(0))
      .action(async (opts) => {
        const c = common(opts);
        await withClient(c, async (client) => {
          await client.transactions.abort(opts.topic, opts.partition, opts.producerId);
          await out(
            c.json
              ? jsonLine({ aborted: true })
              : `aborted the transaction of producer ${opts.producerId} on ${opts.topic}-${opts.partition}\n`,
          );
        });
      }),
  );

  return txn;
}
