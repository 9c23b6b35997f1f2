/*
 * Delayed delivery for `npm run bench` (franz only: Kafka has no delay queue). One Java
 * KafkaProducer sends records at a fixed rate for SECONDS, each with a `franz-delay-ms` header of
 * DELAY_MS; one KafkaConsumer (assign + seekToEnd) reads the topic meanwhile. Reports the rate the
 * records were scheduled at, the rate they were delivered at (from the first delivery's timestamp
 * to the last's), and the delivery lag in an
 * HdrHistogram (microseconds): the delivered record's timestamp (the broker's time of delivery)
 * minus its due time (the producer's timestamp plus the delay), so the lag is the broker's alone.
 *
 * Run with Java's single-file source launcher (the jars come with the Kafka download):
 *   java -cp '<kafka lib>/*' bench/java/DelayBench.java BOOTSTRAP TOPIC RATE SECONDS DELAY_MS SIZE
 * Prints one JSON line on stdout.
 */
import java.nio.charset.StandardCharsets;
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
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class DelayBench {
  static final long MAX_MICROS = 600_000_000L;
  static final Histogram lag = new Histogram(MAX_MICROS, 3);
  static long received = 0;
  static long firstDelivery = -1;
  static long lastDelivery = -1;

  /** Counts the delivered records among `recs` and records how late each was. */
  static void take(ConsumerRecords<byte[], byte[]> recs, long delayMs) {
    for (ConsumerRecord<byte[], byte[]> r : recs) {
      if (r.headers().lastHeader("franz-delayed-from") == null) continue;
      received++;
      // The broker's time of delivery (the record's timestamp), not when this consumer read it.
      if (firstDelivery < 0 || r.timestamp() < firstDelivery) firstDelivery = r.timestamp();
      lastDelivery = Math.max(lastDelivery, r.timestamp());
      long original = Long.parseLong(new String(r.headers().lastHeader("franz-original-timestamp").value(), StandardCharsets.UTF_8));
      lag.recordValue(Math.min(MAX_MICROS, Math.max(0, (r.timestamp() - (original + delayMs)) * 1000)));
    }
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 6) {
      System.err.println("usage: DelayBench BOOTSTRAP TOPIC RATE SECONDS DELAY_MS SIZE");
      System.exit(2);
    }
    String bootstrap = args[0];
    String topic = args[1];
    double rate = Double.parseDouble(args[2]);
    double seconds = Double.parseDouble(args[3]);
    long delayMs = Long.parseLong(args[4]);
    int size = Integer.parseInt(args[5]);

    Properties pp = new Properties();
    pp.put("bootstrap.servers", bootstrap);
    pp.put("key.serializer", ByteArraySerializer.class.getName());
    pp.put("value.serializer", ByteArraySerializer.class.getName());
    pp.put("linger.ms", "5");
    Properties cp = new Properties();
    cp.put("bootstrap.servers", bootstrap);
    cp.put("key.deserializer", ByteArrayDeserializer.class.getName());
    cp.put("value.deserializer", ByteArrayDeserializer.class.getName());
    cp.put("enable.auto.commit", "false");

    AtomicLong acked = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    long sent = 0;
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(cp);
         KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp)) {
      List<TopicPartition> tps = new ArrayList<>();
      for (PartitionInfo p : consumer.partitionsFor(topic, Duration.ofSeconds(30))) tps.add(new TopicPartition(topic, p.partition()));
      consumer.assign(tps);
      consumer.seekToEnd(tps);
      for (TopicPartition tp : tps) consumer.position(tp, Duration.ofSeconds(30));
      byte[] value = new byte[size];
      new Random(42).nextBytes(value);
      Header delay = new RecordHeader("franz-delay-ms", Long.toString(delayMs).getBytes(StandardCharsets.UTF_8));
      long intervalNs = (long) (1e9 / rate);
      long start = System.nanoTime();
      long end = start + (long) (seconds * 1e9);
      long scheduledEnd = start;
      // Produce at the fixed rate, reading deliveries in between; then read until all are in.
      for (long i = 0; ; i++) {
        long intended = start + i * intervalNs;
        if (intended >= end) break;
        long wait = intended - System.nanoTime();
        if (wait > 1_000_000) {
          take(consumer.poll(Duration.ofNanos(Math.min(wait, 20_000_000))), delayMs);
        } else if (wait > 0) {
          LockSupport.parkNanos(wait);
        }
        producer.send(new ProducerRecord<>(topic, null, null, null, value, List.of(delay)), (md, ex) -> {
          if (ex != null) errors.incrementAndGet();
          else acked.incrementAndGet();
        });
        sent++;
      }
      producer.flush();
      scheduledEnd = System.nanoTime();
      long deadline = System.currentTimeMillis() + delayMs + 60_000;
      while (received < acked.get() && System.currentTimeMillis() < deadline) take(consumer.poll(Duration.ofMillis(100)), delayMs);
      double scheduledSeconds = (scheduledEnd - start) / 1e9;
      double deliveredSeconds = Math.max(0.001, (lastDelivery - firstDelivery) / 1000.0);
      System.out.println("{\"sent\":" + sent + ",\"acked\":" + acked.get() + ",\"errors\":" + errors.get()
          + ",\"received\":" + received + ",\"scheduledPerSec\":" + (acked.get() / scheduledSeconds)
          + ",\"deliveredPerSec\":" + (received / deliveredSeconds) + ",\"lag\":" + summary(lag) + "}");
    }
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
