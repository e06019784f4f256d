package s3crypto_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
)

func TestRoundTrip(t *testing.T) {
	cases := []struct {
		name      string
		n         int
		unknown   bool
		multipart bool
	}{
		{"empty", 0, false, false},
		{"empty unknown length", 0, true, false},
		{"1 byte", 1, false, false},
		{"1 MiB", 1 << 20, false, false},
		{"1 MiB unknown length", 1 << 20, true, false},
		{"20 MiB unknown length", 20 << 20, true, true},
	}
	for _, tc := range cases {
		for _, withEC := range []bool{false, true} {
			name := tc.name
			ctx := context.Background()
			if withEC {
				name += " with context"
				ctx = s3crypto.WithEncryptionContext(ctx, map[string]string{"purpose": "test", "tenant": "a"})
			}
			t.Run(name, func(t *testing.T) {
				rec, c := setup(t, s3crypto.WithPartSize(s3crypto.MinPartSize))
				pt := randBytes(tc.n)
				var body = bytes.NewReader(pt)
				in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj"), Body: body}
				if tc.unknown {
					in.Body = onlyReader{body}
				}
				if _, err := c.PutObject(ctx, in); err != nil {
					t.Fatal(err)
				}
				if got := rec.n("CreateMultipartUpload") == 1; got != tc.multipart {
					t.Errorf("multipart = %v, want %v", got, tc.multipart)
				}
				if tc.multipart {
					if rec.n("UploadPart") < 4 || rec.n("CompleteMultipartUpload") != 1 {
						t.Errorf("calls %v, want 4+ parts and one complete", rec.calls)
					}
				}
				got, out, err := get(ctx, c, "obj")
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, pt) {
					t.Fatalf("got %d bytes, want the %d put", len(got), len(pt))
				}
				if out.ContentLength == nil || *out.ContentLength != int64(tc.n) {
					t.Errorf("GetObject ContentLength %v, want %d", out.ContentLength, tc.n)
				}
				head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj")})
				if err != nil {
					t.Fatal(err)
				}
				if aws.ToInt64(head.ContentLength) != int64(tc.n) {
					t.Errorf("HeadObject ContentLength %v, want %d", head.ContentLength, tc.n)
				}
				if tc.n > 64 && rec.sawAny(pt) {
					t.Error("plaintext sent to S3")
				}
				// The stored body is one envelope message any ESDK reads.
				raw, _ := rawObject(t, rec.raw(), "obj")
				_, _, err = envelope.Decrypt(ctx, c2kr(t, c), raw)
				if err == nil || !errors.Is(err, envelope.ErrNoDecryptionKey) {
					// c2kr returns an unrelated keyring: decrypting must fail
					// for lack of a key, which shows the body parses.
					t.Errorf("stored body: %v, want ErrNoDecryptionKey", err)
				}
			})
		}
	}
}

// c2kr returns a keyring that is not the client's.
func c2kr(t *testing.T, _ *s3crypto.Client) keyring.Keyring {
	return newKeyring(t)
}

func TestContextMismatch(t *testing.T) {
	_, c := setup(t)
	bg := context.Background()
	ctxA := s3crypto.WithEncryptionContext(bg, map[string]string{"tenant": "a"})
	put(t, ctxA, c, "obj", bytes.NewReader([]byte("hello")))
	for name, ctx := range map[string]context.Context{
		"other value": s3crypto.WithEncryptionContext(bg, map[string]string{"tenant": "b"}),
		"extra pair":  s3crypto.WithEncryptionContext(bg, map[string]string{"tenant": "a", "x": "y"}),
	} {
		_, _, err := get(ctx, c, "obj")
		// A pair missing from the stored context counts as a required
		// key: the keyring then fails to unwrap (envelope.WithContext).
		if !errors.Is(err, envelope.ErrContext) && !errors.Is(err, envelope.ErrNoDecryptionKey) {
			t.Errorf("%s: %v, want ErrContext", name, err)
		}
		var e *s3crypto.Error
		if !errors.As(err, &e) || e.Op != "GetObject" || e.Bucket != bucket || e.Key != "obj" {
			t.Errorf("%s: %#v does not name the object", name, e)
		}
	}
	if _, _, err := get(ctxA, c, "obj"); err != nil {
		t.Errorf("expected context: %v", err)
	}
	// No expected pairs: the bound bucket and key still match.
	if _, _, err := get(bg, c, "obj"); err != nil {
		t.Errorf("no expected context: %v", err)
	}
}

func TestSwappedObject(t *testing.T) {
	rec, c := setup(t)
	ctx := context.Background()
	put(t, ctx, c, "a", bytes.NewReader(randBytes(1000)))
	body, meta := rawObject(t, rec.raw(), "a")
	rawPut(t, rec.raw(), "b", body, meta)
	_, _, err := get(ctx, c, "b")
	if !errors.Is(err, envelope.ErrContext) && !errors.Is(err, envelope.ErrAuthentication) {
		t.Fatalf("object moved to another key: %v, want ErrContext or ErrAuthentication", err)
	}
}

func TestTamperedBody(t *testing.T) {
	rec, c := setup(t)
	ctx := context.Background()
	pt := randBytes(1 << 20) // 16 frames
	put(t, ctx, c, "obj", bytes.NewReader(pt))
	body, meta := rawObject(t, rec.raw(), "obj")
	hlen, err := strconv.Atoi(meta[s3crypto.MetaHeaderLength])
	if err != nil {
		t.Fatalf("header length metadata: %v", err)
	}
	const frameLen = 4 + 12 + s3crypto.FrameSize + 16
	const bad = 5 // frame number
	body[hlen+(bad-1)*frameLen+4+12+100] ^= 1
	rawPut(t, rec.raw(), "obj", body, meta)

	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj")})
	if err != nil {
		t.Fatal(err) // the header is intact
	}
	defer out.Body.Close()
	var got []byte
	buf := make([]byte, 1000)
	for {
		n, err := out.Body.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			if !errors.Is(err, envelope.ErrAuthentication) {
				t.Fatalf("read: %v, want ErrAuthentication", err)
			}
			var e *s3crypto.Error
			if !errors.As(err, &e) || e.Key != "obj" || e.Bucket != bucket {
				t.Errorf("read error does not name the object: %v", err)
			}
			break
		}
	}
	if len(got) > (bad-1)*s3crypto.FrameSize {
		t.Errorf("released %d bytes, more than the %d before the bad frame", len(got), (bad-1)*s3crypto.FrameSize)
	}
	if !bytes.Equal(got, pt[:len(got)]) {
		t.Error("released bytes are not the plaintext")
	}
}

func TestMetadataMismatch(t *testing.T) {
	rec, c := setup(t)
	ctx := context.Background()
	put(t, ctx, c, "obj", bytes.NewReader(randBytes(5000)))
	body, meta := rawObject(t, rec.raw(), "obj")
	for key, val := range map[string]string{
		s3crypto.MetaPlainLength:  "4999",
		s3crypto.MetaFrameSize:    "4096",
		s3crypto.MetaFormat:       "other",
		s3crypto.MetaHeaderLength: "-5",
	} {
		m := map[string]string{}
		for k, v := range meta {
			m[k] = v
		}
		m[key] = val
		rawPut(t, rec.raw(), "obj", body, m)
		_, _, err := get(ctx, c, "obj")
		if !errors.Is(err, envelope.ErrFormat) && !errors.Is(err, s3crypto.ErrUnsupported) {
			t.Errorf("%s = %s: %v, want ErrFormat", key, val, err)
		}
	}
}

func TestNotEncrypted(t *testing.T) {
	rec, c := setup(t)
	ctx := context.Background()
	rawPut(t, rec.raw(), "plain", []byte("plain text"), map[string]string{"a": "b"})
	_, _, err := get(ctx, c, "plain")
	if !errors.Is(err, s3crypto.ErrNotEncrypted) {
		t.Errorf("GetObject: %v, want ErrNotEncrypted", err)
	}
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("plain")})
	if !errors.Is(err, s3crypto.ErrNotEncrypted) {
		t.Errorf("HeadObject: %v, want ErrNotEncrypted", err)
	}
}

func TestPartNumberUnsupported(t *testing.T) {
	rec, c := setup(t)
	ctx := context.Background()
	put(t, ctx, c, "obj", bytes.NewReader([]byte("hello")))
	calls := rec.n("GetObject")
	for _, in := range []*s3.GetObjectInput{
		{Bucket: aws.String(bucket), Key: aws.String("obj"), PartNumber: aws.Int32(1)},
		{Bucket: aws.String(bucket), Key: aws.String("obj"), PartNumber: aws.Int32(1), Range: aws.String("bytes=0-1")},
	} {
		if _, err := c.GetObject(ctx, in); !errors.Is(err, s3crypto.ErrUnsupported) {
			t.Errorf("%v", err)
		}
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj"), Range: aws.String("bytes=0-1")}); !errors.Is(err, s3crypto.ErrUnsupported) {
		t.Errorf("ranged HeadObject: %v", err)
	}
	if rec.n("GetObject") != calls || rec.n("HeadObject") != 0 {
		t.Error("a refused request reached S3")
	}
	if _, _, err := get(ctx, c, "obj"); err != nil || rec.n("GetObject") != calls+1 {
		t.Errorf("GetObject not counted: %v", err)
	}
}

func TestHostileMetadata(t *testing.T) {
	rec, c := setup(t)
	ctx := context.Background()
	put(t, ctx, c, "obj", bytes.NewReader(randBytes(5000)))
	body, meta := rawObject(t, rec.raw(), "obj")
	for _, kv := range [][2]string{
		{s3crypto.MetaFrameSize, "0"}, {s3crypto.MetaFrameSize, "abc"}, {s3crypto.MetaFrameSize, "99999999999"},
		{s3crypto.MetaFrameSize, "1"}, {s3crypto.MetaPlainLength, "-1"}, {s3crypto.MetaPlainLength, "9223372036854775807"},
		{s3crypto.MetaHeaderLength, "0"}, {s3crypto.MetaHeaderLength, "1"},
	} {
		m := maps.Clone(meta)
		m[kv[0]] = kv[1]
		rawPut(t, rec.raw(), "obj", body, m)
		if _, _, err := get(ctx, c, "obj"); !errors.Is(err, envelope.ErrFormat) {
			t.Errorf("%s = %s: %v, want ErrFormat", kv[0], kv[1], err)
		}
	}
}

func TestTruncated(t *testing.T) {
	rec, c := setup(t)
	ctx := context.Background()
	put(t, ctx, c, "obj", bytes.NewReader(randBytes(200<<10)))
	body, meta := rawObject(t, rec.raw(), "obj")
	lenless := maps.Clone(meta)
	for k := range lenless {
		if strings.EqualFold(k, s3crypto.MetaPlainLength) || strings.EqualFold(k, s3crypto.MetaHeaderLength) {
			delete(lenless, k)
		}
	}
	for _, cut := range []int{1, 17, 1000, len(body) / 2, len(body) - 1} {
		for _, m := range []map[string]string{meta, lenless} {
			rawPut(t, rec.raw(), "obj", body[:len(body)-cut], m)
			if _, _, err := get(ctx, c, "obj"); !errors.Is(err, envelope.ErrFormat) {
				t.Errorf("cut %d bytes (metadata %d keys): %v, want ErrFormat", cut, len(m), err)
			}
		}
	}
}

func TestWrongKeyring(t *testing.T) {
	rec, c := setup(t)
	ctx := context.Background()
	put(t, ctx, c, "obj", bytes.NewReader([]byte("secret")))
	other, err := s3crypto.New(rec, newKeyring(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := get(ctx, other, "obj"); !errors.Is(err, envelope.ErrNoDecryptionKey) {
		t.Errorf("another keyring: %v, want ErrNoDecryptionKey", err)
	}
}

// TestSignedObject reads an object written by another envelope encoder
// with the default, signed suite.
func TestSignedObject(t *testing.T) {
	rec := &recorder{API: newS3(t)}
	kr := newKeyring(t)
	c, err := s3crypto.New(rec, kr)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pt := randBytes(300 << 10)
	msg := signedMessage(t, kr, "signed", pt)
	putForeign(t, rec.raw(), "signed", msg)
	got, out, err := get(ctx, c, "signed")
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("signed object: %d bytes, %v", len(got), err)
	}
	if out.ContentLength != nil {
		t.Errorf("ContentLength %v without length metadata, want nil", *out.ContentLength)
	}
	// Tampered at its end: nothing is released before the signature fails.
	msg[len(msg)-10] ^= 1
	putForeign(t, rec.raw(), "signed", msg)
	gout, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("signed")})
	if err != nil {
		t.Fatal(err)
	}
	defer gout.Body.Close()
	n, err := gout.Body.Read(make([]byte, 1000))
	if n != 0 || !errors.Is(err, envelope.ErrAuthentication) {
		t.Errorf("tampered signed object: %d bytes released, %v", n, err)
	}
}

// nilBodyAPI answers GetObject without a body, as an API other than
// *s3.Client may.
type nilBodyAPI struct{ s3crypto.API }

func (a nilBodyAPI) GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	out, err := a.API.GetObject(ctx, in, optFns...)
	if err == nil {
		out.Body.Close()
		out.Body = nil
	}
	return out, err
}

// TestGetNilBody checks that a GetObject answer without a body fails with
// envelope.ErrFormat, whole or ranged, instead of panicking.
func TestGetNilBody(t *testing.T) {
	rec, c := setup(t)
	ctx := context.Background()
	put(t, ctx, c, "obj", bytes.NewReader(randBytes(1000)))
	nc, err := s3crypto.New(nilBodyAPI{rec}, newKeyring(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*string{nil, aws.String("bytes=0-9")} {
		_, err := nc.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj"), Range: r})
		if !errors.Is(err, envelope.ErrFormat) {
			t.Errorf("Range %v: %v, want ErrFormat", aws.ToString(r), err)
		}
	}
}
