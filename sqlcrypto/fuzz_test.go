package sqlcrypto

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// memStore is a KeyStore in memory.
type memStore struct {
	mu   sync.Mutex
	keys []StoredKey
}

func (s *memStore) Keys(_ context.Context, table, column string) ([]StoredKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []StoredKey
	for _, k := range s.keys {
		if k.Table == table && k.Column == column {
			out = append(out, k)
		}
	}
	return out, nil
}

func (s *memStore) Add(_ context.Context, k StoredKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.keys {
		if o.Table == k.Table && o.Column == k.Column && o.Purpose == k.Purpose && o.ID == k.ID {
			return errors.New("exists")
		}
	}
	s.keys = append(s.keys, k)
	return nil
}

func fuzzColumn(f *testing.F) *Column {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	kr, err := keyring.NewRawAES("fuzz", "k", key)
	if err != nil {
		f.Fatal(err)
	}
	ks, err := Open(context.Background(), nil, kr, WithKeyStore(&memStore{}), WithRefresh(time.Hour, time.Second))
	if err != nil {
		f.Fatal(err)
	}
	col, err := ks.Column(context.Background(), "t", "c")
	if err != nil {
		f.Fatal(err)
	}
	return col
}

// dsts are the destinations every fuzzed value is opened into.
func dsts() []any {
	var (
		s  string
		b  []byte
		i  int64
		n  int
		fl float64
		bo bool
		t  time.Time
		a  any
		ns sql.NullString
		ni sql.NullInt64
		j  map[string]any
	)
	return []any{&s, &b, &i, &n, &fl, &bo, &t, &a, &ns, &ni, JSON{V: &j}}
}

// FuzzOpenValue feeds the value parser arbitrary stored values (as bytes
// and as text) and, through a column's own key, arbitrary authenticated
// type bytes and plaintexts: nothing panics, a stored value the parser
// refuses never opens, and an authenticated value of any type byte and
// plaintext opens or fails with ErrType (ErrNotEncrypted for an unknown
// type byte).
func FuzzOpenValue(f *testing.F) {
	col := fuzzColumn(f)
	for _, v := range []any{"123-45-6789", []byte{}, int64(-1), 2.5, true, time.Unix(1, 2), JSON{V: []int{1}}} {
		_, sealed, err := col.seal(0, v, nil, false)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(sealed, sealed[1], sealed[headerSize:])
	}
	f.Add([]byte("AQ=="), byte(9), []byte{})
	f.Fuzz(func(t *testing.T, stored []byte, typ byte, pt []byte) {
		for _, d := range dsts() {
			if err := col.OpenValue(stored, d); err == nil {
				if _, err := rawValue(stored); err != nil {
					t.Fatalf("opened a value the parser refuses: %v", err)
				}
			}
			_ = col.OpenValue(string(stored), d)
		}
		// An authenticated value of any type byte and plaintext.
		s := col.keys.snap.Load()
		raw := make([]byte, headerSize, headerSize+len(pt)+tagSize)
		raw[0], raw[1] = formatVersion, typ
		binary.BigEndian.PutUint32(raw[2:6], s.activeData.id)
		aad := make([]byte, 6+len(col.aad)+1)
		aad = aad[:col.putAAD(aad, raw, nil, false)]
		raw = s.activeData.aead.Seal(raw, raw[6:headerSize], pt, aad)
		for _, d := range dsts() {
			err := col.OpenValue(raw, d)
			if typ > typeLast {
				if !errors.Is(err, ErrNotEncrypted) {
					t.Fatalf("type %d: %v", typ, err)
				}
				continue
			}
			if err != nil && !errors.Is(err, ErrType) {
				t.Fatalf("type %d into %T: %v", typ, d, err)
			}
		}
	})
}
