package matcache

import (
	"context"
	"time"
)

// get serves r from an entry, waits for a concurrent load of the same key,
// or loads the materials itself.
func get[M materials](ctx context.Context, s *store, r request[M]) (M, error) {
	first := true
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		now := s.now()
		e, cl, leader := s.find(r.key, now)
		if e != nil {
			m, ok, retired := use(s, e, r, now)
			if retired {
				s.mu.Lock()
				s.unlink(e)
				s.mu.Unlock()
			}
			if ok {
				if first {
					s.counters.hits.Add(1)
				}
				return m, nil
			}
		}
		if first {
			s.counters.misses.Add(1)
			first = false
		}
		if e != nil {
			continue // the entry was retired: look again
		}
		if leader {
			return lead(ctx, s, r, cl)
		}
		select {
		case <-cl.done:
			if cl.err != nil {
				return nil, cl.err
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// find returns the entry for key, or else the load in progress for it, or
// else registers a new load and reports that the caller leads it. It first
// removes and zeroes entries that have expired, oldest first. (Entries are
// queued in insertion order, which can differ from creation order by the
// duration of a load; an entry behind a younger one is swept a little late,
// but every use checks the age of its entry, so none is used expired.)
// Each entry's timer normally removes it first (see expire); the sweep
// covers timers that run late and clocks other than time.Now.
func (s *store) find(key entryKey, now time.Time) (*entry, *call, bool) {
	s.mu.Lock()
	var expired []*entry
	for el := s.fifo.Front(); el != nil; el = s.fifo.Front() {
		e := el.Value.(*entry)
		if !s.expired(e, now) {
			break
		}
		s.unlink(e)
		expired = append(expired, e)
	}
	var (
		cl     *call
		leader bool
	)
	e := s.entries[key]
	if e != nil {
		s.lru.MoveToFront(e.lru)
	} else if cl = s.calls[key]; cl == nil {
		cl = &call{done: make(chan struct{})}
		s.calls[key] = cl
		leader = true
	}
	s.mu.Unlock()
	for _, x := range expired {
		s.retire(x, reasonAge)
	}
	return e, cl, leader
}

func (s *store) expired(e *entry, now time.Time) bool {
	return !now.Before(e.created.Add(s.maxAge))
}

// use reserves r's usage in e and copies its materials. ok reports success;
// retired reports that this call retired e (the caller must unlink it).
func use[M materials](s *store, e *entry, r request[M], now time.Time) (m M, ok, retired bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.retired {
		return nil, false, true
	}
	if s.expired(e, now) {
		return nil, false, s.retireLocked(e, reasonAge)
	}
	if r.usage >= 0 {
		if e.messages >= s.maxMessages {
			return nil, false, s.retireLocked(e, reasonMessages)
		}
		if r.usage > s.maxBytes-e.bytes {
			return nil, false, s.retireLocked(e, reasonBytes)
		}
		e.messages++
		e.bytes += r.usage
	}
	m = r.clone(e.m.(M))
	if r.usage >= 0 {
		if full, why := s.full(e.messages, e.bytes); full {
			retired = s.retireLocked(e, why)
		}
	}
	return m, true, retired
}

// full reports whether an entry with this usage can serve no further
// message, and why.
func (s *store) full(messages uint64, bytes int64) (bool, reason) {
	switch {
	case messages >= s.maxMessages:
		return true, reasonMessages
	case bytes >= s.maxBytes:
		return true, reasonBytes
	}
	return false, 0
}

// lead calls r.load for the load registered as cl, stores the result and
// wakes the waiters.
func lead[M materials](ctx context.Context, s *store, r request[M], cl *call) (M, error) {
	done := false
	defer func() {
		if !done { // load panicked: release the waiters, then let the panic go on
			s.mu.Lock()
			s.endCall(r.key, cl, ErrLoadPanicked)
			s.mu.Unlock()
		}
	}()
	created := s.now()
	s.counters.keyringCalls.Add(1)
	m, err := r.load(ctx)
	done = true
	if err == nil && m == nil {
		err = ErrNoMaterials
	}
	if err != nil {
		shared := err
		if ctx.Err() != nil {
			shared = nil // the leader's own context ended: waiters retry
		}
		s.mu.Lock()
		s.endCall(r.key, cl, shared)
		s.mu.Unlock()
		return nil, err
	}

	e := &entry{key: r.key, created: created, m: m}
	if r.usage >= 0 {
		e.messages, e.bytes = 1, r.usage
		if full, _ := s.full(e.messages, e.bytes); full {
			// The leader's message uses the whole entry: store nothing.
			s.mu.Lock()
			s.endCall(r.key, cl, nil)
			s.mu.Unlock()
			return m, nil
		}
	}
	out := r.clone(m)
	var victims []*entry
	s.mu.Lock()
	if old := s.entries[r.key]; old != nil {
		s.unlink(old)
		victims = append(victims, old)
	}
	s.entries[r.key] = e
	e.lru = s.lru.PushFront(e)
	e.fifo = s.fifo.PushBack(e)
	e.timer = time.AfterFunc(e.created.Add(s.maxAge).Sub(s.now()), func() { s.expire(e) })
	for len(s.entries) > s.capacity {
		v := s.lru.Back().Value.(*entry)
		s.unlink(v)
		victims = append(victims, v)
	}
	s.endCall(r.key, cl, nil)
	s.mu.Unlock()
	for _, v := range victims {
		why := reasonCapacity
		if v.key == r.key {
			why = reasonPurge // replaced; cannot happen while loads are single flight
		}
		s.retire(v, why)
	}
	return out, nil
}

// endCall unregisters cl and wakes its waiters. s.mu must be held.
func (s *store) endCall(key entryKey, cl *call, err error) {
	if s.calls[key] == cl {
		delete(s.calls, key)
	}
	cl.err = err
	close(cl.done)
}

// unlink removes e from the maps and lists if it is still there. s.mu must
// be held.
func (s *store) unlink(e *entry) {
	if s.entries[e.key] != e {
		return
	}
	delete(s.entries, e.key)
	s.lru.Remove(e.lru)
	s.fifo.Remove(e.fifo)
}

// expire removes e and zeroes its data key when its timer fires, whether
// or not anyone looks it up again. The timer is the only reference the
// runtime keeps to s, and only until the entry is retired: a Cache nobody
// references is collected once its entries have expired or been purged.
func (s *store) expire(e *entry) {
	s.mu.Lock()
	s.unlink(e)
	s.mu.Unlock()
	s.retire(e, reasonAge)
}

// retire marks e retired and zeroes its data key.
func (s *store) retire(e *entry, why reason) {
	e.mu.Lock()
	s.retireLocked(e, why)
	e.mu.Unlock()
}

// retireLocked marks e retired, zeroes its data key and counts the eviction;
// it reports whether e was live. e.mu must be held.
func (s *store) retireLocked(e *entry, why reason) bool {
	if e.retired {
		return false
	}
	e.retired = true
	if e.timer != nil {
		e.timer.Stop()
	}
	e.m.Zero()
	e.m = nil
	s.counters.evicted(why)
	return true
}
