/**
 * How a fuzz finding is shown and kept: the frame as hex in a file under /tmp, and a description
 * with the frame printed, so a CI log alone is enough to reproduce it (`npm run fuzz -- --replay`).
 */
import { writeFileSync } from 'node:fs';
import type { Finding } from './fuzz-inproc.js';

/** Saves each finding's frame to /tmp/franz-fuzz-<seed>-<n>-<kind>.hex; returns the report text. */
export function saveFindings(findings: readonly Finding[], seed: number, brokerLog: string | null): string {
  const lines: string[] = [];
  for (const [i, f] of findings.entries()) {
    const file = `/tmp/franz-fuzz-${seed}-${i + 1}-${f.kind}.hex`;
    writeFileSync(file, `${f.frame.toString('hex')}\n`);
    lines.push(
      `FINDING ${i + 1}: ${f.kind} (${f.target}, api ${f.apiKey} v${f.version}, seed frame from ${f.origin || 'nowhere'})`,
      `  ${f.message.split('\n').slice(0, 14).join('\n  ')}`,
      `  mutation: ${f.how}`,
      `  frame (${f.frame.length} bytes: header and body, no size prefix), saved to ${file}:`,
      `  ${f.frame.toString('hex')}`,
    );
  }
  if (brokerLog !== null) {
    const file = `/tmp/franz-fuzz-${seed}-broker.log`;
    writeFileSync(file, brokerLog);
    lines.push(`broker stderr saved to ${file}`);
  }
  return lines.join('\n');
}
