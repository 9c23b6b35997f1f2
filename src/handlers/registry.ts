/**
 * The handler registry: one handler per API, each declaring the versions it serves. ApiVersions is
 * built from this registry, so there is no second list of supported versions to keep in step.
 *
 * Handlers are typed by their API's description: `defineHandler(spec, {...})` gives `handle` the
 * request type computed from the spec and checks the response it returns against it. They reach
 * the broker through the narrow ports of `BrokerServices`, never through the broker itself.
 */
import type { BrokerConfig } from '../config.js';
import type { GroupCoordinator } from '../group/coordinator.js';
import type { Logger } from '../logger.js';
import type { TraceRecorder } from '../trace/tracer.js';
import type { Transactions } from '../txn/transactions.js';
import type { ClusterInfo, LogDirs, PartitionLogs, ProducerIds, TopicAdmin } from '../metadata/ports.js';
import type { ApiCodec } from '../protocol/codec.js';
import { codecFor } from '../protocol/codecs.js';
import type { RequestHeader } from '../protocol/header.js';
import type { ApiSpec, DecodedRequest, ResponseBody } from '../protocol/schema.js';

export interface ApiVersionRange {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

/** What handlers may reach of the broker, each part behind a narrow port. */
export interface BrokerServices {
  readonly logs: PartitionLogs;
  readonly topics: TopicAdmin;
  readonly groups: GroupCoordinator;
  readonly transactions: Transactions;
  readonly producerIds: ProducerIds;
  readonly cluster: ClusterInfo;
  readonly logDirs: LogDirs;
  readonly config: BrokerConfig;
  readonly log: Logger;
  /** Message trace: what produce, fetch and commit tell of the traced topics. */
  readonly trace: TraceRecorder;
  /** The ApiVersions list (HandlerRegistry.apiVersions). */
  readonly apiVersions: () => ApiVersionRange[];
}

export interface RequestContext extends BrokerServices {
  readonly header: RequestHeader;
  readonly version: number;
  /** Remote address, for logs and DescribeProducers-style tracing. */
  readonly peer: string;
}

export type HandlerResult<S extends ApiSpec> = ResponseBody<S> | null | Promise<ResponseBody<S> | null>;

export interface Handler<S extends ApiSpec = ApiSpec> {
  readonly spec: S;
  /** Versions this handler answers. */
  readonly versions: readonly [number, number];
  /** Lowest version advertised, when it differs from the lowest served (Produce advertises 0). */
  readonly advertisedMin?: number;
  /**
   * True when handle() is done with the request's bytes by the time it returns and nothing it
   * returns or keeps refers to them: the connection then reuses the request's buffer for a later
   * request (src/server/frame-pool.ts). Leave unset for a handler whose decoded request may live on.
   */
  readonly releasesRequestBytes?: boolean;
  /** Returns the response body, or null when the request gets no response (Produce with acks=0). */
  handle(ctx: RequestContext, request: DecodedRequest<S>): HandlerResult<S>;
}

/** The client host as Kafka shows it (member descriptions): the peer address without its port. */
export function clientHost(ctx: RequestContext): string {
  return ctx.peer.replace(/:\d+$/, '');
}

/** A handler for the API `spec` describes, typed by it. */
export function defineHandler<const S extends ApiSpec>(spec: S, h: Omit<Handler<S>, 'spec'>): Handler<S> {
  return { ...h, spec };
}

/** A registered handler with the codec of its API (what the connection dispatches to). */
export interface Route {
  readonly handler: Handler;
  readonly codec: ApiCodec;
}

export class HandlerRegistry {
  private readonly routes = new Map<number, Route>();

  register<S extends ApiSpec>(h: Handler<S>): void {
    const codec = codecFor(h.spec);
    const [lo, hi] = h.versions;
    if (!codec.supports(lo) || !codec.supports(hi)) {
      throw new Error(`${h.spec.name} handler serves v${lo}-${hi}, beyond the described v${h.spec.validVersions.join('-')}`);
    }
    if (this.routes.has(h.spec.apiKey)) throw new Error(`a second handler for ${h.spec.name}`);
    // The route pairs the handler with the codec of its own description, so the request the codec
    // decodes and the response it encodes are the ones the handler's types name; only their static
    // types are widened here.
    this.routes.set(h.spec.apiKey, { handler: h as unknown as Handler, codec: codec as unknown as ApiCodec });
  }

  get(apiKey: number): Route | undefined {
    return this.routes.get(apiKey);
  }

  serves(apiKey: number, version: number): boolean {
    const r = this.routes.get(apiKey);
    return r !== undefined && version >= r.handler.versions[0] && version <= r.handler.versions[1];
  }

  /** The ApiVersions list: every registered API with its advertised range, by key. */
  apiVersions(): ApiVersionRange[] {
    return [...this.routes.values()]
      .map((r) => r.handler)
      .sort((a, b) => a.spec.apiKey - b.spec.apiKey)
      .map((h) => ({ apiKey: h.spec.apiKey, minVersion: h.advertisedMin ?? h.versions[0], maxVersion: h.versions[1] }));
  }
}
