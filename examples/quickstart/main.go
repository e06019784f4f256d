// Command quickstart encrypts and decrypts a message and a stream with a
// raw AES keyring, offline, and prints the header it wrote.
//
// It decrypts the safe way: with the encryption context the reader
// expects (envelope.WithContext on Decrypt and NewReader), so that a
// message made for another tenant or purpose is refused with
// envelope.ErrContext instead of being read as if it were the one asked
// for.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"sort"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

func main() {
	log.SetFlags(0)
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run does the work of main, writing its report to out.
func run(ctx context.Context, out io.Writer) error {
	// A 256-bit wrapping key. Real programs load it from a secret store, or
	// use a KMS keyring (see examples/kms).
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	kr, err := keyring.NewRawAES("billing", "key-2026", key)
	if err != nil {
		return err
	}
	ec := contextFor("acme")

	// One-shot: a message that fits in memory.
	plaintext := []byte("card ending 4242, expires 09/29")
	ct, err := envelope.Encrypt(ctx, kr, plaintext, envelope.WithContext(ec))
	if err != nil {
		return err
	}
	pt, hdr, err := decryptFor(ctx, kr, ct, "acme")
	if err != nil {
		return err
	}
	if !bytes.Equal(pt, plaintext) {
		return errors.New("round trip mismatch")
	}
	fmt.Fprintf(out, "message: %d plaintext bytes -> %d ciphertext bytes, decrypted %q\n", len(plaintext), len(ct), pt)
	printHeader(out, hdr)

	// The same message, asked for by a reader serving another tenant: the
	// keyring can unwrap its data key, but the context does not match.
	if _, _, err := decryptFor(ctx, kr, ct, "globex"); !errors.Is(err, envelope.ErrContext) {
		return fmt.Errorf("decrypting acme's message as globex: %v, want envelope.ErrContext", err)
	}
	fmt.Fprintln(out, "as tenant globex: refused with envelope.ErrContext")

	// Streaming: 10 MiB encrypted into a pipe and decrypted from it. The
	// writer holds a few frames in memory at a time. The message is
	// signed (the default suite), so the reader releases nothing until the
	// signature at the end verifies: it keeps the first 4 MiB back in
	// memory and the rest in a temporary file sealed under a key held only
	// in memory, then releases it all. To release each frame as it arrives
	// in bounded memory, write unsigned messages and read them with
	// envelope.WithUnsignedOnly.
	const size = 10 << 20
	sum := sha256.New()
	pr, pw := io.Pipe()
	counter := &countingWriter{w: pw}
	go func() {
		w, err := envelope.NewWriter(ctx, counter, kr, envelope.WithContext(ec), envelope.WithFrameSize(64<<10))
		if err == nil {
			_, err = io.Copy(w, io.TeeReader(io.LimitReader(rand.Reader, size), sum))
		}
		if err == nil {
			err = w.Close()
		}
		pw.CloseWithError(err)
	}()
	r, err := envelope.NewReader(ctx, pr, kr, envelope.WithContext(ec))
	if err != nil {
		pr.CloseWithError(err)
		return err
	}
	check := sha256.New()
	n, err := io.Copy(check, r)
	if err != nil {
		pr.CloseWithError(err)
		return err
	}
	if n != size || !bytes.Equal(sum.Sum(nil), check.Sum(nil)) {
		return errors.New("stream round trip mismatch")
	}
	fmt.Fprintf(out, "stream: %d plaintext bytes -> %d ciphertext bytes in %d-byte frames, decrypted and verified\n", n, counter.n, r.Header().FrameSize)
	fmt.Fprintln(out, "ok")
	return nil
}

// contextFor returns the encryption context of tenant's messages. It is
// not secret; it says what a message is for, and decryption checks it.
func contextFor(tenant string) map[string]string {
	return map[string]string{"tenant": tenant, "purpose": "quickstart"}
}

// decryptFor decrypts a message for tenant. The context it reproduces must
// be in the message, so a message of another tenant, or made for another
// purpose, fails with envelope.ErrContext before any plaintext is released.
func decryptFor(ctx context.Context, kr keyring.Keyring, ct []byte, tenant string) ([]byte, *envelope.Header, error) {
	return envelope.Decrypt(ctx, kr, ct, envelope.WithContext(contextFor(tenant)))
}

func printHeader(out io.Writer, h *envelope.Header) {
	fmt.Fprintln(out, "header:")
	fmt.Fprintf(out, "  format version  %d\n", h.Version)
	fmt.Fprintf(out, "  suite           %v (0x%04X)\n", h.Suite, uint16(h.Suite))
	fmt.Fprintf(out, "  message id      %s\n", hex.EncodeToString(h.MessageID))
	keys := make([]string, 0, len(h.Context))
	for k := range h.Context {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(out, "  context         %s = %s\n", k, h.Context[k])
	}
	for _, e := range h.EncryptedDataKeys {
		fmt.Fprintf(out, "  data key        %s (%d wrapped bytes)\n", e.ProviderID, len(e.Ciphertext))
	}
	fmt.Fprintf(out, "  frame length    %d\n", h.FrameSize)
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
