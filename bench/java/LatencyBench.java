/*
 * Fixed-rate latency for `npm run bench`: one Java KafkaProducer sends records at a fixed rate
 * while one KafkaConsumer (assign + seekToEnd: no consumer group needed) reads them back.
 * Records both latencies in HdrHistograms (microseconds):
 *   - produce-to-ack: from the record's intended send time to its acknowledgement callback;
 *   - end-to-end: from the intended send time to the consumer seeing the record.
 * The intended send time (start + i / rate), not the time send() was called, is the origin, so a
 * producer that falls behind is charged for it (no coordinated omission). Both clients live in
 * this JVM, so System.nanoTime() in the value is comparable.
 *
 * Run with Java's single-file source launcher (the jars come with the Kafka download):
 *   java -cp '<kafka lib>/*' bench/java/LatencyBench.java BOOTSTRAP TOPIC RATE SECONDS WARMUP_SECONDS SIZE [producer k=v ...]
 * Prints one JSON line on stdout.
 */
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class LatencyBench {
  static final long MAX_MICROS = 600_000_000L; // 10 minutes

  public static void main(String[] args) throws Exception {
    if (args.length < 6) {
      System.err.println("usage: LatencyBench BOOTSTRAP TOPIC RATE SECONDS WARMUP_SECONDS SIZE [producer k=v ...]");
      System.exit(2);
    }
    String bootstrap = args[0];
    String topic = args[1];
    double rate = Double.parseDouble(args[2]);
    double seconds = Double.parseDouble(args[3]);
    double warmup = Double.parseDouble(args[4]);
    int size = Integer.parseInt(args[5]);
    if (rate <= 0 || seconds <= 0 || seconds > 600 || size < 8) throw new IllegalArgumentException("bad arguments");

    Properties pp = new Properties();
    pp.put("bootstrap.servers", bootstrap);
    pp.put("key.serializer", ByteArraySerializer.class.getName());
    pp.put("value.serializer", ByteArraySerializer.class.getName());
    for (int i = 6; i < args.length; i++) {
      int eq = args[i].indexOf('=');
      pp.put(args[i].substring(0, eq), args[i].substring(eq + 1));
    }
    Properties cp = new Properties();
    cp.put("bootstrap.servers", bootstrap);
    cp.put("key.deserializer", ByteArrayDeserializer.class.getName());
    cp.put("value.deserializer", ByteArrayDeserializer.class.getName());
    cp.put("enable.auto.commit", "false");
    cp.put("auto.offset.reset", "latest");

    Histogram ack = new Histogram(MAX_MICROS, 3);
    Histogram e2e = new Histogram(MAX_MICROS, 3);
    AtomicLong acked = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    AtomicLong received = new AtomicLong();
    final long[] measureFrom = new long[1];
    final boolean[] stop = new boolean[1];

    KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(cp);
    List<TopicPartition> tps = new ArrayList<>();
    for (PartitionInfo p : consumer.partitionsFor(topic, Duration.ofSeconds(30))) tps.add(new TopicPartition(topic, p.partition()));
    consumer.assign(tps);
    consumer.seekToEnd(tps);
    for (TopicPartition tp : tps) consumer.position(tp, Duration.ofSeconds(30)); // resolve now, before producing

    Thread reader = new Thread(() -> {
      long idleSince = -1;
      while (true) {
        ConsumerRecords<byte[], byte[]> recs = consumer.poll(Duration.ofMillis(50));
        long now = System.nanoTime();
        for (ConsumerRecord<byte[], byte[]> r : recs) {
          long sent = ByteBuffer.wrap(r.value()).getLong(0);
          if (sent >= measureFrom[0]) e2e.recordValue(Math.min(MAX_MICROS, Math.max(0, (now - sent) / 1000)));
          received.incrementAndGet();
        }
        synchronized (stop) {
          if (stop[0]) {
            if (recs.isEmpty()) {
              if (idleSince < 0) idleSince = now;
              if (now - idleSince > 3_000_000_000L) break;
            } else {
              idleSince = -1;
            }
          }
        }
      }
    });
    reader.setDaemon(true);
    reader.start();

    KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp);
    byte[] template = new byte[size];
    new Random(42).nextBytes(template);
    long intervalNs = (long) (1e9 / rate);
    long start = System.nanoTime() + 200_000_000L;
    measureFrom[0] = start + (long) (warmup * 1e9);
    long end = start + (long) ((warmup + seconds) * 1e9);
    long sent = 0;
    for (long i = 0; ; i++) {
      long intended = start + i * intervalNs;
      if (intended >= end) break;
      // Park, never spin. At the bench's rates the gap between records is 20-30 us, so a spinning
      // sender held one of the machine's two cores for the whole row (the client used 1.4 cores
      // against a broker's 0.5), leaving the broker, both clients' I/O threads and the consumer to
      // share the other. A park overshoots by tens of microseconds; the records due meanwhile then
      // go out together, late, and their lateness is counted (latency runs from the intended time).
      long wait = intended - System.nanoTime();
      if (wait > 0) LockSupport.parkNanos(wait);
      byte[] value = template.clone();
      ByteBuffer.wrap(value).putLong(0, intended);
      final long origin = intended;
      producer.send(new ProducerRecord<>(topic, value), (md, ex) -> {
        if (ex != null) {
          errors.incrementAndGet();
          return;
        }
        if (origin >= measureFrom[0]) ack.recordValue(Math.min(MAX_MICROS, Math.max(0, (System.nanoTime() - origin) / 1000)));
        acked.incrementAndGet();
      });
      sent++;
    }
    producer.flush();
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (received.get() < acked.get() && System.nanoTime() < deadline) Thread.sleep(20);
    synchronized (stop) {
      stop[0] = true;
    }
    reader.join(10_000);
    producer.close(Duration.ofSeconds(10));

    double achieved = acked.get() / (warmup + seconds);
    System.out.println("{\"sent\":" + sent + ",\"acked\":" + acked.get() + ",\"errors\":" + errors.get()
        + ",\"received\":" + received.get() + ",\"rate\":" + rate + ",\"achievedRate\":" + achieved
        + ",\"ack\":" + summary(ack) + ",\"e2e\":" + summary(e2e) + "}");
    System.exit(0); // the consumer is closed by exit: its thread may still be in poll()
  }

  static String summary(Histogram h) {
    if (h.getTotalCount() == 0) return "null";
    return "{\"count\":" + h.getTotalCount()
        + ",\"mean\":" + h.getMean() / 1000.0
        + ",\"p50\":" + h.getValueAtPercentile(50) / 1000.0
        + ",\"p99\":" + h.getValueAtPercentile(99) / 1000.0
        + ",\"p999\":" + h.getValueAtPercentile(99.9) / 1000.0
        + ",\"max\":" + h.getMaxValue() / 1000.0 + "}";
  }
}
