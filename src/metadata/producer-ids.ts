/**
 * Producer ids for idempotent producers. They are handed out from blocks whose end is persisted
 * (`<data dir>/franz-producer-ids`) before any id of the block is used, so no id is ever handed out
 * twice, even across crashes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurably } from '../storage/durable-file.js';
import type { ProducerIds } from './ports.js';

const BLOCK = 1000;

export class ProducerIdManager implements ProducerIds {
  private next: number;
  private blockEnd: number;
  private readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, 'franz-producer-ids');
    const saved = existsSync(this.path) ? Number(readFileSync(this.path, 'utf8').trim()) : 0;
    this.next = Number.isFinite(saved) ? saved : 0;
    this.blockEnd = this.next;
  }

  allocate(): number {
    if (this.next >= this.blockEnd) {
      this.blockEnd = this.next + BLOCK;
      writeFileDurably(this.path, String(this.blockEnd));
    }
    return this.next++;
  }
}
