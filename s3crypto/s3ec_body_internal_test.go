package s3crypto

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestS3ECDeriveKnownAnswers checks the key derivation of the committing
// suite against the known-answer vectors of the official S3 Encryption
// Client for Go (v4/internal/key_derivation_test.go).
func TestS3ECDeriveKnownAnswers(t *testing.T) {
	for _, v := range []struct{ dataKey, msgID, key, commitment string }{
		{"80d90dc4cc7e77d8a6332efa44eba56230a7fe7b89af37d1e501ab2e07c0a163", "b8ea76bed24c7b85382a148cb9dcd1cfdfb765f55ded4dfa6e0c4c79",
			"6dd14f546cc006e639126e83f5d4d1b118576bb5df97f38c6fb3a1db87bbc338", "f89818bc0a346d3a3426b68e9509b6b2ae5fe1f904aa329fb73625db"},
		{"501afb8227d22e75e68010414b8abdaf3064c081e8e922dafef4992036394d60", "61a00b4981a5aacfd136c55cb726e32d2a547dc7600a7d4675c69127",
			"e14786a714748d1d2c3a4a6816dec56ddf1881bbeabb4f39420ffb9f63700b2f", "5c1e73e47f6fe3a70d6d094283aceaa76d2975feb829212d88f0afc1"},
	} {
		c, commitment, err := deriveS3EC(unhex(t, v.dataKey), unhex(t, v.msgID))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(c.key, unhex(t, v.key)) || !bytes.Equal(commitment, unhex(t, v.commitment)) {
			t.Fatalf("derived key %x and commitment %x", c.key, commitment)
		}
		o, err := openS3ECContent(s3ecCommit, unhex(t, v.dataKey), unhex(t, v.msgID), unhex(t, v.commitment))
		if err != nil || !bytes.Equal(o.key, unhex(t, v.key)) {
			t.Fatalf("openS3ECContent: %v", err)
		}
		if !bytes.Equal(o.iv, bytes.Repeat([]byte{1}, 12)) || !bytes.Equal(o.aad, []byte{0, 0x73}) {
			t.Fatalf("IV %x, AAD %x", o.iv, o.aad)
		}
		bad := unhex(t, v.commitment)
		bad[27] ^= 1
		if _, err := openS3ECContent(s3ecCommit, unhex(t, v.dataKey), unhex(t, v.msgID), bad); !errors.Is(err, envelope.ErrAuthentication) {
			t.Fatalf("wrong commitment: %v", err)
		}
	}
}

// TestS3ECContent checks new and opened content ciphers: fresh IVs and
// non-zero message IDs, the data key not retained, lengths checked.
func TestS3ECContent(t *testing.T) {
	dk := make([]byte, 32)
	rand.Read(dk)
	c1, id1, com1, err := newS3ECContent(s3ecCommit, dk)
	if err != nil {
		t.Fatal(err)
	}
	_, id2, _, _ := newS3ECContent(s3ecCommit, dk)
	if len(id1) != 28 || len(com1) != 28 || bytes.Equal(id1, id2) || allZero(id1) {
		t.Fatalf("message IDs %x, %x", id1, id2)
	}
	o, err := openS3ECContent(s3ecCommit, dk, id1, com1)
	if err != nil || !bytes.Equal(o.key, c1.key) || bytes.Equal(o.key, dk) {
		t.Fatalf("open: %v", err)
	}
	g, iv, com, err := newS3ECContent(s3ecGCM, dk)
	if err != nil || len(iv) != 12 || com != nil || !bytes.Equal(g.key, dk) || g.aad != nil {
		t.Fatalf("GCM content: %v", err)
	}
	dk[0] ^= 1
	if bytes.Equal(g.key, dk) {
		t.Fatal("the data key is retained")
	}
	g.wipe()
	if g.key != nil {
		t.Fatal("wipe kept the key")
	}
	if _, _, _, err := newS3ECContent(s3ecCBC, dk); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("CBC encryption: %v", err)
	}
	for _, tc := range []struct {
		suite       s3ecSuite
		dk, iv, com int
	}{
		{s3ecCommit, 31, 28, 28}, {s3ecCommit, 32, 12, 28}, {s3ecCommit, 32, 28, 0}, {s3ecGCM, 32, 16, 0},
		{s3ecGCM, 32, 12, 28}, {s3ecCBC, 32, 12, 0}, {0x0071, 32, 16, 0},
	} {
		if _, err := openS3ECContent(tc.suite, make([]byte, tc.dk), make([]byte, tc.iv), make([]byte, tc.com)); !errors.Is(err, envelope.ErrFormat) {
			t.Fatalf("%+v: %v", tc, err)
		}
	}
}

// cbcEncrypt is AES-CBC with PKCS#7 padding, as the legacy clients wrote.
func cbcEncrypt(key, iv, pt []byte) []byte {
	pad := 16 - len(pt)%16
	buf := append(bytes.Clone(pt), bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, _ := aes.NewCipher(key)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	return buf
}

// oneByteReader returns one byte per Read.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) { return o.r.Read(p[:min(len(p), 1)]) }

func openCBC(t *testing.T, key, iv, ct []byte, plainLen int64, slow bool) ([]byte, error) {
	t.Helper()
	cc, err := openS3ECContent(s3ecCBC, key, iv, nil)
	if err != nil {
		t.Fatal(err)
	}
	var r io.Reader = bytes.NewReader(ct)
	raw := &s3.GetObjectOutput{ContentLength: aws.Int64(int64(len(ct)))}
	if slow {
		r, raw.ContentLength = oneByteReader{r}, nil
	}
	raw.Body = io.NopCloser(r)
	body, err := (&Client{}).openS3ECBody(context.Background(), raw, cc, plainLen)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return io.ReadAll(body)
}

// TestS3ECCBC checks the legacy CBC decryption: sizes around the block
// and buffer boundaries, read whole or a byte at a time, and bad padding,
// length and metadata lengths.
func TestS3ECCBC(t *testing.T) {
	key, iv := make([]byte, 32), make([]byte, 16)
	rand.Read(key)
	rand.Read(iv)
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, s3ecReadBuf - 1, s3ecReadBuf, s3ecReadBuf + 17, 3*s3ecReadBuf + 5} {
		pt := make([]byte, n)
		rand.Read(pt)
		ct := cbcEncrypt(key, iv, pt)
		for _, slow := range []bool{false, true} {
			if slow && n > 1000 {
				continue
			}
			for _, plainLen := range []int64{int64(n), -1} {
				got, err := openCBC(t, key, iv, ct, plainLen, slow)
				if err != nil || !bytes.Equal(got, pt) {
					t.Fatalf("n=%d slow=%v: %d bytes, %v", n, slow, len(got), err)
				}
			}
		}
		if _, err := openCBC(t, key, iv, ct, int64(n)+1, false); !errors.Is(err, envelope.ErrFormat) {
			t.Fatalf("n=%d, wrong plaintext length: %v", n, err)
		}
		if _, err := openCBC(t, key, iv, ct[:len(ct)-1], -1, true); !errors.Is(err, envelope.ErrAuthentication) {
			t.Fatalf("n=%d, truncated: %v", n, err)
		}
	}
	// Every malformed padding fails with the one error.
	for _, last := range [][]byte{
		bytes.Repeat([]byte{0}, 16), bytes.Repeat([]byte{17}, 16), append(bytes.Repeat([]byte{1}, 14), 3, 2),
		append(bytes.Repeat([]byte{9}, 15), 0x10), append(bytes.Repeat([]byte{0}, 15), 0xff),
	} {
		pt := append(bytes.Repeat([]byte{'a'}, 16), last...)
		block, _ := aes.NewCipher(key)
		ct := bytes.Clone(pt)
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, ct)
		for _, slow := range []bool{false, true} {
			var e *Error
			if _, err := openCBC(t, key, iv, ct, -1, slow); !errors.As(err, &e) || e.Err != errCBC {
				t.Fatalf("padding %x: %v", last, err)
			}
		}
	}
	for _, ok := range [][]byte{append(bytes.Repeat([]byte{7}, 15), 1), bytes.Repeat([]byte{16}, 16), append(bytes.Repeat([]byte{0}, 12), 4, 4, 4, 4)} {
		if n, good := pkcs7(ok); !good || n != int(ok[15]) {
			t.Fatalf("padding %x refused", ok)
		}
	}
	if _, err := openCBC(t, key, iv, nil, -1, false); !errors.Is(err, envelope.ErrAuthentication) {
		t.Fatalf("empty object: %v", err)
	}
}

// TestS3ECBodyWipes checks that the GCM body leaves no plaintext in its
// buffers and no key at EOF, on Close midway and on failure.
func TestS3ECBodyWipes(t *testing.T) {
	marker := []byte("PLAINTEXT-MARKER")
	pt := bytes.Repeat(marker, 10000)
	dk := make([]byte, 32)
	rand.Read(dk)
	cc, id, com, err := newS3ECContent(s3ecCommit, dk)
	if err != nil {
		t.Fatal(err)
	}
	aead, _ := cc.gcm()
	ct := aead.Seal(nil, cc.iv, pt, cc.aad)
	for _, how := range []string{"eof", "close", "fail", "eof-spooled", "close-spooled", "fail-spooled"} {
		how, spooled := strings.CutSuffix(how, "-spooled")
		if spooled {
			old := s3ecSpoolMemory
			s3ecSpoolMemory = 64 << 10
			defer func() { s3ecSpoolMemory = old }()
		}
		cc, err := openS3ECContent(s3ecCommit, dk, id, com)
		if err != nil {
			t.Fatal(err)
		}
		src := ct
		if how == "fail" {
			src = append(bytes.Clone(ct[:len(ct)-1]), ct[len(ct)-1]^1)
		}
		raw := &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(src))}
		rc, err := (&Client{}).openS3ECBody(context.Background(), raw, cc, int64(len(pt)))
		if err != nil {
			t.Fatal(err)
		}
		b := rc.(*s3ecGCMBody)
		p := make([]byte, 1000)
		_, err = b.Read(p)
		if (err != nil) != (how == "fail") {
			t.Fatalf("%s: %v", how, err)
		}
		var held [][]byte
		if b.sp != nil {
			held = b.sp.buffers()
		}
		if cap(b.buf) > 0 {
			held = append(held, b.buf[:cap(b.buf)])
		}
		if how != "fail" && len(held) == 0 {
			t.Fatal("no buffer to check")
		}
		if how != "fail" && (b.sp != nil) != spooled {
			t.Fatalf("spooled %v, want %v", b.sp != nil, spooled)
		}
		switch how {
		case "eof":
			if _, err := io.ReadAll(b); err != nil {
				t.Fatal(err)
			}
		case "close":
			b.Close()
		}
		for _, h := range held {
			if bytes.Contains(h, marker) {
				t.Fatalf("%s: plaintext left in a buffer", how)
			}
		}
		if cc.key != nil || b.buf != nil || b.out != nil {
			t.Fatalf("%s: key or buffer kept", how)
		}
	}
}
