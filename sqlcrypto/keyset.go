package sqlcrypto

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"hash"
	"maps"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// DefaultKeyTable is the key table the default key store creates.
const DefaultKeyTable = "cryptkeeper_keys"

// keySize is the length of every column key: AES-256 for data keys, a
// 256-bit HMAC-SHA256 key for index keys.
const keySize = 32

// wrapSuite wraps column keys: unsigned (a column key has no reader that
// must not also be a writer) and key-committing.
const wrapSuite = envelope.AES256GCMHKDFSHA512CommitKey

// Keyset holds the unwrapped keys of the columns it was asked for, in
// memory, for the life of the process: Seal, Open and Index run with no
// context and no keyring call. It is safe for concurrent use. Close wipes
// the keys.
type Keyset struct {
	kr    keyring.Keyring
	store KeyStore
	cfg   config

	mu     sync.Mutex
	cols   map[[2]string]*columnKeys
	closed atomic.Bool
}

// Open returns the Keyset of a database. Column keys are wrapped by kr and
// kept in a key table of db (DefaultKeyTable, created if missing, see
// WithKeyTable) unless WithKeyStore names another store; db may then be
// nil. No key is read or unwrapped until Column asks for it.
func Open(ctx context.Context, db *sql.DB, kr keyring.Keyring, opts ...Option) (*Keyset, error) {
	if kr == nil {
		return nil, fmt.Errorf("%w: nil keyring", ErrInvalidOption)
	}
	cfg := config{table: DefaultKeyTable, refreshEvery: time.Second, refreshWait: 5 * time.Second}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalidOption)
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	store := cfg.store
	if store == nil {
		if db == nil {
			return nil, fmt.Errorf("%w: nil database and no key store", ErrInvalidOption)
		}
		d := cfg.dialect
		if d == DialectAuto {
			var err error
			if d, err = detectDialect(db); err != nil {
				return nil, err
			}
		}
		s, err := newSQLStore(ctx, db, cfg.table, d, !cfg.noCreate)
		if err != nil {
			return nil, err
		}
		store = s
	}
	return &Keyset{kr: kr, store: store, cfg: cfg, cols: map[[2]string]*columnKeys{}}, nil
}

// Close wipes every key the Keyset holds. Seal, Open and Index of its
// columns then fail with ErrClosed. The AES key schedules and HMAC states
// inside the standard library's types cannot be wiped; they become
// unreachable. Close must not race with Seal, Open or Index calls still
// running.
func (ks *Keyset) Close() error {
	if ks.closed.Swap(true) {
		return nil
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	for _, ck := range ks.cols {
		ck.mu.Lock()
		if s := ck.snap.Swap(nil); s != nil {
			for _, k := range s.data {
				k.detOnce.Do(func() {})
				keyring.Wipe(k.raw)
				keyring.Wipe(k.det)
			}
			for _, k := range s.index {
				keyring.Wipe(k.raw)
			}
		}
		ck.mu.Unlock()
	}
	return nil
}

// Refresh reads the keys of every column already asked for again, so that
// keys another process added (by Rotate) become active here too.
func (ks *Keyset) Refresh(ctx context.Context) error {
	ks.mu.Lock()
	cols := make([]*columnKeys, 0, len(ks.cols))
	for _, ck := range ks.cols {
		cols = append(cols, ck)
	}
	ks.mu.Unlock()
	for _, ck := range cols {
		if err := ck.load(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Rotate adds a new data key to a column and makes it the active one in
// this Keyset; values sealed under older keys keep opening. Other processes
// pick the new key up on their next Refresh, or when they first open a
// value sealed under it. Blind-index keys are not rotated. Two concurrent
// rotations may end in one new key, never in a failure.
func (ks *Keyset) Rotate(ctx context.Context, table, column string) error {
	return ks.rotate(ctx, table, column, PurposeData)
}

// RotateIndex adds a new blind-index key to a column with a blind index
// and makes it the one Index uses in this Keyset. Rows indexed under the
// older key are found through Column.IndexAll until they are reindexed
// (Column.Reencrypt with IndexColumn and Reindex); only then do lookups
// by Index alone find every row again.
func (ks *Keyset) RotateIndex(ctx context.Context, table, column string) error {
	return ks.rotate(ctx, table, column, PurposeIndex)
}

// rotate adds to a column, read afresh from the store, the key of purpose
// p that follows its active one.
func (ks *Keyset) rotate(ctx context.Context, table, column string, p Purpose) error {
	ck, err := ks.columnKeys(ctx, table, column, p == PurposeIndex)
	if err != nil {
		return err
	}
	if err := ck.load(ctx); err != nil {
		return err
	}
	s := ck.snap.Load()
	if s == nil {
		return ErrClosed
	}
	next := s.activeData.id + 1
	if p == PurposeIndex {
		next = s.activeIndex.id + 1
	}
	return ck.create(ctx, p, next)
}

// columnKeys returns the keys of a column, read from the store and
// unwrapped the first time, with a data key (and an index key when index
// is set) created if the column has none.
func (ks *Keyset) columnKeys(ctx context.Context, table, column string, index bool) (*columnKeys, error) {
	if ks.closed.Load() {
		return nil, ErrClosed
	}
	if err := checkIdent("table", table); err != nil {
		return nil, err
	}
	if err := checkIdent("column", column); err != nil {
		return nil, err
	}
	ks.mu.Lock()
	ck, ok := ks.cols[[2]string{table, column}]
	if !ok {
		ck = &columnKeys{ks: ks, table: table, column: column}
		ks.cols[[2]string{table, column}] = ck
	}
	ks.mu.Unlock()
	if !ok || ck.snap.Load() == nil {
		if err := ck.load(ctx); err != nil {
			return nil, err
		}
	}
	s := ck.snap.Load()
	if s == nil {
		return nil, ErrClosed
	}
	if s.activeData == nil {
		if err := ck.create(ctx, PurposeData, 1); err != nil {
			return nil, err
		}
	}
	if index && ck.snap.Load().activeIndex == nil {
		if err := ck.create(ctx, PurposeIndex, 1); err != nil {
			return nil, err
		}
	}
	return ck, nil
}

// columnKeys are the unwrapped keys of one column. The snapshot is
// replaced, never changed, so Seal and Open read it without locking.
type columnKeys struct {
	ks            *Keyset
	table, column string
	snap          atomic.Pointer[snapshot]

	mu          sync.Mutex // serialises loads
	lastRefresh time.Time  // of refreshFor only, so that a Column or Rotate just before does not delay it
}

type snapshot struct {
	data        map[uint32]*dataKey
	index       map[uint32]*indexKey
	activeData  *dataKey
	activeIndex *indexKey
}

type dataKey struct {
	id   uint32
	raw  []byte
	aead cipher.AEAD
	aads [typeLast + 1][]byte // associated data per type, not row-bound

	detOnce sync.Once
	det     []byte // nonce key of deterministic columns
}

// nonceKey is the key of synthetic nonces, HMAC-SHA256 of a label under
// the data key, derived on first use.
func (k *dataKey) nonceKey() []byte {
	k.detOnce.Do(func() {
		m := hmac.New(sha256.New, k.raw)
		m.Write([]byte("cryptkeeper-sql-v1 deterministic nonce key"))
		k.det = m.Sum(nil)
	})
	return k.det
}

type indexKey struct {
	id   uint32
	raw  []byte
	pool sync.Pool // of *macState
}

type macState struct {
	h   hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

func (k *indexKey) mac() *macState {
	if m, ok := k.pool.Get().(*macState); ok {
		return m
	}
	return &macState{h: hmac.New(sha256.New, k.raw)}
}

// wrapContext is the encryption context of a wrapped column key.
func wrapContext(table, column string, p Purpose, id uint32) map[string]string {
	return map[string]string{
		"cryptkeeper:sql:table":   table,
		"cryptkeeper:sql:column":  column,
		"cryptkeeper:sql:purpose": string(p),
		"cryptkeeper:sql:key-id":  strconv.FormatUint(uint64(id), 10),
	}
}

// load reads the column's keys from the store and unwraps those not held
// yet.
func (ck *columnKeys) load(ctx context.Context) error {
	ck.mu.Lock()
	defer ck.mu.Unlock()
	return ck.loadLocked(ctx)
}

func (ck *columnKeys) loadLocked(ctx context.Context) error {
	if ck.ks.closed.Load() {
		return ErrClosed
	}
	stored, err := ck.ks.store.Keys(ctx, ck.table, ck.column)
	if err != nil {
		return err
	}
	old := ck.snap.Load()
	s := &snapshot{data: map[uint32]*dataKey{}, index: map[uint32]*indexKey{}}
	if old != nil {
		s.data, s.index = maps.Clone(old.data), maps.Clone(old.index)
	}
	for _, sk := range stored {
		switch sk.Purpose {
		case PurposeData:
			if s.data[sk.ID] != nil {
				continue
			}
		case PurposeIndex:
			if s.index[sk.ID] != nil {
				continue
			}
		default:
			return fmt.Errorf("%w: %s.%s key %d: unknown purpose %q", ErrKeyTable, ck.table, ck.column, sk.ID, sk.Purpose)
		}
		raw, err := ck.unwrap(ctx, sk)
		if err != nil {
			return err
		}
		if sk.Purpose == PurposeData {
			block, _ := aes.NewCipher(raw) // 32 bytes: cannot fail
			aead, _ := cipher.NewGCM(block)
			s.data[sk.ID] = &dataKey{id: sk.ID, raw: raw, aead: aead, aads: precomputedAADs(ck.table, ck.column, sk.ID)}
		} else {
			s.index[sk.ID] = &indexKey{id: sk.ID, raw: raw}
		}
	}
	for id, k := range s.data {
		if s.activeData == nil || id > s.activeData.id {
			s.activeData = k
		}
	}
	for id, k := range s.index {
		if s.activeIndex == nil || id > s.activeIndex.id {
			s.activeIndex = k
		}
	}
	ck.snap.Store(s)
	return nil
}

func (ck *columnKeys) unwrap(ctx context.Context, sk StoredKey) ([]byte, error) {
	what := fmt.Sprintf("%s.%s %s key %d", ck.table, ck.column, sk.Purpose, sk.ID)
	pt, _, err := envelope.Decrypt(ctx, ck.ks.kr, sk.Wrapped,
		envelope.WithContext(wrapContext(ck.table, ck.column, sk.Purpose, sk.ID)),
		envelope.WithUnsignedOnly(), envelope.WithMaxEncryptedDataKeys(16))
	if err != nil {
		return nil, unwrapErr(what, err)
	}
	if len(pt) != keySize {
		keyring.Wipe(pt)
		return nil, fmt.Errorf("%w: %s: %d bytes", ErrKeyTable, what, len(pt))
	}
	return pt, nil
}

// create adds key id of a purpose to the store and loads it. A failed Add
// is a lost race if the store now holds that id (another process made it
// first); its key is used instead.
func (ck *columnKeys) create(ctx context.Context, p Purpose, id uint32) error {
	ck.mu.Lock()
	defer ck.mu.Unlock()
	if s := ck.snap.Load(); s != nil && ((p == PurposeData && s.data[id] != nil) || (p == PurposeIndex && s.index[id] != nil)) {
		return nil
	}
	if id == 0 {
		return fmt.Errorf("%w: %s.%s: key ids exhausted", ErrKeyTable, ck.table, ck.column)
	}
	raw := make([]byte, keySize)
	defer keyring.Wipe(raw)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("sqlcrypto: random key: %w", err)
	}
	wrapped, err := envelope.Encrypt(ctx, ck.ks.kr, raw,
		envelope.WithContext(wrapContext(ck.table, ck.column, p, id)), envelope.WithSuite(wrapSuite))
	if err != nil {
		return fmt.Errorf("sqlcrypto: wrap %s.%s %s key %d: %w", ck.table, ck.column, p, id, err)
	}
	addErr := ck.ks.store.Add(ctx, StoredKey{Table: ck.table, Column: ck.column, Purpose: p, ID: id, Wrapped: wrapped})
	if err := ck.loadLocked(ctx); err != nil {
		return err
	}
	s := ck.snap.Load()
	if (p == PurposeData && s.data[id] != nil) || (p == PurposeIndex && s.index[id] != nil) {
		return nil
	}
	if addErr == nil {
		addErr = fmt.Errorf("%w: %s.%s %s key %d added but not read back", ErrKeyTable, ck.table, ck.column, p, id)
	}
	return addErr
}

// refreshFor reads the store again for a value naming key id, at most once
// per refresh interval, for Open, which has no context.
func (ck *columnKeys) refreshFor(id uint32) (*dataKey, error) {
	ck.mu.Lock()
	defer ck.mu.Unlock()
	if s := ck.snap.Load(); s == nil {
		return nil, ErrClosed
	} else if k := s.data[id]; k != nil {
		return k, nil
	}
	if time.Since(ck.lastRefresh) >= ck.ks.cfg.refreshEvery {
		ck.lastRefresh = time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), ck.ks.cfg.refreshWait)
		defer cancel()
		if err := ck.loadLocked(ctx); err != nil {
			return nil, err
		}
		if k := ck.snap.Load().data[id]; k != nil {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: %s.%s key %d", ErrUnknownKey, ck.table, ck.column, id)
}
