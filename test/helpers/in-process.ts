/**
 * A broker in the test's own process (so a test can look inside it: its logs, its pools), started
 * on a free loopback port, and a quiet kafkajs client for it.
 */
import kafkajs from 'kafkajs';
import { Broker } from '../../src/broker.js';
import { BrokerConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';

const { Kafka, logLevel } = kafkajs;

/**
 * Started, with topics made only on request and no wait before a group's first rebalance;
 * `sets` are more `key=value` settings.
 */
export async function startInProcessBroker(dir: string, sets: readonly string[] = []): Promise<Broker> {
  const b = new Broker(
    BrokerConfig.from({ sets: [`log.dirs=${dir}`, 'auto.create.topics.enable=false', 'group.initial.rebalance.delay.ms=0', ...sets] }),
    createLogger('test', 'error'),
  );
  await b.start('127.0.0.1', 0);
  return b;
}

export function kafkaFor(b: Broker): kafkajs.Kafka {
  return new Kafka({ brokers: [`127.0.0.1:${b.port}`], logLevel: logLevel.NOTHING });
}
