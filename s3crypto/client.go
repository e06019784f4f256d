package s3crypto

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// API is the part of *s3.Client that s3crypto calls. *s3.Client
// satisfies it; a test double or a wrapper (metrics, retries) can stand
// in. Client does not embed it: only the operations Client makes safe are
// reachable through a Client. CopyObject is part of it for the
// server-side copies of formats to come; this version re-encrypts copies
// and does not call it.
type API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	CopyObject(ctx context.Context, in *s3.CopyObjectInput, optFns ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
	CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
}

var _ API = (*s3.Client)(nil)

// Client encrypts the objects it puts and decrypts the objects it gets,
// through an API. It is safe for concurrent use.
type Client struct {
	api API
	kr  keyring.Keyring
	cfg config
}

// New returns a Client that stores objects through client, with data keys
// from kr. It fails with ErrInvalidOption for a nil client or keyring or
// an invalid option.
func New(client API, kr keyring.Keyring, opts ...Option) (*Client, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil client", ErrInvalidOption)
	}
	if kr == nil {
		return nil, fmt.Errorf("%w: nil keyring", ErrInvalidOption)
	}
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return &Client{api: guardSSE(client), kr: kr, cfg: *c}, nil
}

// ReservedPrefix starts the encryption context keys and the object
// metadata keys that s3crypto writes. Callers may not use it in either.
const ReservedPrefix = "cryptkeeper-"

// Encryption context keys that bind an object to where it is stored.
const (
	ContextBucket = ReservedPrefix + "s3-bucket"
	ContextKey    = ReservedPrefix + "s3-key"
)

// Object metadata keys (x-amz-meta-...). They are not authenticated; the
// values are checked against the authenticated message as it is read.
const (
	MetaFormat       = ReservedPrefix + "format"           // "envelope"
	MetaPlainLength  = ReservedPrefix + "plaintext-length" // decimal bytes
	MetaFrameSize    = ReservedPrefix + "frame-size"       // decimal bytes
	MetaHeaderLength = ReservedPrefix + "header-length"    // decimal bytes of the message header
)

type ecKey struct{}

// WithEncryptionContext returns a context that carries an encryption
// context for the calls made with it. PutObject binds the pairs to the
// object (beside the bucket and key); GetObject and the source side of
// CopyObject expect them (HeadObject reads no message and checks none): an object stored with another value for
// a key fails with envelope.ErrContext, and one stored without a key fails
// as envelope.WithContext says (the pair is taken as a required context
// key, and the keyring fails to unwrap the data key:
// envelope.ErrNoDecryptionKey or envelope.ErrAuthentication). Keys may
// not start with ReservedPrefix (ErrInvalidRequest). ec is copied.
//
// For the S3 Encryption Client formats the context is the KMS encryption
// context of the kms+context wrap (plus aws:x-amz-cek-alg; it may hold
// neither that key nor kms_cmk_id, which the official clients leave out of
// the check on GET), and the bucket and key are not bound; on GetObject it must
// equal the stored context without those keys exactly (even when empty),
// else envelope.ErrContext. Objects wrapped with a raw AES or RSA key bind
// no context (their material description is not authenticated): a GET of
// one with a non-empty context fails with envelope.ErrContext.
func WithEncryptionContext(ctx context.Context, ec map[string]string) context.Context {
	return context.WithValue(ctx, ecKey{}, maps.Clone(ec))
}

// objectContext returns the caller's context with the bucket and key
// bound in.
func objectContext(ctx context.Context, bucket, key string) (map[string]string, error) {
	user, _ := ctx.Value(ecKey{}).(map[string]string)
	ec := make(map[string]string, len(user)+2)
	for k, v := range user {
		if strings.HasPrefix(k, ReservedPrefix) {
			return nil, invalid("encryption context key %q is in the reserved namespace %q", k, ReservedPrefix)
		}
		ec[k] = v
	}
	ec[ContextBucket] = bucket
	ec[ContextKey] = key
	return ec, nil
}

// suite returns the suite PutObject writes under the client's policy.
func (c *Client) suite() envelope.SuiteID {
	if c.cfg.policy == envelope.ForbidEncryptAllowDecrypt {
		return envelope.AES256GCMHKDFSHA256
	}
	return envelope.AES256GCMHKDFSHA512CommitKey
}

// objectMeta is what the metadata of an encrypted object says.
type objectMeta struct {
	plainLen  int64 // -1 when not recorded
	frameSize int
	headerLen int64 // -1 when not recorded
}

// metaValue looks key up case-insensitively (S3 lower-cases metadata
// names; other stores may not).
func metaValue(m map[string]string, key string) (string, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return "", false
}

// parseMeta reads the s3crypto metadata of an object.
func parseMeta(m map[string]string) (*objectMeta, error) {
	f, ok := metaValue(m, MetaFormat)
	if !ok {
		return nil, ErrNotEncrypted
	}
	if f != FormatEnvelope.String() {
		return nil, fmt.Errorf("%w: object format %q", ErrUnsupported, f)
	}
	om := &objectMeta{plainLen: -1, headerLen: -1}
	num := func(key string, min, max int64) (int64, bool, error) {
		v, ok := metaValue(m, key)
		if !ok {
			return 0, false, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < min || n > max {
			return 0, true, fmt.Errorf("%w: metadata %s = %q", envelope.ErrFormat, key, v)
		}
		return n, true, nil
	}
	fs, ok, err := num(MetaFrameSize, 1, envelope.MaxFrameSize)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: metadata %s missing", envelope.ErrFormat, MetaFrameSize)
	}
	om.frameSize = int(fs)
	if n, ok, err := num(MetaPlainLength, 0, 1<<62); err != nil {
		return nil, err
	} else if ok {
		om.plainLen = n
	}
	if n, ok, err := num(MetaHeaderLength, 1, envelope.DefaultMaxHeaderSize); err != nil {
		return nil, err
	} else if ok {
		om.headerLen = n
	}
	return om, nil
}

// ciphertextLength returns the object length the metadata implies, or -1
// when it does not say enough.
func (om *objectMeta) ciphertextLength() int64 {
	if om.plainLen < 0 || om.headerLen < 0 {
		return -1
	}
	n, err := envelope.BodyLength(om.plainLen, om.frameSize)
	if err != nil {
		return -1
	}
	return om.headerLen + n
}

// Lengths of the framing around frame plaintext: a regular frame adds a
// sequence number, IV and tag; the final frame also an end marker and its
// length.
const (
	frameOverhead = 4 + 12 + 16
	finalOverhead = 4 + 4 + 12 + 4 + 16
)

// setPlainLength sets the plaintext length from the object length when
// the metadata does not record it (multipart uploads of unknown length),
// inverting envelope.BodyLength. It fails with envelope.ErrFormat when no
// plaintext length gives objectLen.
func (om *objectMeta) setPlainLength(objectLen int64) error {
	if om.plainLen >= 0 || om.headerLen < 0 {
		return nil
	}
	body := objectLen - om.headerLen - finalOverhead
	if body < 0 {
		return fmt.Errorf("%w: object of %d bytes is too short for its header and final frame", envelope.ErrFormat, objectLen)
	}
	fs := int64(om.frameSize)
	full, rest := body/(fs+frameOverhead), body%(fs+frameOverhead)
	if rest >= fs {
		return fmt.Errorf("%w: object length %d does not fit frames of %d bytes", envelope.ErrFormat, objectLen, fs)
	}
	om.plainLen = full*fs + rest
	return nil
}

// checkUserMeta refuses caller metadata in the reserved namespace.
func checkUserMeta(m map[string]string) error {
	for k := range m {
		if strings.HasPrefix(strings.ToLower(k), ReservedPrefix) {
			return invalid("metadata key %q is in the reserved namespace %q", k, ReservedPrefix)
		}
	}
	return nil
}

// userMeta returns m without the reserved keys.
func userMeta(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if !strings.HasPrefix(strings.ToLower(k), ReservedPrefix) {
			out[k] = v
		}
	}
	return out
}
