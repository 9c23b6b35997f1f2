/**
 * The handler registry: one handler per API, each declaring the versions it serves. ApiVersions is
 * built from this registry, so there is no second list of supported versions to keep in step.
 */
import { ApiCodec, type Message } from '../protocol/codec.js';
import type { RequestHeader } from '../protocol/header.js';
import { specs } from '../protocol/messages/index.js';
import type { ApiSpec } from '../protocol/schema.js';
import type { Broker } from '../broker.js';

export interface RequestContext {
  readonly broker: Broker;
  readonly header: RequestHeader;
  readonly version: number;
  /** Remote address, for logs and DescribeProducers-style tracing. */
  readonly peer: string;
}

export interface Handler {
  readonly apiKey: number;
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
  handle(ctx: RequestContext, request: Message): Message | null | Promise<Message | null>;
}

const specByKey = new Map<number, ApiSpec>(specs.map((s) => [s.apiKey, s]));
const codecs = new Map<number, ApiCodec>();

export function codecFor(apiKey: number): ApiCodec | undefined {
  let c = codecs.get(apiKey);
  if (c === undefined) {
    const spec = specByKey.get(apiKey);
    if (spec === undefined) return undefined;
    c = new ApiCodec(spec);
    codecs.set(apiKey, c);
  }
  return c;
}

export class HandlerRegistry {
  private readonly handlers = new Map<number, Handler>();

  register(h: Handler): void {
    const codec = codecFor(h.apiKey);
    if (codec === undefined) throw new Error(`no protocol description for API key ${h.apiKey}`);
    const [lo, hi] = h.versions;
    if (!codec.supports(lo) || !codec.supports(hi)) {
      throw new Error(`${codec.spec.name} handler serves v${lo}-${hi}, beyond the described v${codec.spec.validVersions.join('-')}`);
    }
    this.handlers.set(h.apiKey, h);
  }

  get(apiKey: number): Handler | undefined {
    return this.handlers.get(apiKey);
  }

  serves(apiKey: number, version: number): boolean {
    const h = this.handlers.get(apiKey);
    return h !== undefined && version >= h.versions[0] && version <= h.versions[1];
  }

  /** The ApiVersions list: every registered API with its advertised range, by key. */
  apiVersions(): Array<{ apiKey: number; minVersion: number; maxVersion: number }> {
    return [...this.handlers.values()]
      .sort((a, b) => a.apiKey - b.apiKey)
      .map((h) => ({ apiKey: h.apiKey, minVersion: h.advertisedMin ?? h.versions[0], maxVersion: h.versions[1] }));
  }
}
