package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// cryptFlags are the flags of encrypt and decrypt.
type cryptFlags struct {
	keyFlags
	input, output   string
	recursive       bool
	force           bool
	noOverwrite     bool
	quiet           bool
	suffix          string
	jobs            int
	metadataOutput  string
	frameLength     int
	algorithm       string
	buffer          bool
	decryptUnsigned bool
	maxLength       int
	suppressMeta    bool
}

func (f *cryptFlags) register(cmd *cobra.Command, encrypting bool) {
	fs := cmd.Flags()
	f.keyFlags.register(fs, "endpoint-url")
	fs.StringVarP(&f.input, "input", "i", "", `input file or directory ("-": standard input)`)
	fs.StringVarP(&f.output, "output", "o", "", `output file or directory ("-": standard output)`)
	fs.BoolVarP(&f.recursive, "recursive", "r", false, "encrypt or decrypt every file under the input directory, in parallel")
	fs.BoolVarP(&f.force, "force", "f", false, "replace existing output files")
	fs.BoolVar(&f.noOverwrite, "no-overwrite", false, "never replace existing output files (the default; accepted for the AWS Encryption CLI's sake)")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "no progress bar")
	def := ".decrypted"
	if encrypting {
		def = ".encrypted"
	}
	fs.StringVar(&f.suffix, "suffix", def, "added to input names when --output is a directory")
	// Small files spend most of their time waiting for fsync: several per CPU.
	fs.IntVarP(&f.jobs, "jobs", "j", 4*runtime.GOMAXPROCS(0), "files processed in parallel with --recursive")
	fs.StringVar(&f.metadataOutput, "metadata-output", "", `append one JSON line per message (its header) to this file ("-": standard output)`)
	fs.BoolVarP(&f.suppressMeta, "suppress-metadata", "S", false, "write no metadata (the default; accepted for the AWS Encryption CLI's sake)")
	if encrypting {
		fs.IntVar(&f.frameLength, "frame-length", envelope.DefaultFrameSize, "plaintext bytes per frame")
		fs.StringVar(&f.algorithm, "algorithm", envelope.AES256GCMHKDFSHA512CommitKeyECDSAP384.String(), "algorithm suite, by name or hex id")
	} else {
		fs.BoolVar(&f.buffer, "buffer", false, "hold all plaintext in memory until the whole message is authenticated (standard output)")
		fs.BoolVar(&f.decryptUnsigned, "decrypt-unsigned", false, "refuse signed messages (before any key is used) and stream each frame once authenticated")
		fs.IntVar(&f.maxLength, "max-length", 0, "largest frame (or non-framed body) accepted, in bytes (0: no limit)")
	}
	cmd.MarkFlagRequired("input")
	cmd.MarkFlagRequired("output")
	_ = cmd.MarkFlagFilename("input")
	_ = cmd.MarkFlagFilename("output")
	_ = cmd.MarkFlagFilename("raw-aes-key")
	_ = cmd.MarkFlagFilename("raw-rsa-key", "pem")
	_ = cmd.RegisterFlagCompletionFunc("commitment-policy", cobra.FixedCompletions(
		[]string{"require-encrypt-require-decrypt", "require-encrypt-allow-decrypt", "forbid-encrypt-allow-decrypt"}, cobra.ShellCompDirectiveNoFileComp))
	if encrypting {
		var names []string
		for _, id := range envelope.Suites() {
			names = append(names, id.String())
		}
		_ = cmd.RegisterFlagCompletionFunc("algorithm", cobra.FixedCompletions(names, cobra.ShellCompDirectiveNoFileComp))
	}
}

func newEncrypt(e *env) *cobra.Command {
	f := &cryptFlags{}
	cmd := &cobra.Command{
		Use:   "encrypt -i INPUT -o OUTPUT (--wrapping-keys key=ARN | --raw-aes-key FILE | --raw-rsa-key FILE) [flags]",
		Short: "Encrypt files, directories or standard input into AWS Encryption SDK messages",
		Long: `Encrypt each input into one message, streaming in constant memory. The output
appears only once the whole message is written; an existing output is never
replaced without --force. With several wrapping keys, each data key is wrapped
under all of them (the first generates it).`,
		Example: `  cryptkeeper encrypt -i report.pdf -o report.pdf.ck --raw-aes-key team.key -c dept=finance
  cryptkeeper encrypt -i logs/ -o logs.enc/ -r --wrapping-keys key=arn:aws:kms:us-west-2:111122223333:key/KEY-ID \
      --cache-max-age 5m --cache-max-messages 10000
  tar c data | cryptkeeper encrypt -i - -o - --raw-rsa-key recovery-public.pem --key-name recovery > data.tar.ck`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runCrypt(cmd.Context(), e, f, true) },
	}
	f.register(cmd, true)
	return cmd
}

func newDecrypt(e *env) *cobra.Command {
	f := &cryptFlags{}
	cmd := &cobra.Command{
		Use:   "decrypt -i INPUT -o OUTPUT (--wrapping-keys ... | --raw-aes-key FILE | --raw-rsa-key FILE) [flags]",
		Short: "Decrypt AWS Encryption SDK messages from files, directories or standard input",
		Long: `Decrypt each input. A file output appears only after the whole message,
signature included, authenticated. To standard output, the plaintext of a
signed message is held back until its signature verifies (spooled to a sealed
temporary file beyond a few MiB; --buffer keeps it all in memory); an unsigned
message's frames are written as each authenticates, unless --buffer.
Give the encryption context you expect with -c: every pair must be in the
message, or decryption fails (exit status 5).`,
		Example: `  cryptkeeper decrypt -i report.pdf.ck -o report.pdf --raw-aes-key team.key -c dept=finance
  cryptkeeper decrypt -i logs.enc/ -o logs/ -r --wrapping-keys discovery=true,discovery-partition=aws,discovery-account=111122223333
  cryptkeeper decrypt -i - -o - --raw-rsa-key recovery.pem --key-name recovery --buffer < data.tar.ck | tar x`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runCrypt(cmd.Context(), e, f, false) },
	}
	f.register(cmd, false)
	return cmd
}

// cryptOp is one encrypt or decrypt run over its jobs.
type cryptOp struct {
	e          *env
	f          *cryptFlags
	encrypting bool
	kr         keyring.Keyring
	opts       []envelope.Option
	meta       *metaWriter
	progress   *progress
	ecNames    []string // context keys the message must hold, any value
	ec         map[string]string
}

func (op *cryptOp) name() string {
	if op.encrypting {
		return "encrypt"
	}
	return "decrypt"
}

func runCrypt(ctx context.Context, e *env, f *cryptFlags, encrypting bool) error {
	op := &cryptOp{e: e, f: f, encrypting: encrypting}
	ec, names, err := f.contextAndNames()
	if err != nil {
		return err
	}
	if encrypting && len(names) > 0 {
		return usagef("--encryption-context %q: want key=value", names[0])
	}
	op.ecNames = names
	op.ec = ec
	if f.force && f.noOverwrite {
		return usagef("--force and --no-overwrite exclude each other")
	}
	if f.suppressMeta && f.metadataOutput != "" {
		return usagef("--suppress-metadata and --metadata-output exclude each other")
	}
	policy, err := parsePolicy(f.policy)
	if err != nil {
		return err
	}
	op.opts = []envelope.Option{envelope.WithCommitmentPolicy(policy)}
	if ec != nil {
		op.opts = append(op.opts, envelope.WithContext(ec))
	}
	if f.maxEDKs != 0 {
		op.opts = append(op.opts, envelope.WithMaxEncryptedDataKeys(f.maxEDKs))
	}
	if encrypting {
		suite, err := parseSuite(f.algorithm)
		if err != nil {
			return err
		}
		op.opts = append(op.opts, envelope.WithSuite(suite), envelope.WithFrameSize(f.frameLength))
	} else {
		if f.decryptUnsigned {
			op.opts = append(op.opts, envelope.WithUnsignedOnly())
		}
		if f.maxLength != 0 {
			op.opts = append(op.opts, envelope.WithMaxFrameSize(f.maxLength))
		}
	}
	c, err := f.newCache()
	if err != nil {
		return err
	}
	if c != nil {
		op.opts = append(op.opts, envelope.WithCache(c))
	}
	if f.jobs < 1 {
		return usagef("--jobs must be at least 1")
	}
	jobs, err := planJobs(f.input, f.output, f.recursive, f.suffix)
	if err != nil {
		return err
	}
	if op.kr, err = f.keyring(ctx, encrypting); err != nil {
		return err
	}
	if f.metadataOutput != "" {
		if op.meta, err = openMeta(f.metadataOutput, e.stdout); err != nil {
			return err
		}
		defer op.meta.close()
		for _, j := range jobs {
			if j.out == "-" && f.metadataOutput == "-" {
				return usagef("--metadata-output - and --output - would both write standard output")
			}
		}
	}
	done := make(chan struct{})
	defer close(done)
	go removeTempsOnSignal(ctx, done, e.stderr, grace)
	op.progress = newProgress(e.stderr, f.quiet, jobs, f.recursive)
	defer op.progress.finish()
	if !f.recursive {
		return op.one(ctx, jobs[0])
	}
	return op.all(ctx, jobs)
}

// all runs the jobs on f.jobs workers, reports every failure on its own
// line and returns the first.
func (op *cryptOp) all(ctx context.Context, jobs []job) error {
	var (
		next     atomic.Int64
		mu       sync.Mutex
		first    error
		wg       sync.WaitGroup
		workers  = min(op.f.jobs, len(jobs))
		parallel = []envelope.Option{envelope.WithConcurrency(1)}
	)
	if workers <= 1 {
		parallel = nil
	}
	dirs := map[string]bool{}
	for _, j := range jobs {
		d := filepath.Dir(j.out)
		if !dirs[d] {
			dirs[d] = true
			if err := os.MkdirAll(d, 0o755); err != nil {
				return &fileError{op: op.name(), name: j.in, err: err}
			}
		}
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if int(i) >= len(jobs) || ctx.Err() != nil {
					return
				}
				if err := op.one(ctx, jobs[i], parallel...); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					op.progress.clear()
					fmt.Fprintf(op.e.stderr, "cryptkeeper: %s\n", oneLine(err))
				}
				op.progress.fileDone()
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return &reportedError{first}
	}
	return ctx.Err()
}

// reportedError is an error already printed; only its status remains.
type reportedError struct{ err error }

func (e *reportedError) Error() string { return e.err.Error() }
func (e *reportedError) Unwrap() error { return e.err }

// one encrypts or decrypts one job.
func (op *cryptOp) one(ctx context.Context, j job, extra ...envelope.Option) error {
	var src io.Reader = op.e.stdin
	if j.in != "-" {
		f, err := os.Open(j.in)
		if err != nil {
			return &fileError{op: op.name(), name: j.in, err: err}
		}
		defer f.Close()
		src = f
	}
	src = op.progress.reader(ctxReader{ctx, src}, j.size)
	opts := append(append([]envelope.Option{}, op.opts...), extra...)
	var hdr []byte
	var err error
	if j.out == "-" {
		hdr, err = op.stream(ctx, src, j, op.e.stdout, false, opts)
	} else {
		err = writeAtomic(ctx, j.out, op.f.force, func(f *os.File) error {
			hdr, err = op.stream(ctx, src, j, f, true, opts)
			return err
		})
	}
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, errExists) {
			err = fmt.Errorf("%w: %w", errInterrupted, err)
		}
		return &fileError{op: op.name(), name: displayName(j), err: err}
	}
	if op.meta != nil {
		mode := op.name()
		if op.f.decryptUnsigned {
			mode = "decrypt-unsigned" // as the AWS Encryption CLI names it
		}
		return op.meta.write(mode, j, hdr)
	}
	return nil
}

func displayName(j job) string {
	if j.in == "-" {
		return "(stdin)"
	}
	return j.in
}

// stream encrypts or decrypts src into dst and returns the message header.
// toFile says that dst is a temporary file, discarded unless the whole
// message authenticates.
func (op *cryptOp) stream(ctx context.Context, src io.Reader, j job, dst io.Writer, toFile bool, opts []envelope.Option) ([]byte, error) {
	if op.encrypting {
		if j.size >= 0 {
			opts = append(opts, envelope.WithPlaintextLength(j.size))
		}
		capture := &headerCapture{w: dst}
		w, err := envelope.NewWriter(ctx, capture, op.kr, opts...)
		if err != nil {
			return nil, err
		}
		capture.done = true
		if _, err := io.Copy(w, src); err != nil {
			return nil, err
		}
		return capture.buf, w.Close()
	}
	// A file output is discarded unless Read ends with io.EOF, so frames may
	// go to it before the signature verifies, in constant memory.
	if toFile || op.f.buffer {
		if !op.f.decryptUnsigned {
			opts = append(opts, envelope.WithInsecureReleaseBeforeSignature())
		}
	}
	counter := &headerCapture{}
	// Read the message in large blocks: the reader asks for a frame at a time.
	bufSize := 1 << 20
	if j.size >= 0 {
		bufSize = int(min(max(j.size, 4096), 1<<20))
	}
	br := bufio.NewReaderSize(io.TeeReader(src, counter), bufSize)
	r, err := envelope.NewReader(ctx, br, op.kr, opts...)
	if err != nil {
		return nil, op.missingContext(counter.buf, err)
	}
	defer r.Close()
	counter.done = true
	for _, k := range op.ecNames {
		if _, ok := r.Header().Context[k]; !ok {
			return nil, fmt.Errorf("%w: the message has no context key %q", envelope.ErrContext, k)
		}
	}
	if op.f.buffer && !toFile {
		pt, err := io.ReadAll(r)
		if err != nil {
			keyring.Wipe(pt)
			return nil, err
		}
		defer keyring.Wipe(pt)
		_, err = dst.Write(pt)
		return counter.buf, err
	}
	if _, err := r.WriteTo(dst); err != nil {
		return nil, err
	}
	return counter.buf, nil
}

// missingContext turns err, a failure to get the data key, into a context
// error when a pair given with -c names a key the message does not hold:
// the library takes such pairs for required context that the message does
// not store, so the data key cannot unwrap, but the cause is the context.
func (op *cryptOp) missingContext(hdr []byte, err error) error {
	if !errors.Is(err, envelope.ErrNoDecryptionKey) || op.ec == nil {
		return err
	}
	h, herr := parseHeader(bytes.NewReader(hdr))
	if herr != nil {
		return err
	}
	var missing []string
	for k := range op.ec {
		if _, ok := h.EncryptionContext[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return err
	}
	slices.Sort(missing)
	return fmt.Errorf("%w: the message has no context key %q (%v)", envelope.ErrContext, missing[0], err)
}

// headerCapture keeps what passes through it until done: the message
// header, which NewWriter writes (and NewReader reads, give or take what a
// buffered read takes ahead) before it returns.
type headerCapture struct {
	w    io.Writer
	buf  []byte
	done bool
}

func (h *headerCapture) Write(p []byte) (int, error) {
	if !h.done {
		h.buf = append(h.buf, p...)
	}
	if h.w == nil {
		return len(p), nil
	}
	return h.w.Write(p)
}
