#!/usr/bin/env node
/**
 * The `franz` command: `franz start` runs a broker; the other commands are Kafka clients.
 */
// Each in-flight sendfile holds a libuv pool thread while a slow consumer drains; the default 4 is too few.
process.env.UV_THREADPOOL_SIZE ??= '16';
import { parseArgs } from 'node:util';
import { start } from './start.js';

const USAGE = `usage:
  franz start [--listen HOST:PORT] [--advertise HOST:PORT] [--data-dir DIR] [--config FILE] [--set key=value ...]
  franz topic create|list|describe|delete|alter-config ...   (see franz topic --help)
  franz produce TOPIC [--key-separator SEP] [--header k=v ...] [--partition P] [--compression C]   (see franz produce --help)
  franz consume TOPIC [--from-beginning | --offset N | --timestamp T] [--partition P] [-n N] [--follow]   (see franz consume --help)
  franz group list|describe|reset-offsets|delete ...   (see franz group --help)
common client options: --brokers HOST:PORT (or FRANZ_BROKERS), --format json`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start': {
      const { values } = parseArgs({
        args: rest,
        options: {
          listen: { type: 'string' },
          advertise: { type: 'string' },
          'data-dir': { type: 'string' },
          config: { type: 'string' },
          set: { type: 'string', multiple: true },
        },
      });
      await start({
        listen: values.listen,
        advertise: values.advertise,
        dataDir: values['data-dir'],
        config: values.config,
        sets: values.set ?? [],
      });
      return -1; // keep running
    }
    case 'topic':
    case 'produce':
    case 'consume':
    case 'group': {
      const { runClientCommand } = await import('./client-commands.js');
      return runClientCommand(command, rest);
    }
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(USAGE + '\n');
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`franz: unknown command "${command}"\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`franz: ${(err as Error).message ?? err}\n`);
    process.exitCode = 1;
  },
);
