package hierarchy

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/cryptkeeper-go/cryptkeeper/cache"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// BenchmarkSmallMessages compares 1 KiB messages (suite 0478, one
// goroutine) with the hierarchical keyring (branch key cached) against the
// raw AES keyring and the raw AES keyring behind the data-key cache.
//
//	go test -run '^$' -bench SmallMessages ./keyring/hierarchy
func BenchmarkSmallMessages(b *testing.B) {
	src := newMemSource()
	src.add(b, "tenant")
	hkr, err := NewKeyring(src, WithBranchKeyID("tenant"), WithTTL(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	aes, err := keyring.NewRawAES("bench", "key", key)
	if err != nil {
		b.Fatal(err)
	}
	c, err := cache.New(cache.MaxAge(time.Hour), cache.MaxMessages(cache.MaxMessagesLimit))
	if err != nil {
		b.Fatal(err)
	}
	pt := make([]byte, 1024)
	_, _ = rand.Read(pt)
	ec := envelope.WithContext(map[string]string{"tenant": "tenant"})
	suite := envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey)
	for _, v := range []struct {
		name string
		kr   keyring.Keyring
		opts []envelope.Option
	}{
		{"rawaes", aes, nil},
		{"hierarchy", hkr, nil},
		{"cache", aes, []envelope.Option{envelope.WithCache(c)}},
	} {
		enc := append([]envelope.Option{suite, ec}, v.opts...)
		dec := append([]envelope.Option{ec}, v.opts...)
		msg, err := envelope.Encrypt(ctxBG, v.kr, pt, enc...)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(v.name+"/encrypt", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(pt)))
			for b.Loop() {
				if _, err := envelope.Encrypt(ctxBG, v.kr, pt, enc...); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(v.name+"/decrypt", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(pt)))
			for b.Loop() {
				if _, _, err := envelope.Decrypt(ctxBG, v.kr, msg, dec...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
