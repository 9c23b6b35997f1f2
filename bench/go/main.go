// franz-bench-go: the franz-go client (github.com/twmb/franz-go, pkg/kgo) as a third real
// client for `npm run bench`, beside Kafka's Java perf tools and librdkafka's kcat. It is lighter
// per record than either (about 1 CPU second per GiB of 1 KiB records produced, against 3 for
// kcat and 11 for ProducerPerformance on this machine), so on two shared cores its rows show
// more of the brokers' own cost.
//
//	franz-bench-go -mode produce -b HOST:PORT -t TOPIC -n RECORDS -f VALUES [-z lz4]
//	franz-bench-go -mode consume -b HOST:PORT -t TOPIC -n RECORDS
//
// produce sends RECORDS keyless records whose values are the lines of VALUES, in turn, with the
// client's defaults (acks=all, idempotence on, 10 ms linger, sticky partitioning) except
// compression, which kgo defaults to snappy and the bench sets to none (or lz4) like the other
// clients' rows. consume reads every partition of TOPIC from its start (direct assignment, no
// group, as kcat -C does) until RECORDS records have arrived. Either prints one JSON line:
// {"records":N,"bytes":B,"seconds":S}, timed from creating the client to the last ack or record
// (the values file is read before the clock starts).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	mode := flag.String("mode", "", "produce or consume")
	brokers := flag.String("b", "127.0.0.1:9092", "bootstrap broker")
	topic := flag.String("t", "", "topic")
	records := flag.Int("n", 0, "records to produce or to read")
	valuesFile := flag.String("f", "", "produce: a file whose lines are the record values")
	codec := flag.String("z", "none", "produce: none or lz4")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after this long")
	flag.Parse()
	if *topic == "" || *records <= 0 {
		fail(errors.New("need -t TOPIC and -n RECORDS > 0"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var values [][]byte
	var err error
	if *mode == "produce" {
		if values, err = readLines(*valuesFile); err != nil {
			fail(err)
		}
	}
	var bytes int64
	start := time.Now()
	switch *mode {
	case "produce":
		bytes, err = produce(ctx, *brokers, *topic, *records, values, *codec)
	case "consume":
		bytes, err = consume(ctx, *brokers, *topic, *records)
	default:
		err = fmt.Errorf("unknown -mode %q", *mode)
	}
	if err != nil {
		fail(err)
	}
	out, _ := json.Marshal(map[string]any{"records": *records, "bytes": bytes, "seconds": time.Since(start).Seconds()})
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "franz-bench-go:", err)
	os.Exit(1)
}

func readLines(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("%s has no lines", path)
	}
	return lines, nil
}

func produce(ctx context.Context, brokers, topic string, n int, values [][]byte, codec string) (int64, error) {
	compression := kgo.NoCompression()
	switch codec {
	case "none":
	case "lz4":
		compression = kgo.Lz4Compression()
	default:
		return 0, fmt.Errorf("unknown codec %q", codec)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(compression))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	var wg sync.WaitGroup
	var failed atomic.Int64
	var firstErr atomic.Value
	var bytes int64
	wg.Add(n)
	for i := 0; i < n; i++ {
		v := values[i%len(values)]
		bytes += int64(len(v))
		// Produce blocks while the client's buffer is full (50 000 records by default in this kgo).
		cl.Produce(ctx, &kgo.Record{Value: v}, func(_ *kgo.Record, err error) {
			if err != nil && failed.Add(1) == 1 {
				firstErr.Store(err)
			}
			wg.Done()
		})
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return 0, fmt.Errorf("%d of %d records failed, the first with: %v", f, n, firstErr.Load())
	}
	return bytes, nil
}

func consume(ctx context.Context, brokers, topic string, n int) (int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	got := 0
	var bytes int64
	for got < n {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("%d of %d records read: %w", got, n, err)
		}
		if errs := fetches.Errors(); len(errs) > 0 {
			return 0, fmt.Errorf("fetch: topic %s partition %d: %w", errs[0].Topic, errs[0].Partition, errs[0].Err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			got++
			bytes += int64(len(r.Value))
		})
	}
	if got != n {
		return 0, fmt.Errorf("read %d records, expected %d", got, n)
	}
	return bytes, nil
}
