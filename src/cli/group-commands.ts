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
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, ApiKey, type Client, type CommittedOffset, type TopicPartitions } from '../client/client.js';
import { assignedPartitionsOf } from '../group/consumer-protocol.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { UsageError, common, help, intArg, jsonLine, onePositional, out, parse, withClient } from './client-commands.js';

export const GROUP_USAGE = `usage:
  franz group list [--state STATE ...]
  franz group describe GROUP         members, assignments, committed offset, log end offset and lag
  franz group reset-offsets GROUP (--topic T[:P,P...] ... | --all-topics)
        (--to-earliest | --to-latest | --to-offset N | --to-datetime ISO | --shift-by N) [--execute]
                                     prints the plan; --execute commits it (only while the group
                                     has no active members)
  franz group delete GROUP           only a group without members; removes its offsets too
common options:
  --brokers HOST:PORT[,HOST:PORT...]   bootstrap brokers (default: $FRANZ_BROKERS or 127.0.0.1:9092)
  --format text|json                   json: one JSON object per line, for scripts`;

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
        members: cg!.members.map((m) => ({ memberId: m.memberId, instanceId: m.instanceId, clientId: m.clientId, host: m.clientHost, assignment: [...m.assignment] })),
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
    let s = byTopic.get(topic);
    if (s === undefined) byTopic.set(topic, (s = new Set()));
    s.add(partition);
  }
  const out = new Map<string, number>();
  await Promise.all([...byTopic].map(async ([topic, ps]) => {
    try {
      const ends = await client.listOffsets(topic, [...ps], LATEST_TIMESTAMP);
      for (const [p, a] of ends) out.set(`${topic}\u0000${p}`, a.offset);
    } catch {
      // A deleted topic still has committed offsets; its end is unknown.
    }
  }));
  return out;
}

async function describe(client: Client, groupId: string, json: boolean): Promise<void> {
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
    await out(jsonLine({
      group: view.groupId,
      type: view.type,
      state: view.state,
      protocol: view.protocol,
      coordinator: view.coordinator,
      members: view.members,
      partitions: sorted,
      totalLag: sorted.reduce((s, r) => s + (r.lag ?? 0), 0),
    }));
    return;
  }
  let text = `Group: ${view.groupId}\tType: ${view.type}\tState: ${view.state}\tProtocol: ${view.protocol || '-'}\tCoordinator: ${view.coordinator}\tMembers: ${view.members.length}\n`;
  for (const m of view.members) {
    const parts = m.assignment.map((a) => `${a.topic}:${a.partitions.join(',')}`).join(' ');
    text += `\tMember: ${m.memberId}${m.instanceId === null ? '' : ` (instance ${m.instanceId})`}\tClient: ${m.clientId}\tHost: ${m.host}\tAssigned: ${parts || '-'}\n`;
  }
  const header = ['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'];
  const cells = sorted.map((r) => [r.topic, String(r.partition), dash(r.committed), dash(r.logEnd), dash(r.lag), r.memberId ?? '-', r.host ?? '-', r.clientId ?? '-']);
  text += table([header, ...cells]);
  await out(text);
}

function dash(n: number | null): string {
  return n === null ? '-' : String(n);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd() + '\n').join('');
}

/** A failure that is not a usage mistake: printed as "franz: ..." with exit code 1. */
class CommandFailure extends Error {}

type Strategy =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'offset'; offset: number }
  | { kind: 'datetime'; timestamp: number }
  | { kind: 'shift'; by: number };

function strategyOf(values: Record<string, string | boolean | string[] | undefined>): Strategy {
  const chosen: Strategy[] = [];
  if (values['to-earliest']) chosen.push({ kind: 'earliest' });
  if (values['to-latest']) chosen.push({ kind: 'latest' });
  if (values['to-offset'] !== undefined) chosen.push({ kind: 'offset', offset: intArg('--to-offset', values['to-offset'] as string, 0)! });
  if (values['to-datetime'] !== undefined) {
    const s = values['to-datetime'] as string;
    const t = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
    if (Number.isNaN(t)) throw new UsageError(`--to-datetime must be an ISO date or milliseconds since the epoch, not "${s}"`);
    chosen.push({ kind: 'datetime', timestamp: t });
  }
  if (values['shift-by'] !== undefined) chosen.push({ kind: 'shift', by: intArg('--shift-by', values['shift-by'] as string, Number.MIN_SAFE_INTEGER)! });
  if (chosen.length !== 1) {
    throw new UsageError('reset-offsets needs exactly one of --to-earliest, --to-latest, --to-offset N, --to-datetime ISO, --shift-by N');
  }
  return chosen[0]!;
}

/** The partitions to reset: --topic T (all its partitions), --topic T:0,2, or --all-topics (every committed one). */
async function targetsOf(client: Client, topics: string[], all: boolean, committed: readonly CommittedOffset[]): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  if (all) {
    for (const c of committed) out.set(c.topic, [...(out.get(c.topic) ?? []), c.partition]);
    return out;
  }
  for (const spec of topics) {
    const colon = spec.lastIndexOf(':');
    const name = colon < 0 ? spec : spec.slice(0, colon);
    if (name === '') throw new UsageError(`--topic needs a topic name, not "${spec}"`);
    const md = await client.topic(name);
    const known = new Set(md.partitions.map((p) => p.partition));
    let ps: number[];
    if (colon < 0) {
      ps = [...known];
    } else {
      ps = spec.slice(colon + 1).split(',').map((x) => intArg('--topic partition', x, 0)!);
      const unknown = ps.find((p) => !known.has(p));
      if (unknown !== undefined) throw new CommandFailure(`topic "${name}" has no partition ${unknown}`);
    }
    out.set(name, [...new Set([...(out.get(name) ?? []), ...ps])].sort((a, b) => a - b));
  }
  return out;
}

async function resetOffsets(client: Client, groupId: string, targets: { topics: string[]; all: boolean }, strategy: Strategy, execute: boolean, json: boolean): Promise<void> {
  const view = await viewGroup(client, groupId);
  if (view.members.length > 0) {
    throw new CommandFailure(`offsets of group "${groupId}" can only be reset while it has no active members; it is ${view.state} with ${view.members.length}`);
  }
  const committed = await client.offsetFetch(groupId, null);
  const current = new Map(committed.map((c) => [`${c.topic}\u0000${c.partition}`, c.offset]));
  const wanted = await targetsOf(client, targets.topics, targets.all, committed);
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
        case 'earliest': target = start; break;
        case 'latest': target = end; break;
        case 'offset': target = strategy.offset; break;
        // No record that recent: the end, as Kafka does.
        case 'datetime': target = byTime!.get(p)!.offset < 0 ? end : byTime!.get(p)!.offset; break;
        // Nothing committed yet: shift from the log start.
        case 'shift': target = (cur ?? start) + strategy.by; break;
      }
      plan.push({ topic, partition: p, current: cur, target: Math.min(Math.max(target, start), end) });
    }
  }
  if (plan.length === 0) throw new CommandFailure(`nothing to reset: group "${groupId}" has no committed offsets for the partitions given`);
  if (execute) await client.offsetCommit(groupId, plan.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.target })));
  if (json) {
    let text = '';
    for (const r of plan) text += jsonLine({ group: groupId, ...r, executed: execute });
    await out(text);
    return;
  }
  const rows = [['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET'], ...plan.map((r) => [r.topic, String(r.partition), dash(r.current), String(r.target)])];
  await out(table(rows) + (execute ? `Reset ${plan.length} offset(s) of group ${groupId}.\n` : 'Dry run: nothing changed; add --execute to apply.\n'));
}

async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(GROUP_USAGE + '\n');
    return sub === undefined ? 2 : 0;
  }
  switch (sub) {
    case 'list': {
      const { values, positionals } = parse(rest, { state: { type: 'string', multiple: true } });
      if (values.help) return help(GROUP_USAGE);
      if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
      const c = common(values);
      return withClient(c, async (client) => {
        const groups = (await client.listGroups({ states: values.state ?? [] })).sort((a, b) => (a.groupId < b.groupId ? -1 : 1));
        let text = '';
        for (const g of groups) {
          text += c.json ? jsonLine(g) : `${g.groupId}\t${g.type ?? '-'}\t${g.state ?? '-'}\n`;
        }
        await out(text);
      });
    }
    case 'describe': {
      const { values, positionals } = parse(rest, {});
      if (values.help) return help(GROUP_USAGE);
      const groupId = onePositional(positionals, 'group id');
      const c = common(values);
      return withClient(c, (client) => describe(client, groupId, c.json));
    }
    case 'reset-offsets': {
      // `--shift-by -2` as Kafka's tool takes it (parseArgs alone would read -2 as an option).
      const argv = rest.flatMap((a, i) => (a === '--shift-by' && /^-\d+$/.test(rest[i + 1] ?? '') ? [] : [i > 0 && rest[i - 1] === '--shift-by' && /^-\d+$/.test(a) ? `--shift-by=${a}` : a]));
      const { values, positionals } = parse(argv, {
        topic: { type: 'string', multiple: true },
        'all-topics': { type: 'boolean' },
        'to-earliest': { type: 'boolean' },
        'to-latest': { type: 'boolean' },
        'to-offset': { type: 'string' },
        'to-datetime': { type: 'string' },
        'shift-by': { type: 'string' },
        execute: { type: 'boolean' },
        'dry-run': { type: 'boolean' },
      });
      if (values.help) return help(GROUP_USAGE);
      const groupId = onePositional(positionals, 'group id');
      const c = common(values);
      const topics = values.topic ?? [];
      const all = values['all-topics'] === true;
      if ((topics.length > 0) === all) throw new UsageError('reset-offsets needs --topic T (one or more) or --all-topics');
      if (values.execute && values['dry-run']) throw new UsageError('--execute and --dry-run exclude each other');
      const strategy = strategyOf(values);
      return withClient(c, (client) => resetOffsets(client, groupId, { topics, all }, strategy, values.execute === true, c.json));
    }
    case 'delete': {
      const { values, positionals } = parse(rest, {});
      if (values.help) return help(GROUP_USAGE);
      const groupId = onePositional(positionals, 'group id');
      const c = common(values);
      return withClient(c, async (client) => {
        const [r] = await client.deleteGroups([groupId]);
        if (r!.errorCode === ErrorCode.NON_EMPTY_GROUP) throw new CommandFailure(`group "${groupId}" has active members; stop them first`);
        if (r!.errorCode === ErrorCode.GROUP_ID_NOT_FOUND) throw new CommandFailure(`group "${groupId}" does not exist`);
        if (r!.errorCode !== ErrorCode.NONE) throw new CommandFailure(`deleting group "${groupId}" failed: ${errorName(r!.errorCode)}`);
        await out(c.json ? jsonLine({ group: groupId, deleted: true }) : `Deleted group ${groupId}.\n`);
      });
    }
    default:
      throw new UsageError(`unknown group command "${sub}"`);
  }
}

export async function groupCommand(args: string[]): Promise<number> {
  try {
    return await run(args);
  } catch (e) {
    if (e instanceof CommandFailure) {
      process.stderr.write(`franz: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
