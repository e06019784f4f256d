package s3crypto

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/internal/gcmstream"
)

// This file holds the content cipher of objects in the formats of the
// Amazon S3 Encryption Client (S3EC), and their upload: the whole object
// body is one AES-GCM message (content followed by a 16-byte tag), or,
// for legacy objects (read only), AES-CBC with PKCS#7 padding. The
// metadata that goes with it is built and parsed elsewhere.

// s3ecSuite is an S3EC content-encryption algorithm (the suite IDs of the
// S3 Encryption Client's algorithm suites).
type s3ecSuite uint16

const (
	s3ecCBC    s3ecSuite = 0x0070 // AES/CBC/PKCS5Padding: legacy, decrypt only, unauthenticated
	s3ecGCM    s3ecSuite = 0x0072 // AES/GCM/NoPadding (V2)
	s3ecCommit s3ecSuite = 0x0073 // AES-256-GCM with HKDF-SHA512 key commitment (V3, "115")
)

// Lengths of the S3EC content cipher.
const (
	s3ecKeyLen    = 32
	s3ecTagLen    = gcmstream.TagSize
	s3ecMsgIDLen  = 28 // x-amz-i, the HKDF salt of s3ecCommit
	s3ecCommitLen = 28 // x-amz-d
)

// s3ecContent is what encrypts or decrypts one object's content. It owns key.
type s3ecContent struct {
	suite s3ecSuite
	key   []byte // 32-byte content key (derived from the data key for s3ecCommit)
	iv    []byte // 12 bytes for GCM (random for s3ecGCM, twelve 0x01 for s3ecCommit), 16 for CBC
	aad   []byte // nil, or {0x00, 0x73} for s3ecCommit
}

// wipe zeroes the content key.
func (c *s3ecContent) wipe() {
	if c == nil {
		return
	}
	clear(c.key)
	c.key = nil
}

// s3ecCommitIV is the fixed IV of s3ecCommit: the key is new for every
// message ID.
var s3ecCommitIV = bytes.Repeat([]byte{0x01}, 12)

// s3ecInfo returns the HKDF info of s3ecCommit for label.
func s3ecInfo(label string) string { return "\x00\x73" + label }

// newS3ECContent prepares the content encryption of a new object under dataKey (32
// bytes, not retained). For s3ecGCM it draws a random 12-byte IV and returns it as
// ivOrMsgID; for s3ecCommit it draws a random non-zero 28-byte message ID (returned as
// ivOrMsgID) and returns the 28-byte commitment. s3ecCBC is refused.
func newS3ECContent(suite s3ecSuite, dataKey []byte) (c *s3ecContent, ivOrMsgID, commitment []byte, err error) {
	if len(dataKey) != s3ecKeyLen {
		return nil, nil, nil, fmt.Errorf("%w: data key of %d bytes, want %d", envelope.ErrFormat, len(dataKey), s3ecKeyLen)
	}
	switch suite {
	case s3ecGCM:
		iv := make([]byte, gcmstream.NonceSize)
		if _, err := rand.Read(iv); err != nil {
			return nil, nil, nil, err
		}
		return &s3ecContent{suite: suite, key: bytes.Clone(dataKey), iv: iv}, bytes.Clone(iv), nil, nil
	case s3ecCommit:
		id := make([]byte, s3ecMsgIDLen)
		for {
			if _, err := rand.Read(id); err != nil {
				return nil, nil, nil, err
			}
			if !allZero(id) {
				break
			}
		}
		c, commitment, err := deriveS3EC(dataKey, id)
		if err != nil {
			return nil, nil, nil, err
		}
		return c, id, commitment, nil
	}
	return nil, nil, nil, fmt.Errorf("%w: encryption with S3EC content suite %#04x", ErrUnsupported, uint16(suite))
}

func allZero(b []byte) bool {
	var x byte
	for _, v := range b {
		x |= v
	}
	return x == 0
}

// deriveS3EC derives the commitment and the content key of s3ecCommit
// from the data key and the message ID.
func deriveS3EC(dataKey, msgID []byte) (*s3ecContent, []byte, error) {
	prk, err := hkdf.Extract(sha512.New, dataKey, msgID)
	if err != nil {
		return nil, nil, err
	}
	defer clear(prk)
	commitment, err := hkdf.Expand(sha512.New, prk, s3ecInfo("COMMITKEY"), s3ecCommitLen)
	if err != nil {
		return nil, nil, err
	}
	key, err := hkdf.Expand(sha512.New, prk, s3ecInfo("DERIVEKEY"), s3ecKeyLen)
	if err != nil {
		return nil, nil, err
	}
	return &s3ecContent{suite: s3ecCommit, key: key, iv: bytes.Clone(s3ecCommitIV), aad: []byte{0x00, 0x73}}, commitment, nil
}

// openS3ECContent prepares the decryption of an object: ivOrMsgID is x-amz-iv (12 or 16
// bytes) or x-amz-i (28 bytes); commitment is x-amz-d (s3ecCommit only), compared in
// constant time before the content key is derived (mismatch: an error matching
// envelope.ErrAuthentication). Wrong lengths: envelope.ErrFormat.
func openS3ECContent(suite s3ecSuite, dataKey, ivOrMsgID, commitment []byte) (*s3ecContent, error) {
	if len(dataKey) != s3ecKeyLen {
		return nil, fmt.Errorf("%w: data key of %d bytes, want %d", envelope.ErrFormat, len(dataKey), s3ecKeyLen)
	}
	wantIV := map[s3ecSuite]int{s3ecCBC: aes.BlockSize, s3ecGCM: gcmstream.NonceSize, s3ecCommit: s3ecMsgIDLen}
	n, ok := wantIV[suite]
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: unknown S3EC content suite %#04x", envelope.ErrFormat, uint16(suite))
	case len(ivOrMsgID) != n:
		return nil, fmt.Errorf("%w: IV or message ID of %d bytes, suite %#04x needs %d", envelope.ErrFormat, len(ivOrMsgID), uint16(suite), n)
	case suite == s3ecCommit && len(commitment) != s3ecCommitLen:
		return nil, fmt.Errorf("%w: key commitment of %d bytes, want %d", envelope.ErrFormat, len(commitment), s3ecCommitLen)
	case suite != s3ecCommit && len(commitment) != 0:
		return nil, fmt.Errorf("%w: key commitment with suite %#04x, which has none", envelope.ErrFormat, uint16(suite))
	}
	if suite != s3ecCommit {
		return &s3ecContent{suite: suite, key: bytes.Clone(dataKey), iv: bytes.Clone(ivOrMsgID)}, nil
	}
	// The commitment is compared before the key is used.
	prk, err := hkdf.Extract(sha512.New, dataKey, ivOrMsgID)
	if err != nil {
		return nil, err
	}
	defer clear(prk)
	got, err := hkdf.Expand(sha512.New, prk, s3ecInfo("COMMITKEY"), s3ecCommitLen)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(got, commitment) != 1 {
		return nil, fmt.Errorf("%w: the data key does not match the object's key commitment", envelope.ErrAuthentication)
	}
	key, err := hkdf.Expand(sha512.New, prk, s3ecInfo("DERIVEKEY"), s3ecKeyLen)
	if err != nil {
		return nil, err
	}
	return &s3ecContent{suite: s3ecCommit, key: key, iv: bytes.Clone(s3ecCommitIV), aad: []byte{0x00, 0x73}}, nil
}

// gcm returns the one-shot AES-GCM of c (GCM suites).
func (c *s3ecContent) gcm() (cipher.AEAD, error) {
	block, err := aes.NewCipher(c.key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// putS3ECBody encrypts body with cc and stores the ciphertext (content + 16-byte tag)
// at in.Bucket/in.Key with meta as the object's user metadata (the caller's plus the
// S3EC keys, already built by FMT), with one PutObject up to the part size or a parallel
// multipart upload (aborted on failure), like the envelope path. plainLen is the declared
// plaintext length or -1. It copies the other fields of in as the envelope path does
// (and rejects nothing FMT has not already checked). It does not wipe cc.
func (c *Client) putS3ECBody(ctx context.Context, in *s3.PutObjectInput, body io.Reader, plainLen int64, cc *s3ecContent, meta map[string]string, optFns []func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if cc == nil || cc.suite == s3ecCBC || len(cc.key) != s3ecKeyLen {
		return nil, fmt.Errorf("%w: encryption with S3EC content suite %#04x", ErrUnsupported, uint16(cc.suiteOrZero()))
	}
	if plainLen > gcmstream.MaxLength {
		return nil, invalid("ContentLength %d exceeds the %d bytes of one AES-GCM message", plainLen, int64(gcmstream.MaxLength))
	}
	if plainLen > c.cfg.partSize {
		return c.putS3ECMultipart(ctx, in, body, plainLen, cc, meta, optFns)
	}
	limit := c.cfg.partSize
	if plainLen >= 0 {
		limit = plainLen
	}
	// Reading up to a tag's length more than a part tells whether the body
	// fits, and leaves room to encrypt in place when the buffer grew to
	// its end.
	pt, err := readUpTo(contextReader{ctx, body}, limit+s3ecTagLen)
	if err != nil {
		return nil, err
	}
	n := len(pt)
	if plainLen >= 0 && int64(n) != plainLen {
		clear(pt)
		return nil, invalid("ContentLength is %d but the body holds %s bytes", plainLen, lengthWord(int64(n), plainLen))
	}
	if int64(n) > limit {
		// The first part's plaintext is wiped and let go once encrypted.
		return c.putS3ECMultipart(ctx, in, io.MultiReader(&wipingReader{b: pt}, body), -1, cc, meta, optFns)
	}
	aead, err := cc.gcm()
	if err != nil {
		clear(pt)
		return nil, err
	}
	var ct []byte
	if cap(pt)-n >= s3ecTagLen {
		ct = aead.Seal(pt[:0], cc.iv, pt, cc.aad) // over the plaintext
	} else {
		ct = aead.Seal(make([]byte, 0, n+s3ecTagLen), cc.iv, pt, cc.aad)
		clear(pt)
	}
	put := *in
	put.Body = bytes.NewReader(ct)
	put.ContentLength = aws.Int64(int64(len(ct)))
	put.Metadata = meta
	out, err := c.api.PutObject(ctx, &put, optFns...)
	return out, apiErr(err)
}

func (c *s3ecContent) suiteOrZero() s3ecSuite {
	if c == nil {
		return 0
	}
	return c.suite
}

// putS3ECMultipart encrypts body into a multipart upload: parts of the
// part size of the one GCM message, the tag at the end of the last. Any
// failure (the body, a part, ctx) aborts the upload.
func (c *Client) putS3ECMultipart(ctx context.Context, in *s3.PutObjectInput, body io.Reader, plainLen int64, cc *s3ecContent, meta map[string]string, optFns []func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if plainLen >= 0 && (plainLen+s3ecTagLen)/c.cfg.partSize+1 >= maxParts {
		return nil, invalid("%d bytes need more than %d parts of %d bytes (see WithPartSize)", plainLen, maxParts, c.cfg.partSize)
	}
	sealer, err := gcmstream.NewSealer(cc.key, cc.iv, cc.aad)
	if err != nil {
		return nil, err
	}
	defer sealer.Wipe()
	up := &uploader{
		c: c, in: in, optFns: optFns,
		sem: make(chan struct{}, c.cfg.concurrency),
	}
	up.ctx, up.cancel = context.WithCancelCause(ctx)
	defer up.cancel(nil)
	create := createInput(in)
	create.Metadata = meta
	cout, err := c.api.CreateMultipartUpload(ctx, create, optFns...)
	if err != nil {
		return nil, apiErr(err)
	}
	up.uploadID = cout.UploadId
	w := &s3ecWriter{s: sealer, dst: up, want: plainLen}
	out, err := up.run(w, body, plainLen)
	if err != nil {
		return nil, up.abort(ctx, err)
	}
	return out, nil
}

// s3ecWriter encrypts the plaintext written to it into dst, and appends
// the tag on Close. Through ReadFrom it reads the plaintext into a buffer
// of its own, encrypts it in place and wipes it at the end.
type s3ecWriter struct {
	s    *gcmstream.Sealer
	dst  io.Writer
	want int64 // the declared plaintext length, or -1
	buf  []byte
	err  error // the first failure: Close then writes no tag
}

const s3ecWriteBuf = 64 << 10

func (w *s3ecWriter) check(n int) error {
	if w.want >= 0 && w.s.Len()+int64(n) > w.want {
		return fmt.Errorf("%w: more plaintext than the declared %d bytes", envelope.ErrLimit, w.want)
	}
	return nil
}

func (w *s3ecWriter) encrypt(p []byte) error {
	if w.err != nil {
		return w.err
	}
	w.err = w.check(len(p))
	if w.err == nil {
		w.err = w.s.Encrypt(p, p)
		if errors.Is(w.err, gcmstream.ErrTooLong) {
			w.err = fmt.Errorf("%w: more plaintext than one AES-GCM message holds (%d bytes)", envelope.ErrLimit, int64(gcmstream.MaxLength))
		}
	}
	if w.err == nil {
		_, w.err = w.dst.Write(p)
	}
	return w.err
}

// Write encrypts a copy of p.
func (w *s3ecWriter) Write(p []byte) (int, error) {
	if w.buf == nil {
		w.buf = make([]byte, s3ecWriteBuf)
	}
	n := 0
	for len(p) > 0 {
		k := copy(w.buf, p)
		err := w.encrypt(w.buf[:k])
		if err != nil {
			return n, err
		}
		n, p = n+k, p[k:]
	}
	return n, nil
}

// ReadFrom encrypts what it reads from r, in place.
func (w *s3ecWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.buf == nil {
		w.buf = make([]byte, s3ecWriteBuf)
	}
	defer clear(w.buf)
	var total int64
	for {
		k, rerr := io.ReadFull(r, w.buf)
		if k > 0 {
			if err := w.encrypt(w.buf[:k]); err != nil {
				return total, err
			}
			total += int64(k)
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			return total, nil
		}
		if rerr != nil {
			w.err = rerr
			return total, rerr
		}
	}
}

// Close checks the length and writes the tag, unless writing failed.
func (w *s3ecWriter) Close() error {
	clear(w.buf)
	if w.err != nil {
		return w.err
	}
	if w.want >= 0 && w.s.Len() != w.want {
		return invalid("ContentLength is %d but the body holds %d bytes", w.want, w.s.Len())
	}
	tag, err := w.s.Tag(nil)
	if err != nil {
		return err
	}
	_, err = w.dst.Write(tag)
	return err
}
