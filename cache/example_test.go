package cache_test

import (
	"context"
	"encoding/json"
	"expvar"
	"fmt"
	"time"

	"github.com/cryptkeeper-go/cryptkeeper/cache"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

func ExampleNew() {
	c, err := cache.New(
		cache.MaxAge(5*time.Minute), // required
		cache.MaxMessages(10_000),   // messages per data key
		cache.MaxBytes(1<<30),       // plaintext bytes per data key
		cache.Capacity(100),         // entries
		cache.Partition("billing"),  // optional
	)
	if err != nil {
		panic(err)
	}
	// Pass c to package envelope with envelope.WithCache(c).
	fmt.Println(c.PartitionName(), c.Len())
	// Output: billing 0
}

// Package envelope calls Encryption with a function that asks the keyring
// for fresh materials; the cache calls it only on a miss.
func ExampleCache_Encryption() {
	ctx := context.Background()
	kr, err := keyring.NewRawAES("example", "key-1", make([]byte, 32)) // use a real key
	if err != nil {
		panic(err)
	}
	c, err := cache.New(cache.MaxAge(time.Minute), cache.MaxMessages(1000))
	if err != nil {
		panic(err)
	}
	s := keyring.Suite{ID: 0x0478, DataKeyLength: 32}
	ec := map[string]string{"tenant": "acme"}
	load := func(ctx context.Context) (*keyring.EncryptionMaterials, error) {
		m := &keyring.EncryptionMaterials{Suite: s, EncryptionContext: ec}
		if err := kr.OnEncrypt(ctx, m); err != nil {
			return nil, err
		}
		return m, nil
	}
	for range 3 {
		m, err := c.Encryption(ctx, kr, s, ec, 1024, load)
		if err != nil {
			panic(err)
		}
		// ... encrypt one message with m ...
		m.Zero()
	}
	st := c.Stats()
	fmt.Println("keyring calls:", st.KeyringCalls, "hits:", st.Hits)
	// Output: keyring calls: 1 hits: 2
}

// Stats marshals to JSON, so expvar can publish it as is.
func ExampleCache_Stats() {
	c, err := cache.New(cache.MaxAge(time.Minute))
	if err != nil {
		panic(err)
	}
	v := expvar.Func(func() any { return c.Stats() })
	// expvar.Publish("datakey_cache", v) makes it visible at /debug/vars.
	var st cache.Stats
	if err := json.Unmarshal([]byte(v.String()), &st); err != nil {
		panic(err)
	}
	fmt.Println(st.Hits, c.Stats().Map()["evictions_age"])
	// Output: 0 0
}
