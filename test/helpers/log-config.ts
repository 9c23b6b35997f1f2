/** A partition log's config for tests that drive a Log directly: no fsync, no retention, no roll. */
import type { LogConfig } from '../../src/storage/log.js';

export function testLogConfig(over: Partial<LogConfig> = {}): LogConfig {
  return {
    segmentBytes: 1 << 30,
    segmentMs: Number.MAX_SAFE_INTEGER,
    indexIntervalBytes: 4096,
    maxMessageBytes: 1 << 20,
    retentionMs: -1,
    retentionBytes: -1,
    durable: false,
    flushMessages: Number.MAX_SAFE_INTEGER,
    flushMs: Number.MAX_SAFE_INTEGER,
    logAppendTime: false,
    deleteRetention: true,
    compact: false,
    deleteRetentionMs: 86_400_000,
    minCleanableDirtyRatio: 0.5,
    minCompactionLagMs: 0,
    maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
    compression: -1,
    compressionLevel: undefined,
    delivery: null,
    ...over,
  };
}
