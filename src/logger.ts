/**
 * Structured logs: one JSON object per line on stderr, so that stdout stays free for the ready line
 * and for client commands' output. Levels follow the usual order; FRANZ_LOG_LEVEL picks the floor.
 *
 * Written by pino, shaped as franz has always written them, with the level as its name and the
 * time as an ISO string, the message before the extra fields:
 *
 *   {"level":"info","time":"2026-12-06T10:00:00.000Z","name":"franz","msg":"topic created","topic":"t","partitions":3}
 *
 * Every logger writes through one synchronous destination on fd 2: a line is on its way to the
 * reader before the call returns, so a process that crashes (or is killed) right after keeps every
 * line it logged.
 */
import { pino, type DestinationStream } from 'pino';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type Level = (typeof LEVELS)[number];

export interface Logger {
  debug(msg: string, extra?: object): void;
  info(msg: string, extra?: object): void;
  warn(msg: string, extra?: object): void;
  error(msg: string, extra?: object): void;
}

function isLevel(s: string | undefined): s is Level {
  return LEVELS.some((l) => l === s);
}

/** FRANZ_LOG_LEVEL, or info when it is unset or not a level. */
function levelFromEnv(): Level {
  const s = process.env.FRANZ_LOG_LEVEL;
  return isLevel(s) ? s : 'info';
}

let stderr: DestinationStream | undefined;

function stderrDestination(): DestinationStream {
  stderr ??= pino.destination({ fd: 2, sync: true });
  return stderr;
}

export function createLogger(name: string, level: Level = levelFromEnv()): Logger {
  const log = pino(
    {
      level: isLevel(level) ? level : 'info',
      base: { name },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stderrDestination(),
  );
  // The message goes in the object, not as pino's second argument, so that it is written before
  // the extra fields (pino writes its message argument last).
  return {
    debug: (msg, extra) => log.debug({ msg, ...extra }),
    info: (msg, extra) => log.info({ msg, ...extra }),
    warn: (msg, extra) => log.warn({ msg, ...extra }),
    error: (msg, extra) => log.error({ msg, ...extra }),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Lets through at most `limit` lines per `windowMs`; the first line of a later window says how many
 * were held back. For lines a peer can cause at will (a flood of malformed frames would otherwise
 * write a log line per connection, as fast as the peer can connect).
 */
export class RateLimitedLog {
  private windowStart = 0;
  private used = 0;
  private suppressed = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  warn(log: Logger, msg: string, extra?: object, now = Date.now()): void {
    if (now - this.windowStart >= this.windowMs) {
      if (this.suppressed > 0) log.warn('log lines suppressed', { suppressed: this.suppressed, like: msg, windowMs: this.windowMs });
      this.windowStart = now;
      this.used = 0;
      this.suppressed = 0;
    }
    if (this.used < this.limit) {
      this.used++;
      log.warn(msg, extra);
    } else this.suppressed++;
  }
}
