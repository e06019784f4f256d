package cache_test

import (
	"context"
	"encoding/json"
	"expvar"
	"fmt"
	"time"

	"github.com/cryptkeeper-go/cryptkeeper/cache"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
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

// Package envelope looks materials up in the cache given with
// envelope.WithCache; the keyring is called only on a miss.
func ExampleCache() {
	ctx := context.Background()
	kr, err := keyring.NewRawAES("example", "key-1", make([]byte, 32)) // use a real key
	if err != nil {
		panic(err)
	}
	c, err := cache.New(cache.MaxAge(time.Minute), cache.MaxMessages(1000))
	if err != nil {
		panic(err)
	}
	ec := map[string]string{"tenant": "acme"}
	for range 3 {
		_, err := envelope.Encrypt(ctx, kr, []byte("message"), envelope.WithContext(ec), envelope.WithCache(c))
		if err != nil {
			panic(err)
		}
	}
	st := c.Stats()
	fmt.Println("keyring calls:", st.KeyringCalls, "hits:", st.Hits)
	fmt.Println(c)
	// Output:
	// keyring calls: 1 hits: 2
	// cache.Cache{Partition:"" Entries:1 MaxAge:1m0s}
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
