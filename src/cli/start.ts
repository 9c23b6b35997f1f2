/**
 * `franz start`: runs a single-node broker until SIGTERM/SIGINT.
 *
 * Shutdown is clean: stop accepting, let in-flight requests finish (bounded), flush every log,
 * write checkpoints and the clean-shutdown marker, then exit 0.
 */
import { Broker, FRANZ_VERSION } from '../broker.js';
import { BrokerConfig } from '../config.js';
import { createLogger } from '../logger.js';

export interface StartOptions {
  listen?: string;
  advertise?: string;
  dataDir?: string;
  config?: string;
  sets: string[];
}

function splitHostPort(s: string, what: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  const port = Number(s.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${what} expects HOST:PORT, got "${s}"`);
  return { host: s.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port };
}

/** Takes HOST:PORT out of a Kafka listener list such as "PLAINTEXT://127.0.0.1:9092". */
function fromListener(listeners: string): string {
  const first = listeners.split(',')[0]!.trim();
  return first.replace(/^[A-Z_]+:\/\//, '') || '127.0.0.1:9092';
}

export async function start(opts: StartOptions): Promise<void> {
  const sets = [...opts.sets];
  if (opts.dataDir !== undefined) sets.push(`log.dirs=${opts.dataDir}`);
  const config = BrokerConfig.from({ file: opts.config, env: process.env, sets });
  const log = createLogger('franz');
  if (config.ignored.length > 0) log.warn('ignoring config keys franz does not implement', { keys: config.ignored });
  const listen = splitHostPort(opts.listen ?? fromListener(config.get('listeners')), '--listen');
  const advertisedListener = config.get('advertised.listeners');
  const advertise = opts.advertise ?? (advertisedListener !== '' ? fromListener(advertisedListener) : undefined);

  const broker = new Broker(config, log);
  await broker.start(listen.host, listen.port);
  const adv = advertise !== undefined ? splitHostPort(advertise, '--advertise') : { host: listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host, port: broker.port };
  broker.advertisedHost = adv.host;
  broker.advertisedPort = adv.port;
  process.stdout.write(
    `franz ${FRANZ_VERSION} ready on ${listen.host}:${broker.port} (advertised ${adv.host}:${adv.port}), data in ${broker.dataDir}, ` +
      `${config.durable ? 'fsync before ack' : 'no-fsync (log.flush.interval.*)'}, recovery ${broker.logs.recoveryNeeded ? 'done' : 'not needed'}\n`,
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    broker.stop().then(
      () => {
        log.info('shutdown complete', { clean: true });
        process.exit(0);
      },
      (err: unknown) => {
        log.error('shutdown failed', { err: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
