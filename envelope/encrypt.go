package envelope

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"hash"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// sealer holds what is needed to write the body of one message.
type sealer struct {
	s         *suite
	header    []byte // header body ‖ header auth
	fc        *frameCrypter
	frameSize int
	signKey   *ecdsa.PrivateKey
	hash      hash.Hash // nil for unsigned suites
}

// newSealer gets materials, derives the message key and writes the header.
func newSealer(ctx context.Context, kr keyring.Keyring, c *config) (*sealer, error) {
	s, m, err := encryptionMaterials(ctx, kr, c)
	if err != nil {
		return nil, err
	}
	defer m.Zero()
	h := &Header{
		Version:           int(s.version),
		Suite:             s.id,
		MessageID:         make([]byte, s.messageIDLen()),
		EncryptedDataKeys: m.EncryptedDataKeys,
		ContentType:       Framed,
		FrameSize:         c.frameSize,
	}
	if _, err := rand.Read(h.MessageID); err != nil {
		return nil, err
	}
	dataKey, commitKey, err := deriveKeys(s, m.PlaintextDataKey, h.MessageID)
	if err != nil {
		return nil, err
	}
	defer keyring.Wipe(dataKey)
	h.commitKey = commitKey
	stored, requiredEC, err := splitContext(m.EncryptionContext, m.RequiredContextKeys)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrContext, err)
	}
	body := h.marshal(stored)
	aead, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	zeroIV := make([]byte, ivLen)
	out := make([]byte, 0, len(body)+ivLen+tagLen)
	out = append(out, body...)
	if h.Version == 1 {
		out = append(out, zeroIV...)
	}
	out = aead.Seal(out, zeroIV, nil, headerAAD(body, requiredEC))
	sl := &sealer{s: s, header: out, fc: newFrameCrypter(aead, h.MessageID), frameSize: c.frameSize, signKey: m.SigningKey}
	if s.signed() {
		sl.hash = s.sigHash.New()
		sl.hash.Write(out)
	}
	return sl, nil
}

// bodySize returns the size of a framed body holding n plaintext bytes.
func bodySize(n int64, frameSize int) int64 {
	full := n / int64(frameSize)
	rest := n % int64(frameSize)
	return full*(int64(frameSize)+4+ivLen+tagLen) + 4 + 4 + ivLen + 4 + rest + tagLen
}

func frameCount(n int64, frameSize int) int64 { return n/int64(frameSize) + 1 }

// footer returns the signature footer for the data hashed so far.
func (sl *sealer) footer() ([]byte, error) {
	sig, err := ecdsa.SignASN1(rand.Reader, sl.signKey, sl.hash.Sum(nil))
	if err != nil {
		return nil, err
	}
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(sig))), sig...), nil
}

// Encrypt encrypts plaintext into a single message. It uses the default
// suite (committing and signed) unless WithSuite says otherwise, frames of
// DefaultFrameSize bytes, and the context from WithContext.
func Encrypt(ctx context.Context, kr keyring.Keyring, plaintext []byte, opts ...Option) ([]byte, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	n := int64(len(plaintext))
	if frameCount(n, c.frameSize) > maxFrames {
		return nil, limitErr("%d bytes need more than %d frames of %d bytes", n, int64(maxFrames), c.frameSize)
	}
	c.plaintextLen = n
	sl, err := newSealer(ctx, kr, c)
	if err != nil {
		return nil, err
	}
	size := int64(len(sl.header)) + bodySize(n, c.frameSize)
	if sl.s.signed() {
		size += int64(2 + 2*sl.s.curve.Params().BitSize/8 + 16)
	}
	out := make([]byte, 0, size)
	out = append(out, sl.header...)
	out = sl.sealFrames(out, plaintext, c.concurrency)
	if sl.hash != nil {
		f, err := sl.footer()
		if err != nil {
			return nil, err
		}
		out = append(out, f...)
	}
	return out, nil
}
