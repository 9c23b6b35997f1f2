/**
 * The in-process fuzz: mutated frames straight into franz's decoders, with no socket in between.
 *
 * What must hold for every frame:
 * - requests, as the broker reads them (header, header tags, body): no exception, the reader never
 *   past its end, and either `reader.bad` or a clean decode; a clean decode holds no more values
 *   than its bytes can carry (no allocation sized by a count), and takes no more than a moment;
 * - responses, as franz's client reads them: the same;
 * - record batches (`decodeRecordBatches`, used by the client and by ListOffsets): only RecordsError
 *   is thrown, in a moment.
 * A clean request decode is also re-encoded and decoded again; when that differs or the encoder
 * throws, it is noted (not a failure: the broker never re-encodes a request) once per kind and API.
 */
import { isDeepStrictEqual } from 'node:util';
import { performance } from 'node:perf_hooks';
import { codecForKey } from '../src/protocol/codecs.js';
import { readRequestHeader, readResponseHeader, responseHeaderFlexible, skipHeaderTags } from '../src/protocol/header.js';
import { Reader, Writer } from '../src/protocol/primitives.js';
import { decodeRecordBatches, RecordsError } from '../src/records/record-batch.js';
import {
  type Direction,
  type Seed,
  type VersionRanges,
  describedRanges,
  generatedSeeds,
  goldenSeeds,
  makeSeed,
  randomBatches,
} from './fuzz-corpus.js';
import { mutate, mutateBatches } from './fuzz-mutate.js';
import type { Rng } from './rng.js';

export interface Finding {
  readonly kind: string;
  readonly message: string;
  readonly frame: Buffer;
  /** "request", "response" or "records" (a records section alone). */
  readonly target: Direction | 'records';
  readonly apiKey: number;
  readonly version: number;
  readonly origin: string;
  readonly how: string;
}

/** What the broker does with a request frame, predicted by decoding it with the same codec. */
export type RequestOutcome =
  | { readonly kind: 'bad-header' }
  | { readonly kind: 'undescribed'; readonly apiKey: number; readonly version: number }
  | { readonly kind: 'bad'; readonly apiKey: number; readonly version: number }
  | { readonly kind: 'clean'; readonly apiKey: number; readonly version: number; readonly body: Record<string, unknown> };

/** A decode slower than this (three times in a row) is reported. Frames here are kilobytes. */
const SLOW_MS = 250;

/** Values (objects and array elements) a decode may hold per byte of frame, plus a constant. */
const NODES_PER_BYTE = 16;
const NODES_SLACK = 1024;

class Problem extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
  }
}

function countNodes(v: unknown, budget: { left: number }): void {
  if (budget.left < 0 || v === null || typeof v !== 'object' || Buffer.isBuffer(v)) return;
  if (Array.isArray(v)) {
    budget.left -= v.length;
    for (const e of v) countNodes(e, budget);
    return;
  }
  budget.left--;
  for (const e of Object.values(v)) countNodes(e, budget);
}

function checkReader(r: Reader, frame: Buffer): void {
  if (r.pos > r.end || r.pos < 0 || r.end !== frame.length) {
    throw new Problem('overread', `reader at ${r.pos}, end ${r.end}, frame ${frame.length} bytes`);
  }
}

function checkSize(body: unknown, frame: Buffer): void {
  const budget = { left: NODES_PER_BYTE * frame.length + NODES_SLACK };
  countNodes(body, budget);
  if (budget.left < 0) throw new Problem('blowup', `a ${frame.length}-byte frame decoded to more than ${NODES_PER_BYTE} values per byte`);
}

/** Decodes a request frame as `Connection.onFrame` does. Throws Problem when an invariant breaks. */
export function decodeRequestFrame(frame: Buffer): RequestOutcome {
  const r = new Reader(frame);
  let body: Record<string, unknown>;
  let apiKey: number;
  let version: number;
  try {
    const h = readRequestHeader(r);
    checkReader(r, frame);
    if (r.bad) return { kind: 'bad-header' };
    apiKey = h.apiKey;
    version = h.apiVersion;
    const codec = codecForKey(apiKey);
    if (codec === undefined || !codec.supports(version)) return { kind: 'undescribed', apiKey, version };
    const vc = codec.at(version);
    if (vc.flexible) skipHeaderTags(r);
    body = vc.decodeRequest(r) as Record<string, unknown>;
  } catch (e) {
    throw new Problem('decoder-threw', String((e as Error).stack ?? e));
  }
  checkReader(r, frame);
  if (r.bad) return { kind: 'bad', apiKey, version };
  checkSize(body, frame);
  return { kind: 'clean', apiKey, version, body };
}

function decodeResponseFrame(frame: Buffer, apiKey: number, version: number): boolean {
  const vc = codecForKey(apiKey)!.at(version);
  const r = new Reader(frame);
  let body: unknown;
  try {
    readResponseHeader(r, responseHeaderFlexible(apiKey, vc.flexible));
    body = vc.decodeResponse(r);
  } catch (e) {
    throw new Problem('decoder-threw', String((e as Error).stack ?? e));
  }
  checkReader(r, frame);
  if (r.bad) return false;
  checkSize(body, frame);
  return true;
}

function decodeRecords(bytes: Buffer): boolean {
  try {
    decodeRecordBatches(bytes);
    return true;
  } catch (e) {
    if (e instanceof RecordsError) return false;
    throw new Problem('records-threw', `not a RecordsError: ${String((e as Error).stack ?? e)}`);
  }
}

/** Runs `f` and, if it took long, twice more: slow three times in a row is a finding, once is noise. */
function timed<T>(f: () => T): T {
  const t0 = performance.now();
  const v = f();
  if (performance.now() - t0 < SLOW_MS) return v;
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 2; i++) {
    const t = performance.now();
    f();
    best = Math.min(best, performance.now() - t);
  }
  if (best >= SLOW_MS) throw new Problem('slow', `decoding took ${best.toFixed(0)} ms (at least ${SLOW_MS} ms three times)`);
  return v;
}

/** Re-encodes a clean request decode and decodes it again; a difference is returned as a note. */
function roundTrip(outcome: RequestOutcome & { kind: 'clean' }): string | null {
  const vc = codecForKey(outcome.apiKey)!.at(outcome.version);
  let again: unknown;
  try {
    const w = new Writer(256);
    vc.encodeRequest(w, outcome.body as never);
    const r = new Reader(Buffer.from(w.toBuffer()));
    again = vc.decodeRequest(r);
    if (r.bad) return 'the re-encoded request does not decode';
  } catch (e) {
    return `re-encoding threw: ${(e as Error).message.split('\n')[0]}`;
  }
  return isDeepStrictEqual(again, outcome.body) ? null : 're-encoded and decoded again, the request differs';
}

export interface InProcessOptions {
  readonly seed: number;
  readonly rng: Rng;
  /** Stop after this long (the run is bounded by time, not by a count). */
  readonly seconds: number;
  /** Versions to generate for (default: every described version). */
  readonly ranges?: VersionRanges;
  /** Stop at the first finding (default true). */
  readonly stopOnFinding?: boolean;
  /** Stop after this many frames too (for checking that a seed repeats its run). */
  readonly maxFrames?: number;
  readonly log?: (line: string) => void;
}

export interface InProcessResult {
  readonly frames: number;
  readonly seconds: number;
  readonly framesPerSecond: number;
  readonly seeds: { readonly golden: number; readonly generated: number; readonly evolved: number };
  /** Frames by outcome: request clean/bad/bad-header/undescribed, response clean/bad, records ok/refused. */
  readonly outcomes: Record<string, number>;
  readonly findings: Finding[];
  /** Round-trip differences, one line per kind and API version. */
  readonly notes: string[];
}

/** One note per kind: the APIs it was seen in and the first frame. */
interface Note {
  readonly apis: Set<string>;
  readonly frame: string;
}

export function noteOnce(notes: Map<string, Note>, what: string, apiKey: number, version: number, frame: Buffer): void {
  const n = notes.get(what) ?? { apis: new Set<string>(), frame: frame.toString('hex') };
  n.apis.add(`${apiKey} v${version}`);
  notes.set(what, n);
}

export function formatNotes(notes: Map<string, Note>): string[] {
  return [...notes].map(
    ([what, n]) => `${what}: in ${n.apis.size} API versions (${[...n.apis].slice(0, 6).join(', ')}...); first frame ${n.frame}`,
  );
}

const EVOLVED_MAX = 3000;

export function runInProcess(opts: InProcessOptions): InProcessResult {
  const { rng } = opts;
  const log = opts.log ?? (() => undefined);
  const ranges = opts.ranges ?? describedRanges();
  const golden = goldenSeeds();
  const generated = generatedSeeds(rng, ranges, 3, ['request', 'response']).seeds;
  const requests = [...golden, ...generated.filter((s) => s.direction === 'request')];
  const responses = generated.filter((s) => s.direction === 'response');
  const evolved: Seed[] = [];
  const byApi = new Map<string, Seed[]>();
  const index = (s: Seed): void => {
    const k = `${s.direction}:${s.apiKey}`;
    const list = byApi.get(k) ?? [];
    list.push(s);
    byApi.set(k, list);
  };
  for (const s of [...requests, ...responses]) index(s);
  log(`in-process: ${golden.length} golden and ${generated.length} generated seeds over ${ranges.size} APIs`);

  const outcomes: Record<string, number> = {};
  const count = (k: string): void => {
    outcomes[k] = (outcomes[k] ?? 0) + 1;
  };
  const findings: Finding[] = [];
  const seen = new Set<string>();
  const notes = new Map<string, Note>();
  const started = performance.now();
  const deadline = started + opts.seconds * 1000;
  let frames = 0;
  let nextLog = started + 10_000;

  const maxFrames = opts.maxFrames ?? Number.POSITIVE_INFINITY;
  while (performance.now() < deadline && frames < maxFrames) {
    for (let batch = 0; batch < 64 && frames < maxFrames; batch++) {
      frames++;
      const roll = rng.float();
      let target: Finding['target'];
      let seed: Seed | null = null;
      let frame: Buffer;
      let how: string;
      if (roll < 0.12) {
        target = 'records';
        const m = mutateBatches(rng, randomBatches(rng));
        frame = m.bytes;
        how = m.how;
      } else {
        target = roll < 0.27 ? 'response' : 'request';
        if (target === 'response') seed = rng.pick(responses);
        else if (evolved.length > 0 && rng.chance(0.3)) seed = rng.pick(evolved);
        else if (rng.chance(0.25)) seed = rng.pick(golden);
        else seed = rng.pick(requests);
        const peers = byApi.get(`${seed.direction}:${seed.apiKey}`);
        const m = mutate(rng, seed, peers === undefined ? undefined : rng.pick(peers), ranges.get(seed.apiKey));
        frame = m.frame;
        how = m.how;
      }
      try {
        if (target === 'records') {
          count(timed(() => decodeRecords(frame)) ? 'records ok' : 'records refused');
        } else if (target === 'response') {
          count(timed(() => decodeResponseFrame(frame, seed!.apiKey, seed!.version)) ? 'response clean' : 'response bad');
        } else {
          const out = timed(() => decodeRequestFrame(frame));
          count(`request ${out.kind}`);
          if (out.kind === 'clean') {
            const note = roundTrip(out);
            if (note !== null) noteOnce(notes, note, out.apiKey, out.version, frame);
            if (!frame.equals(seed!.frame)) {
              const s = makeSeed(frame, 'request', out.apiKey, out.version, 'evolved');
              if (s !== null && s.spans.length > 0) {
                if (evolved.length < EVOLVED_MAX) evolved.push(s);
                else evolved[rng.int(EVOLVED_MAX)] = s;
              }
            }
          }
        }
      } catch (e) {
        if (!(e instanceof Problem)) throw e;
        const key = `${e.kind} ${target} ${seed?.apiKey} ${e.message.split('\n')[0]!.replace(/\d+/g, 'N')}`;
        if (seen.has(key)) continue;
        seen.add(key);
        findings.push({
          kind: e.kind,
          message: e.message,
          frame,
          target,
          apiKey: seed?.apiKey ?? -1,
          version: seed?.version ?? -1,
          origin: seed?.origin ?? 'records',
          how: `${how} (frame #${frames} of seed ${opts.seed})`,
        });
        if (opts.stopOnFinding ?? true) break;
      }
    }
    if (findings.length > 0 && (opts.stopOnFinding ?? true)) break;
    const now = performance.now();
    if (now >= nextLog) {
      log(`in-process: ${frames} frames, ${Math.round(frames / ((now - started) / 1000))}/s, ${evolved.length} evolved seeds`);
      nextLog = now + 10_000;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    frames,
    seconds,
    framesPerSecond: frames / seconds,
    seeds: { golden: golden.length, generated: generated.length, evolved: evolved.length },
    outcomes,
    findings,
    notes: formatNotes(notes),
  };
}
