package keyring

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"

	"github.com/cryptkeeper-go/cryptkeeper/internal/errcat"
)

// unwrapBudget counts the failed unwrap attempts of one message, and of
// the budgets it is nested in.
type unwrapBudget struct {
	max    int64
	failed atomic.Int64
	parent *unwrapBudget
}

// spent returns the first budget of b and its parents that is spent, or nil.
func (b *unwrapBudget) spent() *unwrapBudget {
	for ; b != nil; b = b.parent {
		if b.failed.Load() >= b.max {
			return b
		}
	}
	return nil
}

// charge counts a failed attempt against b and its parents.
func (b *unwrapBudget) charge() {
	for ; b != nil; b = b.parent {
		b.failed.Add(1)
	}
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
// failures below 1 is treated as 1.
//
// A budget already on ctx still applies: every failure under the
// returned context counts against both, and attempts stop when either is
// spent. So a caller can bound the failed attempts of a whole request
// (say, a batch of messages) with one budget, and the per-message budget
// of a decrypter never lifts it.
func WithUnwrapBudget(ctx context.Context, failures int) context.Context {
	parent, _ := ctx.Value(budgetKey{}).(*unwrapBudget)
	b := &unwrapBudget{max: int64(max(failures, 1)), parent: parent}
	return context.WithValue(ctx, budgetKey{}, b)
}

// TryUnwrap makes one attempt to unwrap an encrypted data key within the
// budget of ctx (see WithUnwrapBudget). It fails without calling unwrap
// with an error matching ErrTransient when ctx has ended, and with
// ErrUnwrapLimit when the budget is spent. Otherwise it returns what
// unwrap returns, counting a failure against the budget; a failure while
// ctx ended is returned as ErrTransient (and not ErrNoDecryptionKey,
// whatever the attempt's error was: the search was cut short), with ctx's
// error and the attempt's in the chain. Keyrings call it for every
// attempt that costs a remote call or a private-key operation.
func TryUnwrap(ctx context.Context, unwrap func() ([]byte, error)) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, transient(err)
	}
	b, _ := ctx.Value(budgetKey{}).(*unwrapBudget)
	if spent := b.spent(); spent != nil {
		return nil, fmt.Errorf("%w (%d failed)", ErrUnwrapLimit, spent.max)
	}
	pdk, err := unwrap()
	if err == nil {
		return pdk, nil
	}
	b.charge()
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(err, cerr) {
			return nil, transient(err)
		}
		return nil, transient(cerr, err)
	}
	return nil, err
}

// categories are the sentinels of the failures of a keyring that
// unwrapped nothing; such an error matches exactly one of them.
var categories = []error{ErrTransient, ErrUnwrapLimit, ErrNoDecryptionKey}

// transient returns an error of the causes that matches ErrTransient and
// no other category: the sentinels of the others are hidden from
// errors.Is, the causes are otherwise kept.
func transient(causes ...error) error {
	if len(causes) == 1 && errcat.Only(causes[0], ErrTransient, categories) {
		return causes[0]
	}
	return errcat.Wrap(ErrTransient, categories, "", causes...)
}

// IsTransient reports whether err is a failure that may pass: it matches
// context.Canceled or context.DeadlineExceeded, or else it matches
// ErrTransient or is a network error, unless a TLS certificate failed
// verification (a certificate the client does not trust, for another
// host, or expired: a misconfiguration that retrying will not mend). A
// DNS "no such host" counts as transient, since a name service outage
// looks the same.
//
// Transient wins over the other categories: a network error that a
// keyring wrapped in ErrNoDecryptionKey is transient, because the key
// service was not asked.
func IsTransient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if certificateFailure(err) {
		return false
	}
	var ne net.Error
	return errors.Is(err, ErrTransient) || errors.As(err, &ne)
}

// certificateFailure reports whether err says a TLS peer's certificate
// failed verification.
func certificateFailure(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &unknown) ||
		errors.As(err, &hostname) || errors.As(err, &invalid)
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
// errors.As, except that errors.Is finds no other category's sentinel in
// them (a transient failure that also matched ErrNoDecryptionKey no longer
// does); the other failures are only described in the message.
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
	var causes, others []error
	for _, err := range errs {
		if belongs(err) {
			causes = append(causes, err)
		} else {
			others = append(others, err)
		}
	}
	var sb strings.Builder
	for i, err := range append(causes[:len(causes):len(causes)], others...) {
		msg := err.Error()
		switch {
		case i > 0:
			sb.WriteString("; ")
		case !strings.HasPrefix(msg, kind.Error()):
			sb.WriteString(kind.Error() + ": ")
		}
		sb.WriteString(msg)
	}
	return errcat.Wrap(kind, categories, sb.String(), causes...)
}
