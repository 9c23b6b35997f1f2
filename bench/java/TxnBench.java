/*
 * Transactional commit latency for `npm run bench`: one Java KafkaProducer (transactional.id set;
 * with a 4.x client and a broker that finalizes transaction.version 2 it uses KIP-890's
 * transactions v2) runs transaction after transaction, each of RECORDS records spread evenly over
 * the topic's partitions, as fast as it can. Records the time commitTransaction() takes (the
 * records' flush plus EndTxn: what an application waits for) in an HdrHistogram, in microseconds,
 * after a warm-up.
 *
 * Run with Java's single-file source launcher (the jars come with the Kafka download):
 *   java -cp '<kafka lib>/*' bench/java/TxnBench.java BOOTSTRAP TOPIC RECORDS_PER_TXN SECONDS WARMUP_SECONDS SIZE
 * Prints one JSON line on stdout.
 */
import java.time.Duration;
import java.util.Properties;
import java.util.Random;
import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class TxnBench {
  static final long MAX_MICROS = 600_000_000L; // 10 minutes

  public static void main(String[] args) throws Exception {
    if (args.length != 6) {
      System.err.println("usage: TxnBench BOOTSTRAP TOPIC RECORDS_PER_TXN SECONDS WARMUP_SECONDS SIZE");
      System.exit(2);
    }
    String bootstrap = args[0];
    String topic = args[1];
    int perTxn = Integer.parseInt(args[2]);
    double seconds = Double.parseDouble(args[3]);
    double warmup = Double.parseDouble(args[4]);
    int size = Integer.parseInt(args[5]);
    if (perTxn < 1 || seconds <= 0 || seconds > 600 || size < 1) throw new IllegalArgumentException("bad arguments");

    Properties pp = new Properties();
    pp.put("bootstrap.servers", bootstrap);
    pp.put("key.serializer", ByteArraySerializer.class.getName());
    pp.put("value.serializer", ByteArraySerializer.class.getName());
    pp.put("transactional.id", "txn-bench-" + topic);
    pp.put("linger.ms", "5");

    Histogram commit = new Histogram(MAX_MICROS, 3);
    byte[] value = new byte[size];
    new Random(42).nextBytes(value);
    long transactions = 0;
    long records = 0;
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp)) {
      producer.initTransactions();
      int partitions = producer.partitionsFor(topic).size();
      long start = System.nanoTime();
      long measureFrom = start + (long) (warmup * 1e9);
      long end = measureFrom + (long) (seconds * 1e9);
      long measuredStart = -1;
      long measuredRecords = 0;
      for (long now = start; now < end; now = System.nanoTime()) {
        boolean measured = now >= measureFrom;
        if (measured && measuredStart < 0) measuredStart = now;
        producer.beginTransaction();
        for (int i = 0; i < perTxn; i++) producer.send(new ProducerRecord<>(topic, i % partitions, null, value));
        long before = System.nanoTime();
        producer.commitTransaction();
        long took = (System.nanoTime() - before) / 1000;
        transactions++;
        records += perTxn;
        if (measured) {
          commit.recordValue(Math.min(MAX_MICROS, took));
          measuredRecords += perTxn;
        }
      }
      double measuredSeconds = (System.nanoTime() - measuredStart) / 1e9;
      System.out.println("{\"transactions\":" + transactions + ",\"records\":" + records
          + ",\"measuredRecords\":" + measuredRecords + ",\"measuredSeconds\":" + measuredSeconds
          + ",\"commit\":" + summary(commit) + "}");
      producer.close(Duration.ofSeconds(10));
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
