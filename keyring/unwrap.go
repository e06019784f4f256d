package keyring

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
)

// unwrapBudget counts the failed unwrap attempts of one message.
type unwrapBudget struct {
	max    int64
	failed atomic.Int64
}

type budgetKey struct{}

// WithUnwrapBudget returns a context under which keyrings make at most
// failures failed attempts to unwrap an encrypted data key, counted
// together across every keyring that gets the context (the children of a
// Multi included). A successful attempt costs nothing. Once the budget is
// spent, further attempts fail with ErrUnwrapLimit without calling out.
//
// Until a data key is unwrapped nothing in a message is authenticated, so
// whoever writes a message controls how many of its encrypted data keys
// name the reader's key; the budget bounds the KMS calls or private-key
// operations such a message can cost. Decrypters set one per message.
// failures below 1 is treated as 1. A budget set on ctx before replaces
// the earlier one for the returned context.
func WithUnwrapBudget(ctx context.Context, failures int) context.Context {
	b := &unwrapBudget{max: int64(max(failures, 1))}
	return context.WithValue(ctx, budgetKey{}, b)
}

// TryUnwrap makes one attempt to unwrap an encrypted data key within the
// budget of ctx (see WithUnwrapBudget). It fails without calling unwrap
// with an error matching ErrTransient when ctx has ended, and with
// ErrUnwrapLimit when the budget is spent. Otherwise it returns what
// unwrap returns, counting a failure against the budget; a failure while
// ctx ended is returned wrapped with ErrTransient. Keyrings call it for
// every attempt that costs a remote call or a private-key operation.
func TryUnwrap(ctx context.Context, unwrap func() ([]byte, error)) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, transient(err)
	}
	b, _ := ctx.Value(budgetKey{}).(*unwrapBudget)
	if b != nil && b.failed.Load() >= b.max {
		return nil, fmt.Errorf("%w (%d failed)", ErrUnwrapLimit, b.max)
	}
	pdk, err := unwrap()
	if err == nil {
		return pdk, nil
	}
	if b != nil {
		b.failed.Add(1)
	}
	if ctx.Err() != nil && !errors.Is(err, ErrTransient) {
		err = transient(err)
	}
	return nil, err
}

// transient wraps err with ErrTransient unless it already matches it.
func transient(err error) error {
	if errors.Is(err, ErrTransient) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrTransient, err)
}

// IsTransient reports whether err is a failure that may pass: it matches
// ErrTransient, context.Canceled or context.DeadlineExceeded, or it is a
// network error.
func IsTransient(err error) bool {
	var ne net.Error
	return errors.Is(err, ErrTransient) || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne)
}

// stopsSearch reports whether an attempt's failure ends the search for a
// data key: the context ended or the budget is spent.
func stopsSearch(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, ErrUnwrapLimit)
}

// UnwrapFailure returns the error of a keyring that unwrapped nothing,
// given the failure of each attempt (or of each child keyring). The error
// matches exactly one of:
//
//   - ErrTransient, when any failure is transient (IsTransient): trying
//     again later may succeed;
//   - ErrUnwrapLimit, when the unwrap budget ran out;
//   - ErrNoDecryptionKey otherwise (ErrNotMine when errs is empty: no
//     encrypted data key was the keyring's).
//
// The failures of the chosen category stay in the chain for errors.Is and
// errors.As; the others are only described in the message.
func UnwrapFailure(errs ...error) error {
	if len(errs) == 0 {
		return ErrNotMine
	}
	kind := ErrNoDecryptionKey
	belongs := func(err error) bool { return !IsTransient(err) && !errors.Is(err, ErrUnwrapLimit) }
	for _, err := range errs {
		if IsTransient(err) {
			kind, belongs = ErrTransient, IsTransient
			break
		}
		if errors.Is(err, ErrUnwrapLimit) {
			kind = ErrUnwrapLimit
			belongs = func(err error) bool { return errors.Is(err, ErrUnwrapLimit) }
		}
	}
	f := &unwrapFailure{kind: kind}
	for _, err := range errs {
		if belongs(err) {
			f.causes = append(f.causes, err)
		} else {
			f.others = append(f.others, err)
		}
	}
	return f
}

// unwrapFailure is the error of UnwrapFailure. Unwrap returns only its
// category and the causes of that category, so that it matches one
// category however its attempts failed.
type unwrapFailure struct {
	kind   error
	causes []error
	others []error
}

func (e *unwrapFailure) Error() string {
	var sb strings.Builder
	for i, err := range append(e.causes[:len(e.causes):len(e.causes)], e.others...) {
		msg := err.Error()
		switch {
		case i > 0:
			sb.WriteString("; ")
		case !strings.HasPrefix(msg, e.kind.Error()):
			sb.WriteString(e.kind.Error() + ": ")
		}
		sb.WriteString(msg)
	}
	return sb.String()
}

func (e *unwrapFailure) Unwrap() []error {
	return append([]error{e.kind}, e.causes...)
}
