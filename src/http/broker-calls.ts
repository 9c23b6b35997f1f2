/**
 * The HTTP layer's way into the broker: the same handlers the Kafka listener dispatches to, called
 * in-process with a request the HTTP route built (no socket, no Kafka client loopback), and the
 * same ports (BrokerServices) for what needs no handler. A REST produce is thus a Produce request
 * to the Produce handler: validation, delayed delivery, trace, acks and durability are the ones
 * every Kafka client gets.
 */
import type { BrokerServices, HandlerRegistry, RequestContext } from '../handlers/registry.js';
import { spec as produceSpec } from '../protocol/messages/00-produce.js';
import type { ApiSpec, DecodedRequest, ResponseBody } from '../protocol/schema.js';

/** The client id HTTP requests carry into the handlers (trace names the producer so). */
export const HTTP_CLIENT_ID = 'franz-http';

export interface ProduceOutcome {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly baseOffset: number;
  readonly logAppendTimeMs: number;
}

export class BrokerCalls {
  constructor(
    readonly services: BrokerServices,
    private readonly registry: HandlerRegistry,
  ) {}

  /** Calls the handler of `spec` at `version` with `request`, as if a client at `peer` had sent it. */
  async call<S extends ApiSpec>(
    spec: S,
    version: number,
    request: DecodedRequest<S>,
    peer: string,
    clientId = HTTP_CLIENT_ID,
  ): Promise<ResponseBody<S> | null> {
    const route = this.registry.get(spec.apiKey);
    if (route === undefined) throw new Error(`no handler for ${spec.name}`);
    const ctx: RequestContext = {
      ...this.services,
      header: { apiKey: spec.apiKey, apiVersion: version, correlationId: 0, clientId },
      version,
      peer,
    };
    return (await route.handler.handle(ctx, request as never)) as ResponseBody<S> | null;
  }

  /** Appends a record batch to a partition with acks=all, through the Produce handler (v9). */
  async produce(topic: string, partition: number, batch: Buffer, peer: string, timeoutMs = 30_000): Promise<ProduceOutcome> {
    const request: DecodedRequest<typeof produceSpec> = {
      transactionalId: null,
      acks: -1,
      timeoutMs,
      topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
    } as DecodedRequest<typeof produceSpec>;
    const r = await this.call(produceSpec, 9, request, peer);
    const p = r?.responses[0]?.partitionResponses[0];
    if (p === undefined) return { errorCode: -1, errorMessage: 'no answer', baseOffset: -1, logAppendTimeMs: -1 };
    return {
      errorCode: p.errorCode,
      errorMessage: p.errorMessage ?? null,
      baseOffset: p.baseOffset,
      logAppendTimeMs: p.logAppendTimeMs ?? -1,
    };
  }
}
