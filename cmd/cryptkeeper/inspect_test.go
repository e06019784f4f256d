package main

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

func fuzzKeyring(t testing.TB) keyring.Keyring {
	kr, err := keyring.NewRawAES("fuzz", "key", bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// FuzzInspect feeds inspect's parser hostile messages: it never panics,
// and on every message the library decrypts it reads the same header and
// the same plaintext length.
func FuzzInspect(f *testing.F) {
	kr := fuzzKeyring(f)
	ctx := context.Background()
	for i, id := range envelope.Suites() {
		pol := envelope.ForbidEncryptAllowDecrypt
		if id.Committing() {
			pol = envelope.RequireEncryptAllowDecrypt
		}
		ct, err := envelope.Encrypt(ctx, kr, bytes.Repeat([]byte("x"), i*300), envelope.WithSuite(id),
			envelope.WithCommitmentPolicy(pol), envelope.WithFrameSize(256), envelope.WithContext(map[string]string{"k": "v"}))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ct)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		r := bytes.NewReader(msg)
		h, herr := parseHeader(r)
		var body *bodyInfo
		var berr error
		if herr == nil {
			body, berr = walkBody(r, h)
		}
		pt, want, err := envelope.Decrypt(ctx, kr, msg, envelope.WithCommitmentPolicy(envelope.ForbidEncryptAllowDecrypt))
		if err != nil {
			return
		}
		if herr != nil || berr != nil {
			t.Fatalf("the library decrypts what inspect rejects: %v %v", herr, berr)
		}
		if h.Version != want.Version || h.Suite != want.Suite.String() || h.FrameLength != want.FrameSize ||
			len(h.EncryptedDataKeys) != len(want.EncryptedDataKeys) || len(h.EncryptionContext) != len(want.Context) {
			t.Fatalf("inspect read %+v, the library %+v", h, want)
		}
		for k, v := range want.Context {
			if h.EncryptionContext[k] != v {
				t.Fatalf("context %q: %q, want %q", k, h.EncryptionContext[k], v)
			}
		}
		if body.PlaintextLength != int64(len(pt)) || body.MessageLength != int64(len(msg)) {
			t.Fatalf("body %+v for %d bytes of plaintext in %d", body, len(pt), len(msg))
		}
	})
}

// The progress bar appears only on a terminal, for large inputs, and never
// with --quiet.
func TestProgressOnlyOnTerminal(t *testing.T) {
	big := []job{{size: 1 << 30}}
	if p := newProgress(&bytes.Buffer{}, false, big, false); p != nil {
		t.Fatal("a progress bar on a buffer")
	}
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if p := newProgress(f, false, big, false); p != nil {
		t.Fatal("a progress bar on a regular file")
	}
	// A pseudo-terminal, so that CI (which has no terminal) tests this too.
	_, tty := openPTY(t)
	if p := newProgress(tty, false, big, false); p == nil {
		t.Fatal("no progress bar on a terminal for a large input")
	}
	if p := newProgress(tty, true, big, false); p != nil {
		t.Fatal("a progress bar with --quiet")
	}
	if p := newProgress(tty, false, []job{{size: 10}}, false); p != nil {
		t.Fatal("a progress bar for a small input")
	}
	many := make([]job, progressMinFiles)
	if p := newProgress(tty, false, many, true); p == nil || !p.files {
		t.Fatal("no files bar on a terminal for --recursive")
	}
	if p := newProgress(tty, false, many[:progressMinFiles-1], true); p != nil {
		t.Fatal("a files bar for a few files")
	}
}
