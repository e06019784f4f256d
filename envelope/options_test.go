package envelope_test

import (
	"bytes"
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/cache"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// callCountingKeyring counts the calls made to the keyring it wraps.
type callCountingKeyring struct {
	keyring.Keyring
	calls atomic.Int64
}

func (k *callCountingKeyring) OnEncrypt(ctx context.Context, m *keyring.EncryptionMaterials) error {
	k.calls.Add(1)
	return k.Keyring.OnEncrypt(ctx, m)
}

func (k *callCountingKeyring) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []keyring.EncryptedDataKey) error {
	k.calls.Add(1)
	return k.Keyring.OnDecrypt(ctx, m, edks)
}

// entryPoint runs one call that takes options on the message made by
// optionsMessage, to completion.
type entryPoint struct {
	name string
	run  func(ctx context.Context, kr keyring.Keyring, opts []envelope.Option) error
}

const optionsPlaintext = "hello"

var optionsContext = map[string]string{"tenant": "acme"}

// optionsMessage is an unsigned message of optionsPlaintext with
// optionsContext, in default frames, that every accepted option below
// lets decrypt.
func optionsMessage(t *testing.T, kr keyring.Keyring) []byte {
	ct, err := envelope.Encrypt(context.Background(), kr, []byte(optionsPlaintext),
		envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey), envelope.WithContext(optionsContext))
	require.NoError(t, err)
	return ct
}

func entryPoints(ct []byte) []entryPoint {
	return []entryPoint{
		{"Encrypt", func(ctx context.Context, kr keyring.Keyring, opts []envelope.Option) error {
			_, err := envelope.Encrypt(ctx, kr, []byte(optionsPlaintext), opts...)
			return err
		}},
		{"Decrypt", func(ctx context.Context, kr keyring.Keyring, opts []envelope.Option) error {
			pt, _, err := envelope.Decrypt(ctx, kr, ct, opts...)
			if err == nil && string(pt) != optionsPlaintext {
				return errors.New("wrong plaintext")
			}
			return err
		}},
		{"NewWriter", func(ctx context.Context, kr keyring.Keyring, opts []envelope.Option) error {
			w, err := envelope.NewWriter(ctx, io.Discard, kr, opts...)
			if err != nil {
				return err
			}
			if _, err := io.WriteString(w, optionsPlaintext); err != nil {
				return err
			}
			return w.Close()
		}},
		{"NewReader", func(ctx context.Context, kr keyring.Keyring, opts []envelope.Option) error {
			r, err := envelope.NewReader(ctx, bytes.NewReader(ct), kr, opts...)
			if err != nil {
				return err
			}
			pt, err := io.ReadAll(r)
			if err == nil && string(pt) != optionsPlaintext {
				return errors.New("wrong plaintext")
			}
			return err
		}},
		{"OpenHeader", func(ctx context.Context, kr keyring.Keyring, opts []envelope.Option) error {
			o, err := envelope.OpenHeader(ctx, bytes.NewReader(ct), kr, opts...)
			if err != nil {
				return err
			}
			defer o.Close()
			// optionsMessage is one final frame.
			pt, err := o.OpenFrame(nil, 1, true, ct[o.HeaderLength():])
			if err == nil && string(pt) != optionsPlaintext {
				return errors.New("wrong plaintext")
			}
			return err
		}},
	}
}

// optionCase is an option with a valid value and the calls it applies to.
// opts are the options passed: the one tested, after any it needs to
// succeed (which apply to every call).
type optionCase struct {
	name    string
	opts    []envelope.Option
	applies []string
}

var (
	writers = []string{"Encrypt", "NewWriter"}
	readers = []string{"Decrypt", "NewReader", "OpenHeader"}
	all     = []string{"Encrypt", "Decrypt", "NewWriter", "NewReader", "OpenHeader"}
)

func optionCases(t *testing.T) []optionCase {
	c, err := cache.New(cache.MaxAge(time.Minute))
	require.NoError(t, err)
	return []optionCase{
		{"WithContext", []envelope.Option{envelope.WithContext(optionsContext)}, all},
		{"WithSuite", []envelope.Option{envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey)}, writers},
		{"WithFrameSize", []envelope.Option{envelope.WithFrameSize(1024)}, writers},
		{"WithCommitmentPolicy", []envelope.Option{envelope.WithCommitmentPolicy(envelope.RequireEncryptAllowDecrypt)}, all},
		{"WithMaxEncryptedDataKeys", []envelope.Option{envelope.WithMaxEncryptedDataKeys(1)}, all},
		{"WithRequiredContextKeys", []envelope.Option{envelope.WithContext(optionsContext), envelope.WithRequiredContextKeys("tenant")}, all},
		{"WithCache", []envelope.Option{envelope.WithCache(c)}, all},
		{"WithMaxFrameSize", []envelope.Option{envelope.WithMaxFrameSize(envelope.DefaultFrameSize)}, readers},
		{"WithMaxHeaderSize", []envelope.Option{envelope.WithMaxHeaderSize(1 << 10)}, readers},
		{"WithUnsignedOnly", []envelope.Option{envelope.WithUnsignedOnly()}, readers},
		{"WithPlaintextLength", []envelope.Option{envelope.WithPlaintextLength(int64(len(optionsPlaintext)))}, []string{"NewWriter"}},
		{"WithConcurrency", []envelope.Option{envelope.WithConcurrency(2)}, []string{"Encrypt", "Decrypt", "NewWriter", "NewReader"}},
		{"WithStrictFrameIVs", []envelope.Option{envelope.WithStrictFrameIVs()}, readers},
		{"WithMaxUnwrapAttempts", []envelope.Option{envelope.WithMaxUnwrapAttempts(2)}, readers},
		{"WithoutNetV400Retry", []envelope.Option{envelope.WithoutNetV400Retry()}, readers},
		{"WithSpoolMemory", []envelope.Option{envelope.WithSpoolMemory(1 << 10)}, []string{"NewReader"}},
		{"WithSpoolDir", []envelope.Option{envelope.WithSpoolDir(os.TempDir())}, []string{"NewReader"}},
		{"WithMaxSpoolSize", []envelope.Option{envelope.WithMaxSpoolSize(1 << 20)}, []string{"NewReader"}},
		{"WithInsecureReleaseBeforeSignature", []envelope.Option{envelope.WithInsecureReleaseBeforeSignature()}, []string{"NewReader"}},
	}
}

// TestOptionsApply passes every option to every call: the calls it
// applies to succeed with it; the others refuse it with ErrInvalidOption,
// naming the option and the call, before any keyring call.
func TestOptionsApply(t *testing.T) {
	ctx := context.Background()
	base := testKeyring(t)
	ct := optionsMessage(t, base)
	for _, oc := range optionCases(t) {
		for _, ep := range entryPoints(ct) {
			t.Run(oc.name+"/"+ep.name, func(t *testing.T) {
				kr := &callCountingKeyring{Keyring: base}
				err := ep.run(ctx, kr, oc.opts)
				if slices.Contains(oc.applies, ep.name) {
					require.NoError(t, err)
					return
				}
				require.ErrorIs(t, err, envelope.ErrInvalidOption)
				assert.Contains(t, err.Error(), oc.name)
				assert.Contains(t, err.Error(), "does not apply to "+ep.name)
				assert.Zero(t, kr.calls.Load(), "keyring called before the option was refused")
			})
		}
	}
}

// TestOptionsCovered fails when an exported function of the package that
// returns an Option has no row in optionCases, so that what each new
// option applies to is tested, or when its doc comment does not say which
// calls it applies to (as the doc of Option promises).
func TestOptionsCovered(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	docs := map[string]string{} // option name → doc comment
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments|parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !fn.Name.IsExported() || fn.Type.Results == nil || len(fn.Type.Results.List) != 1 {
				continue
			}
			if id, ok := fn.Type.Results.List[0].Type.(*ast.Ident); ok && id.Name == "Option" {
				docs[fn.Name.Name] = strings.Join(strings.Fields(fn.Doc.Text()), " ")
			}
		}
	}
	require.NotEmpty(t, docs)
	cases := map[string]optionCase{}
	for _, oc := range optionCases(t) {
		cases[oc.name] = oc
	}
	for name, doc := range docs {
		oc, ok := cases[name]
		if !assert.True(t, ok, "add %s to optionCases with the calls it applies to", name) {
			continue
		}
		_, says, ok := strings.Cut(doc, "It applies to ")
		if !assert.True(t, ok, "the doc of %s does not say which calls it applies to", name) {
			continue
		}
		says, _, _ = strings.Cut(says, ";")
		says, _, _ = strings.Cut(says, ".")
		if len(oc.applies) == len(all) {
			assert.True(t, strings.HasPrefix(says, "every call"), "the doc of %s says it applies to %q, not every call", name, says)
			continue
		}
		for _, call := range all {
			assert.Equal(t, slices.Contains(oc.applies, call), strings.Contains(says, call),
				"the doc of %s says it applies to %q; %s accepts it: %v", name, says, call, slices.Contains(oc.applies, call))
		}
	}
}

// TestOptionsInvalidValue checks that an option given an invalid value
// fails the call with ErrInvalidOption naming the option, before any
// keyring call.
func TestOptionsInvalidValue(t *testing.T) {
	ctx := context.Background()
	base := testKeyring(t)
	ct := optionsMessage(t, base)
	eps := map[string]entryPoint{}
	for _, ep := range entryPoints(ct) {
		eps[ep.name] = ep
	}
	for _, tc := range []struct {
		name string
		opt  envelope.Option
		call string
	}{
		{"WithSuite", envelope.WithSuite(0x0001), "Encrypt"},
		{"WithFrameSize", envelope.WithFrameSize(0), "NewWriter"},
		{"WithCommitmentPolicy", envelope.WithCommitmentPolicy(3), "Decrypt"},
		{"WithMaxEncryptedDataKeys", envelope.WithMaxEncryptedDataKeys(0), "NewReader"},
		{"WithMaxEncryptedDataKeys", envelope.WithMaxEncryptedDataKeys(1 << 16), "Encrypt"},
		{"WithMaxFrameSize", envelope.WithMaxFrameSize(0), "Decrypt"},
		{"WithMaxHeaderSize", envelope.WithMaxHeaderSize(-1), "NewReader"},
		{"WithPlaintextLength", envelope.WithPlaintextLength(-1), "NewWriter"},
		{"WithConcurrency", envelope.WithConcurrency(0), "Decrypt"},
		{"WithSpoolDir", envelope.WithSpoolDir(filepath.Join(t.TempDir(), "missing")), "NewReader"},
		{"WithSpoolDir", envelope.WithSpoolDir(regularFile(t)), "NewReader"},
	} {
		t.Run(tc.name+"/"+tc.call, func(t *testing.T) {
			kr := &callCountingKeyring{Keyring: base}
			err := eps[tc.call].run(ctx, kr, []envelope.Option{tc.opt})
			require.ErrorIs(t, err, envelope.ErrInvalidOption)
			assert.Contains(t, err.Error(), tc.name+":")
			assert.Zero(t, kr.calls.Load())
		})
	}
}

// TestOptionsNil checks that nil options are skipped.
func TestOptionsNil(t *testing.T) {
	ctx := context.Background()
	kr := testKeyring(t)
	ct := optionsMessage(t, kr)
	for _, ep := range entryPoints(ct) {
		assert.NoError(t, ep.run(ctx, kr, []envelope.Option{nil}), ep.name)
	}
}

// TestReproducedContext checks the safe pattern the package comment
// teaches: a reader that decrypts with the context it expects is refused
// a message made for another context.
func TestReproducedContext(t *testing.T) {
	ctx := context.Background()
	kr := testKeyring(t)
	ct := optionsMessage(t, kr) // {"tenant": "acme"}
	for _, tc := range []struct {
		name   string
		expect map[string]string
		want   error
	}{
		{"same", map[string]string{"tenant": "acme"}, nil},
		{"subset", map[string]string{}, nil},
		{"other value", map[string]string{"tenant": "globex"}, envelope.ErrContext},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt := envelope.WithContext(tc.expect)
			pt, _, err := envelope.Decrypt(ctx, kr, ct, opt)
			_, rerr := envelope.NewReader(ctx, bytes.NewReader(ct), kr, opt)
			if tc.want == nil {
				require.NoError(t, err)
				require.NoError(t, rerr)
				assert.Equal(t, optionsPlaintext, string(pt))
				return
			}
			require.ErrorIs(t, err, tc.want)
			require.ErrorIs(t, rerr, tc.want)
			assert.Nil(t, pt)
		})
	}
}

// TestReproducedContextMissingPair checks that an expected pair the message
// lacks fails with either keyring kind: raw AES binds the context to the
// wrapped key (the data key does not unwrap), raw RSA does not (the header
// then fails to authenticate).
func TestReproducedContextMissingPair(t *testing.T) {
	ctx := context.Background()
	pemKey, err := os.ReadFile("../keyring/testdata/rsa2048-pkcs8.pem")
	require.NoError(t, err)
	priv, err := keyring.ParseRSAPrivateKeyPEM(pemKey)
	require.NoError(t, err)
	rsaKR, err := keyring.NewRawRSA("test-ns", "rsa", &priv.PublicKey, priv, keyring.OAEPSHA256)
	require.NoError(t, err)
	expect := envelope.WithContext(map[string]string{"tenant": "acme", "purpose": "billing"})
	for _, tc := range []struct {
		name string
		kr   keyring.Keyring
		want error
	}{
		{"raw AES", testKeyring(t), envelope.ErrNoDecryptionKey},
		{"raw RSA", rsaKR, envelope.ErrAuthentication},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct := optionsMessage(t, tc.kr)
			_, _, err := envelope.Decrypt(ctx, tc.kr, ct)
			require.NoError(t, err)
			pt, _, err := envelope.Decrypt(ctx, tc.kr, ct, expect)
			require.ErrorIs(t, err, tc.want)
			assert.Nil(t, pt)
			_, err = envelope.NewReader(ctx, bytes.NewReader(ct), tc.kr, expect)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

// regularFile returns the path of a new empty file.
func regularFile(t *testing.T) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(name, nil, 0o600))
	return name
}

// TestSpoolDirChecked checks that a spool directory that does not exist,
// or is not a directory, fails NewReader as a permanent ErrInvalidOption,
// not as a transient error at the first read of a signed message.
func TestSpoolDirChecked(t *testing.T) {
	ctx := context.Background()
	kr := testKeyring(t)
	msg, err := envelope.Encrypt(ctx, kr, bytes.Repeat([]byte("s"), 10000))
	require.NoError(t, err)
	for _, dir := range []string{"/nonexistent/dir", filepath.Join(t.TempDir(), "missing"), regularFile(t)} {
		r, err := envelope.NewReader(ctx, bytes.NewReader(msg), kr, envelope.WithSpoolMemory(0), envelope.WithSpoolDir(dir))
		require.ErrorIs(t, err, envelope.ErrInvalidOption, dir)
		assert.NotErrorIs(t, err, envelope.ErrTransient)
		assert.Contains(t, err.Error(), "WithSpoolDir")
		assert.Contains(t, err.Error(), dir)
		assert.Nil(t, r)
	}
	dir := t.TempDir()
	r, err := envelope.NewReader(ctx, bytes.NewReader(msg), kr, envelope.WithSpoolMemory(0), envelope.WithSpoolDir(dir))
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Len(t, got, 10000)
}

// TestSpoolOptionsWithEarlyRelease checks that the spool options, which
// WithInsecureReleaseBeforeSignature would make do nothing, are refused
// beside it, in either order, naming both options.
func TestSpoolOptionsWithEarlyRelease(t *testing.T) {
	ctx := context.Background()
	base := testKeyring(t)
	msg, err := envelope.Encrypt(ctx, base, []byte(optionsPlaintext))
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		opt  envelope.Option
	}{
		{"WithSpoolMemory", envelope.WithSpoolMemory(1 << 10)},
		{"WithSpoolDir", envelope.WithSpoolDir(t.TempDir())},
		{"WithMaxSpoolSize", envelope.WithMaxSpoolSize(10)},
	} {
		early := envelope.WithInsecureReleaseBeforeSignature()
		for _, opts := range [][]envelope.Option{{tc.opt, early}, {early, tc.opt}} {
			kr := &callCountingKeyring{Keyring: base}
			r, err := envelope.NewReader(ctx, bytes.NewReader(msg), kr, opts...)
			require.ErrorIs(t, err, envelope.ErrInvalidOption, tc.name)
			assert.Contains(t, err.Error(), tc.name)
			assert.Contains(t, err.Error(), "WithInsecureReleaseBeforeSignature")
			assert.Nil(t, r)
			assert.Zero(t, kr.calls.Load(), "keyring called before the options were refused")
		}
	}
}
