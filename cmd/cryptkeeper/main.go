// Command cryptkeeper encrypts and decrypts files, streams and Amazon S3
// objects in the AWS Encryption SDK message format, from the command line.
//
// Messages it writes decrypt with every AWS Encryption SDK (and the AWS
// Encryption CLI), and the reverse. Its flags follow the AWS Encryption CLI
// where the two overlap (--wrapping-keys, --encryption-context,
// --commitment-policy, --max-encrypted-data-keys, --frame-length,
// --algorithm, --suffix, --metadata-output, --buffer, --decrypt-unsigned).
//
//	cryptkeeper keys generate --aes backup.key
//	cryptkeeper encrypt -i backup.tar -o backup.tar.ck --raw-aes-key backup.key --encryption-context purpose=backup
//	cryptkeeper decrypt -i backup.tar.ck -o backup.tar --raw-aes-key backup.key --encryption-context purpose=backup
//
// # Safety
//
// Output goes to a temporary file (mode 0600) beside its destination and is
// renamed into place only once the whole message has been written or, on
// decrypt, authenticated (signature included); on any failure, and on SIGINT
// or SIGTERM, the temporary file is removed. (Decrypting into a file, frames
// go to the temporary file as each authenticates, before the signature of a
// signed message is checked: that keeps memory constant, and the file is
// never renamed into place unless the signature verifies.) An existing destination is never
// replaced without --force. Errors are one line naming the file and the
// category of the failure; they never hold key bytes or plaintext.
//
// # Exit status
//
//	0  success
//	1  an error of no category below (I/O, a missing input)
//	2  usage: a bad flag, argument or key file
//	3  authentication: the message was altered or the key is not the right one
//	   (a tag, signature or key commitment did not verify, or the message is
//	   malformed)
//	4  no decryption key: no wrapping key given could unwrap the data key
//	5  refused by policy: encryption context mismatch, a signed message with
//	   --decrypt-unsigned, a limit, a commitment policy
//	6  transient: a key service or store was unreachable or throttled; retry
//	7  the output exists (use --force)
//	130 interrupted (SIGINT or SIGTERM); no partial output is left
//
// With --recursive, the status is that of the first file that failed.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// env is what a command reads and writes besides files.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// run runs the command line args and returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRoot(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	if ctx.Err() != nil && !errors.Is(err, errInterrupted) {
		err = &fileError{op: opName(root, args), err: fmt.Errorf("%w: %w", errInterrupted, err)}
	}
	if errors.Is(err, errInterrupted) {
		var re *reportedError
		if !errors.As(err, &re) {
			fmt.Fprintf(stderr, "cryptkeeper: %s\n", oneLine(err))
		}
		return exitInterrupted
	}
	var re *reportedError
	if errors.As(err, &re) {
		return exitCode(re.err)
	}
	var ue *usageError
	if errors.As(err, &ue) || isFlagError(err) {
		fmt.Fprintf(stderr, "cryptkeeper: usage: %v\n", oneLine(err))
		return exitUsage
	}
	fmt.Fprintf(stderr, "cryptkeeper: %s\n", oneLine(err))
	return exitCode(err)
}

func opName(root *cobra.Command, args []string) string {
	if c, _, err := root.Find(args); err == nil && c != root {
		return c.Name()
	}
	return "cryptkeeper"
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "cryptkeeper",
		Short: "Encrypt and decrypt files, streams and S3 objects in the AWS Encryption SDK format",
		Long: `cryptkeeper encrypts and decrypts files, directories, streams and Amazon S3
objects with envelope encryption: each message gets a fresh data key, wrapped
by AWS KMS keys (--wrapping-keys) or by keys you hold (--raw-aes-key,
--raw-rsa-key). Messages are wire compatible with the AWS Encryption SDKs and
the AWS Encryption CLI.

Output is written to a temporary file beside the destination and renamed only
once the whole message is written or authenticated; an existing file is never
replaced without --force.

Exit status: 0 success, 1 other error, 2 usage, 3 authentication (altered
message or wrong key), 4 no decryption key, 5 refused by policy (context,
signed/unsigned, limits), 6 transient (retry), 7 output exists, 130
interrupted.`,
		Example: `  cryptkeeper keys generate --aes backup.key
  cryptkeeper encrypt -i backup.tar -o backup.tar.ck --raw-aes-key backup.key -c purpose=backup
  cryptkeeper decrypt -i backup.tar.ck -o backup.tar --raw-aes-key backup.key -c purpose=backup`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(newEncrypt(e), newDecrypt(e), newInspect(e), newS3(e), newKeys(e), newKMS(e))
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Example = `  cryptkeeper completion bash > /etc/bash_completion.d/cryptkeeper
  cryptkeeper completion zsh > "${fpath[1]}/_cryptkeeper"
  cryptkeeper completion fish > ~/.config/fish/completions/cryptkeeper.fish`
			for _, sh := range c.Commands() {
				sh.Example = completionExamples[sh.Name()]
			}
		}
	}
	return root
}

// completionExamples are the examples of cryptkeeper completion SHELL.
var completionExamples = map[string]string{
	"bash":       `  source <(cryptkeeper completion bash)`,
	"zsh":        `  cryptkeeper completion zsh > "${fpath[1]}/_cryptkeeper"`,
	"fish":       `  cryptkeeper completion fish | source`,
	"powershell": `  cryptkeeper completion powershell | Out-String | Invoke-Expression`,
}
