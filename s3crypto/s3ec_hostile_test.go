package s3crypto_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
)

// TestS3ECInstructionCommitmentInObject: the key commitment (x-amz-d),
// the message ID (x-amz-i) and the content algorithm (x-amz-c) of a V3
// object are read only from the object metadata. An object whose
// metadata lacks one of them while its instruction file holds it is
// refused, even when all of it is consistent: otherwise whoever can
// replace the instruction file replaces the commitment with the data key,
// and the commitment binds nothing to the object.
func TestS3ECInstructionCommitmentInObject(t *testing.T) {
	ctx := context.Background()
	cli := newS3(t)
	kr, _ := s3ecKMSKeyring(t)
	c, _ := s3crypto.New(cli, kr, s3crypto.WithFormat(s3crypto.FormatS3ECv3), s3crypto.WithInstructionFile())
	put(t, ctx, c, "o", bytes.NewReader(randBytes(300)))
	ct, meta := rawObject(t, cli, "o")
	body, _ := rawObject(t, cli, "o.instruction")
	for _, moved := range [][]string{{"x-amz-d"}, {"x-amz-i"}, {"x-amz-d", "x-amz-i"}, {"x-amz-c", "x-amz-d"}} {
		var instr map[string]string
		if err := json.Unmarshal(body, &instr); err != nil {
			t.Fatal(err)
		}
		obj := map[string]string{}
		for k, v := range meta {
			obj[k] = v
		}
		for _, k := range moved {
			instr[k] = obj[k]
			delete(obj, k)
		}
		key := "moved-" + moved[len(moved)-1] + s3ecDigit(len(moved))
		b, _ := json.Marshal(instr)
		rawPut(t, cli, key, ct, obj)
		rawPut(t, cli, key+".instruction", b, map[string]string{"x-amz-crypto-instr-file": ""})
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		n := 0
		if err == nil {
			got, rerr := io.ReadAll(out.Body)
			out.Body.Close()
			n, err = len(got), rerr
		}
		if !errors.Is(err, s3crypto.ErrInstructionFile) || n != 0 {
			t.Errorf("%v moved to the instruction file: err %v, %d bytes", moved, err, n)
		}
	}
}

// racingInstr calls swap once, right after the first read of an
// instruction file has been answered.
type racingInstr struct {
	s3crypto.API
	swap func()
	done bool
}

func (r *racingInstr) GetObject(ctx context.Context, in *s3.GetObjectInput, o ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	out, err := r.API.GetObject(ctx, in, o...)
	if !r.done && r.swap != nil && strings.HasSuffix(aws.ToString(in.Key), s3crypto.InstructionSuffix) {
		r.done = true
		r.swap()
	}
	return out, err
}

// TestS3ECRewrapInstructionRace: an object (and its instruction file)
// replaced while Rewrap works is not given the re-wrapped data key of
// the object Rewrap read: the new object stays readable and Rewrap
// fails.
func TestS3ECRewrapInstructionRace(t *testing.T) {
	ctx := context.Background()
	cli := newS3(t)
	kr, srv := s3ecKMSKeyring(t)
	plain, _ := s3crypto.New(cli, kr, s3crypto.WithFormat(s3crypto.FormatS3ECv3), s3crypto.WithInstructionFile())
	put(t, ctx, plain, "o", bytes.NewReader(randBytes(100)))
	pt2 := randBytes(200)
	race := &racingInstr{API: cli, swap: func() { put(t, ctx, plain, "o", bytes.NewReader(pt2)) }}
	c, _ := s3crypto.New(race, kr, s3crypto.WithFormat(s3crypto.FormatS3ECv3), s3crypto.WithInstructionFile())
	arn, _ := srv.CreateKey()
	kr2, _ := awskms.NewKeyring(srv.Client(), arn)
	_, err := c.Rewrap(ctx, &s3crypto.RewrapInput{Bucket: aws.String(bucket), Key: aws.String("o"), Keyring: kr2})
	if !race.done {
		t.Fatal("the instruction file was not read")
	}
	if err == nil {
		t.Error("Rewrap succeeded over an object replaced meanwhile")
	}
	got, _, gerr := get(ctx, plain, "o")
	if gerr != nil || !bytes.Equal(got, pt2) {
		t.Fatalf("the object written meanwhile: %v", gerr)
	}
}

// TestS3ECRawWrapExpectedContext: the material description of an object
// wrapped with a raw AES or RSA key is not authenticated (anyone who can
// write the object's metadata sets it), so an expected encryption context
// cannot be checked against it: GetObject with a non-empty one fails with
// envelope.ErrContext rather than pass on an attacker's word.
func TestS3ECRawWrapExpectedContext(t *testing.T) {
	ctx := context.Background()
	cli := newS3(t)
	c, _ := s3crypto.New(cli, newKeyring(t), s3crypto.WithFormat(s3crypto.FormatS3ECv3))
	put(t, ctx, c, "o", bytes.NewReader(randBytes(100)))
	ct, meta := rawObject(t, cli, "o")
	meta["x-amz-m"] = `{"tenant":"a"}`
	rawPut(t, cli, "forged", ct, meta)
	ectx := s3crypto.WithEncryptionContext(ctx, map[string]string{"tenant": "a"})
	if _, _, err := get(ectx, c, "forged"); !errors.Is(err, envelope.ErrContext) {
		t.Fatalf("expected context against a forged material description: %v", err)
	}
	// Without an expected context the object reads.
	if _, _, err := get(ctx, c, "forged"); err != nil {
		t.Fatal(err)
	}
}

// failingInstr answers the GET of an instruction file with a body that
// fails with err after a few bytes.
type failingInstr struct {
	s3crypto.API
	err error
}

type failAfter struct {
	r   io.Reader
	err error
}

func (f *failAfter) Read(p []byte) (int, error) {
	n, _ := f.r.Read(p)
	if n > 0 {
		return n, nil
	}
	return 0, f.err
}

func (f failingInstr) GetObject(ctx context.Context, in *s3.GetObjectInput, o ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	out, err := f.API.GetObject(ctx, in, o...)
	if err == nil && strings.HasSuffix(aws.ToString(in.Key), s3crypto.InstructionSuffix) {
		out.Body = io.NopCloser(&failAfter{r: io.LimitReader(out.Body, 10), err: f.err})
	}
	return out, err
}

// TestS3ECInstructionReadFails: an instruction file whose body fails
// half-way (the connection drops) makes a transient error, or a format
// error for a cut-off body; never ErrNotEncrypted, which would tell the
// caller that an encrypted object is a plain one.
func TestS3ECInstructionReadFails(t *testing.T) {
	ctx := context.Background()
	cli := newS3(t)
	kr, _ := s3ecKMSKeyring(t)
	w, _ := s3crypto.New(cli, kr, s3ecV2Opts(s3crypto.WithInstructionFile())...)
	put(t, ctx, w, "o", bytes.NewReader(randBytes(100)))
	for _, tc := range []struct {
		err  error
		want error
	}{
		{errors.New("http2: stream reset"), envelope.ErrTransient},
		{io.ErrUnexpectedEOF, envelope.ErrFormat},
	} {
		c, _ := s3crypto.New(failingInstr{API: cli, err: tc.err}, kr, s3ecV2Opts(s3crypto.WithInstructionFile())...)
		_, _, err := get(ctx, c, "o")
		if !errors.Is(err, tc.want) || errors.Is(err, s3crypto.ErrNotEncrypted) {
			t.Errorf("instruction body failing with %v: %v", tc.err, err)
		}
	}
}

// TestS3ECContextLegacyKeyReserved: kms_cmk_id is left out of the context
// check of a GET (the legacy kms wrap stores the key id under it), so a
// PutObject whose context holds it would store an object that no GET
// with that context reads: it is refused up front.
func TestS3ECContextLegacyKeyReserved(t *testing.T) {
	cli := newS3(t)
	kr, _ := s3ecKMSKeyring(t)
	c, _ := s3crypto.New(cli, kr, s3crypto.WithFormat(s3crypto.FormatS3ECv3))
	ctx := s3crypto.WithEncryptionContext(context.Background(), map[string]string{"kms_cmk_id": "x", "a": "b"})
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("o"), Body: strings.NewReader("hi")})
	if !errors.Is(err, s3crypto.ErrInvalidRequest) {
		t.Fatalf("PutObject with kms_cmk_id in the context: %v", err)
	}
}

// TestS3ECRangeRefusedBeforeUnwrap: without WithUnauthenticatedS3ECRanges
// a ranged GET of an S3EC object is refused before the data key is
// unwrapped: no KMS call (which costs, and counts against the quota) for
// a request that cannot be served.
func TestS3ECRangeRefusedBeforeUnwrap(t *testing.T) {
	ctx := context.Background()
	cli := newS3(t)
	kr, srv := s3ecKMSKeyring(t)
	c, _ := s3crypto.New(cli, kr, s3crypto.WithFormat(s3crypto.FormatS3ECv3))
	put(t, ctx, c, "o", bytes.NewReader(randBytes(1000)))
	srv.FailAlways("Decrypt", kmstest.AccessDenied)
	_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("o"), Range: aws.String("bytes=10-20")})
	if !errors.Is(err, s3crypto.ErrUnsupported) {
		t.Fatalf("ranged GET without the opt-in: %v", err)
	}
}

// TestS3ECSwapAndDowngrade: whoever can write the bucket can neither swap
// the instruction files of two V3 objects nor rewrite a V3 object's
// metadata as V2 (GCM without commitment) or as CBC: each GET fails and
// releases nothing, under the default policy and, where the wrap binds
// the content algorithm, under the permissive ones too.
func TestS3ECSwapAndDowngrade(t *testing.T) {
	ctx := context.Background()
	cli := newS3(t)
	kr, _ := s3ecKMSKeyring(t)
	c, _ := s3crypto.New(cli, kr, s3crypto.WithFormat(s3crypto.FormatS3ECv3), s3crypto.WithInstructionFile())
	put(t, ctx, c, "a", bytes.NewReader(randBytes(100)))
	put(t, ctx, c, "b", bytes.NewReader(randBytes(100)))
	ctA, metaA := rawObject(t, cli, "a")
	instrB, _ := rawObject(t, cli, "b.instruction")
	rawPut(t, cli, "swapped", ctA, metaA)
	rawPut(t, cli, "swapped.instruction", instrB, map[string]string{"x-amz-crypto-instr-file": ""})
	if _, _, err := get(ctx, c, "swapped"); !errors.Is(err, envelope.ErrAuthentication) {
		t.Errorf("swapped instruction file: %v", err)
	}

	c3, _ := s3crypto.New(cli, kr, s3crypto.WithFormat(s3crypto.FormatS3ECv3))
	put(t, ctx, c3, "v3", bytes.NewReader(randBytes(100)))
	ct, meta := rawObject(t, cli, "v3")
	msgID, _ := base64.StdEncoding.DecodeString(meta["x-amz-i"])
	for _, cek := range []string{"AES/GCM/NoPadding", "AES/CBC/PKCS5Padding"} {
		iv := msgID[:12]
		down := map[string]string{"x-amz-key-v2": meta["x-amz-3"], "x-amz-matdesc": meta["x-amz-t"],
			"x-amz-wrap-alg": "kms+context", "x-amz-cek-alg": cek}
		if cek == "AES/GCM/NoPadding" {
			down["x-amz-tag-len"] = "128"
		} else {
			iv = msgID[:16]
		}
		down["x-amz-iv"] = base64.StdEncoding.EncodeToString(iv)
		key := "down-" + cek[4:7]
		rawPut(t, cli, key, ct, down)
		for _, p := range []envelope.CommitmentPolicy{envelope.RequireEncryptRequireDecrypt, envelope.RequireEncryptAllowDecrypt, envelope.ForbidEncryptAllowDecrypt} {
			r, _ := s3crypto.New(cli, kr, s3crypto.WithCommitmentPolicy(p))
			out, err := r.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			n := 0
			if err == nil {
				got, rerr := io.ReadAll(out.Body)
				out.Body.Close()
				n, err = len(got), rerr
			}
			if err == nil || n != 0 {
				t.Errorf("V3 rewritten as %s, policy %v: %d bytes, err %v", cek, p, n, err)
			}
			if p == envelope.RequireEncryptRequireDecrypt && !errors.Is(err, envelope.ErrPolicy) {
				t.Errorf("V3 rewritten as %s under the default policy: %v", cek, err)
			}
		}
	}
}

// copyLog records the CopyObject inputs.
type copyLog struct {
	s3crypto.API
	copies []s3.CopyObjectInput
}

func (l *copyLog) CopyObject(ctx context.Context, in *s3.CopyObjectInput, o ...func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	l.copies = append(l.copies, *in)
	return l.API.CopyObject(ctx, in, o...)
}

// TestS3ECCopyInstructionConditional: CopyObject of an S3EC object with an
// instruction file copies the instruction file it checked (conditional
// on its ETag), as it copies the object it checked, so that a source
// replaced meanwhile cannot leave the copy with the object of one and the
// instruction file of another.
func TestS3ECCopyInstructionConditional(t *testing.T) {
	ctx := context.Background()
	cli := newS3(t)
	kr, _ := s3ecKMSKeyring(t)
	log := &copyLog{API: cli}
	c, _ := s3crypto.New(log, kr, s3crypto.WithFormat(s3crypto.FormatS3ECv3), s3crypto.WithInstructionFile())
	put(t, ctx, c, "src", bytes.NewReader(randBytes(100)))
	head, err := cli.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("src.instruction")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String("dst"),
		CopySource: aws.String(bucket + "/src")}); err != nil {
		t.Fatal(err)
	}
	var saw bool
	for _, cp := range log.copies {
		if aws.ToString(cp.Key) == "dst.instruction" {
			saw = true
			if aws.ToString(cp.CopySourceIfMatch) != aws.ToString(head.ETag) || head.ETag == nil {
				t.Errorf("instruction file copied on condition %q, its ETag is %q", aws.ToString(cp.CopySourceIfMatch), aws.ToString(head.ETag))
			}
		}
	}
	if !saw {
		t.Fatal("instruction file not copied")
	}
}
