package interop_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/internal/jsenv"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// publicKeyContextKey is the context key the SDKs add on signed suites.
const publicKeyContextKey = "aws-crypto-public-key"

// batchBytes bounds the plaintext bytes handled per Node.js run, so that
// the ciphertext files on disk stay small while node start-up stays rare.
const batchBytes = 256 << 20

// maxReported bounds the failures reported one by one; the rest are counted.
const maxReported = 25

// TestInterop runs the whole matrix (11 suites × 9 keyrings × 3 contexts ×
// 3 frame lengths × 5 plaintext sizes = 4455 messages; 7 keyrings and 3465
// messages in FIPS 140-3 mode) in both directions:
//
//   - go→js: cryptkeeper encrypts, the JavaScript SDK decrypts; the
//     plaintext and the header it reads (suite, context, frame length, EDK
//     providers) must match.
//   - js→go: the JavaScript SDK encrypts, cryptkeeper decrypts; plaintext,
//     suite, context and frame length must match the header.
//
// Messages of the multi-keyring up to 64 KiB are also decrypted by each of
// its members alone. Non-committing suites are encrypted under
// ForbidEncryptAllowDecrypt and decrypted under RequireEncryptAllowDecrypt;
// committing suites use the default policy on decrypt. The JavaScript SDK
// 5.0.2 encrypts with every suite, including the three identity-KDF
// (NO_KDF) ones, so no cell of the matrix is left out. On the Go side every
// other case up to 64 KiB uses the streaming API (NewWriter, NewReader);
// the rest use Encrypt and Decrypt.
func TestInterop(t *testing.T) {
	jsDir := jsenv.Dir(t)
	ctx := t.Context()
	krs := newKeyrings(t)
	cases := matrix(krs)
	require.Len(t, cases, len(envelope.Suites())*len(krs.order)*len(contexts)*len(frameSizes)*len(plaintextKinds))

	r := &run{t: t, ctx: ctx, jsDir: jsDir, krs: krs, pts: newPlaintexts(), root: t.TempDir()}
	bs := batches(cases)
	for i, batch := range bs {
		r.batch(i, batch)
	}
	t.Logf("interop: %d batches; Go encrypt %v, Node.js %v, Go decrypt %v",
		len(bs), r.took[0].Round(time.Millisecond), r.took[1].Round(time.Millisecond), r.took[2].Round(time.Millisecond))

	g, j := &r.goToJS, &r.jsToGo
	summary := fmt.Sprintf("interop: go→js %d/%d passed (%d decryptions), js→go %d/%d passed (%d decryptions), @aws-crypto/client-node %s",
		g.passed, len(cases), g.decryptions, j.passed, len(cases), j.decryptions, jsenv.ESDKVersion)
	t.Log(summary)
	fmt.Println(summary)
	if r.failures > maxReported {
		t.Errorf("interop: %d failures in all, %d reported above", r.failures, maxReported)
	}
	assert.Equal(t, len(cases), g.passed, "go→js messages passed")
	assert.Equal(t, len(cases), j.passed, "js→go messages passed")
}

// batches splits the cases so that each batch holds at most about
// batchBytes of plaintext.
func batches(cases []testCase) [][]testCase {
	var out [][]testCase
	var cur []testCase
	size := 0
	for _, c := range cases {
		if len(cur) > 0 && size+c.ptLen > batchBytes {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, c)
		size += c.ptLen
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

type counts struct {
	passed      int // messages whose every decryption passed
	decryptions int // decryptions that passed
}

type run struct {
	t     *testing.T
	ctx   context.Context
	jsDir string
	krs   *keyrings
	pts   *plaintexts
	root  string

	mu       sync.Mutex
	failures int
	goToJS   counts
	jsToGo   counts
	took     [3]time.Duration // Go encrypt, Node.js, Go decrypt
}

func (r *run) fail(dir string, c testCase, with string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures++
	if r.failures <= maxReported {
		r.t.Errorf("%s %s (decrypt with %s): %v", dir, c, with, err)
	}
}

// batch runs one batch in both directions with one Node.js run (see runNode).
func (r *run) batch(n int, cases []testCase) {
	t := r.t
	dir := filepath.Join(r.root, fmt.Sprintf("batch-%d", n))
	require.NoError(t, os.Mkdir(dir, 0o700))
	defer func() { require.NoError(t, os.RemoveAll(dir)) }()

	// Plaintexts are built here, before any goroutine reads them.
	for _, c := range cases {
		name := filepath.Join(dir, r.pts.fileName(c.ptLen))
		if _, err := os.Stat(name); err != nil {
			require.NoError(t, os.WriteFile(name, r.pts.get(c.ptLen), 0o600))
		}
	}

	// go→js, first half: encrypt here.
	start := time.Now()
	encrypted := make([]bool, len(cases))
	parallel(len(cases), func(i int) {
		c := cases[i]
		ct, err := goEncrypt(r.ctx, r.krs.goKR[c.keyring], c, r.pts.get(c.ptLen))
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, goFile(c)), ct, 0o600)
		}
		if err != nil {
			r.fail("go→js", c, "-", fmt.Errorf("encrypt in Go: %w", err))
			return
		}
		encrypted[i] = true
	})

	m := &jsManifest{Keyrings: r.krs.js, Concurrency: 4}
	for i, c := range cases {
		if encrypted[i] {
			for _, d := range r.krs.decryptors(c) {
				m.Cases = append(m.Cases, jsCase{ID: decryptID(c, d), Op: "decrypt", Keyring: d, Input: goFile(c)})
			}
		}
		m.Cases = append(m.Cases, jsCase{
			ID: encryptID(c), Op: "encrypt", Keyring: c.keyring, Suite: int(c.suite),
			FrameLength: c.frame, Context: c.ctx.ec, Plaintext: r.pts.fileName(c.ptLen), Output: jsFile(c),
		})
	}
	r.took[0] += time.Since(start)
	start = time.Now()
	res := runNode(r.ctx, t, r.jsDir, dir, m)
	r.took[1] += time.Since(start)

	// go→js, second half: check what the JavaScript SDK decrypted.
	for i, c := range cases {
		if !encrypted[i] {
			continue
		}
		ok := true
		for _, d := range r.krs.decryptors(c) {
			if err := r.checkJSDecrypt(c, res[decryptID(c, d)]); err != nil {
				r.fail("go→js", c, d, err)
				ok = false
				continue
			}
			r.goToJS.decryptions++
		}
		if ok {
			r.goToJS.passed++
		}
	}

	// js→go: decrypt here what the JavaScript SDK encrypted.
	start = time.Now()
	defer func() { r.took[2] += time.Since(start) }()
	parallel(len(cases), func(i int) {
		c := cases[i]
		er := res[encryptID(c)]
		if !er.OK {
			r.fail("js→go", c, "-", fmt.Errorf("encrypt in JS: %s", er.Error))
			return
		}
		ct, err := os.ReadFile(filepath.Join(dir, jsFile(c)))
		if err != nil {
			r.fail("js→go", c, "-", err)
			return
		}
		ok, passed := true, 0
		for _, d := range r.krs.decryptors(c) {
			if err := r.goDecrypt(c, d, ct); err != nil {
				r.fail("js→go", c, d, err)
				ok = false
				continue
			}
			passed++
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.jsToGo.decryptions += passed
		if ok {
			r.jsToGo.passed++
		}
	})
}

func goFile(c testCase) string              { return fmt.Sprintf("go-%d.ct", c.idx) }
func jsFile(c testCase) string              { return fmt.Sprintf("js-%d.ct", c.idx) }
func encryptID(c testCase) string           { return fmt.Sprintf("enc-%d", c.idx) }
func decryptID(c testCase, d string) string { return fmt.Sprintf("dec-%d-%s", c.idx, d) }

// encryptPolicy returns a commitment policy under which suite s may encrypt.
func encryptPolicy(s envelope.SuiteID) envelope.CommitmentPolicy {
	if s.Committing() {
		return envelope.RequireEncryptAllowDecrypt
	}
	return envelope.ForbidEncryptAllowDecrypt
}

func goEncrypt(ctx context.Context, kr keyring.Keyring, c testCase, pt []byte) ([]byte, error) {
	opts := []envelope.Option{
		envelope.WithSuite(c.suite),
		envelope.WithFrameSize(c.frame),
		envelope.WithContext(c.ctx.ec),
		envelope.WithCommitmentPolicy(encryptPolicy(c.suite)),
	}
	if !c.stream() {
		return envelope.Encrypt(ctx, kr, pt, opts...)
	}
	var buf bytes.Buffer
	w, err := envelope.NewWriter(ctx, &buf, kr, opts...)
	if err != nil {
		return nil, err
	}
	// Uneven writes, so that frames are assembled across calls.
	for rest := pt; len(rest) > 0; {
		n := min(len(rest), 1000)
		if _, err := w.Write(rest[:n]); err != nil {
			return nil, err
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// goDecrypt decrypts ct with keyring d and checks the result against c.
func (r *run) goDecrypt(c testCase, d string, ct []byte) error {
	kr := r.krs.goKR[d]
	var opts []envelope.Option
	if !c.suite.Committing() {
		opts = append(opts, envelope.WithCommitmentPolicy(envelope.RequireEncryptAllowDecrypt))
	}
	var (
		pt  []byte
		hdr *envelope.Header
		err error
	)
	if c.stream() {
		var rd *envelope.Reader
		rd, err = envelope.NewReader(r.ctx, bytes.NewReader(ct), kr, opts...)
		if err != nil {
			return fmt.Errorf("NewReader: %w", err)
		}
		hdr = rd.Header()
		pt, err = io.ReadAll(rd)
	} else {
		pt, hdr, err = envelope.Decrypt(r.ctx, kr, ct, opts...)
	}
	if err != nil {
		return fmt.Errorf("decrypt in Go: %w", err)
	}
	if !bytes.Equal(pt, r.pts.get(c.ptLen)) {
		return fmt.Errorf("plaintext differs: got %d bytes, want %d", len(pt), c.ptLen)
	}
	return r.checkHeader(c, int(hdr.Suite), hdr.Context, hdr.FrameSize, hdr.Providers())
}

func (r *run) checkJSDecrypt(c testCase, res jsResult) error {
	if !res.OK {
		return fmt.Errorf("decrypt in JS: %s", res.Error)
	}
	if res.PlaintextLength != c.ptLen || res.PlaintextSHA256 != r.pts.sum[c.ptLen] {
		return fmt.Errorf("JS plaintext differs: got %d bytes, SHA-256 %s", res.PlaintextLength, res.PlaintextSHA256)
	}
	h := res.Header
	return r.checkHeader(c, h.Suite, h.Context, h.FrameLength, h.Providers)
}

// checkHeader compares a header as read by either side with the case.
func (r *run) checkHeader(c testCase, suite int, ec map[string]string, frame int, providers []string) error {
	if suite != int(c.suite) {
		return fmt.Errorf("header suite 0x%04X, want 0x%04X", suite, uint16(c.suite))
	}
	if frame != c.frame {
		return fmt.Errorf("header frame length %d, want %d", frame, c.frame)
	}
	got := maps.Clone(ec)
	if got == nil {
		got = map[string]string{}
	}
	_, hasKey := got[publicKeyContextKey]
	if hasKey != c.suite.Signed() {
		return fmt.Errorf("header context has %s: %v, suite signed: %v", publicKeyContextKey, hasKey, c.suite.Signed())
	}
	delete(got, publicKeyContextKey)
	if !maps.Equal(got, c.ctx.ec) {
		return fmt.Errorf("header context %q, want %q", got, c.ctx.ec)
	}
	if len(providers) != r.krs.providers[c.keyring] {
		return fmt.Errorf("header has %d EDKs, want %d", len(providers), r.krs.providers[c.keyring])
	}
	for _, p := range providers {
		if p != namespace {
			return fmt.Errorf("header EDK provider %q, want %q", p, namespace)
		}
	}
	return nil
}

// parallel calls f(0) … f(n-1) on GOMAXPROCS goroutines.
func parallel(n int, f func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
