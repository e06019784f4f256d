package sqlcrypto_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/sqlcrypto"
)

func allocColumn(t *testing.T, opts ...sqlcrypto.ColumnOption) *sqlcrypto.Column {
	ctx := context.Background()
	ks, err := sqlcrypto.Open(ctx, nil, newKeyring(t), sqlcrypto.WithKeyStore(&countingStore{keys: map[string][]sqlcrypto.StoredKey{}}))
	require.NoError(t, err)
	t.Cleanup(func() { ks.Close() })
	col, err := ks.Column(ctx, "customers", "ssn", opts...)
	require.NoError(t, err)
	return col
}

// TestAllocations: sealing an SSN and taking its driver value, and taking
// its blind index, allocate at most twice (the bytes, and the interface
// database/sql holds them in); opening it into a string allocates once (the
// race detector adds its own).
func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	col := allocColumn(t, sqlcrypto.WithBlindIndex(32))
	ssn := "123-45-6789"
	v, err := col.Seal(ssn).Value()
	require.NoError(t, err)
	var s string
	assert.LessOrEqual(t, testing.AllocsPerRun(200, func() { _, _ = col.Seal(ssn).Value() }), 2.0, "Seal")
	assert.Equal(t, 1.0, testing.AllocsPerRun(200, func() { _ = col.Open(&s).Scan(v) }), "Open")
	assert.LessOrEqual(t, testing.AllocsPerRun(200, func() { _, _ = col.Index(ssn).Value() }), 2.0, "Index")
}

// TestValuesOutliveCollection keeps driver values of every size class of
// their allocation (and beyond) across garbage collections, as text and
// bytes: each still opens to what was sealed.
func TestValuesOutliveCollection(t *testing.T) {
	for _, text := range []bool{false, true} {
		var opts []sqlcrypto.ColumnOption
		if text {
			opts = append(opts, sqlcrypto.WithText())
		}
		col := allocColumn(t, append(opts, sqlcrypto.WithBlindIndex(256))...)
		var want []string
		var vals, idxs []any
		for n := 0; n <= 600; n += 7 {
			pt := string(make([]byte, n)) + "x"
			v, err := col.Seal(pt).Value()
			require.NoError(t, err)
			iv, err := col.Index(pt).Value()
			require.NoError(t, err)
			want, vals, idxs = append(want, pt), append(vals, v), append(idxs, iv)
		}
		runtime.GC()
		runtime.GC()
		for i, v := range vals {
			if text {
				assert.IsType(t, "", v)
			} else {
				assert.IsType(t, []byte(nil), v)
			}
			var s string
			require.NoError(t, col.OpenValue(v, &s))
			assert.Equal(t, want[i], s)
			iv, err := col.Index(want[i]).Value()
			require.NoError(t, err)
			assert.Equal(t, idxs[i], iv)
		}
	}
}
