package envelope

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"

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

// Option configures Encrypt, Decrypt, NewWriter, NewReader and OpenHeader
// (and AppendEncrypt and AppendDecrypt, as Encrypt and Decrypt). Each
// option applies to some of these calls, and its comment says which. A call given
// an option that does not apply to it (WithMaxHeaderSize to Encrypt, say),
// or an option with an invalid value, fails with an error wrapping
// ErrInvalidOption that names the option, before it does anything else.
// Nil options are skipped.
type Option func(*config) error

// operation is a set of the calls that take options.
type operation uint8

const (
	opEncrypt operation = 1 << iota
	opDecrypt
	opNewWriter
	opNewReader
	opOpenHeader

	writing   = opEncrypt | opNewWriter                // the calls that write a message
	reading   = opDecrypt | opNewReader | opOpenHeader // the calls that read one
	anyCall   = writing | reading
	streaming = anyCall &^ opOpenHeader // the calls that encrypt or decrypt a body
)

// String names the call, or the calls of a set joined with "|".
func (op operation) String() string {
	names := []string{"Encrypt", "Decrypt", "NewWriter", "NewReader", "OpenHeader"}
	var out []string
	for i, name := range names {
		if op&(1<<i) != 0 {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return fmt.Sprintf("operation(%#x)", uint8(op))
	}
	return strings.Join(out, "|")
}

// option returns the Option called name, which applies to the calls in ops
// and sets the configuration with set. Every Option is made by it, so that
// what an option applies to is said once, beside its setter, and a call
// refuses the options that do not apply to it. set returns an error that
// says what is wrong with the value; option wraps it with ErrInvalidOption
// and the option's name.
func option(name string, ops operation, set func(*config) error) Option {
	return func(c *config) error {
		if c.op&ops == 0 {
			return fmt.Errorf("%w: %s does not apply to %v (only to %v)", ErrInvalidOption, name, c.op, ops)
		}
		if err := set(c); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalidOption, name, err)
		}
		return nil
	}
}

type config struct {
	op             operation // the call being configured
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
	maxUnwrap      int // failed unwrap attempts per message on decrypt
	noNetV400Retry bool
	spoolMemory    int
	maxSpool       int64 // -1: no limit
	spoolDir       string
	earlyRelease   bool
	spoolOptName   string // the last spool option given, to refuse it beside earlyRelease
}

// newConfig returns the configuration of the call op with opts applied to
// the defaults. It fails on the first option that does not apply to op or
// has an invalid value.
func newConfig(op operation, opts []Option) (*config, error) {
	c := &config{
		op:            op,
		frameSize:     DefaultFrameSize,
		maxEDKs:       0xffff,
		maxFrameSize:  MaxFrameSize,
		maxHeaderSize: DefaultMaxHeaderSize,
		plaintextLen:  -1,
		concurrency:   runtime.GOMAXPROCS(0),
		maxUnwrap:     DefaultMaxUnwrapAttempts,
		spoolMemory:   DefaultSpoolMemory,
		maxSpool:      -1,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// WithContext sets the encryption context. On encrypt it is bound to the
// message (and stored in its header, except for required keys). On decrypt
// it is the reproduced context, the context the caller expects: every pair
// must be in the message, so a message made for another purpose fails,
// with ErrContext when a stored value differs. Pairs missing from the
// stored context supply required keys; a message made without them fails
// with ErrNoDecryptionKey or ErrAuthentication, depending on the keyring.
// It applies to every call.
func WithContext(ec map[string]string) Option {
	ec = maps.Clone(ec) // never modified after this
	return option("WithContext", anyCall, func(c *config) error {
		c.ec = ec
		return nil
	})
}

// WithSuite chooses the algorithm suite of the message. It must be allowed
// by the commitment policy. It applies to Encrypt and NewWriter; a reader
// takes the suite from the message (see WithCommitmentPolicy and
// WithUnsignedOnly to limit which suites it accepts).
func WithSuite(id SuiteID) Option {
	return option("WithSuite", writing, func(c *config) error {
		if _, ok := lookupSuite(id); !ok {
			return fmt.Errorf("unknown suite %v", id)
		}
		c.suite = id
		return nil
	})
}

// WithFrameSize sets the plaintext length of each frame: 1 to MaxFrameSize
// bytes, DefaultFrameSize by default. It applies to Encrypt and NewWriter;
// a reader takes the frame length from the message (see WithMaxFrameSize).
func WithFrameSize(n int) Option {
	return option("WithFrameSize", writing, func(c *config) error {
		if n < 1 || n > MaxFrameSize {
			return fmt.Errorf("frame size %d outside 1..%d", n, MaxFrameSize)
		}
		c.frameSize = n
		return nil
	})
}

// WithCommitmentPolicy sets the commitment policy (default
// RequireEncryptRequireDecrypt). It applies to every call.
func WithCommitmentPolicy(p CommitmentPolicy) Option {
	return option("WithCommitmentPolicy", anyCall, func(c *config) error {
		if p < RequireEncryptRequireDecrypt || p > ForbidEncryptAllowDecrypt {
			return fmt.Errorf("unknown commitment policy %d", int(p))
		}
		c.policy = p
		return nil
	})
}

// WithMaxEncryptedDataKeys bounds the number of encrypted data keys a
// message may carry, on encrypt and on decrypt (where it is checked before
// any key is parsed or unwrapped). n must be at least 1; the default is
// the format's maximum, 65535. A reader that knows how many recipients its
// messages have should set it: the header, and the work of parsing it, is
// then bounded before anything is authenticated. The unwrap attempts these
// keys cost are bounded separately, by WithMaxUnwrapAttempts. It applies
// to every call.
func WithMaxEncryptedDataKeys(n int) Option {
	return option("WithMaxEncryptedDataKeys", anyCall, func(c *config) error {
		if n < 1 || n > 0xffff {
			return fmt.Errorf("max encrypted data keys %d outside 1..65535", n)
		}
		c.maxEDKs = n
		return nil
	})
}

// WithRequiredContextKeys names context keys that are authenticated but not
// stored in the header. On encrypt each must be in the context; on decrypt
// each must be in the reproduced context given with WithContext. It applies
// to every call.
func WithRequiredContextKeys(keys ...string) Option {
	keys = slices.Clone(keys)
	return option("WithRequiredContextKeys", anyCall, func(c *config) error {
		c.requiredKeys = append(c.requiredKeys, keys...)
		return nil
	})
}

// WithCache makes the call reuse data keys from ch within its limits; nil
// means no cache. It applies to every call, but NewWriter uses the cache
// only when WithPlaintextLength declares the length of the message, and
// messages of suites without a key derivation never use it.
func WithCache(ch *cache.Cache) Option {
	return option("WithCache", anyCall, func(c *config) error {
		c.cache = ch
		return nil
	})
}

// WithMaxFrameSize bounds the frame length (and the non-framed body length)
// a decoder accepts; larger messages fail with ErrLimit before anything is
// allocated. The default is MaxFrameSize. It applies to Decrypt,
// NewReader and OpenHeader.
func WithMaxFrameSize(n int) Option {
	return option("WithMaxFrameSize", reading, func(c *config) error {
		if n < 1 {
			return fmt.Errorf("max frame size %d below 1", n)
		}
		c.maxFrameSize = n
		return nil
	})
}

// WithMaxHeaderSize bounds the header a decoder accepts (default
// DefaultMaxHeaderSize). It applies to Decrypt, NewReader and OpenHeader.
func WithMaxHeaderSize(n int) Option {
	return option("WithMaxHeaderSize", reading, func(c *config) error {
		if n < 1 {
			return fmt.Errorf("max header size %d below 1", n)
		}
		c.maxHeaderSize = n
		return nil
	})
}

// WithUnsignedOnly makes NewReader and Decrypt refuse signed messages with
// ErrPolicy right after the header, before any data key is unwrapped. A
// streaming reader of an unsigned message can release each frame as soon
// as its tag verifies. It applies to Decrypt, NewReader and OpenHeader
// (which refuses signed messages anyway).
func WithUnsignedOnly() Option {
	return option("WithUnsignedOnly", reading, func(c *config) error {
		c.unsignedOnly = true
		return nil
	})
}

// WithPlaintextLength declares the total plaintext length to NewWriter. The
// writer then fails if a different number of bytes is written, and it may
// use cached data keys. It applies to NewWriter only; Encrypt knows the
// length.
func WithPlaintextLength(n int64) Option {
	return option("WithPlaintextLength", opNewWriter, func(c *config) error {
		if n < 0 {
			return fmt.Errorf("plaintext length %d below 0", n)
		}
		c.plaintextLen = n
		return nil
	})
}

// WithConcurrency bounds the goroutines that encrypt or decrypt frames of
// one message in parallel (default GOMAXPROCS). 1 disables parallelism.
// Frames are handed out in batches of at least 256 KiB, so messages
// smaller than two batches stay on the calling goroutine; the output is
// byte for byte the same at every concurrency. A streaming Reader opens
// frames in parallel when they are 16 KiB to 4 MiB long and then reads up
// to concurrency + 1 batches ahead of the caller. It applies to Encrypt,
// Decrypt, NewWriter and NewReader.
func WithConcurrency(n int) Option {
	return option("WithConcurrency", streaming, func(c *config) error {
		if n < 1 {
			return fmt.Errorf("concurrency %d below 1", n)
		}
		c.concurrency = n
		return nil
	})
}

// WithStrictFrameIVs makes decryption reject frames whose IV is not the
// deterministic IV derived from the sequence number, which every known
// encoder writes. It applies to Decrypt, NewReader and OpenHeader.
func WithStrictFrameIVs() Option {
	return option("WithStrictFrameIVs", reading, func(c *config) error {
		c.strictFrameIVs = true
		return nil
	})
}

// DefaultMaxUnwrapAttempts is how many encrypted data keys the keyring may
// fail to unwrap, per message, before Decrypt and NewReader give up (see
// WithMaxUnwrapAttempts).
const DefaultMaxUnwrapAttempts = 5

// WithMaxUnwrapAttempts bounds how many failed attempts to unwrap an
// encrypted data key (each a KMS Decrypt call or a private-key operation)
// one message may cost Decrypt or NewReader, counted across every keyring
// of a multi-keyring; n must be at least 1, the default is
// DefaultMaxUnwrapAttempts. Nothing in a message is authenticated before a
// data key is unwrapped, and key ARNs are not secret, so anyone can write
// a message with thousands of encrypted data keys naming the reader's key;
// with the bound such a message costs at most n calls. Once n attempts
// have failed, the next one is refused without a call and decryption
// fails with ErrLimit; a message whose candidate keys all fail within n
// attempts (n failures and nothing left to try) fails with
// ErrNoDecryptionKey. A data key is still found if fewer than n attempts
// fail before it. A budget the caller set on ctx with
// keyring.WithUnwrapBudget still applies (failures count against both).
// Successful attempts are not counted, and keyrings only try
// encrypted data keys that name their keys, so ordinary messages, however
// many recipients they have, fail at most once or twice: raise n only for
// discovery keyrings over many Regions reading messages with many
// encrypted data keys the reader may not use. It applies to Decrypt,
// NewReader and OpenHeader.
func WithMaxUnwrapAttempts(n int) Option {
	return option("WithMaxUnwrapAttempts", reading, func(c *config) error {
		if n < 1 {
			return fmt.Errorf("max unwrap attempts %d below 1", n)
		}
		c.maxUnwrap = n
		return nil
	})
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
// It applies to Decrypt, NewReader and OpenHeader.
func WithoutNetV400Retry() Option {
	return option("WithoutNetV400Retry", reading, func(c *config) error {
		c.noNetV400Retry = true
		return nil
	})
}
