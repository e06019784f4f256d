package envelope_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// exampleKeyring returns a raw AES keyring with a fixed key. Real programs
// load the key from a secret store or use a KMS keyring.
func exampleKeyring() keyring.Keyring {
	kr, err := keyring.NewRawAES("billing", "key-2026", bytes.Repeat([]byte{7}, 32))
	if err != nil {
		log.Fatal(err)
	}
	return kr
}

func ExampleEncrypt() {
	ctx := context.Background()
	kr := exampleKeyring()
	ec := map[string]string{"tenant": "acme"}
	ct, err := envelope.Encrypt(ctx, kr, []byte("card ending 4242"), envelope.WithContext(ec))
	if err != nil {
		log.Fatal(err)
	}
	// Decrypt with the context the reader expects (see ExampleDecrypt).
	pt, hdr, err := envelope.Decrypt(ctx, kr, ct, envelope.WithContext(ec))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(pt))
	fmt.Println(hdr.Suite, hdr.Context["tenant"], hdr.Providers())
	// Output:
	// card ending 4242
	// AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384 acme [billing]
}

// A reader passes the encryption context it expects. The keyring can
// unwrap the data key of any message it wrapped, so without this check a
// message of one tenant would be read as if it were another's.
func ExampleDecrypt() {
	ctx := context.Background()
	kr := exampleKeyring()
	ct, err := envelope.Encrypt(ctx, kr, []byte("acme's invoice"),
		envelope.WithContext(map[string]string{"tenant": "acme", "purpose": "invoice"}))
	if err != nil {
		log.Fatal(err)
	}

	// A service reading globex's invoices is handed acme's message.
	expected := map[string]string{"tenant": "globex", "purpose": "invoice"}
	pt, _, err := envelope.Decrypt(ctx, kr, ct, envelope.WithContext(expected))
	fmt.Println(pt == nil, errors.Is(err, envelope.ErrContext))

	expected["tenant"] = "acme"
	pt, _, err = envelope.Decrypt(ctx, kr, ct, envelope.WithContext(expected))
	fmt.Println(string(pt), err)
	// Output:
	// true true
	// acme's invoice <nil>
}

func ExampleDecrypt_reproducedContext() {
	ctx := context.Background()
	kr := exampleKeyring()
	ct, _ := envelope.Encrypt(ctx, kr, []byte("hello"),
		envelope.WithContext(map[string]string{"tenant": "acme", "order": "42"}),
		envelope.WithRequiredContextKeys("order"))
	// The "order" pair is not stored in the message: the reader supplies it.
	_, _, err := envelope.Decrypt(ctx, kr, ct)
	fmt.Println(err != nil)
	pt, _, err := envelope.Decrypt(ctx, kr, ct, envelope.WithContext(map[string]string{"order": "42"}))
	fmt.Println(string(pt), err)
	// Output:
	// true
	// hello <nil>
}

func ExampleNewWriter() {
	ctx := context.Background()
	kr := exampleKeyring()
	ec := map[string]string{"stream": "access-log"}
	var msg bytes.Buffer
	w, err := envelope.NewWriter(ctx, &msg, kr,
		envelope.WithContext(ec),
		envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey),
		envelope.WithFrameSize(64<<10))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := io.Copy(w, strings.NewReader(strings.Repeat("log line\n", 1000))); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil { // writes the final frame
		log.Fatal(err)
	}

	// The reader checks the context before it releases any plaintext.
	r, err := envelope.NewReader(ctx, &msg, kr, envelope.WithContext(ec))
	if err != nil {
		log.Fatal(err)
	}
	n, err := io.Copy(io.Discard, r)
	fmt.Println(n, err, r.Header().FrameSize)
	// Output: 9000 <nil> 65536
}

func ExampleWithUnsignedOnly() {
	ctx := context.Background()
	kr := exampleKeyring()
	signed, _ := envelope.Encrypt(ctx, kr, []byte("x")) // default suite signs
	_, err := envelope.NewReader(ctx, bytes.NewReader(signed), kr, envelope.WithUnsignedOnly())
	fmt.Println(err != nil && errors.Is(err, envelope.ErrPolicy))
	// Output: true
}

// Each option applies to some calls; the others refuse it.
func ExampleOption() {
	ctx := context.Background()
	kr := exampleKeyring()
	// WithMaxHeaderSize bounds what a reader accepts: it means nothing to
	// Encrypt.
	_, err := envelope.Encrypt(ctx, kr, []byte("x"), envelope.WithMaxHeaderSize(64<<10))
	fmt.Println(errors.Is(err, envelope.ErrInvalidOption))
	fmt.Println(err)
	// Output:
	// true
	// envelope: invalid option: WithMaxHeaderSize does not apply to Encrypt (only to Decrypt|NewReader|OpenHeader)
}
