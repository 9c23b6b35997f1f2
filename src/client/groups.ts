/**
 * Consumer-group administration: list, describe (classic and KIP-848 groups), fetch and commit
 * offsets, delete. The client inspects and administers groups but never joins one.
 *
 * Group requests go to the group's coordinator (FindCoordinator, cached per group). When it answers
 * that it is loading, not available or not the coordinator, the coordinator is found again and the
 * request retried, a few times with backoff (`withCoordinator`).
 */
import { CoordinatorKeyType } from '../protocol/constants.js';
import { ErrorCode } from '../protocol/errors.js';
import { spec as offsetCommitSpec } from '../protocol/messages/08-offset-commit.js';
import { spec as offsetFetchSpec } from '../protocol/messages/09-offset-fetch.js';
import { spec as findCoordinatorSpec } from '../protocol/messages/10-find-coordinator.js';
import { spec as describeGroupsSpec } from '../protocol/messages/15-describe-groups.js';
import { spec as listGroupsSpec } from '../protocol/messages/16-list-groups.js';
import { spec as deleteGroupsSpec } from '../protocol/messages/42-delete-groups.js';
import { spec as consumerGroupDescribeSpec } from '../protocol/messages/69-consumer-group-describe.js';
import type { DecodedResponse, Elem } from '../protocol/schema.js';
import { ClientError, KafkaError, type BrokerConnection } from './connection.js';
import type { Cluster } from './metadata.js';
import type {
  BrokerMetadata,
  CommitOptions,
  CommittedOffset,
  ConsumerGroupDescription,
  DeleteGroupResult,
  GroupDescription,
  GroupListing,
  OffsetToCommit,
  TopicPartitions,
} from './types.js';

/** Error codes after which a group request may be retried once the coordinator has been found again. */
const RETRIABLE_WITH_COORDINATOR: ReadonlySet<number> = new Set([
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
]);

/** A group's entry in a DescribeGroups or ConsumerGroupDescribe answer. */
interface DescribedGroup {
  readonly groupId: string;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

/** How one describe API is asked and read (see `describeEach`). */
interface Describe<G extends DescribedGroup, T> {
  /** The API's name, for a protocol error. */
  readonly api: string;
  /** What is being done, for a KafkaError ("describe group"). */
  readonly what: string;
  ask(c: BrokerConnection, groupId: string): Promise<readonly G[]>;
  /** The answer for a group the coordinator does not know. */
  dead(groupId: string, coordinator: number): T;
  read(g: G, coordinator: number): T;
}

type ConsumerGroupMemberAnswer = Elem<Elem<DecodedResponse<typeof consumerGroupDescribeSpec>['groups']>['members']>;

function topicPartitions(a: ConsumerGroupMemberAnswer['assignment']): TopicPartitions[] {
  return a.topicPartitions.map((tp) => ({ topic: tp.topicName, partitions: [...tp.partitions].sort((x, y) => x - y) }));
}

function byTopicPartition(a: CommittedOffset, b: CommittedOffset): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}

export class Groups {
  /** Group id -> its coordinator, from FindCoordinator. */
  private readonly coordinators = new Map<string, BrokerMetadata>();

  constructor(private readonly cluster: Cluster) {}

  /** FindCoordinator: the broker that coordinates a group (cached; `refresh` asks again). */
  async findCoordinator(groupId: string, opts: { refresh?: boolean } = {}): Promise<BrokerMetadata> {
    if (!opts.refresh) {
      const cached = this.coordinators.get(groupId);
      if (cached !== undefined) return cached;
    }
    const c = await this.cluster.connection();
    const batched = c.version(findCoordinatorSpec) >= 4;
    const res = await c.request(
      findCoordinatorSpec,
      batched ? { keyType: CoordinatorKeyType.GROUP, coordinatorKeys: [groupId] } : { keyType: CoordinatorKeyType.GROUP, key: groupId },
    );
    // Before v4 the answer is the response itself; from v4 one entry per key asked.
    const r = batched ? res.coordinators.find((k) => k.key === groupId) : res;
    if (r === undefined) throw new ClientError('FRANZ_PROTOCOL', `FindCoordinator answered nothing for group "${groupId}"`);
    if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, `find the coordinator of group "${groupId}"`, r.errorMessage);
    const b: BrokerMetadata = { nodeId: r.nodeId, host: r.host, port: r.port, rack: null };
    this.coordinators.set(groupId, b);
    return b;
  }

  /**
   * Runs `attempt` against the group's coordinator. When it throws a KafkaError saying the
   * coordinator moved, is loading or is not available, finds the coordinator again and retries, up
   * to `retries` times with backoff.
   */
  private async withCoordinator<T>(groupId: string, attempt: (c: BrokerConnection, coordinator: BrokerMetadata) => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        const b = await this.findCoordinator(groupId, { refresh: i > 0 });
        return await attempt(await this.cluster.brokerConnection(b), b);
      } catch (e) {
        if (!(e instanceof KafkaError && RETRIABLE_WITH_COORDINATOR.has(e.errorCode)) || i >= this.cluster.retries) throw e;
        this.coordinators.delete(groupId);
        await this.cluster.backoff(i);
      }
    }
  }

  /**
   * Asks each group's coordinator about that group alone, and reads the group's own entry of the
   * answer (DescribeGroups, ConsumerGroupDescribe and DeleteGroups all answer a list by group id).
   */
  private perGroup<G extends { readonly groupId: string }, T>(
    groupIds: readonly string[],
    api: string,
    ask: (c: BrokerConnection, groupId: string) => Promise<readonly G[]>,
    read: (g: G, coordinator: BrokerMetadata) => T,
  ): Promise<T[]> {
    return Promise.all(
      groupIds.map((groupId) =>
        this.withCoordinator(groupId, async (c, coordinator) => {
          const g = (await ask(c, groupId)).find((x) => x.groupId === groupId);
          if (g === undefined) throw new ClientError('FRANZ_PROTOCOL', `${api} answered nothing for group "${groupId}"`);
          return read(g, coordinator);
        }),
      ),
    );
  }

  /** A describe API per group: GROUP_ID_NOT_FOUND is a "Dead" group, any other error is thrown. */
  private describeEach<G extends DescribedGroup, T>(groupIds: readonly string[], how: Describe<G, T>): Promise<T[]> {
    return this.perGroup(groupIds, how.api, how.ask, (g, coordinator) => {
      if (g.errorCode === ErrorCode.GROUP_ID_NOT_FOUND) return how.dead(g.groupId, coordinator.nodeId);
      if (g.errorCode !== ErrorCode.NONE) throw new KafkaError(g.errorCode, `${how.what} "${g.groupId}"`, g.errorMessage);
      return how.read(g, coordinator.nodeId);
    });
  }

  /** ListGroups from every broker in the cluster (each lists the groups it coordinates). */
  async listGroups(opts: { states?: readonly string[] } = {}): Promise<GroupListing[]> {
    const md = await this.cluster.metadata([]);
    const connections =
      md.brokers.length > 0
        ? await Promise.all(md.brokers.map((b) => this.cluster.brokerConnection(b)))
        : [await this.cluster.connection()];
    const out = new Map<string, GroupListing>();
    for (const c of new Set(connections)) {
      const v = c.version(listGroupsSpec);
      const res = await c.request(listGroupsSpec, { statesFilter: opts.states ?? [], typesFilter: [] });
      if (res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode, `list groups on ${c.address}`);
      for (const g of res.groups) {
        out.set(g.groupId, {
          groupId: g.groupId,
          protocolType: g.protocolType,
          state: v >= 4 ? g.groupState : null,
          type: v >= 5 ? g.groupType : null,
        });
      }
    }
    const all = [...out.values()];
    // Before v4 the broker cannot filter by state.
    const states = opts.states?.map((s) => s.toLowerCase());
    return states === undefined || states.length === 0
      ? all
      : all.filter((g) => g.state === null || states.includes(g.state.toLowerCase()));
  }

  /**
   * DescribeGroups, each group asked of its coordinator. A group the broker does not know is
   * returned in state "Dead" (what Kafka answers before v6; v6 answers GROUP_ID_NOT_FOUND instead).
   */
  describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]> {
    return this.describeEach(groupIds, {
      api: 'DescribeGroups',
      what: 'describe group',
      ask: async (c, groupId) => (await c.request(describeGroupsSpec, { groups: [groupId], includeAuthorizedOperations: false })).groups,
      dead: (groupId, coordinator) => ({ groupId, state: 'Dead', protocolType: '', protocol: '', members: [], coordinator }),
      read: (g, coordinator) => ({
        groupId: g.groupId,
        state: g.groupState,
        protocolType: g.protocolType,
        protocol: g.protocolData,
        members: g.members.map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          metadata: m.memberMetadata,
          assignment: m.memberAssignment,
        })),
        coordinator,
      }),
    });
  }

  /**
   * ConsumerGroupDescribe (KIP-848 groups), each group asked of its coordinator. A group that is not
   * a consumer group (GROUP_ID_NOT_FOUND) is returned in state "Dead".
   */
  consumerGroupDescribe(groupIds: readonly string[]): Promise<ConsumerGroupDescription[]> {
    return this.describeEach(groupIds, {
      api: 'ConsumerGroupDescribe',
      what: 'describe consumer group',
      ask: async (c, groupId) =>
        (await c.request(consumerGroupDescribeSpec, { groupIds: [groupId], includeAuthorizedOperations: false })).groups,
      dead: (groupId, coordinator) => ({
        groupId,
        state: 'Dead',
        groupEpoch: -1,
        assignmentEpoch: -1,
        assignor: '',
        members: [],
        coordinator,
      }),
      read: (g, coordinator) => ({
        groupId: g.groupId,
        state: g.groupState,
        groupEpoch: g.groupEpoch,
        assignmentEpoch: g.assignmentEpoch,
        assignor: g.assignorName,
        members: g.members.map((m) => ({
          memberId: m.memberId,
          instanceId: m.instanceId,
          memberEpoch: m.memberEpoch,
          clientId: m.clientId,
          clientHost: m.clientHost,
          subscribedTopicNames: m.subscribedTopicNames,
          subscribedTopicRegex: m.subscribedTopicRegex,
          assignment: topicPartitions(m.assignment),
          targetAssignment: topicPartitions(m.targetAssignment),
        })),
        coordinator,
      }),
    });
  }

  /**
   * OffsetFetch: the group's committed offsets of the given partitions, or of every partition it
   * has committed (null; OffsetFetch v2+). Partitions without a committed offset are left out.
   */
  offsetFetch(groupId: string, topics: readonly TopicPartitions[] | null = null): Promise<CommittedOffset[]> {
    return this.withCoordinator(groupId, async (c) => {
      const v = c.version(offsetFetchSpec);
      if (topics === null && v < 2) {
        throw new ClientError(
          'FRANZ_UNSUPPORTED_API',
          `the broker at ${c.address} offers only OffsetFetch v${v}, which cannot fetch every committed offset of a group`,
        );
      }
      const wanted = topics === null ? null : topics.map((t) => ({ name: t.topic, partitionIndexes: t.partitions }));
      const res = await c.request(
        offsetFetchSpec,
        v >= 8
          ? { groups: [{ groupId, memberId: null, memberEpoch: -1, topics: wanted }], requireStable: false }
          : { groupId, topics: wanted, requireStable: false },
      );
      // Before v8 the answer is the response itself; from v8 one entry per group asked.
      let answer: Pick<typeof res, 'errorCode' | 'topics'> = res;
      if (v >= 8) {
        const g = res.groups.find((x) => x.groupId === groupId);
        if (g === undefined) throw new ClientError('FRANZ_PROTOCOL', `OffsetFetch answered nothing for group "${groupId}"`);
        answer = g;
      }
      if (answer.errorCode !== ErrorCode.NONE) throw new KafkaError(answer.errorCode, `fetch offsets of group "${groupId}"`);
      const out: CommittedOffset[] = [];
      for (const t of answer.topics) {
        for (const p of t.partitions) {
          if (p.errorCode !== ErrorCode.NONE)
            throw new KafkaError(p.errorCode, `fetch the offset of ${t.name}-${p.partitionIndex} for group "${groupId}"`);
          if (p.committedOffset < 0) continue;
          out.push({
            topic: t.name,
            partition: p.partitionIndex,
            offset: p.committedOffset,
            leaderEpoch: p.committedLeaderEpoch,
            metadata: p.metadata,
          });
        }
      }
      return out.sort(byTopicPartition);
    });
  }

  /**
   * OffsetCommit. By default a commit from outside the group (generation -1, member id ""), which
   * the coordinator accepts only while the group has no members (UNKNOWN_MEMBER_ID otherwise).
   * Throws the first partition error.
   */
  async offsetCommit(groupId: string, offsets: readonly OffsetToCommit[], opts: CommitOptions = {}): Promise<void> {
    const byTopic = new Map<
      string,
      Array<{ partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; committedMetadata: string }>
    >();
    for (const o of offsets) {
      const partition = {
        partitionIndex: o.partition,
        committedOffset: o.offset,
        committedLeaderEpoch: o.leaderEpoch ?? -1,
        committedMetadata: o.metadata ?? '',
      };
      const list = byTopic.get(o.topic);
      if (list === undefined) byTopic.set(o.topic, [partition]);
      else list.push(partition);
    }
    await this.withCoordinator(groupId, async (c) => {
      const res = await c.request(offsetCommitSpec, {
        groupId,
        generationIdOrMemberEpoch: opts.generationId ?? -1,
        memberId: opts.memberId ?? '',
        groupInstanceId: opts.groupInstanceId ?? null,
        retentionTimeMs: -1,
        topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
      });
      for (const t of res.topics) {
        for (const p of t.partitions) {
          if (p.errorCode !== ErrorCode.NONE) {
            throw new KafkaError(p.errorCode, `commit the offset of ${t.name}-${p.partitionIndex} for group "${groupId}"`);
          }
        }
      }
    });
  }

  /** DeleteGroups, each group asked of its coordinator; one result per group, errors included. */
  deleteGroups(groupIds: readonly string[]): Promise<DeleteGroupResult[]> {
    return this.perGroup(
      groupIds,
      'DeleteGroups',
      async (c, groupId) => (await c.request(deleteGroupsSpec, { groupsNames: [groupId] })).results,
      ({ groupId, errorCode }) => {
        if (RETRIABLE_WITH_COORDINATOR.has(errorCode)) throw new KafkaError(errorCode, `delete group "${groupId}"`);
        if (errorCode === ErrorCode.NONE) this.coordinators.delete(groupId);
        return { groupId, errorCode };
      },
    );
  }
}
