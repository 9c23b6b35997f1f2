/** Reading a whole topic with kcat (librdkafka), another real client. */
import { jsonLines, runOk } from './run.js';

export interface KcatRecord {
  partition: number;
  offset: number;
  key: string | null;
  payload: string | null;
  headers?: string[];
}

/** Every record of `topic` from the beginning to the end seen at start (-J: one JSON object each). */
export async function kcatReadAll(
  address: string,
  topic: string,
  isolation: 'read_committed' | 'read_uncommitted' = 'read_committed',
): Promise<KcatRecord[]> {
  const r = await runOk('kcat', [
    '-b',
    address,
    '-C',
    '-t',
    topic,
    '-o',
    'beginning',
    '-e',
    '-J',
    '-q',
    '-X',
    `isolation.level=${isolation}`,
  ]);
  return jsonLines<KcatRecord>(r.stdout);
}
