package envelope_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// A consumer drops messages that are not for it but retries when the
// failure may pass.
func ExampleErrTransient() {
	kr, _ := keyring.NewRawAES("example", "key-1", make([]byte, 32))
	ct, _ := envelope.Encrypt(context.Background(), kr, []byte("hello"))

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // say the service is shutting down
	_, _, err := envelope.Decrypt(ctx, kr, ct, envelope.WithMaxUnwrapAttempts(3))
	switch {
	case errors.Is(err, envelope.ErrTransient):
		fmt.Println("retry later:", errors.Is(err, context.Canceled))
	case errors.Is(err, envelope.ErrNoDecryptionKey):
		fmt.Println("not for us: drop")
	case err != nil:
		fmt.Println("reject")
	}
	// Output: retry later: true
}
