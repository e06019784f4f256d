package dynamocrypto

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// benchConfig is a table of 10 attributes: the keys, 6 encrypted and 2
// signed in plaintext.
func benchConfig() TableConfig {
	acts := map[string]Action{"zip": SignOnly, "status": SignOnly}
	for i := range 6 {
		acts[fmt.Sprintf("e%d", i)] = EncryptAndSign
	}
	return TableConfig{Name: "bench", PartitionKey: "pk", SortKey: "sk", Actions: acts}
}

// benchItem returns an item of 10 attributes and about size bytes.
func benchItem(size int) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		"pk":     &types.AttributeValueMemberS{Value: "customer#0001"},
		"sk":     &types.AttributeValueMemberN{Value: "42"},
		"zip":    &types.AttributeValueMemberS{Value: "10115"},
		"status": &types.AttributeValueMemberS{Value: "active"},
	}
	per := (size - 40) / 6
	for i := range 6 {
		item[fmt.Sprintf("e%d", i)] = &types.AttributeValueMemberS{Value: strings.Repeat(string(rune('a'+i)), per)}
	}
	return item
}

// cachedAndUncached runs bench as the subbenchmarks cached, on a client
// whose table takes its data keys from a cache, and uncached, a keyring
// call (raw AES) per item.
func cachedAndUncached(b *testing.B, bench func(b *testing.B, c *Client)) {
	for _, cached := range []bool{true, false} {
		name := "uncached"
		if cached {
			name = "cached"
		}
		b.Run(name, func(b *testing.B) {
			tc := benchConfig()
			if cached {
				tc.Cache = newTestCache(b)
			}
			c, err := New(nil, testKeyring(b), tc)
			if err != nil {
				b.Fatal(err)
			}
			bench(b, c)
		})
	}
}

// BenchmarkEncryptItem: BenchmarkEncryptItem/cached, a 1 KB item of 10
// attributes with the data key from a cache; uncached, a keyring call
// (raw AES) per item.
func BenchmarkEncryptItem(b *testing.B) {
	cachedAndUncached(b, func(b *testing.B, c *Client) {
		item := benchItem(1024)
		ctx := context.Background()
		b.SetBytes(1024)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.EncryptItem(ctx, "bench", item); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDecryptItem is the reverse of BenchmarkEncryptItem.
func BenchmarkDecryptItem(b *testing.B) {
	cachedAndUncached(b, func(b *testing.B, c *Client) {
		ctx := context.Background()
		enc, err := c.EncryptItem(ctx, "bench", benchItem(1024))
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(1024)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.DecryptItem(ctx, "bench", enc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkItem100KB reports the bytes one call allocates for a 100 KB
// item, and that as a multiple of the item size (x-item), an upper bound of
// the memory a call adds at its peak.
func BenchmarkItem100KB(b *testing.B) {
	const size = 100 * 1024
	tc := benchConfig()
	tc.Cache = newTestCache(b)
	c, err := New(nil, testKeyring(b), tc)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	item := benchItem(size)
	enc, err := c.EncryptItem(ctx, "bench", item)
	if err != nil {
		b.Fatal(err)
	}
	run := func(name string, fn func() error) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			for b.Loop() {
				if err := fn(); err != nil {
					b.Fatal(err)
				}
			}
			runtime.ReadMemStats(&ms1)
			b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N)/size, "x-item")
		})
	}
	run("encrypt", func() error { _, err := c.EncryptItem(ctx, "bench", item); return err })
	run("decrypt", func() error { _, err := c.DecryptItem(ctx, "bench", enc); return err })
}

// BenchmarkEncryptItemBeacons encrypts the sample item of a table with a
// standard beacon and a compound beacon that includes it.
func BenchmarkEncryptItemBeacons(b *testing.B) {
	c := newTestClient(b, func(tc *TableConfig) { tc.Cache = newTestCache(b) })
	item := sampleItem()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.EncryptItem(ctx, "customers", item); err != nil {
			b.Fatal(err)
		}
	}
}
