/**
 * Structured logs: one JSON object per line on stderr, so that stdout stays free for the ready line
 * and for client commands' output. Levels follow the usual order; FRANZ_LOG_LEVEL picks the floor.
 */
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type Level = keyof typeof LEVELS;

export interface Logger {
  debug(msg: string, extra?: object): void;
  info(msg: string, extra?: object): void;
  warn(msg: string, extra?: object): void;
  error(msg: string, extra?: object): void;
}

export function createLogger(name: string, level: Level = (process.env.FRANZ_LOG_LEVEL as Level) ?? 'info'): Logger {
  const floor = LEVELS[level] ?? LEVELS.info;
  const emit = (lvl: Level, msg: string, extra?: object): void => {
    if (LEVELS[lvl] < floor) return;
    process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: lvl, name, msg, ...extra }) + '\n');
  };
  return {
    debug: (m, e) => emit('debug', m, e),
    info: (m, e) => emit('info', m, e),
    warn: (m, e) => emit('warn', m, e),
    error: (m, e) => emit('error', m, e),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
