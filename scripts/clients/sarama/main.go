// A sarama (Debian golang-github-shopify-sarama-dev) producer and consumer-group member for
// weir serve's client matrix (scripts/serve-clients.py). Built offline with Debian's Go:
//
//	GOPATH=$DIR:/usr/share/gocode GO111MODULE=off go build -o weir-sarama scripts/clients/sarama
//
// Usage:
//
//	weir-sarama produce BROKER TOPIC N     produce N keyed records with a header (acks=all)
//	weir-sarama consume BROKER TOPIC GROUP N   join GROUP, read until N records, commit, print them
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/Shopify/sarama"
)

func config() *sarama.Config {
	c := sarama.NewConfig()
	c.Version = sarama.V2_1_0_0
	c.ClientID = "weir-sarama"
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Return.Successes = true
	c.Producer.Compression = sarama.CompressionSnappy
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Consumer.Offsets.CommitInterval = 200 * time.Millisecond
	c.Consumer.Return.Errors = true
	return c
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "weir-sarama: "+format+"\n", args...)
	os.Exit(1)
}

func produce(broker, topic string, n int) {
	p, err := sarama.NewSyncProducer([]string{broker}, config())
	if err != nil {
		fail("producer: %v", err)
	}
	defer p.Close()
	msgs := make([]*sarama.ProducerMessage, n)
	for i := range msgs {
		msgs[i] = &sarama.ProducerMessage{
			Topic:   topic,
			Key:     sarama.StringEncoder(fmt.Sprintf("k%d", i)),
			Value:   sarama.StringEncoder(fmt.Sprintf("sarama value %d", i)),
			Headers: []sarama.RecordHeader{{Key: []byte("origin"), Value: []byte("sarama")}},
		}
	}
	if err := p.SendMessages(msgs); err != nil {
		fail("send: %v", err)
	}
	fmt.Printf("produced %d\n", n)
}

type handler struct {
	mu   sync.Mutex
	seen map[string]bool
	low  int64
	high int64
	want int
	done chan struct{}
	once sync.Once
}

func (h *handler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *handler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		if len(m.Headers) != 1 || string(m.Headers[0].Value) != "sarama" {
			fail("record %d/%d has headers %v", m.Partition, m.Offset, m.Headers)
		}
		s.MarkMessage(m, "")
		h.mu.Lock()
		h.seen[fmt.Sprintf("%d/%d", m.Partition, m.Offset)] = true
		if len(h.seen) == 1 || m.Offset < h.low {
			h.low = m.Offset
		}
		if m.Offset > h.high {
			h.high = m.Offset
		}
		if len(h.seen) >= h.want {
			h.once.Do(func() { close(h.done) })
		}
		h.mu.Unlock()
	}
	return nil
}

func consume(broker, topic, group string, n int) {
	g, err := sarama.NewConsumerGroup([]string{broker}, group, config())
	if err != nil {
		fail("consumer group: %v", err)
	}
	go func() {
		for err := range g.Errors() {
			fmt.Fprintf(os.Stderr, "weir-sarama: group error: %v\n", err)
		}
	}()
	h := &handler{seen: map[string]bool{}, want: n, done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for ctx.Err() == nil {
			if err := g.Consume(ctx, []string{topic}, h); err != nil {
				fmt.Fprintf(os.Stderr, "weir-sarama: consume: %v\n", err)
				time.Sleep(200 * time.Millisecond)
			}
		}
	}()
	select {
	case <-h.done:
	case <-time.After(30 * time.Second):
		h.mu.Lock()
		fail("read %d of %d records in 30 s", len(h.seen), n)
	}
	time.Sleep(500 * time.Millisecond) // one commit interval, then Close commits the rest
	cancel()
	if err := g.Close(); err != nil {
		fail("close: %v", err)
	}
	h.mu.Lock()
	fmt.Printf("consumed %d (offsets %d-%d)\n", len(h.seen), h.low, h.high)
}

func main() {
	if len(os.Args) < 5 {
		fail("usage: weir-sarama produce BROKER TOPIC N | consume BROKER TOPIC GROUP N")
	}
	last, err := strconv.Atoi(os.Args[len(os.Args)-1])
	if err != nil {
		fail("N must be a number: %v", err)
	}
	switch os.Args[1] {
	case "produce":
		produce(os.Args[2], os.Args[3], last)
	case "consume":
		if len(os.Args) != 6 {
			fail("usage: weir-sarama consume BROKER TOPIC GROUP N")
		}
		consume(os.Args[2], os.Args[3], os.Args[4], last)
	default:
		fail("unknown mode %q: produce or consume", os.Args[1])
	}
}
