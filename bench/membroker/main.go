// membroker: a Kafka broker that does nothing but keep records in memory and answer, for
// `npm run bench`. It is not franz and proves no compatibility: it is the bench's yardstick for
// what a client reaches against a broker that costs next to nothing, so that a row below its
// target can be told apart as the broker's doing or the client's and the machine's.
//
//	membroker -listen 127.0.0.1:0
//
// prints "listening HOST:PORT" once it accepts connections. It answers the requests the bench's
// clients send (ApiVersions, Metadata, CreateTopics, CreatePartitions, InitProducerId, Produce,
// ListOffsets, Fetch and the classic group APIs, at the versions franz advertises) and nothing
// more:
//   - Produce copies each batch into anonymous memory outside the Go heap (mmap'd chunks), sets
//     its base offset and answers; no CRC check, no decompression, no sequence checks, no disk.
//   - Fetch answers with the stored batches by writev straight from that memory (the only copy is
//     the kernel's into the socket), waiting up to MaxWait for MinBytes as Kafka does.
//   - Groups have one member at a time (the last to join): enough for one consumer.
//
// Requests on one connection are answered in order, one at a time, as Kafka does.
package main

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// The versions franz advertises for the same APIs (README's compatibility table), so clients
// speak to both alike. Produce is advertised from v0 as Kafka 4 does though v0-2 are not served:
// librdkafka compresses with lz4 only for a broker that lists Produce v0.
var versions = map[int16][2]int16{
	0: {0, 11}, 1: {4, 12}, 2: {1, 8}, 3: {0, 12}, 8: {2, 9}, 9: {1, 9}, 10: {0, 6}, 11: {0, 9},
	12: {0, 4}, 13: {0, 5}, 14: {0, 5}, 18: {0, 4}, 19: {2, 7}, 22: {0, 5}, 37: {0, 3},
}

const (
	errOffsetOutOfRange  = 1
	errCorruptMessage    = 2
	errUnknownTopic      = 3
	errUnsupportedVer    = 35
	errTopicExists       = 36
	errInvalidPartitions = 37
	errMemberIDRequired  = 79
	maxRequest           = 100 << 20
	chunkSize            = 64 << 20
)

type batch struct {
	base, next int64 // first offset, one past the last
	chunk      int
	off, n     int
}

type partition struct {
	mu      sync.RWMutex
	batches []batch
	chunks  [][]byte
	used    int // bytes used in the last chunk
	hw      int64
}

type topic struct {
	id    [16]byte
	parts []*partition
}

type member struct {
	id         string
	assignment []byte
}

type group struct {
	gen     int32
	member  member
	offsets map[string]map[int32]int64
}

type broker struct {
	host string
	port int32

	mu     sync.RWMutex
	topics map[string]*topic
	groups map[string]*group
	pid    int64
	nextID int64
	// Closed and replaced on every append, to wake fetches waiting for data.
	arrived chan struct{}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	addr := ln.Addr().(*net.TCPAddr)
	b := &broker{host: addr.IP.String(), port: int32(addr.Port), topics: map[string]*topic{}, groups: map[string]*group{},
		arrived: make(chan struct{})}
	fmt.Printf("listening %s\n", addr.String())
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		go b.serve(c)
	}
}

// serve reads requests off one connection and answers each before reading the next.
func (b *broker) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 256<<10)
	var size [4]byte
	buf := make([]byte, 0, 1<<20)
	out := make([]byte, 0, 64<<10)
	for {
		if _, err := io.ReadFull(r, size[:]); err != nil {
			return
		}
		n := int(int32(binary.BigEndian.Uint32(size[:])))
		if n < 8 || n > maxRequest {
			return
		}
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return
		}
		var err error
		if out, err = b.handle(c, buf, out[:0]); err != nil {
			fmt.Fprintln(os.Stderr, "connection closed:", err)
			return
		}
	}
}

// handle answers one request (header and body in req); a Fetch is written by writev here, any
// other response is appended to out and written.
func (b *broker) handle(c net.Conn, req []byte, out []byte) ([]byte, error) {
	key := int16(binary.BigEndian.Uint16(req[0:]))
	ver := int16(binary.BigEndian.Uint16(req[2:]))
	corr := binary.BigEndian.Uint32(req[4:])
	kr := kmsg.RequestForKey(key)
	rng, ok := versions[key]
	if kr == nil || !ok {
		return out, fmt.Errorf("api key %d not served", key)
	}
	if ver < rng[0] || ver > rng[1] || key == 0 && ver < 3 {
		if key != 18 {
			return out, fmt.Errorf("api key %d version %d not served", key, ver)
		}
		// KIP-511: an ApiVersions of a newer version gets a v0 answer with the error and the keys.
		resp := b.apiVersions()
		resp.ErrorCode = errUnsupportedVer
		resp.SetVersion(0)
		return write(c, out, corr, false, resp)
	}
	kr.SetVersion(ver)
	body, err := skipHeader(req[8:], kr.IsFlexible() && key != 18 || key == 18 && ver >= 3)
	if err != nil {
		return out, err
	}
	if err := kr.ReadFrom(body); err != nil {
		return out, fmt.Errorf("api key %d v%d: %w", key, ver, err)
	}
	var resp kmsg.Response
	switch q := kr.(type) {
	case *kmsg.ApiVersionsRequest:
		resp = b.apiVersions()
	case *kmsg.MetadataRequest:
		resp = b.metadata(q)
	case *kmsg.CreateTopicsRequest:
		resp = b.createTopics(q)
	case *kmsg.CreatePartitionsRequest:
		resp = b.createPartitions(q)
	case *kmsg.InitProducerIDRequest:
		b.mu.Lock()
		b.pid++
		r := kmsg.NewPtrInitProducerIDResponse()
		r.ProducerID = b.pid
		b.mu.Unlock()
		resp = r
	case *kmsg.ProduceRequest:
		r := b.produce(q)
		if q.Acks == 0 {
			return out, nil
		}
		resp = r
	case *kmsg.ListOffsetsRequest:
		resp = b.listOffsets(q)
	case *kmsg.FetchRequest:
		return out, b.fetch(c, out, corr, q)
	case *kmsg.FindCoordinatorRequest:
		resp = b.findCoordinator(q)
	case *kmsg.JoinGroupRequest:
		resp = b.joinGroup(q)
	case *kmsg.SyncGroupRequest:
		resp = b.syncGroup(q)
	case *kmsg.HeartbeatRequest:
		resp = kmsg.NewPtrHeartbeatResponse()
	case *kmsg.LeaveGroupRequest:
		r := kmsg.NewPtrLeaveGroupResponse()
		for _, m := range q.Members {
			r.Members = append(r.Members, kmsg.LeaveGroupResponseMember{MemberID: m.MemberID, InstanceID: m.InstanceID})
		}
		resp = r
	case *kmsg.OffsetCommitRequest:
		resp = b.offsetCommit(q)
	case *kmsg.OffsetFetchRequest:
		resp = b.offsetFetch(q)
	default:
		return out, fmt.Errorf("api key %d not served", key)
	}
	resp.SetVersion(ver)
	return write(c, out, corr, key != 18 && resp.IsFlexible(), resp)
}

// skipHeader steps over the request header's client id (and tagged fields for header v2).
func skipHeader(p []byte, flexible bool) ([]byte, error) {
	if len(p) < 2 {
		return nil, errors.New("short header")
	}
	n := int(int16(binary.BigEndian.Uint16(p)))
	p = p[2:]
	if n > 0 {
		if len(p) < n {
			return nil, errors.New("short client id")
		}
		p = p[n:]
	}
	if !flexible {
		return p, nil
	}
	count, m := binary.Uvarint(p)
	if m <= 0 {
		return nil, errors.New("bad tagged fields")
	}
	p = p[m:]
	for i := uint64(0); i < count; i++ {
		_, m = binary.Uvarint(p)
		if m <= 0 {
			return nil, errors.New("bad tag")
		}
		p = p[m:]
		size, m := binary.Uvarint(p)
		if m <= 0 || uint64(len(p)-m) < size {
			return nil, errors.New("bad tag size")
		}
		p = p[m+int(size):]
	}
	return p, nil
}

// write frames a response: size, correlation id, an empty tag section for header v1, the body.
func write(c net.Conn, out []byte, corr uint32, flexHeader bool, resp kmsg.Response) ([]byte, error) {
	out = append(out[:0], 0, 0, 0, 0)
	out = binary.BigEndian.AppendUint32(out, corr)
	if flexHeader {
		out = append(out, 0)
	}
	out = resp.AppendTo(out)
	binary.BigEndian.PutUint32(out, uint32(len(out)-4))
	_, err := c.Write(out)
	return out, err
}

func (b *broker) apiVersions() *kmsg.ApiVersionsResponse {
	r := kmsg.NewPtrApiVersionsResponse()
	keys := make([]int, 0, len(versions))
	for k := range versions {
		keys = append(keys, int(k))
	}
	sort.Ints(keys)
	for _, k := range keys {
		v := versions[int16(k)]
		r.ApiKeys = append(r.ApiKeys, kmsg.ApiVersionsResponseApiKey{ApiKey: int16(k), MinVersion: v[0], MaxVersion: v[1]})
	}
	return r
}

func (b *broker) metadata(q *kmsg.MetadataRequest) *kmsg.MetadataResponse {
	r := kmsg.NewPtrMetadataResponse()
	cluster := "membroker"
	r.ClusterID = &cluster
	r.ControllerID = 0
	r.Brokers = []kmsg.MetadataResponseBroker{{NodeID: 0, Host: b.host, Port: b.port}}
	b.mu.RLock()
	defer b.mu.RUnlock()
	var names []string
	if q.Topics == nil || (q.Version == 0 && len(q.Topics) == 0) {
		for name := range b.topics {
			names = append(names, name)
		}
		sort.Strings(names)
	} else {
		for _, t := range q.Topics {
			if t.Topic != nil {
				names = append(names, *t.Topic)
			}
		}
	}
	for _, name := range names {
		name := name
		rt := kmsg.MetadataResponseTopic{Topic: &name, AuthorizedOperations: -2147483648}
		t := b.topics[name]
		if t == nil {
			rt.ErrorCode = errUnknownTopic
		} else {
			rt.TopicID = t.id
			for i := range t.parts {
				rt.Partitions = append(rt.Partitions, kmsg.MetadataResponseTopicPartition{Partition: int32(i), Leader: 0, LeaderEpoch: -1,
					Replicas: []int32{0}, ISR: []int32{0}, OfflineReplicas: []int32{}})
			}
		}
		r.Topics = append(r.Topics, rt)
	}
	return r
}

func newPartitions(n int) []*partition {
	ps := make([]*partition, n)
	for i := range ps {
		ps[i] = &partition{}
	}
	return ps
}

func (b *broker) createTopics(q *kmsg.CreateTopicsRequest) *kmsg.CreateTopicsResponse {
	r := kmsg.NewPtrCreateTopicsResponse()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range q.Topics {
		n := int(t.NumPartitions)
		if n <= 0 {
			n = 1
		}
		rt := kmsg.CreateTopicsResponseTopic{Topic: t.Topic, NumPartitions: int32(n), ReplicationFactor: 1}
		if _, ok := b.topics[t.Topic]; ok {
			rt.ErrorCode = errTopicExists
		} else if !q.ValidateOnly {
			nt := &topic{parts: newPartitions(n)}
			_, _ = rand.Read(nt.id[:])
			b.topics[t.Topic] = nt
			rt.TopicID = nt.id
		}
		r.Topics = append(r.Topics, rt)
	}
	return r
}

func (b *broker) createPartitions(q *kmsg.CreatePartitionsRequest) *kmsg.CreatePartitionsResponse {
	r := kmsg.NewPtrCreatePartitionsResponse()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range q.Topics {
		rt := kmsg.CreatePartitionsResponseTopic{Topic: t.Topic}
		cur := b.topics[t.Topic]
		switch {
		case cur == nil:
			rt.ErrorCode = errUnknownTopic
		case int(t.Count) <= len(cur.parts):
			rt.ErrorCode = errInvalidPartitions
		case !q.ValidateOnly:
			// A new slice: fetches and produces read the old one without the broker's lock.
			cur.parts = append(append([]*partition(nil), cur.parts...), newPartitions(int(t.Count)-len(cur.parts))...)
		}
		r.Topics = append(r.Topics, rt)
	}
	return r
}

func (b *broker) partition(name string, p int32) *partition {
	b.mu.RLock()
	defer b.mu.RUnlock()
	t := b.topics[name]
	if t == nil || p < 0 || int(p) >= len(t.parts) {
		return nil
	}
	return t.parts[p]
}

func (b *broker) produce(q *kmsg.ProduceRequest) *kmsg.ProduceResponse {
	r := kmsg.NewPtrProduceResponse()
	appended := false
	for _, t := range q.Topics {
		rt := kmsg.ProduceResponseTopic{Topic: t.Topic}
		for _, p := range t.Partitions {
			rp := kmsg.ProduceResponseTopicPartition{Partition: p.Partition, LogAppendTime: -1}
			if part := b.partition(t.Topic, p.Partition); part == nil {
				rp.ErrorCode = errUnknownTopic
			} else if base, ok := part.append(p.Records); !ok {
				rp.ErrorCode = errCorruptMessage
			} else {
				rp.BaseOffset = base
				appended = true
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		r.Topics = append(r.Topics, rt)
	}
	if appended {
		b.mu.Lock()
		close(b.arrived)
		b.arrived = make(chan struct{})
		b.mu.Unlock()
	}
	return r
}

// append stores the batches of one partition's records and answers the first one's base offset.
// Only the framing is checked (magic 2, lengths), so a bad request cannot overrun memory.
func (p *partition) append(records []byte) (int64, bool) {
	type span struct{ off, n int }
	var spans []span
	for off := 0; off < len(records); {
		if len(records)-off < 61 || records[off+16] != 2 {
			return 0, false
		}
		n := 12 + int(int32(binary.BigEndian.Uint32(records[off+8:])))
		if n < 61 || n > len(records)-off {
			return 0, false
		}
		spans = append(spans, span{off, n})
		off += n
	}
	if len(spans) == 0 {
		return 0, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	first := p.hw
	for _, s := range spans {
		if len(p.chunks) == 0 || p.used+s.n > len(p.chunks[len(p.chunks)-1]) {
			size := chunkSize
			if s.n > size {
				size = s.n
			}
			mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
			if err != nil {
				panic(err)
			}
			p.chunks = append(p.chunks, mem)
			p.used = 0
		}
		ci := len(p.chunks) - 1
		dst := p.chunks[ci][p.used : p.used+s.n]
		copy(dst, records[s.off:s.off+s.n])
		binary.BigEndian.PutUint64(dst, uint64(p.hw))
		count := int64(int32(binary.BigEndian.Uint32(dst[23:]))) + 1
		p.batches = append(p.batches, batch{base: p.hw, next: p.hw + count, chunk: ci, off: p.used, n: s.n})
		p.hw += count
		p.used += s.n
	}
	return first, true
}

func (p *partition) highWatermark() int64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.hw
}

func (b *broker) listOffsets(q *kmsg.ListOffsetsRequest) *kmsg.ListOffsetsResponse {
	r := kmsg.NewPtrListOffsetsResponse()
	for _, t := range q.Topics {
		rt := kmsg.ListOffsetsResponseTopic{Topic: t.Topic}
		for _, p := range t.Partitions {
			rp := kmsg.ListOffsetsResponseTopicPartition{Partition: p.Partition, Timestamp: -1, LeaderEpoch: -1}
			if part := b.partition(t.Topic, p.Partition); part == nil {
				rp.ErrorCode = errUnknownTopic
			} else if p.Timestamp == -2 || p.Timestamp == -4 {
				rp.Offset = 0 // earliest (and earliest local): nothing is ever deleted
			} else {
				rp.Offset = part.highWatermark() // latest; times are not indexed, so any time answers the end
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		r.Topics = append(r.Topics, rt)
	}
	return r
}

// A partition's part of a Fetch answer: its fields and the stored bytes to send after them.
type fetched struct {
	partition int32
	errorCode int16
	hw        int64
	data      [][]byte
	size      int
}

func (b *broker) fetch(c net.Conn, out []byte, corr uint32, q *kmsg.FetchRequest) error {
	deadline := time.Now().Add(time.Duration(q.MaxWaitMillis) * time.Millisecond)
	for {
		b.mu.RLock()
		arrived := b.arrived
		b.mu.RUnlock()
		topics, total := b.collect(q)
		wait := time.Until(deadline)
		if total >= int(q.MinBytes) || wait <= 0 {
			return writeFetch(c, out, corr, q.Version, q.Topics, topics)
		}
		timer := time.NewTimer(wait)
		select {
		case <-arrived:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// collect gathers whole batches from each partition's fetch offset, within the partition's and
// the request's byte limits, and at least one batch for the first partition with data (KIP-74).
func (b *broker) collect(q *kmsg.FetchRequest) ([][]fetched, int) {
	total := 0
	all := make([][]fetched, len(q.Topics))
	for ti, t := range q.Topics {
		for _, rp := range t.Partitions {
			f := fetched{partition: rp.Partition}
			part := b.partition(t.Topic, rp.Partition)
			if part == nil {
				f.errorCode = errUnknownTopic
				all[ti] = append(all[ti], f)
				continue
			}
			part.mu.RLock()
			f.hw = part.hw
			if rp.FetchOffset < 0 || rp.FetchOffset > part.hw {
				f.errorCode = errOffsetOutOfRange
			} else {
				i := sort.Search(len(part.batches), func(i int) bool { return part.batches[i].next > rp.FetchOffset })
				for ; i < len(part.batches); i++ {
					bt := part.batches[i]
					if f.size > 0 && f.size+bt.n > int(rp.PartitionMaxBytes) || total > 0 && total+bt.n > int(q.MaxBytes) {
						break
					}
					chunk := part.chunks[bt.chunk]
					if k := len(f.data) - 1; k >= 0 && i > 0 && part.batches[i-1].chunk == bt.chunk {
						f.data[k] = chunk[bt.off-len(f.data[k]) : bt.off+bt.n] // contiguous with the previous batch
					} else {
						f.data = append(f.data, chunk[bt.off:bt.off+bt.n])
					}
					f.size += bt.n
					total += bt.n
				}
			}
			part.mu.RUnlock()
			all[ti] = append(all[ti], f)
		}
	}
	return all, total
}

// writeFetch encodes a Fetch response (v4-v12) around the stored bytes and sends it with writev.
func writeFetch(c net.Conn, out []byte, corr uint32, ver int16, req []kmsg.FetchRequestTopic, topics [][]fetched) error {
	flex := ver >= 12
	arr := func(n int) {
		if flex {
			out = binary.AppendUvarint(out, uint64(n+1))
		} else {
			out = binary.BigEndian.AppendUint32(out, uint32(n))
		}
	}
	str := func(s string) {
		if flex {
			out = binary.AppendUvarint(out, uint64(len(s)+1))
		} else {
			out = binary.BigEndian.AppendUint16(out, uint16(len(s)))
		}
		out = append(out, s...)
	}
	i16 := func(v int16) { out = binary.BigEndian.AppendUint16(out, uint16(v)) }
	i32 := func(v int32) { out = binary.BigEndian.AppendUint32(out, uint32(v)) }
	i64 := func(v int64) { out = binary.BigEndian.AppendUint64(out, uint64(v)) }
	tags := func() {
		if flex {
			out = append(out, 0)
		}
	}
	bufs := net.Buffers{}
	size := 0
	flush := func() {
		if len(out) > 0 {
			bufs = append(bufs, out)
			size += len(out)
			out = nil
		}
	}
	out = append(out[:0], 0, 0, 0, 0)
	out = binary.BigEndian.AppendUint32(out, corr)
	tags() // response header v1
	i32(0) // throttle
	if ver >= 7 {
		i16(0) // error code
		i32(0) // session id: sessions are declined
	}
	arr(len(req))
	for ti, t := range req {
		str(t.Topic)
		arr(len(topics[ti]))
		for _, f := range topics[ti] {
			i32(f.partition)
			i16(f.errorCode)
			i64(f.hw)
			i64(f.hw) // last stable offset
			if ver >= 5 {
				i64(0) // log start offset
			}
			if flex { // aborted transactions: null
				out = append(out, 0)
			} else {
				i32(-1)
			}
			if ver >= 11 {
				i32(-1) // preferred read replica
			}
			if flex {
				out = binary.AppendUvarint(out, uint64(f.size+1))
			} else {
				i32(int32(f.size))
			}
			if f.size > 0 {
				flush()
				for _, d := range f.data {
					bufs = append(bufs, d)
					size += len(d)
				}
			}
			tags()
		}
		tags()
	}
	tags()
	flush()
	binary.BigEndian.PutUint32(bufs[0], uint32(size-4))
	_, err := bufs.WriteTo(c)
	return err
}

func (b *broker) findCoordinator(q *kmsg.FindCoordinatorRequest) *kmsg.FindCoordinatorResponse {
	r := kmsg.NewPtrFindCoordinatorResponse()
	r.NodeID, r.Host, r.Port = 0, b.host, b.port
	for _, k := range q.CoordinatorKeys {
		r.Coordinators = append(r.Coordinators, kmsg.FindCoordinatorResponseCoordinator{Key: k, NodeID: 0, Host: b.host, Port: b.port})
	}
	return r
}

func (b *broker) groupFor(name string) *group {
	g := b.groups[name]
	if g == nil {
		g = &group{offsets: map[string]map[int32]int64{}}
		b.groups[name] = g
	}
	return g
}

func (b *broker) joinGroup(q *kmsg.JoinGroupRequest) *kmsg.JoinGroupResponse {
	r := kmsg.NewPtrJoinGroupResponse()
	b.mu.Lock()
	defer b.mu.Unlock()
	if q.MemberID == "" {
		b.nextID++
		r.MemberID = "member-" + strconv.FormatInt(b.nextID, 10)
		if q.Version >= 4 { // Kafka asks a new member to join again with the id it gives
			r.ErrorCode = errMemberIDRequired
			r.Generation = -1
			return r
		}
	} else {
		r.MemberID = q.MemberID
	}
	if len(q.Protocols) == 0 {
		r.ErrorCode = 23 // INCONSISTENT_GROUP_PROTOCOL
		return r
	}
	g := b.groupFor(q.Group)
	g.gen++
	g.member = member{id: r.MemberID}
	proto := q.Protocols[0].Name
	ptype := q.ProtocolType
	r.Generation, r.Protocol, r.ProtocolType, r.LeaderID = g.gen, &proto, &ptype, r.MemberID
	r.Members = []kmsg.JoinGroupResponseMember{{MemberID: r.MemberID, InstanceID: q.InstanceID, ProtocolMetadata: q.Protocols[0].Metadata}}
	return r
}

func (b *broker) syncGroup(q *kmsg.SyncGroupRequest) *kmsg.SyncGroupResponse {
	r := kmsg.NewPtrSyncGroupResponse()
	b.mu.Lock()
	defer b.mu.Unlock()
	g := b.groupFor(q.Group)
	for _, a := range q.GroupAssignment {
		if a.MemberID == g.member.id {
			g.member.assignment = append([]byte(nil), a.MemberAssignment...)
		}
	}
	r.ProtocolType, r.Protocol = q.ProtocolType, q.Protocol
	r.MemberAssignment = g.member.assignment
	return r
}

func (b *broker) offsetCommit(q *kmsg.OffsetCommitRequest) *kmsg.OffsetCommitResponse {
	r := kmsg.NewPtrOffsetCommitResponse()
	b.mu.Lock()
	defer b.mu.Unlock()
	g := b.groupFor(q.Group)
	for _, t := range q.Topics {
		rt := kmsg.OffsetCommitResponseTopic{Topic: t.Topic}
		if g.offsets[t.Topic] == nil {
			g.offsets[t.Topic] = map[int32]int64{}
		}
		for _, p := range t.Partitions {
			g.offsets[t.Topic][p.Partition] = p.Offset
			rt.Partitions = append(rt.Partitions, kmsg.OffsetCommitResponseTopicPartition{Partition: p.Partition})
		}
		r.Topics = append(r.Topics, rt)
	}
	return r
}

func (b *broker) offsetFetch(q *kmsg.OffsetFetchRequest) *kmsg.OffsetFetchResponse {
	r := kmsg.NewPtrOffsetFetchResponse()
	b.mu.Lock()
	defer b.mu.Unlock()
	committed := func(g *group, topic string, p int32) int64 {
		if o, ok := g.offsets[topic][p]; ok {
			return o
		}
		return -1
	}
	if q.Version < 8 {
		g := b.groupFor(q.Group)
		for _, t := range q.Topics {
			rt := kmsg.OffsetFetchResponseTopic{Topic: t.Topic}
			for _, p := range t.Partitions {
				rt.Partitions = append(rt.Partitions, kmsg.OffsetFetchResponseTopicPartition{Partition: p, Offset: committed(g, t.Topic, p), LeaderEpoch: -1})
			}
			r.Topics = append(r.Topics, rt)
		}
		return r
	}
	for _, qg := range q.Groups {
		g := b.groupFor(qg.Group)
		rg := kmsg.OffsetFetchResponseGroup{Group: qg.Group}
		for _, t := range qg.Topics {
			rt := kmsg.OffsetFetchResponseGroupTopic{Topic: t.Topic}
			for _, p := range t.Partitions {
				rt.Partitions = append(rt.Partitions, kmsg.OffsetFetchResponseGroupTopicPartition{Partition: p, Offset: committed(g, t.Topic, p), LeaderEpoch: -1})
			}
			rg.Topics = append(rg.Topics, rt)
		}
		r.Groups = append(r.Groups, rg)
	}
	return r
}
