package s3crypto_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
)

// getRange returns the plaintext rng selects from key, and the output.
func getRange(ctx context.Context, c *s3crypto.Client, key, rng string) ([]byte, *s3.GetObjectOutput, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Range: aws.String(rng)})
	if err != nil {
		return nil, nil, err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return b, out, err
}

func TestRangedGet(t *testing.T) {
	rec, c := setup(t)
	ctx := context.Background()
	const fs = s3crypto.FrameSize
	objects := map[string][]byte{
		"odd":   randBytes(3*fs + 1000), // three full frames and a final one of 1000 bytes
		"even":  randBytes(2 * fs),      // two full frames and an empty final one
		"small": randBytes(100),         // all in the first request
	}
	for k, pt := range objects {
		put(t, ctx, c, k, bytes.NewReader(pt))
	}
	cases := []struct {
		key, rng    string
		first, last int
		gets        int // GetObject requests made: one when the range ends in the first 256 KiB
	}{
		{"odd", "bytes=0-65535", 0, fs - 1, 1},
		{"odd", "bytes=65536-131071", fs, 2*fs - 1, 1},
		{"odd", "bytes=100-200", 100, 200, 1},
		{"odd", "bytes=70000-70000", 70000, 70000, 1},
		{"odd", "bytes=65000-140000", 65000, 140000, 1},
		{"odd", "bytes=196608-", 3 * fs, 3*fs + 999, 2},
		{"odd", "bytes=196000-197607", 196000, 3*fs + 999, 1},
		{"odd", "bytes=197607-197607", 3*fs + 999, 3*fs + 999, 1},
		{"odd", "bytes=-10", 3*fs + 990, 3*fs + 999, 2},
		{"odd", "bytes=-1001", 3*fs - 1, 3*fs + 999, 2},
		{"odd", "bytes=-99999999", 0, 3*fs + 999, 2},
		{"odd", "bytes=0-", 0, 3*fs + 999, 2},
		{"odd", "bytes=5-99999999", 5, 3*fs + 999, 2},
		{"even", "bytes=-1", 2*fs - 1, 2*fs - 1, 2},
		{"even", "bytes=65536-", fs, 2*fs - 1, 2},
		{"even", "bytes=0-", 0, 2*fs - 1, 2},
		{"small", "bytes=0-", 0, 99, 1},
		{"small", "bytes=10-20", 10, 20, 1},
		{"small", "bytes=-100", 0, 99, 1},
		{"small", "bytes=99-200", 99, 99, 1},
	}
	for _, tc := range cases {
		t.Run(tc.key+"/"+tc.rng, func(t *testing.T) {
			pt := objects[tc.key]
			before := rec.n("GetObject")
			got, out, err := getRange(ctx, c, tc.key, tc.rng)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, pt[tc.first:tc.last+1]) {
				t.Fatalf("got %d bytes, want bytes %d-%d", len(got), tc.first, tc.last)
			}
			if n := aws.ToInt64(out.ContentLength); n != int64(len(got)) {
				t.Errorf("ContentLength %d, %d bytes read", n, len(got))
			}
			if want := fmt.Sprintf("bytes %d-%d/%d", tc.first, tc.last, len(pt)); aws.ToString(out.ContentRange) != want {
				t.Errorf("ContentRange %q, want %q", aws.ToString(out.ContentRange), want)
			}
			if aws.ToString(out.AcceptRanges) != "bytes" {
				t.Errorf("AcceptRanges %q", aws.ToString(out.AcceptRanges))
			}
			if n := rec.n("GetObject") - before; n != tc.gets {
				t.Errorf("%d GetObject requests, want %d", n, tc.gets)
			}
		})
	}
}

func TestRangedGetErrors(t *testing.T) {
	rec, c := setup(t)
	ctx := context.Background()
	put(t, ctx, c, "empty", bytes.NewReader(nil))
	put(t, ctx, c, "obj", bytes.NewReader(randBytes(1000)))
	for _, tc := range []struct {
		key, rng string
		want     error
	}{
		{"empty", "bytes=0-0", s3crypto.ErrInvalidRange},
		{"empty", "bytes=0-", s3crypto.ErrInvalidRange},
		{"empty", "bytes=-1", s3crypto.ErrInvalidRange},
		{"obj", "bytes=1000-", s3crypto.ErrInvalidRange},
		{"obj", "bytes=1000-2000", s3crypto.ErrInvalidRange},
		{"obj", "bytes=-0", s3crypto.ErrInvalidRange},
		{"obj", "bytes=5-1", s3crypto.ErrInvalidRequest},
		{"obj", "items=0-1", s3crypto.ErrInvalidRequest},
		{"obj", "bytes=a-b", s3crypto.ErrInvalidRequest},
		{"obj", "bytes=-", s3crypto.ErrInvalidRequest},
		{"obj", "bytes=0-1,3-4", s3crypto.ErrInvalidRequest},
		{"obj", "bytes=+1-2", s3crypto.ErrInvalidRequest},
	} {
		_, _, err := getRange(ctx, c, tc.key, tc.rng)
		var e *s3crypto.Error
		if !errors.Is(err, tc.want) || !errors.As(err, &e) || e.Key != tc.key {
			t.Errorf("%s %s: %v, want %v in *s3crypto.Error", tc.key, tc.rng, err, tc.want)
		}
	}
	// A malformed range is refused before any request.
	before := rec.n("GetObject")
	if _, _, err := getRange(ctx, c, "obj", "bytes=x"); !errors.Is(err, s3crypto.ErrInvalidRequest) || rec.n("GetObject") != before {
		t.Errorf("malformed range: %v, %d requests", err, rec.n("GetObject")-before)
	}
	// The whole-object GET still works and advertises ranges.
	if _, out, err := get(ctx, c, "obj"); err != nil || aws.ToString(out.AcceptRanges) != "bytes" {
		t.Errorf("GetObject: %v", err)
	}
}

// TestRangedGetTampered checks that a frame that fails to authenticate
// releases none of its bytes, while the frames before it are released.
func TestRangedGetTampered(t *testing.T) {
	rec, c := setup(t)
	ctx := context.Background()
	const fs = s3crypto.FrameSize
	pt := randBytes(3*fs + 10)
	put(t, ctx, c, "obj", bytes.NewReader(pt))
	ct, meta := rawObject(t, rec.raw(), "obj")
	hlen, err := strconv.Atoi(meta[s3crypto.MetaHeaderLength])
	if err != nil {
		t.Fatal(err)
	}
	stride := envelope.FrameLength(fs, false)
	ct[hlen+stride+100] ^= 1 // in the ciphertext of frame 2
	rawPut(t, rec.raw(), "obj", ct, meta)

	for _, tc := range []struct {
		rng  string
		want []byte // what is released before the error
	}{
		{"bytes=65000-140000", pt[65000:fs]},
		{"bytes=70000-70010", nil},
		{"bytes=65536-", nil},
	} {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj"), Range: aws.String(tc.rng)})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		if !errors.Is(err, envelope.ErrAuthentication) || !bytes.Equal(got, tc.want) {
			t.Errorf("%s: %d bytes released (want %d), %v", tc.rng, len(got), len(tc.want), err)
		}
		if _, err := out.Body.Read(make([]byte, 10)); err == nil {
			t.Errorf("%s: read after the failure succeeded", tc.rng)
		}
	}
	// Frames outside the tampered one still read.
	if got, _, err := getRange(ctx, c, "obj", "bytes=-20"); err != nil || !bytes.Equal(got, pt[len(pt)-20:]) {
		t.Errorf("untampered frames: %v", err)
	}
}

// TestRangedGetTransfer checks that a 1 MiB range of a large object
// transfers less than 2 MiB.
func TestRangedGetTransfer(t *testing.T) {
	rec, c := setup(t)
	ctx := context.Background()
	pt := randBytes(12 << 20)
	put(t, ctx, c, "big", bytes.NewReader(pt))
	before, calls := rec.got.Load(), rec.n("GetObject")
	first := 5_000_000
	got, _, err := getRange(ctx, c, "big", fmt.Sprintf("bytes=%d-%d", first, first+1<<20-1))
	if err != nil || !bytes.Equal(got, pt[first:first+1<<20]) {
		t.Fatalf("%d bytes, %v", len(got), err)
	}
	moved := rec.got.Load() - before
	t.Logf("1 MiB range of 12 MiB: %d bytes transferred in %d requests", moved, rec.n("GetObject")-calls)
	if moved >= 2<<20 || rec.n("GetObject")-calls != 2 {
		t.Errorf("%d bytes in %d requests", moved, rec.n("GetObject")-calls)
	}
	// The frames are read from the object whose header was read.
	probe, frames := rec.gets[len(rec.gets)-2], rec.gets[len(rec.gets)-1]
	if probe.IfMatch != nil || frames.IfMatch == nil || *frames.IfMatch == "" {
		t.Errorf("If-Match %v then %v, want none then the ETag", probe.IfMatch, frames.IfMatch)
	}
}

// TestRangedGetRefused checks the objects whose ranges are refused.
func TestRangedGetRefused(t *testing.T) {
	rec, c := setup(t)
	ctx := context.Background()
	put(t, ctx, c, "obj", bytes.NewReader(randBytes(1000)))
	ct, meta := rawObject(t, rec.raw(), "obj")
	rawPut(t, rec.raw(), "moved", ct, meta)
	if _, _, err := getRange(ctx, c, "moved", "bytes=0-1"); !errors.Is(err, envelope.ErrContext) {
		t.Errorf("object under another key: %v, want ErrContext", err)
	}
	delete(meta, s3crypto.MetaHeaderLength)
	rawPut(t, rec.raw(), "nohdr", ct, meta)
	if _, _, err := getRange(ctx, c, "nohdr", "bytes=0-1"); !errors.Is(err, s3crypto.ErrUnsupported) {
		t.Errorf("no header length: %v", err)
	}
	rawPut(t, rec.raw(), "plain", []byte("hello"), nil)
	if _, _, err := getRange(ctx, c, "plain", "bytes=0-1"); !errors.Is(err, s3crypto.ErrNotEncrypted) {
		t.Errorf("plain object: %v", err)
	}
	// Metadata that disagrees with the object.
	meta2 := map[string]string{}
	for k, v := range meta {
		meta2[k] = v
	}
	meta2[s3crypto.MetaHeaderLength] = "400"
	meta2[s3crypto.MetaPlainLength] = "1000"
	rawPut(t, rec.raw(), "badmeta", ct, meta2)
	if _, _, err := getRange(ctx, c, "badmeta", "bytes=0-1"); !errors.Is(err, envelope.ErrFormat) {
		t.Errorf("bad metadata: %v", err)
	}
}

func TestRangedGetSigned(t *testing.T) {
	rec := &recorder{API: newS3(t)}
	kr := newKeyring(t)
	c, err := s3crypto.New(rec, kr)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	putForeign(t, rec.raw(), "signed", signedMessage(t, kr, "signed", randBytes(1000)))
	_, _, err = getRange(ctx, c, "signed", "bytes=0-1")
	if !errors.Is(err, s3crypto.ErrUnsupported) || !strings.Contains(err.Error(), "signed") {
		t.Errorf("signed object: %v, want ErrUnsupported", err)
	}
}

// truncating cuts the body of every ranged GetObject that does not start
// at 0 to its first n bytes, as a connection that drops would.
type truncating struct {
	s3crypto.API
	n int64
}

func (tr truncating) GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	out, err := tr.API.GetObject(ctx, in, optFns...)
	if err == nil && !strings.HasPrefix(aws.ToString(in.Range), "bytes=0-") {
		out.Body = struct {
			io.Reader
			io.Closer
		}{io.LimitReader(out.Body, tr.n), out.Body}
	}
	return out, err
}

func TestRangedGetTruncated(t *testing.T) {
	const fs = s3crypto.FrameSize
	api := newS3(t)
	kr := newKeyring(t)
	c, err := s3crypto.New(api, kr)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pt := randBytes(6 * fs)
	put(t, ctx, c, "obj", bytes.NewReader(pt))
	cut, err := s3crypto.New(truncating{API: api, n: int64(envelope.FrameLength(fs, false) + 500)}, kr)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := getRange(ctx, cut, "obj", "bytes=300000-")
	if !errors.Is(err, envelope.ErrFormat) || !bytes.Equal(got, pt[300000:5*fs]) {
		t.Errorf("truncated frames: %d bytes released, %v; want the first frame's and ErrFormat", len(got), err)
	}
}
