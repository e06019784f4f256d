package sqlcrypto_test

import (
	"context"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/sqlcrypto"
)

func memColumn(t *testing.T, opts ...sqlcrypto.ColumnOption) *sqlcrypto.Column {
	t.Helper()
	ks, err := sqlcrypto.Open(context.Background(), nil, newKeyring(t),
		sqlcrypto.WithKeyStore(&countingStore{keys: map[string][]sqlcrypto.StoredKey{}}))
	require.NoError(t, err)
	t.Cleanup(func() { ks.Close() })
	col, err := ks.Column(context.Background(), "customers", "ssn", opts...)
	require.NoError(t, err)
	return col
}

// TestValueLayout checks the documented layout: 34 bytes of overhead,
// version 1, the type byte, the key id, a fresh nonce per value.
func TestValueLayout(t *testing.T) {
	col := memColumn(t)
	assert.Equal(t, 34, sqlcrypto.Overhead)
	a, err := col.Seal("123-45-6789").Value()
	require.NoError(t, err)
	b, _ := col.Seal("123-45-6789").Value()
	ab := a.([]byte)
	assert.Len(t, ab, 11+sqlcrypto.Overhead)
	assert.Equal(t, []byte{1, 2, 0, 0, 0, 1}, ab[:6], "version, string type, key id 1")
	assert.NotEqual(t, ab[6:18], b.([]byte)[6:18], "nonces differ")
	assert.NotEqual(t, a, b)
	i, _ := col.Seal(int64(1)).Value()
	assert.Len(t, i.([]byte), 8+sqlcrypto.Overhead)

	// Text: base64 of the same layout; Open reads both forms.
	tcol := memColumn(t, sqlcrypto.WithText())
	tv, err := tcol.Seal("x").Value()
	require.NoError(t, err)
	raw, err := base64.StdEncoding.DecodeString(tv.(string))
	require.NoError(t, err)
	assert.Len(t, raw, 1+sqlcrypto.Overhead)
	var s string
	require.NoError(t, tcol.OpenValue(raw, &s))
	require.NoError(t, tcol.OpenValue([]byte(tv.(string)), &s))
	assert.Equal(t, "x", s)
}

// TestIndexBits: the index has ceil(bits/8) bytes, the bits past bits are
// zero, it is deterministic, strings and bytes share it, and the
// normalizer applies.
func TestIndexBits(t *testing.T) {
	for _, bits := range []int{8, 12, 16, 31, 64, 256} {
		col := memColumn(t, sqlcrypto.WithBlindIndex(bits), sqlcrypto.WithNormalizer(func(s string) string { return s + "!" }))
		v, err := col.Index("123-45-6789").Value()
		require.NoError(t, err)
		b := v.([]byte)
		assert.Len(t, b, (bits+7)/8)
		if r := bits % 8; r != 0 {
			assert.Zero(t, b[len(b)-1]&(0xff>>r), "bits %d", bits)
		}
		w, _ := col.Index([]byte("123-45-6789")).Value()
		assert.Equal(t, v, w)
		if bits >= 64 {
			x, _ := col.Index("123-45-6780").Value()
			assert.NotEqual(t, v, x)
			n, _ := col.Index(int64(5)).Value()
			s, _ := col.Index("5").Value()
			assert.NotEqual(t, n, s, "types are part of the index")
			c1, _ := col.Index(sqlcrypto.Compound{"ab", "c"}).Value()
			c2, _ := col.Index(sqlcrypto.Compound{"a", "bc"}).Value()
			assert.NotEqual(t, c1, c2)
		}
	}
	col := memColumn(t, sqlcrypto.WithBlindIndex(64), sqlcrypto.WithNormalizer(func(s string) string { return s[:3] }))
	a, _ := col.Index("123-45-6789").Value()
	b, _ := col.Index("123-99-9999").Value()
	assert.Equal(t, a, b, "normalized alike")
	n, err := col.Index(nil).Value()
	assert.NoError(t, err)
	assert.Nil(t, n, "NULL stays NULL")
}

func TestSuggestBits(t *testing.T) {
	assert.Equal(t, 20, sqlcrypto.SuggestBits(1_000_000, 1))    // 2^20 > 1e6
	assert.Equal(t, 17, sqlcrypto.SuggestBits(1_000_000, 10))   // 1e6/2^17 = 7.6
	assert.Equal(t, 8, sqlcrypto.SuggestBits(10, 1))            // clamped up
	assert.Equal(t, 256, sqlcrypto.SuggestBits(10, 0))          // no false positives at all
	assert.Equal(t, 8, sqlcrypto.SuggestBits(0, 100))           // rows below 1
	assert.Equal(t, 40, sqlcrypto.SuggestBits(1<<30, 1.0/1024)) // 2^30 * 2^10
}

// TestDeterministic: equal values seal to equal bytes only in a column
// with WithDeterministic, different values differ, and both open.
func TestDeterministic(t *testing.T) {
	col := memColumn(t, sqlcrypto.WithDeterministic())
	a, _ := col.Seal("123-45-6789").Value()
	b, _ := col.Seal("123-45-6789").Value()
	c, _ := col.Seal("123-45-6780").Value()
	d, _ := col.Seal([]byte("123-45-6789")).Value()
	assert.Equal(t, a, b)
	assert.NotEqual(t, a, c)
	assert.NotEqual(t, a.([]byte)[6:18], c.([]byte)[6:18], "nonces differ for different values")
	assert.NotEqual(t, a, d, "the type is part of the nonce")
	var s string
	require.NoError(t, col.OpenValue(c, &s))
	assert.Equal(t, "123-45-6780", s)
	other := memColumn(t)
	e, _ := other.Seal("123-45-6789").Value()
	f, _ := other.Seal("123-45-6789").Value()
	assert.NotEqual(t, e, f, "random nonces by default")
}
