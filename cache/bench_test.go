package cache_test

import (
	"context"
	"testing"

	"github.com/cryptkeeper-go/cryptkeeper/cache"
)

func BenchmarkEncryptionHit(b *testing.B) {
	ctx := context.Background()
	c := newCache(b, cache.MaxMessages(cache.MaxMessagesLimit))
	kr := &fakeKeyring{name: "k"}
	var l loader
	ec := map[string]string{"tenant": "acme", "purpose": "bench"}
	load := l.encrypt(kr, ec)
	b.ReportAllocs()
	for b.Loop() {
		m, err := c.Encryption(ctx, kr, suite, ec, 1024, load)
		if err != nil {
			b.Fatal(err)
		}
		m.Zero()
	}
	if l.count() != 1 {
		b.Fatalf("%d loads", l.count())
	}
}

func BenchmarkEncryptionHitParallel(b *testing.B) {
	ctx := context.Background()
	c := newCache(b, cache.MaxMessages(cache.MaxMessagesLimit))
	kr := &fakeKeyring{name: "k"}
	var l loader
	ec := map[string]string{"tenant": "acme", "purpose": "bench"}
	load := l.encrypt(kr, ec)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m, err := c.Encryption(ctx, kr, suite, ec, 1024, load)
			if err != nil {
				b.Error(err)
				return
			}
			m.Zero()
		}
	})
}

func BenchmarkDecryptionHit(b *testing.B) {
	ctx := context.Background()
	c := newCache(b)
	kr := &fakeKeyring{name: "k"}
	edks := edksFor(b, kr)
	var l loader
	ec := map[string]string{"tenant": "acme", "purpose": "bench"}
	load := l.decrypt(kr, edks, ec)
	b.ReportAllocs()
	for b.Loop() {
		m, err := c.Decryption(ctx, kr, suite, edks, ec, load)
		if err != nil {
			b.Fatal(err)
		}
		m.Zero()
	}
}
