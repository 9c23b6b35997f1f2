/**
 * Request and response headers.
 *
 * Request header v1: apiKey int16, apiVersion int16, correlationId int32, clientId nullable string
 * (always the int16-length form, even in v2). v2 adds tagged fields. A request uses v2 when its API
 * version is flexible. Response header v0 is the correlation id; v1 adds tagged fields, except that
 * ApiVersions responses always use v0 so that a client can parse them before it knows our versions.
 */
import type { Reader, Writer } from './primitives.js';

export interface RequestHeader {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
}

export const API_VERSIONS_KEY = 18;

/** Reads the fixed part of a request header (enough to route and to answer an error). */
export function readRequestHeader(r: Reader): RequestHeader {
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const clientId = r.string(false);
  return { apiKey, apiVersion, correlationId, clientId };
}

/** Skips the tagged fields of a v2 request header. */
export function skipHeaderTags(r: Reader): void {
  const count = r.uvarint();
  for (let i = 0; i < count && !r.bad; i++) {
    r.uvarint();
    r.skip(r.uvarint());
  }
}

export function writeRequestHeader(w: Writer, h: RequestHeader, flexible: boolean): void {
  w.int16(h.apiKey);
  w.int16(h.apiVersion);
  w.int32(h.correlationId);
  w.string(h.clientId, false);
  if (flexible) w.uvarint(0);
}

export function responseHeaderFlexible(apiKey: number, flexibleBody: boolean): boolean {
  return flexibleBody && apiKey !== API_VERSIONS_KEY;
}

export function writeResponseHeader(w: Writer, correlationId: number, flexible: boolean): void {
  w.int32(correlationId);
  if (flexible) w.uvarint(0);
}

export function readResponseHeader(r: Reader, flexible: boolean): number {
  const correlationId = r.int32();
  if (flexible) skipHeaderTags(r);
  return correlationId;
}
