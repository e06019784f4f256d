package envelope

import (
	"fmt"
	"maps"
	"runtime"

	"github.com/cryptkeeper-go/cryptkeeper/cache"
)

// CommitmentPolicy decides which suites may be used to encrypt and which
// messages may be decrypted. The zero value is the default,
// RequireEncryptRequireDecrypt.
type CommitmentPolicy int

const (
	// RequireEncryptRequireDecrypt encrypts with committing suites only and
	// decrypts only messages that commit to their key. The default.
	RequireEncryptRequireDecrypt CommitmentPolicy = iota
	// RequireEncryptAllowDecrypt encrypts with committing suites only and
	// decrypts every suite. Use it while older messages are still read.
	RequireEncryptAllowDecrypt
	// ForbidEncryptAllowDecrypt encrypts with non-committing suites only,
	// for readers that predate key commitment, and decrypts every suite.
	ForbidEncryptAllowDecrypt
)

// String returns the policy's specification name.
func (p CommitmentPolicy) String() string {
	switch p {
	case RequireEncryptRequireDecrypt:
		return "REQUIRE_ENCRYPT_REQUIRE_DECRYPT"
	case RequireEncryptAllowDecrypt:
		return "REQUIRE_ENCRYPT_ALLOW_DECRYPT"
	case ForbidEncryptAllowDecrypt:
		return "FORBID_ENCRYPT_ALLOW_DECRYPT"
	}
	return fmt.Sprintf("CommitmentPolicy(%d)", int(p))
}

func (p CommitmentPolicy) defaultSuite() SuiteID {
	if p == ForbidEncryptAllowDecrypt {
		return AES256GCMHKDFSHA384ECDSAP384
	}
	return AES256GCMHKDFSHA512CommitKeyECDSAP384
}

func (p CommitmentPolicy) allowsEncrypt(s *suite) bool {
	if p == ForbidEncryptAllowDecrypt {
		return !s.committing()
	}
	return s.committing()
}

func (p CommitmentPolicy) allowsDecrypt(s *suite) bool {
	return p != RequireEncryptRequireDecrypt || s.committing()
}

// Limits of the format and of peers.
const (
	// DefaultFrameSize is the plaintext length of a regular frame.
	DefaultFrameSize = 4096
	// MaxFrameSize is the largest frame length written or, by default, read
	// (peers use signed 32-bit frame lengths).
	MaxFrameSize = 1<<31 - 1
	// DefaultMaxHeaderSize bounds the header a decoder accepts by default.
	DefaultMaxHeaderSize = 4 << 20
	maxFrames            = 1<<32 - 1
	maxNonFramedLen      = 1<<36 - 32
)

// Option configures Encrypt, Decrypt, NewWriter and NewReader. Options that
// do not apply to a call are ignored by it.
type Option func(*config)

type config struct {
	err            error
	ec             map[string]string
	suite          SuiteID
	frameSize      int
	policy         CommitmentPolicy
	maxEDKs        int
	requiredKeys   []string
	cache          *cache.Cache
	maxFrameSize   int
	maxHeaderSize  int
	unsignedOnly   bool
	plaintextLen   int64 // -1 when unknown
	concurrency    int
	strictFrameIVs bool
	noNetV400Retry bool
}

func newConfig(opts []Option) (*config, error) {
	c := &config{
		frameSize:     DefaultFrameSize,
		maxEDKs:       0xffff,
		maxFrameSize:  MaxFrameSize,
		maxHeaderSize: DefaultMaxHeaderSize,
		plaintextLen:  -1,
		concurrency:   runtime.GOMAXPROCS(0),
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	return c, nil
}

func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
	}
}

// WithContext sets the encryption context. On encrypt it is bound to the
// message (and stored in its header, except for required keys); on decrypt
// it is the reproduced context: every pair must match the stored context,
// and pairs missing from the stored context supply required keys.
func WithContext(ec map[string]string) Option {
	ec = maps.Clone(ec) // never modified after this
	return func(c *config) { c.ec = ec }
}

// WithSuite chooses the algorithm suite for encryption. It must be allowed
// by the commitment policy.
func WithSuite(id SuiteID) Option {
	return func(c *config) {
		if _, ok := lookupSuite(id); !ok {
			c.fail("unknown suite %v", id)
		}
		c.suite = id
	}
}

// WithFrameSize sets the plaintext length of each frame on encrypt:
// 1 to MaxFrameSize bytes, DefaultFrameSize by default.
func WithFrameSize(n int) Option {
	return func(c *config) {
		if n < 1 || n > MaxFrameSize {
			c.fail("frame size %d outside 1..%d", n, MaxFrameSize)
		}
		c.frameSize = n
	}
}

// WithCommitmentPolicy sets the commitment policy (default
// RequireEncryptRequireDecrypt).
func WithCommitmentPolicy(p CommitmentPolicy) Option {
	return func(c *config) {
		if p < RequireEncryptRequireDecrypt || p > ForbidEncryptAllowDecrypt {
			c.fail("unknown commitment policy %d", int(p))
		}
		c.policy = p
	}
}

// WithMaxEncryptedDataKeys bounds the number of encrypted data keys a
// message may carry, on encrypt and on decrypt (where it is checked before
// any key is parsed or unwrapped). n must be at least 1.
func WithMaxEncryptedDataKeys(n int) Option {
	return func(c *config) {
		if n < 1 || n > 0xffff {
			c.fail("max encrypted data keys %d outside 1..65535", n)
		}
		c.maxEDKs = n
	}
}

// WithRequiredContextKeys names context keys that are authenticated but not
// stored in the header. On encrypt each must be in the context; on decrypt
// each must be in the reproduced context given with WithContext.
func WithRequiredContextKeys(keys ...string) Option {
	return func(c *config) { c.requiredKeys = append(c.requiredKeys, keys...) }
}

// WithCache makes Encrypt and Decrypt (and writers with a declared
// plaintext length) reuse data keys from c within its limits.
func WithCache(ch *cache.Cache) Option {
	return func(c *config) { c.cache = ch }
}

// WithMaxFrameSize bounds the frame length (and the non-framed body length)
// a decoder accepts; larger messages fail with ErrLimit before anything is
// allocated. The default is MaxFrameSize.
func WithMaxFrameSize(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail("max frame size %d below 1", n)
		}
		c.maxFrameSize = n
	}
}

// WithMaxHeaderSize bounds the header a decoder accepts (default
// DefaultMaxHeaderSize).
func WithMaxHeaderSize(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail("max header size %d below 1", n)
		}
		c.maxHeaderSize = n
	}
}

// WithUnsignedOnly makes NewReader and Decrypt refuse signed messages with
// ErrPolicy right after the header, before any data key is unwrapped. A
// streaming reader of an unsigned message can release each frame as soon
// as its tag verifies.
func WithUnsignedOnly() Option {
	return func(c *config) { c.unsignedOnly = true }
}

// WithPlaintextLength declares the total plaintext length to NewWriter. The
// writer then fails if a different number of bytes is written, and it may
// use cached data keys.
func WithPlaintextLength(n int64) Option {
	return func(c *config) {
		if n < 0 {
			c.fail("plaintext length %d below 0", n)
		}
		c.plaintextLen = n
	}
}

// WithConcurrency bounds the goroutines that encrypt or decrypt frames of
// one message in parallel (default GOMAXPROCS). 1 disables parallelism.
// Frames are handed out in batches of at least 256 KiB, so messages
// smaller than two batches stay on the calling goroutine; the output is
// byte for byte the same at every concurrency. A streaming Reader opens
// frames in parallel when they are 16 KiB to 4 MiB long and then reads up
// to concurrency + 1 batches ahead of the caller.
func WithConcurrency(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail("concurrency %d below 1", n)
		}
		c.concurrency = n
	}
}

// WithStrictFrameIVs makes decryption reject frames whose IV is not the
// deterministic IV derived from the sequence number, which every known
// encoder writes.
func WithStrictFrameIVs() Option {
	return func(c *config) { c.strictFrameIVs = true }
}

// WithoutNetV400Retry makes Decrypt and NewReader refuse messages written
// by the AWS Encryption SDK for .NET 4.0.0, whose header tag no other
// implementation computes the same way. By default, as in the official
// SDKs (their NetV4_0_0_RetryPolicy ALLOW_RETRY), a header that fails
// authentication is checked once more as .NET 4.0.0 wrote it: on version 1
// HKDF suites with the message key derived from HKDF info = suite ID alone
// (without the message ID), and with an empty required context
// authenticated as its pair count "00 00". If that check passes, the body
// is decrypted under the key that verified. The retry uses the same data
// key (no further keyring call) and runs only after the key commitment
// verified; with this option the header fails with ErrAuthentication.
func WithoutNetV400Retry() Option {
	return func(c *config) { c.noNetV400Retry = true }
}
