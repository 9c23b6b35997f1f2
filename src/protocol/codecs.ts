/**
 * The compiled codec of each API, built on first use and shared by the server and the client.
 */
import { ApiCodec } from './codec.js';
import { specForKey } from './messages/index.js';
import type { ApiSpec } from './schema.js';

/** Codecs by their description (each API has one description object, so one codec). */
const codecs = new Map<ApiSpec, unknown>();

/** The codec of an API, typed by its description. */
export function codecFor<S extends ApiSpec>(spec: S): ApiCodec<S> {
  const cached = codecs.get(spec);
  if (cached !== undefined) return cached as ApiCodec<S>; // stored below for this same `spec`
  const c = new ApiCodec(spec);
  codecs.set(spec, c);
  return c;
}

/**
 * The codec of an API key read off the wire, or undefined for a key we do not describe. Its types
 * are the wide ones of any API: code that knows its API uses `codecFor(spec)` instead.
 */
export function codecForKey(apiKey: number): ApiCodec | undefined {
  const spec: ApiSpec | undefined = specForKey(apiKey);
  return spec === undefined ? undefined : codecFor(spec);
}
