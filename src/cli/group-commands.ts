/**
 * `franz group list|describe|reset-offsets|delete`: consumer-group tooling in the manner of
 * Kafka's kafka-consumer-groups.sh, over the Kafka protocol (ListGroups, DescribeGroups,
 * ConsumerGroupDescribe, OffsetFetch, ListOffsets, OffsetCommit, DeleteGroups).
 *
 * describe works for classic groups (members' assignments decoded from the consumer protocol) and
 * KIP-848 consumer groups (ConsumerGroupDescribe); lag is log end offset minus committed offset.
 * reset-offsets prints its plan and applies it only with --execute; like Kafka it refuses while the
 * group has members, and clamps every target into [log start offset, log end offset].
 */
import { Command, InvalidArgumentError, Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { ApiKey, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, type Client, type CommittedOffset, type TopicPartitions } from '../client/client.js';
import { assignedPartitionsOf } from '../group/consumer-protocol.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { clientCommand, common, integer, repeatable, timestamp } from './args.js';
import { dash, jsonLine, out, table, withClient } from './io.js';

/** A failure that is not a usage mistake: printed as "franz: ..." with exit code 1. */
class CommandFailure extends Error {}

/** One partition of a group: who owns it, what is committed, how far behind. */
interface PartitionRow {
  topic: string;
  partition: number;
  committed: number | null;
  logEnd: number | null;
  lag: number | null;
  memberId: string | null;
  clientId: string | null;
  host: string | null;
}

interface Member {
  memberId: string;
  instanceId: string | null;
  clientId: string;
  host: string;
  assignment: TopicPartitions[];
}

interface GroupView {
  groupId: string;
  type: 'classic' | 'consumer';
  state: string;
  protocol: string;
  coordinator: number;
  members: Member[];
}

async function viewGroup(client: Client, groupId: string): Promise<GroupView> {
  const [classic] = await client.describeGroups([groupId]);
  if (classic!.state === 'Dead' && (await client.supports(ApiKey.ConsumerGroupDescribe))) {
    const [cg] = await client.consumerGroupDescribe([groupId]);
    if (cg!.state !== 'Dead') {
      return {
        groupId,
        type: 'consumer',
        state: cg!.state,
        protocol: cg!.assignor,
        coordinator: cg!.coordinator,
        members: cg!.members.map((m) => ({
          memberId: m.memberId,
          instanceId: m.instanceId,
          clientId: m.clientId,
          host: m.clientHost,
          assignment: [...m.assignment],
        })),
      };
    }
  }
  const g = classic!;
  return {
    groupId,
    type: 'classic',
    state: g.state,
    protocol: g.protocol,
    coordinator: g.coordinator,
    members: g.members.map((m) => ({
      memberId: m.memberId,
      instanceId: m.groupInstanceId,
      clientId: m.clientId,
      host: m.clientHost,
      // Only consumers' assignments can be read; other protocols (Connect) show none.
      assignment: g.protocolType === 'consumer' ? (assignedPartitionsOf(m.assignment) ?? []) : [],
    })),
  };
}

/** Log end offsets of the given partitions, topic by topic (null where the partition is unknown). */
async function logEnds(client: Client, tps: Iterable<{ topic: string; partition: number }>): Promise<Map<string, number>> {
  const byTopic = new Map<string, Set<number>>();
  for (const { topic, partition } of tps) {
    const s = byTopic.get(topic);
    if (s === undefined) byTopic.set(topic, new Set([partition]));
    else s.add(partition);
  }
  const out = new Map<string, number>();
  await Promise.all(
    [...byTopic].map(async ([topic, ps]) => {
      try {
        const ends = await client.listOffsets(topic, [...ps], LATEST_TIMESTAMP);
        for (const [p, a] of ends) out.set(`${topic}\u0000${p}`, a.offset);
      } catch {
        // A deleted topic still has committed offsets; its end is unknown.
      }
    }),
  );
  return out;
}

async function describeGroup(client: Client, groupId: string, json: boolean): Promise<void> {
  const view = await viewGroup(client, groupId);
  if (view.state === 'Dead') throw new CommandFailure(`group "${groupId}" does not exist`);
  const committed = await client.offsetFetch(groupId, null);
  const key = (t: string, p: number) => `${t}\u0000${p}`;
  const rows = new Map<string, PartitionRow>();
  const row = (topic: string, partition: number): PartitionRow => {
    let r = rows.get(key(topic, partition));
    if (r === undefined) {
      r = { topic, partition, committed: null, logEnd: null, lag: null, memberId: null, clientId: null, host: null };
      rows.set(key(topic, partition), r);
    }
    return r;
  };
  for (const c of committed) row(c.topic, c.partition).committed = c.offset;
  for (const m of view.members) {
    for (const a of m.assignment) {
      for (const p of a.partitions) Object.assign(row(a.topic, p), { memberId: m.memberId, clientId: m.clientId, host: m.host });
    }
  }
  const ends = await logEnds(client, rows.values());
  for (const r of rows.values()) {
    r.logEnd = ends.get(key(r.topic, r.partition)) ?? null;
    // With nothing committed Kafka shows the lag as unknown ("-").
    r.lag = r.logEnd !== null && r.committed !== null ? Math.max(0, r.logEnd - r.committed) : null;
  }
  const sorted = [...rows.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  if (json) {
    await out(
      jsonLine({
        group: view.groupId,
        type: view.type,
        state: view.state,
        protocol: view.protocol,
        coordinator: view.coordinator,
        members: view.members,
        partitions: sorted,
        totalLag: sorted.reduce((s, r) => s + (r.lag ?? 0), 0),
      }),
    );
    return;
  }
  let text = `Group: ${view.groupId}\tType: ${view.type}\tState: ${view.state}\tProtocol: ${view.protocol || '-'}\tCoordinator: ${view.coordinator}\tMembers: ${view.members.length}\n`;
  for (const m of view.members) {
    const parts = m.assignment.map((a) => `${a.topic}:${a.partitions.join(',')}`).join(' ');
    text += `\tMember: ${m.memberId}${m.instanceId === null ? '' : ` (instance ${m.instanceId})`}\tClient: ${m.clientId}\tHost: ${m.host}\tAssigned: ${parts || '-'}\n`;
  }
  const header = ['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'];
  const cells = sorted.map((r) => [
    r.topic,
    String(r.partition),
    dash(r.committed),
    dash(r.logEnd),
    dash(r.lag),
    r.memberId ?? '-',
    r.host ?? '-',
    r.clientId ?? '-',
  ]);
  text += table([header, ...cells]);
  await out(text);
}

type Strategy =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'offset'; offset: number }
  | { kind: 'datetime'; timestamp: number }
  | { kind: 'shift'; by: number };

/** The reset strategies, by option name; exactly one is given. */
const STRATEGIES = ['toEarliest', 'toLatest', 'toOffset', 'toDatetime', 'shiftBy'];

/** A reset strategy's option, which excludes the others. */
function strategyOption<F extends string>(flags: F, description: string, name: string): Option<F> {
  return new Option(flags, description).conflicts(STRATEGIES.filter((s) => s !== name));
}

function strategyOf(opts: {
  toEarliest?: true;
  toLatest?: true;
  toOffset?: number;
  toDatetime?: number;
  shiftBy?: number;
}): Strategy | null {
  if (opts.toEarliest) return { kind: 'earliest' };
  if (opts.toLatest) return { kind: 'latest' };
  if (opts.toOffset !== undefined) return { kind: 'offset', offset: opts.toOffset };
  if (opts.toDatetime !== undefined) return { kind: 'datetime', timestamp: opts.toDatetime };
  if (opts.shiftBy !== undefined) return { kind: 'shift', by: opts.shiftBy };
  return null;
}

/** A --topic value: T (every partition of T) or T:0,2 (those partitions). */
interface TopicTarget {
  readonly name: string;
  readonly partitions: readonly number[] | null;
}

function topicTarget(value: string): TopicTarget {
  const colon = value.lastIndexOf(':');
  const name = colon < 0 ? value : value.slice(0, colon);
  if (name === '') throw new InvalidArgumentError('expected a topic name');
  if (colon < 0) return { name, partitions: null };
  const partition = integer(0);
  return {
    name,
    partitions: value
      .slice(colon + 1)
      .split(',')
      .map((p) => partition(p)),
  };
}

/** The partitions to reset: those of the --topic targets, or every committed one (--all-topics, `targets` null). */
async function partitionsOf(
  client: Client,
  targets: readonly TopicTarget[] | null,
  committed: readonly CommittedOffset[],
): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  if (targets === null) {
    for (const c of committed) out.set(c.topic, [...(out.get(c.topic) ?? []), c.partition]);
    return out;
  }
  for (const { name, partitions } of targets) {
    const md = await client.topic(name);
    const known = new Set(md.partitions.map((p) => p.partition));
    const unknown = partitions?.find((p) => !known.has(p));
    if (unknown !== undefined) throw new CommandFailure(`topic "${name}" has no partition ${unknown}`);
    out.set(
      name,
      [...new Set([...(out.get(name) ?? []), ...(partitions ?? known)])].sort((a, b) => a - b),
    );
  }
  return out;
}

async function resetOffsets(
  client: Client,
  groupId: string,
  targets: readonly TopicTarget[] | null,
  strategy: Strategy,
  execute: boolean,
  json: boolean,
): Promise<void> {
  const view = await viewGroup(client, groupId);
  if (view.members.length > 0) {
    throw new CommandFailure(
      `offsets of group "${groupId}" can only be reset while it has no active members; it is ${view.state} with ${view.members.length}`,
    );
  }
  const committed = await client.offsetFetch(groupId, null);
  const current = new Map(committed.map((c) => [`${c.topic}\u0000${c.partition}`, c.offset]));
  const wanted = await partitionsOf(client, targets, committed);
  const plan: Array<{ topic: string; partition: number; current: number | null; target: number }> = [];
  for (const [topic, partitions] of wanted) {
    if (partitions.length === 0) continue;
    const [starts, ends] = await Promise.all([
      client.listOffsets(topic, partitions, EARLIEST_TIMESTAMP),
      client.listOffsets(topic, partitions, LATEST_TIMESTAMP),
    ]);
    const byTime = strategy.kind === 'datetime' ? await client.listOffsets(topic, partitions, strategy.timestamp) : null;
    for (const p of partitions) {
      const start = starts.get(p)!.offset;
      const end = ends.get(p)!.offset;
      const cur = current.get(`${topic}\u0000${p}`) ?? null;
      let target: number;
      switch (strategy.kind) {
        case 'earliest':
          target = start;
          break;
        case 'latest':
          target = end;
          break;
        case 'offset':
          target = strategy.offset;
          break;
        case 'datetime': {
          // No record that recent: the end, as Kafka does.
          const found = byTime?.get(p)?.offset ?? -1;
          target = found < 0 ? end : found;
          break;
        }
        // Nothing committed yet: shift from the log start.
        case 'shift':
          target = (cur ?? start) + strategy.by;
          break;
      }
      plan.push({ topic, partition: p, current: cur, target: Math.min(Math.max(target, start), end) });
    }
  }
  if (plan.length === 0) throw new CommandFailure(`nothing to reset: group "${groupId}" has no committed offsets for the partitions given`);
  if (execute) {
    await client.offsetCommit(
      groupId,
      plan.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.target })),
    );
  }
  if (json) {
    let text = '';
    for (const r of plan) text += jsonLine({ group: groupId, ...r, executed: execute });
    await out(text);
    return;
  }
  const rows = [
    ['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET'],
    ...plan.map((r) => [r.topic, String(r.partition), dash(r.current), String(r.target)]),
  ];
  await out(
    table(rows) +
      (execute ? `Reset ${plan.length} offset(s) of group ${groupId}.\n` : 'Dry run: nothing changed; add --execute to apply.\n'),
  );
}

export function groupCommand(): CommandUnknownOpts {
  const group = new Command('group').description('list, describe, reset the offsets of and delete consumer groups');

  group.addCommand(
    clientCommand('list')
      .description('every group of the cluster, with its type and state')
      .option(
        '--state <STATE>',
        'only groups in this state; repeatable',
        repeatable((s) => s),
      )
      .action(async (opts) => {
        const c = common(opts);
        await withClient(c, async (client) => {
          const groups = (await client.listGroups({ states: opts.state ?? [] })).sort((a, b) => (a.groupId < b.groupId ? -1 : 1));
          await out(groups.map((g) => (c.json ? jsonLine(g) : `${g.groupId}\t${g.type ?? '-'}\t${g.state ?? '-'}\n`)).join(''));
        });
      }),
  );

  group.addCommand(
    clientCommand('describe')
      .description('members, assignments, committed offset, log end offset and lag')
      .argument('<group>', 'group id')
      .action(async (groupId, opts) => {
        const c = common(opts);
        await withClient(c, (client) => describeGroup(client, groupId, c.json));
      }),
  );

  group.addCommand(
    clientCommand('reset-offsets')
      .description('move committed offsets; prints the plan, and commits it with --execute (only while the group has no active members)')
      .argument('<group>', 'group id')
      .addOption(
        new Option('--topic <T[:P,P...]>', 'every partition of T, or the ones listed; repeatable').argParser(repeatable(topicTarget)),
      )
      .addOption(new Option('--all-topics', 'every partition the group has committed').conflicts('topic'))
      .addOption(strategyOption('--to-earliest', 'to the log start offset', 'toEarliest'))
      .addOption(strategyOption('--to-latest', 'to the log end offset', 'toLatest'))
      .addOption(strategyOption('--to-offset <N>', 'to offset N', 'toOffset').argParser(integer(0)))
      .addOption(
        strategyOption('--to-datetime <ISO>', 'to the first record at or after this time (or ms since the epoch)', 'toDatetime').argParser(
          timestamp,
        ),
      )
      .addOption(
        strategyOption('--shift-by <N>', 'by N (negative: back) from the committed offset', 'shiftBy').argParser(
          integer(Number.MIN_SAFE_INTEGER),
        ),
      )
      .addOption(new Option('--execute', 'commit the new offsets'))
      .addOption(new Option('--dry-run', 'only print the plan (the default)').conflicts('execute'))
      .action(async (groupId, opts, cmd) => {
        if (opts.topic === undefined && !opts.allTopics)
          return cmd.error('reset-offsets needs --topic T (one or more) or --all-topics', { exitCode: 2 });
        const strategy = strategyOf(opts);
        if (strategy === null) {
          return cmd.error('reset-offsets needs one of --to-earliest, --to-latest, --to-offset N, --to-datetime ISO, --shift-by N', {
            exitCode: 2,
          });
        }
        const c = common(opts);
        await withClient(c, (client) => resetOffsets(client, groupId, opts.topic ?? null, strategy, opts.execute === true, c.json));
      }),
  );

  group.addCommand(
    clientCommand('delete')
      .description('delete a group without members, and its offsets')
      .argument('<group>', 'group id')
      .action(async (groupId, opts) => {
        const c = common(opts);
        await withClient(c, async (client) => {
          const [r] = await client.deleteGroups([groupId]);
          if (r!.errorCode === ErrorCode.NON_EMPTY_GROUP)
            throw new CommandFailure(`group "${groupId}" has active members; stop them first`);
          if (r!.errorCode === ErrorCode.GROUP_ID_NOT_FOUND) throw new CommandFailure(`group "${groupId}" does not exist`);
          if (r!.errorCode !== ErrorCode.NONE) throw new CommandFailure(`deleting group "${groupId}" failed: ${errorName(r!.errorCode)}`);
          await out(c.json ? jsonLine({ group: groupId, deleted: true }) : `Deleted group ${groupId}.\n`);
        });
      }),
  );

  return group;
}
