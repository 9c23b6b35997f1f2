/**
 * `franz cluster status`: what a cluster looks like from one broker's Metadata: its brokers and
 * controller, the partitions that are under-replicated (ISR smaller than the replicas) or
 * offline (no leader), and the partition moves in progress (ListPartitionReassignments). Exits 0
 * either way; `--format json` for scripts.
 */
import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { clientCommand, common } from './args.js';
import { jsonLine, out, withClient } from './io.js';
import { ApiKey } from '../protocol/messages/index.js';

export function clusterCommand(): CommandUnknownOpts {
  const cluster = new Command('cluster').description('look at a cluster');
  cluster.addCommand(
    clientCommand('status')
      .description('brokers, controller, under-replicated and offline partitions, reassignments in progress')
      .action(async (opts) => {
        const c = common(opts);
        await withClient(c, async (client) => {
          const md = await client.metadata(null);
          const under: Array<{ topic: string; partition: number; leader: number; replicas: readonly number[]; isr: readonly number[] }> =
            [];
          const offline: Array<{ topic: string; partition: number; replicas: readonly number[]; isr: readonly number[] }> = [];
          let partitions = 0;
          for (const t of md.topics) {
            for (const p of t.partitions) {
              partitions++;
              if (p.leader < 0) offline.push({ topic: t.name, partition: p.partition, replicas: p.replicas, isr: p.isr });
              else if (p.isr.length < p.replicas.length)
                under.push({ topic: t.name, partition: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr });
            }
          }
          const brokers = [...md.brokers].sort((a, b) => a.nodeId - b.nodeId);
          const moves = (await client.supports(ApiKey.ListPartitionReassignments)) ? await client.listPartitionReassignments() : [];
          if (c.json) {
            await out(
              jsonLine({
                clusterId: md.clusterId,
                controller: md.controllerId,
                brokers,
                topics: md.topics.length,
                partitions,
                underReplicated: under,
                offline,
                reassignments: moves,
              }),
            );
            return;
          }
          let text = `Cluster: ${md.clusterId ?? '?'}\tController: ${md.controllerId}\tTopics: ${md.topics.length}\tPartitions: ${partitions}\n`;
          for (const b of brokers) text += `\tBroker: ${b.nodeId}\t${b.host}:${b.port}${b.rack === null ? '' : `\tRack: ${b.rack}`}\n`;
          text += `UnderReplicated: ${under.length}\n`;
          for (const p of under) {
            text += `\t${p.topic}-${p.partition}\tLeader: ${p.leader}\tReplicas: ${p.replicas.join(',')}\tIsr: ${p.isr.join(',')}\n`;
          }
          text += `Offline: ${offline.length}\n`;
          for (const p of offline) text += `\t${p.topic}-${p.partition}\tReplicas: ${p.replicas.join(',')}\tIsr: ${p.isr.join(',')}\n`;
          text += `Reassignments: ${moves.length}\n`;
          for (const m of moves) {
            text += `\t${m.topic}-${m.partition}\tReplicas: ${m.replicas.join(',')}\tAdding: ${m.adding.join(',')}\tRemoving: ${m.removing.join(',')}\n`;
          }
          await out(text);
        });
      }),
  );
  return cluster;
}
