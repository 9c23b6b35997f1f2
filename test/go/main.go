// franz-check-go: the franz-go client (github.com/twmb/franz-go: pkg/kgo, pkg/kadm) against a
// franz broker, for test/franz-go.test.ts. Each mode does its work and prints one JSON object on
// stdout; the test decides what is right. A client error exits 1 with the error on stderr.
//
//	franz-check-go produce-consume ADDR TOPIC N CODEC   (CODEC: default, none, gzip, snappy, lz4, zstd)
//	franz-check-go group ADDR TOPIC GROUP N
//	franz-check-go admin ADDR TOPIC
//
// Record i has the key, value and headers of recordOf(i); the test builds the same ones.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	if len(os.Args) < 4 {
		fail(errors.New("usage: franz-check-go MODE ADDR ARGS..."))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mode, addr, args := os.Args[1], os.Args[2], os.Args[3:]
	var out any
	var err error
	switch {
	case mode == "produce-consume" && len(args) == 3:
		out, err = produceConsume(ctx, addr, args[0], atoi(args[1]), args[2])
	case mode == "group" && len(args) == 3:
		out, err = group(ctx, addr, args[0], args[1], atoi(args[2]))
	case mode == "admin" && len(args) == 1:
		out, err = admin(ctx, addr, args[0])
	default:
		err = fmt.Errorf("unknown mode or wrong arguments: %s %v", mode, args)
	}
	if err != nil {
		fail(err)
	}
	b, err := json.Marshal(out)
	if err != nil {
		fail(err)
	}
	fmt.Println(string(b))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "franz-check-go:", err)
	os.Exit(1)
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fail(err)
	}
	return n
}

// recordOf: every 10th record has no key, every 25th an empty value, every 7th a header whose
// value is null; values carry non-ASCII text and vary in length.
func recordOf(topic string, i int) *kgo.Record {
	r := &kgo.Record{Topic: topic, Value: []byte(fmt.Sprintf("value-%d-\u00e9\u6f22-%s", i, strings.Repeat("x", i%50)))}
	if i%10 != 9 {
		r.Key = []byte(fmt.Sprintf("key-%d", i))
	}
	if i%25 == 24 {
		r.Value = []byte{}
	}
	r.Headers = []kgo.RecordHeader{{Key: "i", Value: []byte(strconv.Itoa(i))}, {Key: "h\u00e9", Value: []byte("hv-" + strconv.Itoa(i))}}
	if i%7 == 0 {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: "nullh"})
	}
	return r
}

// produceRecords sends records 0..n-1 of recordOf and waits for every ack.
func produceRecords(ctx context.Context, p *kgo.Client, topic string, n int) ([]*kgo.Record, error) {
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = recordOf(topic, i)
	}
	if err := p.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return nil, fmt.Errorf("produce: %w", err)
	}
	return recs, nil
}

// Record is what the test compares: key and header values null when absent.
type Record struct {
	Partition int32        `json:"partition"`
	Offset    int64        `json:"offset"`
	Key       *string      `json:"key"`
	Value     string       `json:"value"`
	Headers   [][2]*string `json:"headers"`
	Timestamp int64        `json:"timestamp"`
}

func toRecord(r *kgo.Record) Record {
	out := Record{Partition: r.Partition, Offset: r.Offset, Value: string(r.Value), Timestamp: r.Timestamp.UnixMilli(), Headers: [][2]*string{}}
	if r.Key != nil {
		k := string(r.Key)
		out.Key = &k
	}
	for _, h := range r.Headers {
		k := h.Key
		var v *string
		if h.Value != nil {
			s := string(h.Value)
			v = &s
		}
		out.Headers = append(out.Headers, [2]*string{&k, v})
	}
	return out
}

type Ack struct {
	Partition int32 `json:"partition"`
	Offset    int64 `json:"offset"`
}

// produceConsume: ProduceSync of N records with the client's defaults (idempotent, acks=all,
// snappy unless CODEC says otherwise), then a direct (group-less) read of every partition from
// the start until N records have come back.
func produceConsume(ctx context.Context, addr, topic string, n int, codec string) (any, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(addr)}
	if codec != "default" {
		c, err := compression(codec)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.ProducerBatchCompression(c))
	}
	p, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	recs, err := produceRecords(ctx, p, topic, n)
	if err != nil {
		return nil, err
	}
	acks := make([]Ack, n)
	for i, r := range recs {
		acks[i] = Ack{r.Partition, r.Offset}
	}
	c, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	got, err := poll(ctx, c, n)
	if err != nil {
		return nil, err
	}
	return map[string]any{"acks": acks, "records": got}, nil
}

func compression(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("unknown codec %q", name)
}

// poll reads until n records have arrived (a fetch error ends it).
func poll(ctx context.Context, c *kgo.Client, n int) ([]Record, error) {
	var got []Record
	for len(got) < n {
		fs := c.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%d of %d records read: %w", len(got), n, err)
		}
		if errs := fs.Errors(); len(errs) > 0 {
			return nil, fmt.Errorf("fetch %s/%d: %w", errs[0].Topic, errs[0].Partition, errs[0].Err)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, toRecord(r)) })
	}
	return got, nil
}

// member is one group consumer and the partitions it holds, kept by its rebalance callbacks.
type member struct {
	cl       *kgo.Client
	mu       sync.Mutex
	assigned map[int32]bool
	changed  chan struct{}
}

func newMember(addr, topic, groupID string) (*member, error) {
	m := &member{assigned: map[int32]bool{}, changed: make(chan struct{}, 1)}
	note := func(ps map[string][]int32, on bool) {
		m.mu.Lock()
		for _, p := range ps[topic] {
			if on {
				m.assigned[p] = true
			} else {
				delete(m.assigned, p)
			}
		}
		m.mu.Unlock()
		select {
		case m.changed <- struct{}{}:
		default:
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup(groupID), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { note(ps, true) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { note(ps, false) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { note(ps, false) }))
	if err != nil {
		return nil, err
	}
	m.cl = cl
	return m, nil
}

func (m *member) partitions() []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	ps := []int32{}
	for p := range m.assigned {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	return ps
}

// waitFor polls the members (so their rebalances go on) until ok holds for their assignments.
func waitFor(ctx context.Context, ok func([][]int32) bool, ms ...*member) ([][]int32, error) {
	for {
		cur := make([][]int32, len(ms))
		for i, m := range ms {
			cur[i] = m.partitions()
		}
		if ok(cur) {
			return cur, nil
		}
		select {
		case <-ctx.Done():
			return cur, fmt.Errorf("assignments %v: %w", cur, ctx.Err())
		case <-ms[0].changed:
		case <-ms[len(ms)-1].changed:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// group: two members of GROUP (kgo's default cooperative-sticky balancer) share TOPIC, read the N
// records produced once both hold partitions, and commit; then one leaves and the other takes
// over every partition. Committed offsets and the group's description come from kadm.
func group(ctx context.Context, addr, topic, groupID string, n int) (any, error) {
	a, err := newMember(addr, topic, groupID)
	if err != nil {
		return nil, err
	}
	defer a.cl.Close()
	b, err := newMember(addr, topic, groupID)
	if err != nil {
		return nil, err
	}
	bOpen := true
	defer func() {
		if bOpen {
			b.cl.Close()
		}
	}()
	// Polling drives the rebalances; no records exist yet.
	var wg sync.WaitGroup
	var mu sync.Mutex
	perMember := [2][]Record{}
	stop := make(chan struct{})
	// Each poll that adds records or an error says so here.
	progress := make(chan struct{}, 1)
	var pollErr error
	for i, m := range []*member{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				pctx, pcancel := context.WithTimeout(ctx, 200*time.Millisecond)
				fs := m.cl.PollFetches(pctx)
				pcancel()
				mu.Lock()
				for _, e := range fs.Errors() {
					if !errors.Is(e.Err, context.DeadlineExceeded) && !errors.Is(e.Err, context.Canceled) && pollErr == nil {
						pollErr = fmt.Errorf("member %d fetch %s/%d: %w", i, e.Topic, e.Partition, e.Err)
					}
				}
				before := len(perMember[i])
				fs.EachRecord(func(r *kgo.Record) { perMember[i] = append(perMember[i], toRecord(r)) })
				if len(perMember[i]) > before || pollErr != nil {
					select {
					case progress <- struct{}{}:
					default:
					}
				}
				mu.Unlock()
			}
		}()
	}
	stopPolling := func() {
		close(stop)
		wg.Wait()
	}
	shared, err := waitFor(ctx, func(cur [][]int32) bool {
		return len(cur[0]) > 0 && len(cur[1]) > 0 && len(cur[0])+len(cur[1]) == 3
	}, a, b)
	if err != nil {
		stopPolling()
		return nil, err
	}
	p, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		stopPolling()
		return nil, err
	}
	defer p.Close()
	if _, err := produceRecords(ctx, p, topic, n); err != nil {
		stopPolling()
		return nil, err
	}
	for {
		mu.Lock()
		total, perr := len(perMember[0])+len(perMember[1]), pollErr
		mu.Unlock()
		if perr != nil || total >= n {
			break
		}
		select {
		case <-progress:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	stopPolling()
	if pollErr != nil {
		return nil, pollErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, m := range []*member{a, b} {
		if err := m.cl.CommitUncommittedOffsets(ctx); err != nil {
			return nil, fmt.Errorf("commit: %w", err)
		}
	}
	adm := kadm.NewClient(p)
	described, err := adm.DescribeGroups(ctx, groupID)
	if err != nil {
		return nil, err
	}
	d := described[groupID]
	if d.Err != nil {
		return nil, fmt.Errorf("describe group: %w", d.Err)
	}
	committed, err := adm.FetchOffsets(ctx, groupID)
	if err != nil {
		return nil, err
	}
	offsets, err := byPartition(committed, func(o kadm.OffsetResponse) (int64, error) { return o.At, o.Err })
	if err != nil {
		return nil, fmt.Errorf("committed offsets: %w", err)
	}
	// b leaves (LeaveGroup on close); a must end up with every partition.
	b.cl.Close()
	bOpen = false
	go func() {
		for ctx.Err() == nil {
			pctx, pcancel := context.WithTimeout(ctx, 200*time.Millisecond)
			a.cl.PollFetches(pctx)
			pcancel()
		}
	}()
	after, err := waitFor(ctx, func(cur [][]int32) bool { return len(cur[0]) == 3 }, a)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"shared":     shared,
		"records":    perMember,
		"committed":  offsets,
		"state":      d.State,
		"protocol":   d.Protocol,
		"members":    len(d.Members),
		"afterLeave": after[0],
	}, nil
}

// admin: kadm's topic administration on TOPIC, each step's answer in the output.
func admin(ctx context.Context, addr, topic string) (any, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	out := map[string]any{}
	if _, err := adm.CreateTopic(ctx, 2, 1, map[string]*string{"retention.ms": kadm.StringPtr("3600000")}, topic); err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	again, err := adm.CreateTopics(ctx, 2, 1, nil, topic)
	if err != nil {
		return nil, err
	}
	out["createAgain"] = errText(again[topic].Err)
	topics, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return nil, err
	}
	out["partitions"] = len(topics[topic].Partitions)
	out["topicId"] = topics[topic].ID.String()
	retention := func() (any, error) {
		rc, err := adm.DescribeTopicConfigs(ctx, topic)
		if err != nil {
			return nil, err
		}
		c, err := rc.On(topic, nil)
		if err != nil {
			return nil, err
		}
		for _, e := range c.Configs {
			if e.Key == "retention.ms" && e.Value != nil {
				return map[string]any{"value": *e.Value, "source": e.Source.String()}, nil
			}
		}
		return nil, errors.New("no retention.ms in DescribeConfigs")
	}
	if out["retention"], err = retention(); err != nil {
		return nil, err
	}
	alt, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("7200000")}}, topic)
	if err != nil {
		return nil, err
	}
	for _, r := range alt {
		if r.Err != nil {
			return nil, fmt.Errorf("alter configs: %w", r.Err)
		}
	}
	if out["retentionAltered"], err = retention(); err != nil {
		return nil, err
	}
	cp, err := adm.CreatePartitions(ctx, 1, topic)
	if err != nil {
		return nil, err
	}
	if e := cp[topic].Err; e != nil {
		return nil, fmt.Errorf("create partitions: %w", e)
	}
	if topics, err = adm.ListTopics(ctx, topic); err != nil {
		return nil, err
	}
	out["partitionsAfterAdd"] = len(topics[topic].Partitions)
	// Ten records into partition 0 (a manual partitioner: each record says where it goes).
	p, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return nil, err
	}
	defer p.Close()
	var recs []*kgo.Record
	for i := 0; i < 10; i++ {
		r := recordOf(topic, i)
		r.Partition = 0
		recs = append(recs, r)
	}
	if err := p.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return nil, fmt.Errorf("produce: %w", err)
	}
	listed := func(l kadm.ListedOffsets, err error) (map[string]int64, error) {
		if err != nil {
			return nil, err
		}
		return byPartition(l, func(o kadm.ListedOffset) (int64, error) { return o.Offset, o.Err })
	}
	if out["endOffsets"], err = listed(adm.ListEndOffsets(ctx, topic)); err != nil {
		return nil, err
	}
	dr, err := adm.DeleteRecords(ctx, kadm.Offsets{topic: {0: {Topic: topic, Partition: 0, At: 4, LeaderEpoch: -1}}})
	if err != nil {
		return nil, err
	}
	out["deleteRecordsLow"] = dr[topic][0].LowWatermark
	out["deleteRecordsErr"] = errText(dr[topic][0].Err)
	if out["startOffsets"], err = listed(adm.ListStartOffsets(ctx, topic)); err != nil {
		return nil, err
	}
	if _, err := adm.DeleteTopic(ctx, topic); err != nil {
		return nil, fmt.Errorf("delete: %w", err)
	}
	if topics, err = adm.ListTopics(ctx); err != nil {
		return nil, err
	}
	out["listedAfterDelete"] = topics.Has(topic)
	return out, nil
}

// byPartition flattens kadm's per-topic, per-partition answers for one topic into partition ->
// offset (JSON object keys are strings); the first partition error ends it.
func byPartition[T any](m map[string]map[int32]T, offset func(T) (int64, error)) (map[string]int64, error) {
	out := map[string]int64{}
	for _, byPart := range m {
		for part, v := range byPart {
			o, err := offset(v)
			if err != nil {
				return nil, fmt.Errorf("partition %d: %w", part, err)
			}
			out[strconv.Itoa(int(part))] = o
		}
	}
	return out, nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
