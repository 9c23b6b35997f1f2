/**
 * The `franz` command: `franz start` runs a broker; the other commands are Kafka clients.
 *
 * Exit codes: 0 success (and --help), 1 an error (one line on stderr: "franz: ..."), 2 a usage
 * error (commander's message, then a pointer to the command's --help).
 */
import { Command, CommanderError, Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { consumeCommand, produceCommand, topicCommand } from './client-commands.js';
import { clusterCommand } from './cluster-commands.js';
import { groupCommand } from './group-commands.js';
import { txnCommand } from './txn-commands.js';
import { delayCommand } from './delay-commands.js';
import { traceCommand } from './trace-commands.js';
import { repeatable } from './args.js';

function startCommand(): CommandUnknownOpts {
  return new Command('start')
    .description('run a broker until SIGTERM or SIGINT (a single node, or one broker of a cluster with --cluster)')
    .option('--listen <HOST:PORT>', 'where to accept clients (default: the first client listener of `listeners`)')
    .option('--advertise <HOST:PORT>', 'the address given to clients in Metadata')
    .option('--data-dir <DIR>', 'where the logs live (log.dirs)')
    .option('--config <FILE>', 'a server.properties file')
    .option('--cluster <URL>', 'etcd://HOST:PORT[,HOST:PORT...][/NAME]: join the cluster whose metadata is there (franz.cluster)')
    .option('--broker-id <N>', "this broker's id in the cluster (node.id)")
    .option('--http <HOST:PORT>', 'serve REST, /metrics and /healthz on this address too (franz.http.listeners)')
    .addOption(new Option('--set <key=value>', 'a broker setting; repeatable, wins over --config').argParser(repeatable((s) => s)))
    .action(async (opts) => {
      // Loaded only here, so that the client commands do without the broker and its addon.
      const { start } = await import('./start.js');
      await start({
        listen: opts.listen,
        advertise: opts.advertise,
        dataDir: opts.dataDir,
        config: opts.config,
        cluster: opts.cluster,
        brokerId: opts.brokerId,
        http: opts.http,
        sets: opts.set ?? [],
      });
    });
}

/**
 * Makes commander throw instead of exiting, and report a usage error on one line prefixed with the
 * command's path, followed by where to find its help; for `cmd` and all its subcommands.
 */
function reportUsageErrors(cmd: CommandUnknownOpts, path: string): void {
  cmd
    .exitOverride()
    .configureOutput({ outputError: (message, write) => write(`${path}: ${message.replace(/^error: /, '')}`) })
    .showHelpAfterError(`(see "${path} --help")`);
  for (const sub of cmd.commands) reportUsageErrors(sub, `${path} ${sub.name()}`);
}

function program(): CommandUnknownOpts {
  const franz = new Command('franz')
    .description('A Kafka-compatible broker (franz start) and Kafka client commands')
    .addCommand(startCommand())
    .addCommand(topicCommand())
    .addCommand(produceCommand())
    .addCommand(consumeCommand())
    .addCommand(groupCommand())
    .addCommand(txnCommand())
    .addCommand(delayCommand())
    .addCommand(traceCommand())
    .addCommand(clusterCommand())
    .addHelpText(
      'after',
      `
Client commands take --brokers HOST:PORT[,HOST:PORT...] (default: $FRANZ_BROKERS or 127.0.0.1:9092)
and --format text|json; see "franz <command> --help".`,
    );
  reportUsageErrors(franz, 'franz');
  return franz;
}

/** Runs the command line; resolves with the exit code, or null to leave it be (a broker keeps running). */
async function main(argv: string[]): Promise<number | null> {
  try {
    await program().parseAsync(argv, { from: 'user' });
    return null;
  } catch (e) {
    // Commander has printed its message (or the help) already.
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    process.stderr.write(`franz: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  if (code !== null) process.exitCode = code;
});
