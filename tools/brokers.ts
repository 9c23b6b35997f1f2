/**
 * Brokers started by the hardening tools. A tool that dies (an uncaught error, process.exit) must
 * not leave its broker running: every broker started here is SIGKILLed when the tool exits.
 */
import { type RunningBroker, type StartOptions, startBroker } from '../test/helpers/broker.js';

const running = new Set<RunningBroker>();
let hooked = false;

export async function startToolBroker(opts: StartOptions = {}): Promise<RunningBroker> {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const b of running) if (b.process.exitCode === null && b.process.signalCode === null) b.process.kill('SIGKILL');
    });
  }
  const b = await startBroker(opts);
  running.add(b);
  b.process.once('exit', () => running.delete(b));
  return b;
}
