package s3crypto

import (
	"fmt"

	"github.com/cryptkeeper-go/cryptkeeper/cache"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
)

// Format is the layout of an encrypted object.
type Format int

const (
	// FormatEnvelope stores the object body as one AWS Encryption SDK
	// message (see the package documentation). It is the default.
	FormatEnvelope Format = iota + 1
	// FormatS3ECv3 writes objects as the Amazon S3 Encryption Client
	// (v3.2+/v4) does by default: V3 metadata and the key-committing
	// suite 115 (AES-256-GCM, HKDF-SHA512). The client's keyring must be
	// an awskms.Keyring (wrap kms+context), a keyring.RawAES (AES/GCM), a
	// keyring.RawRSA with OAEPSHA1 padding (RSA-OAEP-SHA1), or a
	// keyring.Multi with one of these as generator and no children.
	FormatS3ECv3
	// FormatS3ECv2 writes V2 objects (AES/GCM/NoPadding, not
	// key-committing), readable by older S3 Encryption Clients. Like the
	// official clients, it needs the commitment policy
	// ForbidEncryptAllowDecrypt (New fails with ErrInvalidOption
	// otherwise).
	FormatS3ECv2
)

// String returns the name stored in the object metadata.
func (f Format) String() string {
	switch f {
	case FormatEnvelope:
		return "envelope"
	case FormatS3ECv3:
		return "s3ec-v3"
	case FormatS3ECv2:
		return "s3ec-v2"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Defaults and limits of the options.
const (
	// DefaultPartSize is the size of the parts of a multipart upload, and
	// the plaintext length up to which PutObject stores an object with one
	// request. With DefaultConcurrency it keeps the part buffers of an
	// upload at 20 MiB.
	DefaultPartSize = 5 << 20
	// MinPartSize is the smallest part S3 accepts (but for the last part).
	MinPartSize = 5 << 20
	// MaxPartSize is the largest part size WithPartSize accepts.
	MaxPartSize = 4 << 30
	// DefaultConcurrency is how many parts are uploaded at once.
	DefaultConcurrency = 4
	// FrameSize is the plaintext length of each frame of an envelope
	// object.
	FrameSize = 64 << 10
)

// Option configures New. An option given an invalid value makes New fail
// with an error wrapping ErrInvalidOption.
type Option func(*config) error

type config struct {
	format      Format
	instrFile   bool // WithInstructionFile
	policy      envelope.CommitmentPolicy
	cache       *cache.Cache
	partSize    int64
	concurrency int
	s3ecRanges  bool // WithUnauthenticatedS3ECRanges
}

func newConfig(opts []Option) (*config, error) {
	c := &config{
		format:      FormatEnvelope,
		policy:      envelope.RequireEncryptRequireDecrypt,
		partSize:    DefaultPartSize,
		concurrency: DefaultConcurrency,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.format == FormatS3ECv2 && c.policy != envelope.ForbidEncryptAllowDecrypt {
		return nil, fmt.Errorf("%w: FormatS3ECv2 writes objects without key commitment: it needs WithCommitmentPolicy(envelope.ForbidEncryptAllowDecrypt)", ErrInvalidOption)
	}
	if c.instrFile && c.format == FormatEnvelope {
		return nil, fmt.Errorf("%w: WithInstructionFile needs FormatS3ECv3 or FormatS3ECv2", ErrInvalidOption)
	}
	return c, nil
}

// WithFormat sets the format PutObject writes (default FormatEnvelope).
// GetObject reads every format whatever the option.
func WithFormat(f Format) Option {
	return func(c *config) error {
		if f != FormatEnvelope && f != FormatS3ECv3 && f != FormatS3ECv2 {
			return fmt.Errorf("%w: WithFormat: unknown format %v", ErrInvalidOption, f)
		}
		c.format = f
		return nil
	}
}

// WithCommitmentPolicy sets the commitment policy (default
// envelope.RequireEncryptRequireDecrypt). It decides the suite PutObject
// writes (AES256GCMHKDFSHA512CommitKey, or AES256GCMHKDFSHA256 under
// ForbidEncryptAllowDecrypt) and the objects GetObject accepts, S3
// Encryption Client objects included (see the package documentation:
// V2 objects need RequireEncryptAllowDecrypt or ForbidEncryptAllowDecrypt,
// the legacy V1 and CBC objects ForbidEncryptAllowDecrypt).
func WithCommitmentPolicy(p envelope.CommitmentPolicy) Option {
	return func(c *config) error {
		switch p {
		case envelope.RequireEncryptRequireDecrypt, envelope.RequireEncryptAllowDecrypt, envelope.ForbidEncryptAllowDecrypt:
		default:
			return fmt.Errorf("%w: WithCommitmentPolicy: unknown policy %v", ErrInvalidOption, p)
		}
		c.policy = p
		return nil
	}
}

// WithCache makes the client reuse data keys from ch within its limits
// (nil: no cache). Objects whose plaintext length is known up to the part
// size (one PutObject request) and every GetObject use it.
func WithCache(ch *cache.Cache) Option {
	return func(c *config) error {
		c.cache = ch
		return nil
	}
}

// WithPartSize sets the size of the ciphertext parts of a multipart upload
// (MinPartSize to MaxPartSize; default DefaultPartSize). An object whose
// plaintext is at most n bytes is stored with one PutObject request.
// A multipart PutObject holds at most concurrency (WithConcurrency)
// buffers of n bytes, reused from part to part whatever the object size
// (20 MiB with the defaults), and, for a body of unknown length, the
// first n bytes of plaintext until they are encrypted. S3 takes at
// most 10000 parts, so the part size bounds the object size (about
// 48.8 GiB of ciphertext with the default).
func WithPartSize(n int64) Option {
	return func(c *config) error {
		if n < MinPartSize || n > MaxPartSize {
			return fmt.Errorf("%w: WithPartSize: %d outside %d..%d", ErrInvalidOption, n, MinPartSize, MaxPartSize)
		}
		c.partSize = n
		return nil
	}
}

// WithConcurrency sets how many parts of one multipart upload are sent at
// once (at least 1; default DefaultConcurrency). It is also how many part
// buffers the upload holds (see WithPartSize): the ciphertext is written
// into a buffer only once fewer than n parts are being filled or sent.
func WithConcurrency(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("%w: WithConcurrency: %d below 1", ErrInvalidOption, n)
		}
		c.concurrency = n
		return nil
	}
}

// WithInstructionFile makes PutObject of the S3EC formats store the
// wrapped data key in an instruction file, the object "<key>.instruction"
// (a JSON object, as the official clients write it, with the metadata
// x-amz-crypto-instr-file), through the same API, optFns and SSE-C key as
// the object. V2 keeps no S3EC metadata on the object; V3 keeps its
// commitment, message ID and suite there (x-amz-c, x-amz-d, x-amz-i), as
// the format requires. The object itself is written first and the
// instruction file second. GetObject and HeadObject read instruction
// files whatever the option; DeleteObject and DeleteObjects delete them.
// It needs FormatS3ECv3 or FormatS3ECv2.
func WithInstructionFile() Option {
	return func(c *config) error {
		c.instrFile = true
		return nil
	}
}
