package access

import "sync"

// ChangeEvent says that an identity changed. Empty fields widen it: no
// IdentityID means anything in Network may have changed, no Network means
// anything at all (sent when a subscriber fell behind and events were lost).
type ChangeEvent struct {
	Network    string // network ID
	IdentityID string
	Action     string // the audit action, e.g. "reset"
	By         string // the actor's name
}

// Changes is an in-process broadcast hub: every Backend of one server
// publishes its successful mutations here, and every session subscribes, so
// what one admin changes shows in the other sessions at once. Publishing
// never blocks on a slow subscriber.
type Changes struct {
	mu   sync.Mutex
	subs map[chan ChangeEvent]struct{}
}

// NewChanges returns an empty hub.
func NewChanges() *Changes { return &Changes{subs: map[chan ChangeEvent]struct{}{}} }

// subscriberBuffer is how many events a subscriber may fall behind before
// its backlog is replaced by one "anything changed" event.
const subscriberBuffer = 32

// Subscribe returns a channel of changes and the function that ends the
// subscription (and closes the channel). Call cancel when the session ends.
func (c *Changes) Subscribe() (<-chan ChangeEvent, func()) {
	ch := make(chan ChangeEvent, subscriberBuffer)
	c.mu.Lock()
	c.subs[ch] = struct{}{}
	c.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			c.mu.Lock()
			delete(c.subs, ch)
			c.mu.Unlock()
			close(ch)
		})
	}
}

// Publish tells every subscriber that identity identityID of network
// changed.
func (c *Changes) Publish(network, identityID string) {
	c.PublishEvent(ChangeEvent{Network: network, IdentityID: identityID})
}

// PublishEvent tells every subscriber about ev.
func (c *Changes) PublishEvent(ev ChangeEvent) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for ch := range c.subs {
		select {
		case ch <- ev:
			continue
		default:
		}
		// Full: drop the backlog and say "refresh everything" instead, which
		// covers whatever was dropped.
	drain:
		for {
			select {
			case <-ch:
			default:
				break drain
			}
		}
		select {
		case ch <- ChangeEvent{}:
		default:
		}
	}
}
