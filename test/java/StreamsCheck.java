import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;

/**
 * A Kafka Streams word count against a franz broker, for test/java.test.ts:
 *   java -cp 'test/java/lib/*' test/java/StreamsCheck.java BOOTSTRAP STATE_DIR LINES
 * The topology re-keys by word (a repartition topic) and counts in a RocksDB store (a compacted
 * changelog topic), the two internal topics Streams creates itself. LINES copies of one sentence
 * go in; the program prints the last count of each word as one JSON line once every word has
 * reached its final count (or after 60 s), then the topics Streams created.
 *
 *   java ... StreamsCheck.java BOOTSTRAP STATE_DIR run GUARANTEE
 * runs the same topology (application "wordcount-GUARANTEE") over the existing topics "words" and
 * "word-counts" with processing.guarantee=GUARANTEE, prints {"state":"RUNNING"} once running and
 * keeps running until its stdin ends (the test kills it -9 mid-stream and starts it again).
 */
public class StreamsCheck {
  static final String SENTENCE = "the quick fox jumps over the lazy dog the end";

  static StreamsBuilder topology() {
    StreamsBuilder builder = new StreamsBuilder();
    builder.<String, String>stream("words")
        .flatMapValues(v -> Arrays.asList(v.split(" ")))
        .groupBy((key, word) -> word)
        .count()
        .toStream()
        .mapValues(String::valueOf)
        .to("word-counts");
    return builder;
  }

  static void run(String bootstrap, String stateDir, String guarantee) throws Exception {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "wordcount-" + guarantee.replace('_', '-'));
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
    p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.String().getClass());
    p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.String().getClass());
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    // A restarted instance takes its place at once instead of waiting for the session to expire.
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG), "wordcount-instance");
    KafkaStreams streams = new KafkaStreams(topology().build(), p);
    streams.setStateListener((now, before) -> {
      if (now == KafkaStreams.State.RUNNING) System.out.println("{\"state\":\"RUNNING\"}");
      if (now == KafkaStreams.State.ERROR) {
        System.out.println("{\"state\":\"ERROR\"}");
        System.exit(1);
      }
    });
    streams.start();
    while (System.in.read() != -1) {
      // Runs until stdin ends.
    }
    streams.close(Duration.ofSeconds(15));
  }

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    if (args[2].equals("run")) {
      run(bootstrap, args[1], args[3]);
      return;
    }
    int lines = Integer.parseInt(args[2]);
    String app = "wordcount";
    Properties adminProps = new Properties();
    adminProps.put("bootstrap.servers", bootstrap);
    try (Admin admin = Admin.create(adminProps)) {
      admin.createTopics(List.of(new NewTopic("words", 2, (short) 1), new NewTopic("word-counts", 2, (short) 1))).all().get();
    }

    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, app);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(StreamsConfig.STATE_DIR_CONFIG, args[1]);
    p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.String().getClass());
    p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.String().getClass());
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    KafkaStreams streams = new KafkaStreams(topology().build(), p);
    CountDownLatch running = new CountDownLatch(1);
    streams.setStateListener((now, before) -> {
      if (now == KafkaStreams.State.RUNNING) running.countDown();
    });
    streams.start();
    if (!running.await(60, TimeUnit.SECONDS)) throw new IllegalStateException("Streams did not reach RUNNING: " + streams.state());

    Properties pp = new Properties();
    pp.put("bootstrap.servers", bootstrap);
    pp.put("key.serializer", StringSerializer.class.getName());
    pp.put("value.serializer", StringSerializer.class.getName());
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
      for (int i = 0; i < lines; i++) producer.send(new ProducerRecord<>("words", "line-" + i, SENTENCE));
    }

    Properties cp = new Properties();
    cp.put("bootstrap.servers", bootstrap);
    cp.put("group.id", "word-count-reader");
    cp.put("auto.offset.reset", "earliest");
    cp.put("key.deserializer", StringDeserializer.class.getName());
    cp.put("value.deserializer", StringDeserializer.class.getName());
    // Each word's final count: its occurrences in the sentence times `lines`. Counts arrive in
    // several partitions in no fixed order, so the reader waits for all of them.
    Map<String, String> expected = new TreeMap<>();
    for (String w : SENTENCE.split(" ")) expected.merge(w, String.valueOf(lines), (a, b) -> String.valueOf(Integer.parseInt(a) + lines));
    Map<String, String> counts = new TreeMap<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp)) {
      consumer.subscribe(List.of("word-counts"));
      while (System.nanoTime() < deadline && !counts.equals(expected)) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(100))) counts.put(r.key(), r.value());
      }
    }
    streams.close(Duration.ofSeconds(15));

    StringBuilder json = new StringBuilder("{\"counts\":{");
    counts.forEach((k, v) -> json.append('"').append(k).append("\":").append(v).append(','));
    if (!counts.isEmpty()) json.setLength(json.length() - 1);
    json.append("},\"internalTopics\":[");
    try (Admin admin = Admin.create(adminProps)) {
      admin.listTopics().names().get().stream().filter(t -> t.startsWith(app + "-")).sorted()
          .forEach(t -> json.append('"').append(t).append("\","));
    }
    if (json.charAt(json.length() - 1) == ',') json.setLength(json.length() - 1);
    System.out.println(json.append("]}"));
  }
}
