package mall

import (
	"sync"

	"huigong/engine/welfare"
)

// Stream is the order-event stream: every order state the engine decided, in order, each at an
// offset. Fulfilment and merchants read it; a merchant pulls by offset to recover what it
// missed. This is the in-process stream of the embedded mode; a Kafka topic takes its place in
// a cluster (see OrderStream).
type Stream struct {
	mu     sync.Mutex
	events []OrderEvent
	wake   chan struct{}
}

// OrderEvent is one order state at one offset.
type OrderEvent struct {
	Offset uint64
	Order  *welfare.Order
}

// OrderStream is what fulfilment and the merchant feed need of a stream.
type OrderStream interface {
	// Read returns up to limit events from offset on, and the offset after them.
	Read(from uint64, limit int) ([]OrderEvent, uint64)
	// Wait returns a channel closed when events after offset may be there.
	Wait(offset uint64) <-chan struct{}
}

var _ OrderStream = (*Stream)(nil)

// NewStream returns an empty stream.
func NewStream() *Stream { return &Stream{wake: make(chan struct{})} }

func (s *Stream) publish(o *welfare.Order) {
	s.mu.Lock()
	s.events = append(s.events, OrderEvent{Offset: uint64(len(s.events)), Order: o})
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

// Read returns up to limit events from offset from.
func (s *Stream) Read(from uint64, limit int) ([]OrderEvent, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if from >= uint64(len(s.events)) {
		return nil, from
	}
	end := min(uint64(len(s.events)), from+uint64(limit))
	return append([]OrderEvent(nil), s.events[from:end]...), end
}

// Wait returns a channel that is closed once the stream has an event at offset or later.
func (s *Stream) Wait(offset uint64) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if offset < uint64(len(s.events)) {
		c := make(chan struct{})
		close(c)
		return c
	}
	return s.wake
}

// Len is the number of events.
func (s *Stream) Len() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return uint64(len(s.events))
}
