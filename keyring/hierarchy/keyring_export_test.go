package hierarchy

import "time"

// SetCacheClock replaces the clock of c, for tests of expiry.
func SetCacheClock(c *BranchKeyCache, now func() time.Time) { c.now = now }
