/**
 * A kafkajs consumer-group member in its own process, so a test can kill it with SIGKILL (a crash:
 * no LeaveGroup). Prints one JSON line per GROUP_JOIN: {"memberId":...,"assignment":{topic:[p...]}}.
 *
 *   node dist/test/helpers/group-member.js BROKER GROUP TOPIC SESSION_TIMEOUT_MS
 */
import { Kafka, logLevel } from 'kafkajs';

const [broker, groupId, topic, session] = process.argv.slice(2);
const kafka = new Kafka({ brokers: [broker!], clientId: 'group-member', logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({ groupId: groupId!, sessionTimeout: Number(session), heartbeatInterval: 500, maxWaitTimeInMs: 500 });
consumer.on(consumer.events.GROUP_JOIN, (e) => {
  process.stdout.write(JSON.stringify({ memberId: e.payload.memberId, assignment: e.payload.memberAssignment }) + '\n');
});
await consumer.connect();
await consumer.subscribe({ topic: topic!, fromBeginning: true });
await consumer.run({ eachMessage: async () => undefined });
