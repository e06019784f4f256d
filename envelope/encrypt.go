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
	return newSealerTo(ctx, kr, c, nil, extra)
}

// newSealerTo is newSealer appending the header to dst (sl.header is dst
// and the header), growing it once to hold extra more bytes.
func newSealerTo(ctx context.Context, kr keyring.Keyring, c *config, dst []byte, extra int64) (*sealer, error) {
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
	if total := hlen + int(h.Version&1)*ivLen + tagLen; total > DefaultMaxHeaderSize {
		return nil, fmt.Errorf("%w: header of %d bytes (encrypted data keys and context) exceeds the %d bytes a reader accepts by default", keyring.ErrInvalidMaterials, total, DefaultMaxHeaderSize)
	}
	start := len(dst)
	out := dst
	if need := int64(hlen+ivLen+tagLen) + max(extra, 0); int64(cap(dst)-start) < need {
		out = make([]byte, start, int64(start)+need)
		copy(out, dst)
	}
	out = h.appendMarshal(out, stored)
	if len(out)-start != hlen {
		return nil, fmt.Errorf("envelope: header is %d bytes, %d expected", len(out)-start, hlen)
	}
	body := out[start : start+hlen : start+hlen]
	if h.Version == 1 {
		out = append(out, zeroIV[:]...)
	}
	out = aead.Seal(out, zeroIV[:], nil, headerAAD(body, requiredEC))
	sl := &sealer{s: s, header: out, frameSize: c.frameSize, signKey: m.SigningKey}
	sl.fc = &sl.fcBuf
	sl.fc.init(aead, h.MessageID)
	if s.signed() {
		sl.hash = s.sigHash.New()
		sl.hash.Write(out[start:])
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

// appendFooter appends the signature footer for the data hashed so far.
func (sl *sealer) appendFooter(dst []byte) ([]byte, error) {
	sig, err := ecdsa.SignASN1(rand.Reader, sl.signKey, sl.hash.Sum(nil))
	if err != nil {
		return nil, err
	}
	return append(binary.BigEndian.AppendUint16(dst, uint16(len(sig))), sig...), nil
}

// footer returns the signature footer for the data hashed so far.
func (sl *sealer) footer() ([]byte, error) { return sl.appendFooter(nil) }

// Encrypt encrypts plaintext into a single message. It uses the default
// suite (committing and signed) unless WithSuite says otherwise, frames of
// DefaultFrameSize bytes, and the context from WithContext.
func Encrypt(ctx context.Context, kr keyring.Keyring, plaintext []byte, opts ...Option) ([]byte, error) {
	return AppendEncrypt(ctx, nil, kr, plaintext, opts...)
}

// AppendEncrypt is Encrypt appending the message to dst and returning the
// extended slice. When dst has room for the message nothing is allocated
// for it, so a caller that reuses one buffer across messages (passing
// buf[:0]) saves allocating (and faulting in) the output each time. dst,
// up to its capacity, must not share memory with plaintext: the message
// is not encrypted in place, and such a dst fails with an error wrapping
// ErrInvalidOption before anything is written. On other errors it
// returns nil, and the bytes of dst between its length and its capacity
// may have been overwritten.
func AppendEncrypt(ctx context.Context, dst []byte, kr keyring.Keyring, plaintext []byte, opts ...Option) ([]byte, error) {
	c, err := newConfig(opEncrypt, opts)
	if err != nil {
		return nil, err
	}
	if kr == nil {
		return nil, errNilKeyring
	}
	if overlaps(dst[:cap(dst)], plaintext) {
		return nil, fmt.Errorf("%w: dst overlaps the plaintext (up to its capacity); pass a buffer that does not share memory with it", ErrInvalidOption)
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
	sl, err := newSealerTo(ctx, kr, c, dst, extra)
	if err != nil {
		return nil, err
	}
	out := sl.header
	out = sl.sealFrames(out, plaintext, c.concurrency)
	if sl.hash != nil {
		if out, err = sl.appendFooter(out); err != nil {
			return nil, err
		}
	}
	return out, nil
}
