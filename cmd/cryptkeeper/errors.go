package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/s3crypto"
)

// Exit statuses (see the package documentation).
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitAuth        = 3
	exitNoKey       = 4
	exitPolicy      = 5
	exitTransient   = 6
	exitExists      = 7
	exitInterrupted = 130
)

var (
	// errExists means the output exists and --force was not given.
	errExists = errors.New("output exists (use --force to replace it)")
	// errInterrupted means a signal stopped the command.
	errInterrupted = errors.New("interrupted")
)

// usageError is a bad flag, argument or key file.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// isFlagError reports whether err comes from cobra's argument checks.
func isFlagError(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "unknown command") || strings.HasPrefix(s, "accepts ") ||
		strings.HasPrefix(s, "requires at least") || strings.HasPrefix(s, "required flag")
}

// fileError is the failure of one operation on one file or object.
type fileError struct {
	op   string // "encrypt", "decrypt", ...
	name string // the input, "-" for standard input, s3://bucket/key
	err  error
}

func (e *fileError) Error() string {
	cat := category(e.err) + ": "
	if errors.Is(e.err, errExists) || errors.Is(e.err, errInterrupted) || cat == "error: " {
		cat = ""
	}
	if e.name == "" {
		return fmt.Sprintf("%s: %s%v", e.op, cat, e.err)
	}
	return fmt.Sprintf("%s %s: %s%v", e.op, e.name, cat, e.err)
}

func (e *fileError) Unwrap() error { return e.err }

// categories maps the library's error categories to names and statuses,
// in the order they are checked.
var categories = []struct {
	err    error
	name   string
	status int
}{
	{errInterrupted, "interrupted", exitInterrupted},
	{errExists, "output exists", exitExists},
	{envelope.ErrTransient, "transient", exitTransient},
	{envelope.ErrAuthentication, "authentication", exitAuth},
	{envelope.ErrCommitment, "authentication", exitAuth},
	{envelope.ErrFormat, "malformed message", exitAuth},
	{envelope.ErrNoDecryptionKey, "no decryption key", exitNoKey},
	{envelope.ErrContext, "encryption context", exitPolicy},
	{envelope.ErrPolicy, "policy", exitPolicy},
	{envelope.ErrLimit, "limit", exitPolicy},
	{envelope.ErrInvalidOption, "usage", exitUsage},
	{s3crypto.ErrInvalidOption, "usage", exitUsage},
	{s3crypto.ErrNotEncrypted, "not encrypted", exitAuth},
	{s3crypto.ErrInstructionFile, "instruction file", exitAuth},
	{s3crypto.ErrInvalidRange, "range", exitUsage},
	{s3crypto.ErrInvalidRequest, "usage", exitUsage},
	{s3crypto.ErrUnsupported, "unsupported", exitPolicy},
	{fs.ErrNotExist, "not found", exitError},
	{fs.ErrPermission, "permission denied", exitError},
}

func category(err error) string {
	var ue *usageError
	if errors.As(err, &ue) {
		return "usage"
	}
	for _, c := range categories {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	return "error"
}

func exitCode(err error) int {
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	for _, c := range categories {
		if errors.Is(err, c.err) {
			return c.status
		}
	}
	return exitError
}

// oneLine keeps an error message on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
