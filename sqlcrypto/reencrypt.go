package sqlcrypto

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Progress reports a re-encryption after each batch.
type Progress struct {
	// LastKey is the primary key of the last row handled: the checkpoint
	// to give ResumeAfter after a crash or a cancel.
	LastKey any
	// Scanned rows, Rewritten ones, and Skipped ones that a concurrent
	// writer changed between read and write (left as that writer wrote
	// them).
	Scanned, Rewritten, Skipped int64
	// Remaining is, after a Verify pass, the number of non-NULL values not
	// sealed under the active key (plaintext included).
	Remaining int64
}

// ReencryptOption configures Column.Reencrypt.
type ReencryptOption func(*reencryptConfig) error

type reencryptConfig struct {
	batch     int
	after     any
	progress  func(Progress) error
	pause     time.Duration
	plaintext bool
	index     string
	verify    bool
	reindex   bool
}

// BatchSize sets the rows read and rewritten per transaction (default 500).
func BatchSize(n int) ReencryptOption {
	return func(c *reencryptConfig) error {
		if n < 1 || n > 100_000 {
			return fmt.Errorf("%w: batch size %d outside 1..100000", ErrInvalidOption, n)
		}
		c.batch = n
		return nil
	}
}

// ResumeAfter starts after the row with this primary key, a
// Progress.LastKey of an earlier run.
func ResumeAfter(key any) ReencryptOption {
	return func(c *reencryptConfig) error {
		if key == nil {
			return fmt.Errorf("%w: nil resume key", ErrInvalidOption)
		}
		c.after = key
		return nil
	}
}

// OnProgress calls f after each committed batch; an error from f stops
// the run and is returned.
func OnProgress(f func(Progress) error) ReencryptOption {
	return func(c *reencryptConfig) error {
		c.progress = f
		return nil
	}
}

// BatchPause waits d between batches, to limit the load on the database.
func BatchPause(d time.Duration) ReencryptOption {
	return func(c *reencryptConfig) error {
		c.pause = d
		return nil
	}
}

// FromPlaintext migrates a plaintext column: values that are not sealed
// are sealed (instead of failing with ErrNotEncrypted). Give the column
// WithPlaintextFallback so that the application reads both kinds
// meanwhile.
func FromPlaintext() ReencryptOption {
	return func(c *reencryptConfig) error {
		c.plaintext = true
		return nil
	}
}

// IndexColumn also writes the blind index of each rewritten value into
// the named column (the Column needs WithBlindIndex).
func IndexColumn(name string) ReencryptOption {
	return func(c *reencryptConfig) error {
		if err := checkIdent("index column", name); err != nil {
			return err
		}
		c.index = name
		return nil
	}
}

// Reindex rewrites every row, also those already under the active data
// key, so that the IndexColumn is recomputed under the active index key
// after Keyset.RotateIndex. It needs IndexColumn.
func Reindex() ReencryptOption {
	return func(c *reencryptConfig) error {
		c.reindex = true
		return nil
	}
}

// Verify ends the run with a pass that writes nothing: it opens every
// value, fails on the first that does not open, and counts in
// Progress.Remaining those not sealed under the active key.
func Verify() ReencryptOption {
	return func(c *reencryptConfig) error {
		c.verify = true
		return nil
	}
}

// Reencrypt rewrites the column's values in db under its active data key
// (after Keyset.Rotate), in batches ordered by the primary key column pk,
// each in its own transaction, while the application keeps reading and
// writing: a row is updated only if it still holds the value read, so a
// concurrent write is never lost. Every row stays readable at every point,
// so a run stopped by a crash, an error or ctx can be rerun (from the
// last checkpoint with ResumeAfter, or from the start: rows already under
// the active key are skipped). Values to rewrite that do not open stop
// the run with their error and the row's key; values already under the
// active key are skipped without being opened, so only Verify finds those
// that were altered.
func (c *Column) Reencrypt(ctx context.Context, db *sql.DB, pk string, opts ...ReencryptOption) (Progress, error) {
	cfg := reencryptConfig{batch: 500}
	for _, o := range opts {
		if o == nil {
			return Progress{}, fmt.Errorf("%w: nil option", ErrInvalidOption)
		}
		if err := o(&cfg); err != nil {
			return Progress{}, err
		}
	}
	if err := checkIdent("primary key column", pk); err != nil {
		return Progress{}, err
	}
	if cfg.reindex && cfg.index == "" {
		return Progress{}, fmt.Errorf("%w: Reindex without IndexColumn", ErrInvalidOption)
	}
	if cfg.index != "" && c.cfg.indexBits == 0 {
		return Progress{}, fmt.Errorf("%w: IndexColumn on a column without a blind index", ErrInvalidOption)
	}
	d := c.keys.ks.cfg.dialect
	if d == DialectAuto {
		var err error
		if d, err = detectDialect(db); err != nil {
			return Progress{}, err
		}
	}
	t, col := c.keys.table, c.keys.column
	ph := d.placeholders(4)
	first := fmt.Sprintf("SELECT %s, %s FROM %s ORDER BY %s LIMIT %d", pk, col, t, pk, cfg.batch)
	next := fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s > %s ORDER BY %s LIMIT %d", pk, col, t, pk, ph[0], pk, cfg.batch)
	set := []string{col + " = " + ph[0]}
	if cfg.index != "" {
		set = append(set, cfg.index+" = "+ph[1])
	}
	n := len(set)
	update := fmt.Sprintf("UPDATE %s SET %s WHERE %s = %s AND %s = %s", t, strings.Join(set, ", "), pk, ph[n], col, ph[n+1])

	var p Progress
	if err := c.pass(ctx, db, first, next, cfg, &p, func(tx *sql.Tx, key, val any) error {
		nv, idx, ok, err := c.rewrite(key, val, &cfg)
		if err != nil || !ok {
			return err
		}
		args := []any{nv}
		if cfg.index != "" {
			args = append(args, idx)
		}
		res, err := tx.ExecContext(ctx, update, append(args, key, val)...)
		if err != nil {
			return storeErr("update "+t, err)
		}
		if k, err := res.RowsAffected(); err == nil && k == 0 {
			p.Skipped++
		} else {
			p.Rewritten++
		}
		return nil
	}); err != nil {
		return p, err
	}
	if !cfg.verify {
		return p, nil
	}
	cfg.after, cfg.progress = nil, nil
	var v Progress
	err := c.pass(ctx, db, first, next, cfg, &v, func(_ *sql.Tx, key, val any) error {
		if stale, err := c.stale(key, val, cfg.plaintext); err != nil {
			return err
		} else if stale {
			p.Remaining++
		}
		return nil
	})
	return p, err
}

// pass runs f on every non-NULL value of the column, a transaction per
// batch (tx is nil when f writes nothing).
func (c *Column) pass(ctx context.Context, db *sql.DB, first, next string, cfg reencryptConfig, p *Progress, f func(tx *sql.Tx, key, val any) error) error {
	type row struct{ key, val any }
	after := cfg.after
	for {
		var rs *sql.Rows
		var err error
		if after == nil {
			rs, err = db.QueryContext(ctx, first)
		} else {
			rs, err = db.QueryContext(ctx, next, after)
		}
		if err != nil {
			return storeErr("read "+c.keys.table, err)
		}
		var batch []row
		for rs.Next() {
			var r row
			if err := rs.Scan(&r.key, &r.val); err != nil {
				rs.Close()
				return storeErr("read "+c.keys.table, err)
			}
			batch = append(batch, r)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return storeErr("read "+c.keys.table, err)
		}
		if len(batch) == 0 {
			return nil
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return storeErr("begin", err)
		}
		// The counts of a batch that does not commit are taken back, so
		// that Progress tells only what the database holds.
		committed := *p
		for _, r := range batch {
			p.Scanned++
			if r.val == nil {
				continue
			}
			if err := f(tx, r.key, r.val); err != nil {
				_ = tx.Rollback()
				*p = committed
				return fmt.Errorf("sqlcrypto: re-encrypt %s.%s row %v: %w", c.keys.table, c.keys.column, r.key, err)
			}
		}
		if err := tx.Commit(); err != nil {
			*p = committed
			return storeErr("commit", err)
		}
		after = batch[len(batch)-1].key
		p.LastKey = after
		if cfg.progress != nil {
			if err := cfg.progress(*p); err != nil {
				return err
			}
		}
		if len(batch) < cfg.batch {
			return nil
		}
		if cfg.pause > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("sqlcrypto: %w: %w", ErrTransient, ctx.Err())
			case <-time.After(cfg.pause):
			}
		}
	}
}

// rewrite returns a value's replacement under the active key (in the same
// form, text or bytes, as the stored one) and its blind index, or ok false
// if it is already under the active key.
func (c *Column) rewrite(key, val any, cfg *reencryptConfig) (nv, idx any, ok bool, err error) {
	var p plain
	text := c.cfg.text
	raw, err := rawValue(val)
	switch {
	case err == nil:
		s := c.keys.snap.Load()
		if s == nil {
			return nil, nil, false, ErrClosed
		}
		if binary.BigEndian.Uint32(raw[2:6]) == s.activeData.id && !cfg.reindex {
			return nil, nil, false, nil
		}
		typ, pt, err := c.open(raw, key, c.cfg.rowBinding)
		if err != nil {
			return nil, nil, false, err
		}
		p = plainOf(typ, pt)
		b, isBytes := val.([]byte)
		text = !isBytes || b[0] != formatVersion
	case cfg.plaintext && errors.Is(err, ErrNotEncrypted):
		if err := p.set(val); err != nil {
			return nil, nil, false, err
		}
		if p.typ == typeBytes {
			p.b = append([]byte(nil), p.b...)
		}
	default:
		return nil, nil, false, err
	}
	_, sealed, err := c.sealPlain(0, &p, key, c.cfg.rowBinding)
	if err != nil {
		return nil, nil, false, err
	}
	nv = sealed
	if text {
		nv = base64.StdEncoding.EncodeToString(sealed)
	}
	if cfg.index != "" {
		v, err := naturalPlain(&p)
		if err != nil {
			return nil, nil, false, err
		}
		if idx, err = c.Index(v).Value(); err != nil {
			return nil, nil, false, err
		}
	}
	return nv, idx, true, nil
}

// stale tells whether a stored value is not under the active key, after
// opening it.
func (c *Column) stale(key, val any, plaintext bool) (bool, error) {
	raw, err := rawValue(val)
	if err != nil {
		if plaintext && errors.Is(err, ErrNotEncrypted) {
			return true, nil
		}
		return false, err
	}
	if _, _, err := c.open(raw, key, c.cfg.rowBinding); err != nil {
		return false, err
	}
	s := c.keys.snap.Load()
	return binary.BigEndian.Uint32(raw[2:6]) != s.activeData.id, nil
}

func naturalPlain(p *plain) (any, error) {
	buf := make([]byte, p.size())
	p.put(buf)
	return natural(p.typ, buf)
}
