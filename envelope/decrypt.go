package envelope

import (
	"bytes"
	"context"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Decrypt decrypts a whole message and returns its plaintext and
// authenticated header. Nothing is returned unless every frame, the header
// and (on signed suites) the signature verify.
func Decrypt(ctx context.Context, kr keyring.Keyring, ciphertext []byte, opts ...Option) ([]byte, *Header, error) {
	r, err := NewReader(ctx, bytes.NewReader(ciphertext), kr, opts...)
	if err != nil {
		return nil, nil, err
	}
	out := make([]byte, 0, len(ciphertext))
	buf := bytes.NewBuffer(out)
	if _, err := r.WriteTo(buf); err != nil {
		clear(buf.Bytes())
		return nil, nil, err
	}
	return buf.Bytes(), r.h, nil
}
