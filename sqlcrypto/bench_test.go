package sqlcrypto_test

import (
	"context"
	"testing"

	"github.com/cryptkeeper-go/cryptkeeper/sqlcrypto"
)

const benchSSN = "123-45-6789" // 11 bytes

func benchColumn(b *testing.B, opts ...sqlcrypto.ColumnOption) *sqlcrypto.Column {
	ks, err := sqlcrypto.Open(context.Background(), nil, newKeyring(b),
		sqlcrypto.WithKeyStore(&countingStore{keys: map[string][]sqlcrypto.StoredKey{}}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ks.Close() })
	col, err := ks.Column(context.Background(), "customers", "ssn", opts...)
	if err != nil {
		b.Fatal(err)
	}
	return col
}

// BenchmarkSeal seals an 11-byte SSN and takes the driver value, as
// database/sql does with a query argument.
func BenchmarkSeal(b *testing.B) {
	col := benchColumn(b)
	ssn := benchSSN
	b.ReportAllocs()
	for b.Loop() {
		if _, err := col.Seal(ssn).Value(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen opens a sealed 11-byte SSN into a string, as database/sql
// does when scanning into col.Open(&dst).
func BenchmarkOpen(b *testing.B) {
	col := benchColumn(b)
	v, _ := col.Seal(benchSSN).Value()
	var ssn string
	b.ReportAllocs()
	for b.Loop() {
		if err := col.Open(&ssn).Scan(v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIndex computes a 32-bit blind index of an 11-byte SSN.
func BenchmarkIndex(b *testing.B) {
	col := benchColumn(b, sqlcrypto.WithBlindIndex(32))
	ssn := benchSSN
	b.ReportAllocs()
	for b.Loop() {
		if _, err := col.Index(ssn).Value(); err != nil {
			b.Fatal(err)
		}
	}
}
