/**
 * The pipeline behind `franz produce`: each line of a stream becomes one record.
 *
 *   chunks -> lines (LineSplitter) -> records (lineParser: CR dropped, key split off)
 *          -> requests of up to 1000 records / 512 KiB (takeBatch)
 *          -> partitions (PartitionChooser) -> Produce, acks=all (LineProducer)
 *
 * One request is in flight at a time; the next goes as soon as it is answered, and the stream is
 * read ahead meanwhile, up to MAX_PENDING_RECORDS records, before it is paused. The first bad line
 * or failed request stops the pipeline once nothing is in flight; the error says how many records
 * were produced before it.
 */
import type { Readable } from 'node:stream';
import { ErrorCode } from '../protocol/errors.js';
import type { CompressionCodec, RecordInput } from '../records/record-batch.js';
import { type Client, KafkaError } from '../client/client.js';
import { partitionForKey } from '../client/partitioner.js';
import { jsonLine, out } from './io.js';

const MAX_RECORDS_PER_REQUEST = 1000;
/** Below the broker's default max.message.bytes (1 MiB), counting uncompressed bytes. */
const MAX_BYTES_PER_REQUEST = 512 * 1024;
/** Read-ahead before the input is paused. */
const MAX_PENDING_RECORDS = 20_000;

export interface Line {
  readonly key: Buffer | null;
  readonly value: Buffer;
}

export interface ProduceLinesOptions {
  /** Splits each line into key and value at its first occurrence; no key without it. */
  readonly keySeparator?: string;
  readonly headers: ReadonlyArray<{ readonly key: string; readonly value: Buffer }>;
  /** Every record to this partition; otherwise chosen per record (PartitionChooser). */
  readonly partition?: number;
  readonly compression: CompressionCodec;
  /** Print {"topic","partition","offset"} for each record produced. */
  readonly json: boolean;
}

/** Cuts a byte stream into lines at "\n"; the last line needs no newline. */
export class LineSplitter {
  private carry: Buffer = Buffer.alloc(0);

  /** The lines `chunk` completes. */
  push(chunk: Buffer): Buffer[] {
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const lines: Buffer[] = [];
    let at = 0;
    for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a, at)) {
      lines.push(data.subarray(at, nl));
      at = nl + 1;
    }
    // A copy, so that the chunk is not kept alive by a few bytes of it.
    this.carry = Buffer.from(data.subarray(at));
    return lines;
  }

  /** The unterminated last line, if any. */
  end(): Buffer | null {
    return this.carry.length > 0 ? this.carry : null;
  }
}

/** Reads lines as records, numbering them for errors. Keys and values are copies of the line's bytes. */
export function lineParser(keySeparator: string | undefined): (raw: Buffer) => Line {
  const sep = keySeparator === undefined ? null : Buffer.from(keySeparator, 'utf8');
  let lineNo = 0;
  return (raw) => {
    lineNo++;
    const line = raw.length > 0 && raw[raw.length - 1] === 0x0d ? raw.subarray(0, raw.length - 1) : raw;
    if (sep === null) return { key: null, value: Buffer.from(line) };
    const at = line.indexOf(sep);
    if (at < 0) throw new Error(`line ${lineNo} has no key separator ${JSON.stringify(keySeparator)}`);
    return { key: Buffer.from(line.subarray(0, at)), value: Buffer.from(line.subarray(at + sep.length)) };
  };
}

/** Takes the next request's lines off the front of `pending`: at most 1000, about 512 KiB (at least one). */
function takeBatch(pending: Line[]): Line[] {
  let n = 0;
  let bytes = 0;
  while (n < pending.length && n < MAX_RECORDS_PER_REQUEST) {
    const l = pending[n]!;
    const size = l.value.length + (l.key?.length ?? 0) + 16;
    if (n > 0 && bytes + size > MAX_BYTES_PER_REQUEST) break;
    bytes += size;
    n++;
  }
  return pending.splice(0, n);
}

/**
 * The partition of each record: the fixed one if given; else the key's, as the Java client picks
 * it (murmur2); else, for unkeyed records, one partition per request, rotating between requests.
 */
class PartitionChooser {
  private sticky: number;

  constructor(
    private readonly count: number,
    private readonly fixed: number | undefined,
  ) {
    this.sticky = Math.floor(Math.random() * count);
  }

  /** How the lines of the next request are placed. */
  nextRequest(): (line: Line) => number {
    const unkeyed = this.sticky;
    this.sticky = (this.sticky + 1) % this.count;
    return (l) => this.fixed ?? (l.key !== null ? partitionForKey(l.key, this.count) : unkeyed);
  }
}

/**
 * Feeds the lines of `input` to `send`, one request at a time, reading ahead while a request is
 * in flight. `run()` resolves once every line is produced, or throws the first failure once
 * nothing is in flight any more.
 */
class LineProducer {
  private readonly pending: Line[] = [];
  private readonly splitter = new LineSplitter();
  private inflight = false;
  private eof = false;
  private failure: Error | null = null;
  private produced = 0;
  private finish: () => void = () => {};
  private readonly finished = new Promise<void>((resolve) => (this.finish = resolve));

  constructor(
    private readonly input: Readable,
    private readonly parse: (raw: Buffer) => Line,
    private readonly send: (lines: Line[]) => Promise<void>,
  ) {}

  async run(): Promise<void> {
    this.input.on('data', (chunk: Buffer) => this.read(chunk));
    this.input.on('end', () => this.end());
    this.input.on('error', (e) => this.stop(e));
    this.input.resume();
    await this.finished;
    this.input.destroy();
    if (this.failure !== null) {
      if (this.produced > 0) this.failure.message += ` (${this.produced} record(s) before it were produced)`;
      throw this.failure;
    }
  }

  private read(chunk: Buffer): void {
    if (this.failure !== null) return;
    try {
      for (const raw of this.splitter.push(chunk)) this.pending.push(this.parse(raw));
    } catch (e) {
      this.stop(e);
      return;
    }
    if (this.pending.length >= MAX_PENDING_RECORDS) this.input.pause();
    this.pump();
  }

  private end(): void {
    if (this.failure !== null) return;
    const last = this.splitter.end();
    try {
      if (last !== null) this.pending.push(this.parse(last));
    } catch (e) {
      this.stop(e);
      return;
    }
    this.eof = true;
    this.pump();
  }

  private stop(e: unknown): void {
    this.failure ??= e instanceof Error ? e : new Error(String(e));
    this.input.pause();
    this.pump();
  }

  /** Sends the next batch unless one is in flight; finishes when there is nothing left to do. */
  private pump(): void {
    if (this.inflight) return;
    if (this.failure !== null || (this.eof && this.pending.length === 0)) {
      this.finish();
      return;
    }
    if (this.pending.length === 0) return;
    const lines = takeBatch(this.pending);
    if (this.pending.length < MAX_PENDING_RECORDS && !this.eof) this.input.resume();
    this.inflight = true;
    this.send(lines).then(
      () => {
        this.inflight = false;
        this.produced += lines.length;
        this.pump();
      },
      (e: unknown) => {
        this.inflight = false;
        this.stop(e);
      },
    );
  }
}

/** Produces each line of `input` as a record to `topic` (created if the broker auto-creates topics). */
export async function produceLines(client: Client, topic: string, input: Readable, opts: ProduceLinesOptions): Promise<void> {
  const meta = await client.topic(topic, { allowAutoCreate: true, refresh: true });
  const count = meta.partitions.length;
  if (count === 0) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${topic}" has no partitions`);
  if (opts.partition !== undefined && opts.partition >= count) {
    throw new KafkaError(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      `topic "${topic}" has ${count} partition(s), no partition ${opts.partition}`,
    );
  }
  const chooser = new PartitionChooser(count, opts.partition);

  const send = async (lines: Line[]): Promise<void> => {
    const byPartition = new Map<number, RecordInput[]>();
    // Where each line went: its partition and its index in that partition's batch.
    const placed: Array<[number, number]> = [];
    const partitionOf = chooser.nextRequest();
    for (const l of lines) {
      const p = partitionOf(l);
      const record = { key: l.key, value: l.value, headers: opts.headers };
      const batch = byPartition.get(p);
      placed.push([p, batch?.length ?? 0]);
      if (batch === undefined) byPartition.set(p, [record]);
      else batch.push(record);
    }
    const base = await client.produce(topic, byPartition, { compression: opts.compression, acks: -1 });
    if (opts.json) await out(placed.map(([p, i]) => jsonLine({ topic, partition: p, offset: base.get(p)! + i })).join(''));
  };

  await new LineProducer(input, lineParser(opts.keySeparator), send).run();
}
