/*
 * The Apache Kafka Java client against franz, for test/java.test.ts.
 *
 * Run with Java's single-file source launcher (no compile step), jars from pom.xml in lib/:
 *   java -cp 'test/java/lib/*' test/java/FranzCheck.java <mode> <bootstrap> ...
 *
 * Modes (output: JSON, one object per line, on stdout; client logs go to stderr):
 *   produce TOPIC N [prop=value ...]  KafkaProducer with default settings (idempotence on, acks=all),
 *                                     plus any producer properties given; sends N records with keys,
 *                                     values and headers; prints each acknowledged record.
 *   consume TOPIC N [P:OFFSET]        KafkaConsumer without group.id: assign() every partition,
 *                                     seekToBeginning(), poll until N records and print them; then
 *                                     seek(P, OFFSET) and print the first record read there; also
 *                                     prints beginning/end offsets and offsetsForTimes.
 *   admin TOPIC                       AdminClient: createTopics (3 partitions, retention.ms set),
 *                                     describeTopics, describeConfigs, listTopics.
 *   describe TOPIC                    AdminClient: describeCluster (brokers, controller) and
 *                                     describeTopics: one line per partition with its leader,
 *                                     replicas and ISR.
 *   reassign TOPIC P=B1,B2,.. ...     AdminClient: alterPartitionReassignments to those replicas
 *                                     (P=cancel cancels), then listPartitionReassignments: one line
 *                                     per move in progress.
 *   stream TOPIC RATE [prop=value ...]
 *                                    KafkaProducer (idempotent, acks=all unless overridden) sending
 *                                    record i with key "key-i" and value "j-i", RATE a second, until
 *                                    stdin ends; prints {"i","partition","offset"} as each is
 *                                    acknowledged and {"failed": i} for one that is not, then
 *                                    {"sent": n} once flushed and closed.
 *   group TOPIC N GROUP PROTOCOL [INSTANCE]
 *                                     KafkaConsumer in group GROUP with group.protocol=PROTOCOL
 *                                     (classic or consumer), subscribe(TOPIC), auto.offset.reset
 *                                     earliest: prints {"owned":[...]} after each assignment change
 *                                     and each record until N records (N = -1: until stdin ends),
 *                                     then commitSync() and close() (leaves the group); auto-commit
 *                                     is off, partitions revoked in a rebalance are committed in
 *                                     onPartitionsRevoked. INSTANCE
 *                                     sets group.instance.id (a static member).
 *   transform IN OUT GROUP N          consume-transform-produce, exactly once: a KafkaConsumer in
 *                                     GROUP (read_committed, no auto-commit) reads IN, and each
 *                                     polled batch goes to OUT in one transaction (transactional.id
 *                                     "transform-GROUP"): same partition and key, value "t:"+value,
 *                                     with the consumer's offsets sent to the transaction; a static
 *                                     member (group.instance.id). Prints
 *                                     {"committed": records} after each commit and {"done": N}
 *                                     once its positions reach N in all; exits 1 on any error (the
 *                                     test restarts it, as an application would be).
 * Exit status 0 on success; on failure a {"error": ...} line and status 1.
 */
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.FeatureMetadata;
import org.apache.kafka.clients.admin.FinalizedVersionRange;
import org.apache.kafka.clients.admin.SupportedVersionRange;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class FranzCheck {
    static final Duration DEADLINE = Duration.ofSeconds(40);

    public static void main(String[] args) throws Exception {
        // slf4j-simple: client warnings and errors on stderr, not the INFO chatter.
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
        if (args.length < 3) {
            System.err.println("usage: FranzCheck produce|consume|admin BOOTSTRAP TOPIC [...]");
            System.exit(2);
        }
        String mode = args[0], bootstrap = args[1], topic = args[2];
        try {
            switch (mode) {
                case "produce" -> produce(bootstrap, topic, Integer.parseInt(args[3]), tail(args, 4));
                case "delayed" -> delayed(bootstrap, topic, Integer.parseInt(args[3]), Long.parseLong(args[4]), tail(args, 5));
                case "upserts" -> upserts(bootstrap, topic, Integer.parseInt(args[3]), Integer.parseInt(args[4]), tail(args, 5));
                case "consume" -> consume(bootstrap, topic, Integer.parseInt(args[3]), args.length > 4 ? args[4] : null);
                case "admin" -> admin(bootstrap, topic);
                case "features" -> features(bootstrap);
                case "transform" -> transform(bootstrap, topic, args[3], args[4], Long.parseLong(args[5]));
                case "describe" -> describe(bootstrap, topic);
                case "reassign" -> reassign(bootstrap, topic, tail(args, 3));
                case "stream" -> stream(bootstrap, topic, Integer.parseInt(args[3]), tail(args, 4));
                case "group" -> group(bootstrap, topic, Integer.parseInt(args[3]), args[4], args[5], args.length > 6 ? args[6] : null);
                default -> throw new IllegalArgumentException("unknown mode " + mode);
            }
        } catch (Throwable t) {
            Throwable root = t;
            while (root.getCause() != null && root != root.getCause()) root = root.getCause();
            out(obj("error", str(t.toString()), "cause", str(root.toString())));
            System.exit(1);
        }
        System.exit(0);
    }

    static String[] tail(String[] a, int from) {
        String[] r = new String[Math.max(0, a.length - from)];
        System.arraycopy(a, Math.min(from, a.length), r, 0, r.length);
        return r;
    }

    /** The record the test expects at index i; the test derives the same values. */
    static String keyOf(int i) { return i % 10 == 9 ? null : "key-" + i; }
    static String valueOf(int i) { return i % 25 == 24 ? "" : "value-" + i + "-\u00e9\u6f22\u2603-" + "x".repeat(i % 50); }

    /** A byte-array producer's properties: the client's defaults plus any prop=value given. */
    static Properties producerProps(String bootstrap, String[] extra) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        for (String kv : extra) {
            int eq = kv.indexOf('=');
            p.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        return p;
    }

    static void produce(String bootstrap, String topic, int n, String[] extra) throws Exception {
        Properties p = producerProps(bootstrap, extra);
        List<Future<RecordMetadata>> acks = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            for (int i = 0; i < n; i++) {
                String k = keyOf(i);
                List<Header> headers = new ArrayList<>();
                headers.add(new RecordHeader("i", Integer.toString(i).getBytes(StandardCharsets.UTF_8)));
                headers.add(new RecordHeader("h\u00e9", ("hv-" + i).getBytes(StandardCharsets.UTF_8)));
                if (i % 7 == 0) headers.add(new RecordHeader("nullh", (byte[]) null));
                ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, null, null,
                        k == null ? null : k.getBytes(StandardCharsets.UTF_8),
                        valueOf(i).getBytes(StandardCharsets.UTF_8), headers);
                acks.add(producer.send(r));
            }
            producer.flush();
            for (int i = 0; i < n; i++) {
                RecordMetadata m = acks.get(i).get();
                out(obj("i", Integer.toString(i), "partition", Integer.toString(m.partition()),
                        "offset", Long.toString(m.offset()), "timestamp", Long.toString(m.timestamp())));
            }
        }
    }

    /**
     * Delayed records (franz's delay queue): record i, key "k" + i, asks with a franz-delay-ms
     * header for delayMs + (i % 10) * 100 ms, keyed to partition by the default partitioner.
     * Prints each record's partition and offset (those of its delay record).
     */
    static void delayed(String bootstrap, String topic, int n, long delayMs, String[] extra) throws Exception {
        Properties p = producerProps(bootstrap, extra);
        List<Future<RecordMetadata>> acks = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            for (int i = 0; i < n; i++) {
                List<Header> headers = new ArrayList<>();
                headers.add(new RecordHeader("i", Integer.toString(i).getBytes(StandardCharsets.UTF_8)));
                headers.add(new RecordHeader("franz-delay-ms", Long.toString(delayMs + (i % 10) * 100L).getBytes(StandardCharsets.UTF_8)));
                acks.add(producer.send(new ProducerRecord<>(topic, null, null, ("k" + i).getBytes(StandardCharsets.UTF_8),
                        ("java-" + i).getBytes(StandardCharsets.UTF_8), headers)));
            }
            producer.flush();
            for (int i = 0; i < n; i++) {
                RecordMetadata m = acks.get(i).get();
                out(obj("i", Integer.toString(i), "partition", Integer.toString(m.partition()), "offset", Long.toString(m.offset())));
            }
        }
    }

    /**
     * Updates of a compacted topic: record i has key "k" + (i % keys) and value "v" + i padded to
     * about 1 KiB, except every 13th, which is a tombstone (null value). Prints each record's offset.
     */
    static void upserts(String bootstrap, String topic, int n, int keys, String[] extra) throws Exception {
        Properties p = producerProps(bootstrap, extra);
        List<Future<RecordMetadata>> acks = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            for (int i = 0; i < n; i++) {
                byte[] key = ("k" + (i % keys)).getBytes(StandardCharsets.UTF_8);
                byte[] value = i % 13 == 0 ? null : ("v" + i + "-" + "x".repeat(1000)).getBytes(StandardCharsets.UTF_8);
                acks.add(producer.send(new ProducerRecord<>(topic, 0, key, value)));
            }
            producer.flush();
            for (int i = 0; i < n; i++) {
                out(obj("i", Integer.toString(i), "offset", Long.toString(acks.get(i).get().offset())));
            }
        }
    }

    static void stream(String bootstrap, String topic, int rate, String[] extra) throws Exception {
        Properties p = producerProps(bootstrap, extra);
        // stdin's end is the signal to stop: a reader thread flips this flag.
        java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread stdin = new Thread(() -> {
            try {
                while (System.in.read() >= 0) { }
            } catch (java.io.IOException e) { }
            running.set(false);
        });
        stdin.setDaemon(true);
        stdin.start();
        int sent = 0;
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            long start = System.nanoTime();
            while (running.get()) {
                final int i = sent++;
                ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic,
                        ("key-" + i).getBytes(StandardCharsets.UTF_8), ("j-" + i).getBytes(StandardCharsets.UTF_8));
                producer.send(r, (m, e) -> {
                    if (e != null) out(obj("failed", Integer.toString(i), "error", str(e.toString())));
                    else out(obj("i", Integer.toString(i), "partition", Integer.toString(m.partition()), "offset", Long.toString(m.offset())));
                });
                long due = start + (long) sent * 1_000_000_000L / rate;
                long wait = due - System.nanoTime();
                if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            }
            producer.flush();
        }
        out(obj("sent", Integer.toString(sent)));
    }

    static void consume(String bootstrap, String topic, int n, String seekSpec) throws Exception {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "200");
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
            List<PartitionInfo> infos = consumer.partitionsFor(topic, DEADLINE);
            List<TopicPartition> tps = new ArrayList<>();
            for (PartitionInfo info : infos) tps.add(new TopicPartition(topic, info.partition()));
            tps.sort((a, b) -> Integer.compare(a.partition(), b.partition()));
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            long deadline = System.nanoTime() + DEADLINE.toNanos();
            int got = 0;
            while (got < n) {
                if (System.nanoTime() > deadline) throw new RuntimeException("timed out with " + got + " of " + n + " records");
                ConsumerRecords<byte[], byte[]> recs = consumer.poll(Duration.ofMillis(500));
                for (ConsumerRecord<byte[], byte[]> r : recs) {
                    out(record(r));
                    got++;
                }
            }
            Map<TopicPartition, Long> begin = consumer.beginningOffsets(tps, DEADLINE);
            Map<TopicPartition, Long> end = consumer.endOffsets(tps, DEADLINE);
            for (TopicPartition tp : tps) {
                out(obj("partitionOffsets", Integer.toString(tp.partition()),
                        "beginning", Long.toString(begin.get(tp)), "end", Long.toString(end.get(tp))));
            }
            if (seekSpec != null) {
                String[] ps = seekSpec.split(":");
                TopicPartition tp = new TopicPartition(topic, Integer.parseInt(ps[0]));
                long offset = Long.parseLong(ps[1]);
                consumer.seek(tp, offset);
                ConsumerRecord<byte[], byte[]> first = pollOne(consumer, tp);
                out(obj("seek", Long.toString(offset), "first", record(first)));
                // offsetsForTimes (ListOffsets by timestamp) from the record just read: the first
                // offset whose timestamp is at or after it.
                Map<TopicPartition, OffsetAndTimestamp> byTime =
                        consumer.offsetsForTimes(Collections.singletonMap(tp, first.timestamp()), DEADLINE);
                OffsetAndTimestamp ot = byTime.get(tp);
                out(obj("offsetForTime", Long.toString(first.timestamp()),
                        "offset", ot == null ? "null" : Long.toString(ot.offset())));
            }
        }
    }

    static void group(String bootstrap, String topic, int n, String groupId, String protocol, String instanceId) throws Exception {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
        if (instanceId != null) p.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, instanceId);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        // N = -1: run until the test closes our stdin.
        java.util.concurrent.atomic.AtomicBoolean stdinClosed = new java.util.concurrent.atomic.AtomicBoolean(false);
        if (n < 0) {
            Thread t = new Thread(() -> {
                try {
                    while (System.in.read() >= 0) { }
                } catch (java.io.IOException e) { }
                stdinClosed.set(true);
            });
            t.setDaemon(true);
            t.start();
        }
        java.util.TreeSet<Integer> owned = new java.util.TreeSet<>();
        java.util.concurrent.atomic.AtomicBoolean closing = new java.util.concurrent.atomic.AtomicBoolean(false);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
            // Eager (classic range) listeners see whole assignments, cooperative and KIP-848 ones
            // the partitions added or removed: keeping the set covers both.
            consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                @Override public void onPartitionsRevoked(Collection<TopicPartition> parts) {
                    // Auto-commit is off: what was read of partitions given up in a rebalance (another
                    // member leaving) is committed now, or the final commitSync() would not have them.
                    if (!parts.isEmpty() && !closing.get()) consumer.commitSync(DEADLINE);
                    for (TopicPartition tp : parts) owned.remove(tp.partition());
                    out(obj("owned", owned.toString().replace(" ", "")));
                }
                @Override public void onPartitionsLost(Collection<TopicPartition> parts) {
                    // No longer a member: nothing can be committed for them.
                    for (TopicPartition tp : parts) owned.remove(tp.partition());
                    out(obj("owned", owned.toString().replace(" ", "")));
                }
                @Override public void onPartitionsAssigned(Collection<TopicPartition> parts) {
                    for (TopicPartition tp : parts) owned.add(tp.partition());
                    out(obj("owned", owned.toString().replace(" ", "")));
                }
            });
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            int got = 0;
            while (n < 0 ? !stdinClosed.get() : got < n) {
                if (System.nanoTime() > deadline) throw new RuntimeException("timed out with " + got + " records");
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    out(record(r));
                    got++;
                }
            }
            closing.set(true);
            consumer.commitSync(DEADLINE);
            out(obj("committed", Integer.toString(got)));
        }
    }

    static ConsumerRecord<byte[], byte[]> pollOne(KafkaConsumer<byte[], byte[]> consumer, TopicPartition tp) {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (System.nanoTime() < deadline) {
            List<ConsumerRecord<byte[], byte[]>> recs = consumer.poll(Duration.ofMillis(500)).records(tp);
            if (!recs.isEmpty()) return recs.get(0);
        }
        throw new RuntimeException("no record after seek on " + tp);
    }

    static Admin adminFor(String bootstrap) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        // A frozen broker (the tests SIGSTOP some) costs one short attempt, then another node is tried.
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
        return Admin.create(p);
    }

    static String ids(Collection<Integer> ids) {
        StringBuilder sb = new StringBuilder("[");
        for (Integer id : ids) sb.append(sb.length() > 1 ? "," : "").append(id);
        return sb.append(']').toString();
    }

    static String nodeIds(List<org.apache.kafka.common.Node> nodes) {
        List<Integer> l = new ArrayList<>();
        for (org.apache.kafka.common.Node n : nodes) l.add(n.id());
        return ids(l);
    }

    static void describe(String bootstrap, String topic) throws Exception {
        try (Admin admin = adminFor(bootstrap)) {
            var cluster = admin.describeCluster();
            List<Integer> brokers = new ArrayList<>();
            for (org.apache.kafka.common.Node n : cluster.nodes().get()) brokers.add(n.id());
            Collections.sort(brokers);
            out(obj("brokers", ids(brokers), "controller", Integer.toString(cluster.controller().get().id())));
            TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
            for (var info : d.partitions()) {
                out(obj("partition", Integer.toString(info.partition()),
                        "leader", Integer.toString(info.leader() == null ? -1 : info.leader().id()),
                        "replicas", nodeIds(info.replicas()), "isr", nodeIds(info.isr())));
            }
        }
    }

    static void reassign(String bootstrap, String topic, String[] moves) throws Exception {
        try (Admin admin = adminFor(bootstrap)) {
            Map<TopicPartition, java.util.Optional<org.apache.kafka.clients.admin.NewPartitionReassignment>> m = new HashMap<>();
            for (String mv : moves) {
                int eq = mv.indexOf('=');
                TopicPartition tp = new TopicPartition(topic, Integer.parseInt(mv.substring(0, eq)));
                String to = mv.substring(eq + 1);
                if (to.equals("cancel")) {
                    m.put(tp, java.util.Optional.empty());
                    continue;
                }
                List<Integer> target = new ArrayList<>();
                for (String b : to.split(",")) target.add(Integer.parseInt(b));
                m.put(tp, java.util.Optional.of(new org.apache.kafka.clients.admin.NewPartitionReassignment(target)));
            }
            var results = admin.alterPartitionReassignments(m).values();
            for (var e : results.entrySet()) {
                String outcome;
                try {
                    e.getValue().get();
                    outcome = "ok";
                } catch (java.util.concurrent.ExecutionException ex) {
                    outcome = ex.getCause().getClass().getSimpleName();
                }
                out(obj("reassign", Integer.toString(e.getKey().partition()), "outcome", str(outcome)));
            }
            for (var e : admin.listPartitionReassignments().reassignments().get().entrySet()) {
                var r = e.getValue();
                out(obj("ongoing", Integer.toString(e.getKey().partition()), "topic", str(e.getKey().topic()),
                        "replicas", ids(r.replicas()), "adding", ids(r.addingReplicas()), "removing", ids(r.removingReplicas())));
            }
        }
    }

    static void admin(String bootstrap, String topic) throws Exception {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        try (Admin admin = Admin.create(p)) {
            Map<String, String> configs = new HashMap<>();
            configs.put("retention.ms", "3600000");
            configs.put("cleanup.policy", "compact");
            admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1).configs(configs))).all().get();
            out(obj("created", str(topic)));

            TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
            StringBuilder parts = new StringBuilder("[");
            for (var tpi : d.partitions()) {
                if (parts.length() > 1) parts.append(',');
                parts.append(obj("partition", Integer.toString(tpi.partition()),
                        "leader", tpi.leader() == null ? "null" : Integer.toString(tpi.leader().id()),
                        "replicas", Integer.toString(tpi.replicas().size()), "isr", Integer.toString(tpi.isr().size())));
            }
            out(obj("described", str(d.name()), "topicId", str(d.topicId().toString()),
                    "internal", Boolean.toString(d.isInternal()), "partitions", parts.append(']').toString()));

            ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            Config c = admin.describeConfigs(List.of(res)).all().get().get(res);
            StringBuilder entries = new StringBuilder("{");
            for (ConfigEntry e : c.entries()) {
                if (entries.length() > 1) entries.append(',');
                entries.append(str(e.name())).append(':')
                        .append(obj("value", str(e.value()), "source", str(e.source().toString()),
                                "isDefault", Boolean.toString(e.isDefault())));
            }
            out(obj("configs", entries.append('}').toString()));

            StringBuilder names = new StringBuilder("[");
            for (String name : admin.listTopics().names().get()) {
                if (names.length() > 1) names.append(',');
                names.append(str(name));
            }
            out(obj("topics", names.append(']').toString()));
        }
    }

    /** Admin.describeFeatures (what kafka-features.sh describe prints): one line per feature. */
    static void features(String bootstrap) throws Exception {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        try (Admin admin = Admin.create(p)) {
            FeatureMetadata m = admin.describeFeatures().featureMetadata().get();
            for (Map.Entry<String, SupportedVersionRange> e : m.supportedFeatures().entrySet()) {
                FinalizedVersionRange f = m.finalizedFeatures().get(e.getKey());
                out(obj("feature", str(e.getKey()),
                        "supportedMin", Short.toString(e.getValue().minVersion()),
                        "supportedMax", Short.toString(e.getValue().maxVersion()),
                        "finalized", f == null ? "null" : Short.toString(f.maxVersionLevel()),
                        "epoch", m.finalizedFeaturesEpoch().map(String::valueOf).orElse("null")));
            }
        }
    }

    static void transform(String bootstrap, String in, String outTopic, String group, long n) throws Exception {
        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        c.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "50");
        // A static member: a restarted application takes its place at once, without waiting for
        // the killed one's session to expire.
        c.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "transform-" + group);
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "transform-" + group);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        byte[] prefix = "t:".getBytes(StandardCharsets.UTF_8);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c);
             KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            producer.initTransactions();
            consumer.subscribe(List.of(in));
            int partitions = consumer.partitionsFor(in).size();
            long committed = 0;
            for (;;) {
                ConsumerRecords<byte[], byte[]> recs = consumer.poll(Duration.ofMillis(200));
                if (!recs.isEmpty()) {
                    producer.beginTransaction();
                    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                    for (ConsumerRecord<byte[], byte[]> r : recs) {
                        byte[] v = new byte[prefix.length + r.value().length];
                        System.arraycopy(prefix, 0, v, 0, prefix.length);
                        System.arraycopy(r.value(), 0, v, prefix.length, r.value().length);
                        producer.send(new ProducerRecord<>(outTopic, r.partition(), r.key(), v));
                        offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                    }
                    producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
                    producer.commitTransaction();
                    committed += recs.count();
                    out(obj("committed", Long.toString(committed)));
                }
                if (consumer.assignment().size() < partitions) continue;
                long position = 0;
                for (TopicPartition tp : consumer.assignment()) position += consumer.position(tp);
                if (position >= n) {
                    out(obj("done", Long.toString(position)));
                    return;
                }
            }
        }
    }

    static String record(ConsumerRecord<byte[], byte[]> r) {
        StringBuilder h = new StringBuilder("[");
        for (Header header : r.headers()) {
            if (h.length() > 1) h.append(',');
            h.append('[').append(str(header.key())).append(',').append(bytes(header.value())).append(']');
        }
        return obj("partition", Integer.toString(r.partition()), "offset", Long.toString(r.offset()),
                "timestamp", Long.toString(r.timestamp()), "timestampType", str(r.timestampType().toString()),
                "key", bytes(r.key()), "value", bytes(r.value()), "headers", h.append(']').toString());
    }

    static String bytes(byte[] b) {
        return b == null ? "null" : str(new String(b, StandardCharsets.UTF_8));
    }

    /** A JSON object from alternating names and already-encoded JSON values. */
    static String obj(String... kv) {
        StringBuilder sb = new StringBuilder("{");
        for (int i = 0; i < kv.length; i += 2) {
            if (i > 0) sb.append(',');
            sb.append(str(kv[i])).append(':').append(kv[i + 1]);
        }
        return sb.append('}').toString();
    }

    static String str(String s) {
        if (s == null) return "null";
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        return sb.append('"').toString();
    }

    static void out(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
