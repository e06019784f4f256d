package hierarchy

import "time"

// SetClock fixes the store's clock and UUID source (for golden tests).
func SetClock(s *Store, now func() time.Time, uuid func() (string, error)) {
	s.now = now
	s.newUUID = uuid
}
