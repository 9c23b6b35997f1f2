/**
 * `franz start`: runs a broker until SIGTERM/SIGINT: a single node, or with --cluster one broker of
 * a cluster whose metadata is in etcd.
 *
 * Shutdown is clean: stop accepting, let in-flight requests finish (bounded), flush every log,
 * write checkpoints and the clean-shutdown marker, then exit 0.
 */
import { Broker, FRANZ_VERSION } from '../broker.js';
import { BrokerConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { chooseListener, isWildcard, parseListeners, splitHostPort } from './listeners.js';

export interface StartOptions {
  listen?: string;
  advertise?: string;
  dataDir?: string;
  config?: string;
  /** etcd://HOST:PORT[,HOST:PORT...][/NAME]: join that cluster (franz.cluster). */
  cluster?: string;
  brokerId?: string;
  /** HOST:PORT of the HTTP listener (franz.http.listeners). */
  http?: string;
  sets: string[];
}

export async function start(opts: StartOptions): Promise<void> {
  const sets = [...opts.sets];
  if (opts.dataDir !== undefined) sets.push(`log.dirs=${opts.dataDir}`);
  if (opts.cluster !== undefined) sets.push(`franz.cluster=${opts.cluster}`);
  if (opts.brokerId !== undefined) sets.push(`node.id=${opts.brokerId}`);
  if (opts.http !== undefined) sets.push(`franz.http.listeners=${opts.http}`);
  const config = BrokerConfig.from({ file: opts.config, env: process.env, sets });
  const log = createLogger('franz');
  if (config.ignored.length > 0) log.warn('ignoring config keys franz does not implement', { keys: config.ignored });
  // --listen wins over `listeners`; without it the first client listener of `listeners` is opened.
  const chosen =
    opts.listen === undefined
      ? chooseListener(config.get('listeners'), config.get('advertised.listeners'), config.get('controller.listener.names'))
      : null;
  if (chosen !== null && chosen.unused.length > 0) {
    log.warn('franz opens one listener; not opening the others', {
      listeners: chosen.unused.map((l) => `${l.name}://${l.host}:${l.port}`),
    });
  }
  const listen = chosen?.listen ?? splitHostPort(opts.listen!, '--listen');
  const advertise =
    opts.advertise !== undefined
      ? splitHostPort(opts.advertise, '--advertise')
      : chosen !== null
        ? chosen.advertise
        : (parseListeners(config.get('advertised.listeners'), 'advertised.listeners')[0] ?? null);

  const broker = new Broker(config, log);
  // A listener on every interface (or an advertised one without a host) cannot be handed to
  // clients as an address; Kafka advertises the machine's canonical name there, franz 127.0.0.1.
  await broker.start(listen.host, listen.port, (boundPort) =>
    advertise !== null && !isWildcard(advertise.host)
      ? advertise
      : { host: isWildcard(listen.host) ? '127.0.0.1' : listen.host, port: advertise?.port ?? boundPort },
  );
  const adv = broker.advertised;
  process.stdout.write(
    `franz ${FRANZ_VERSION} ready on ${listen.host === '' ? '*' : listen.host}:${broker.port} (advertised ${adv.host}:${adv.port}), data in ${broker.dataDir}, ` +
      `${config.durable ? 'fsync before ack' : 'no-fsync (log.flush.interval.*)'}, recovery ${broker.logs.recoveryNeeded ? 'done' : 'not needed'}` +
      `${broker.httpPort > 0 ? `, http on ${config.get('franz.http.listeners').replace(/:\d+$/, '')}:${broker.httpPort}` : ''}\n`,
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
