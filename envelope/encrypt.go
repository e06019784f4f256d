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
	fcBuf     frameCrypter
	frameSize int
	signKey   *ecdsa.PrivateKey
	hash      hash.Hash // nil for unsigned suites
}

// newSealer gets materials, derives the message key and writes the header
// into a buffer with room for extra more bytes.
func newSealer(ctx context.Context, kr keyring.Keyring, c *config, extra int64) (*sealer, error) {
	s, m, err := encryptionMaterials(ctx, kr, c)
	if err != nil {
		return nil, err
	}
	defer m.Zero()
	var mid [32]byte
	h := &Header{
		Version:           int(s.version),
		Suite:             s.id,
		MessageID:         mid[:s.messageIDLen()],
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
	aead, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	hlen := h.marshalLen(stored)
	out := make([]byte, 0, int64(hlen+ivLen+tagLen)+max(extra, 0))
	out = h.appendMarshal(out, stored)
	if len(out) != hlen {
		return nil, fmt.Errorf("envelope: header is %d bytes, %d expected", len(out), hlen)
	}
	body := out[:hlen:hlen]
	if h.Version == 1 {
		out = append(out, zeroIV[:]...)
	}
	out = aead.Seal(out, zeroIV[:], nil, headerAAD(body, requiredEC))
	sl := &sealer{s: s, header: out, frameSize: c.frameSize, signKey: m.SigningKey}
	sl.fc = &sl.fcBuf
	sl.fc.init(aead, h.MessageID)
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
	c, err := newConfig(opEncrypt, opts)
	if err != nil {
		return nil, err
	}
	n := int64(len(plaintext))
	if frameCount(n, c.frameSize) > maxFrames {
		return nil, limitErr("%d bytes need more than %d frames of %d bytes", n, int64(maxFrames), c.frameSize)
	}
	c.plaintextLen = n
	extra := bodySize(n, c.frameSize)
	if id := c.suite; id == 0 || id.Signed() {
		extra += 2 + 2*66 + 16 // DER ECDSA signature, P-384 or P-256
	}
	sl, err := newSealer(ctx, kr, c, extra)
	if err != nil {
		return nil, err
	}
	out := sl.header
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
