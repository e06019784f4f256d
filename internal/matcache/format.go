package matcache

import (
	"fmt"
	"io"
)

// Entries and copies print without their data keys, like the materials
// they hold (see keyring.EncryptionMaterials.Format), so that printing one
// while debugging shows no key either.

// Format prints the entry's age and usage, never its materials.
func (e *entry) Format(f fmt.State, _ rune) {
	if e == nil {
		io.WriteString(f, "<nil>")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	fmt.Fprintf(f, "entry{created:%v messages:%d bytes:%d retired:%t}", e.created.Format("15:04:05.000"), e.messages, e.bytes, e.retired)
}

// Format prints the copied materials, which redact their data key.
func (c encryptionCopy) Format(f fmt.State, verb rune) { c.m.Format(f, verb) }

// Format prints the copied materials, which redact their data key.
func (c decryptionCopy) Format(f fmt.State, verb rune) { c.m.Format(f, verb) }

// Format prints the cache's partition, never its entries.
func (c *Cache) Format(f fmt.State, _ rune) {
	if c == nil {
		io.WriteString(f, "<nil>")
		return
	}
	fmt.Fprintf(f, "matcache.Cache{Partition:%q Entries:%d MaxAge:%v}", c.partition, c.Len(), c.maxAge)
}
