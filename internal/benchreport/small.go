package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"time"

	"github.com/cryptkeeper-go/cryptkeeper/cache"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// smallMessages measures encrypting and decrypting 1 KiB messages on one
// goroutine: suite 0478 with and without a cache of materials, and the
// default signed suite 0578 without (its ECDSA key pair per message is
// what FIPS mode makes dearer).
func smallMessages(runs int, kr keyring.Keyring) []smallResult {
	ctx := context.Background()
	pt := make([]byte, smallSize)
	_, _ = rand.Read(pt)
	var out []smallResult
	for _, v := range []struct {
		suite  envelope.SuiteID
		cached bool
	}{
		{envelope.AES256GCMHKDFSHA512CommitKey, false},
		{envelope.AES256GCMHKDFSHA512CommitKey, true},
		{envelope.AES256GCMHKDFSHA512CommitKeyECDSAP384, false},
	} {
		cached := v.cached
		opts := []envelope.Option{envelope.WithSuite(v.suite), envelope.WithContext(map[string]string{"tenant": "acme"})}
		dec := []envelope.Option{opts[1]} // a reader takes the suite from the message
		if cached {
			c := must(cache.New(cache.MaxAge(time.Hour), cache.MaxMessages(cache.MaxMessagesLimit)))
			opts = append(opts, envelope.WithCache(c))
			dec = append(dec, envelope.WithCache(c))
		}
		msg := must(envelope.Encrypt(ctx, kr, pt, opts...))
		suffix := ""
		if v.suite.Signed() {
			suffix = fmt.Sprintf(" (signed %04X)", uint16(v.suite))
		}
		ops := []struct {
			name string
			f    func()
		}{
			{"encrypt" + suffix, func() { must(envelope.Encrypt(ctx, kr, pt, opts...)) }},
			{"decrypt" + suffix, func() { _, _, err := envelope.Decrypt(ctx, kr, msg, dec...); must(0, err) }},
		}
		for _, op := range ops {
			rate := median(runs, 1, op.f)
			out = append(out, smallResult{Op: op.name, Cached: cached, Rate: rate, Allocs: allocsPer(op.f)})
		}
	}
	return out
}

// smallChild measures the 1 KiB messages and prints them as JSON.
func smallChild(runs int) error {
	return json.NewEncoder(os.Stdout).Encode(smallMessages(runs, newKeyring()))
}

// smallFIPS measures the 1 KiB messages in a child process run with
// GODEBUG=fips140=on, since FIPS mode is fixed when a program starts.
func smallFIPS(runs int) ([]smallResult, string) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err.Error()
	}
	cmd := exec.Command(exe, "-small", "-runs", fmt.Sprint(runs))
	cmd.Env = append(os.Environ(), "GODEBUG=fips140=on")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, err.Error()
	}
	var res []smallResult
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, err.Error()
	}
	return res, ""
}

func allocsPer(f func()) float64 {
	const n = 2000
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	for range n {
		f()
	}
	runtime.ReadMemStats(&b)
	return float64(b.Mallocs-a.Mallocs) / n
}
