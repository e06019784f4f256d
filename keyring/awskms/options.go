package awskms

import (
	"fmt"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Option configures a keyring. Each constructor accepts only the options
// that apply to it and fails with keyring.ErrInvalidConfig on the others.
type Option func(*config) error

type config struct {
	grantTokens []string
	filter      *DiscoveryFilter
	publicKey   []byte
}

// DiscoveryFilter limits a discovery keyring to keys of one partition and
// a set of accounts.
type DiscoveryFilter struct {
	Partition string
	Accounts  []string
}

func (f *DiscoveryFilter) allows(a ARN) bool {
	if f == nil {
		return true
	}
	if a.Partition != f.Partition {
		return false
	}
	for _, acct := range f.Accounts {
		if acct == a.Account {
			return true
		}
	}
	return false
}

// WithGrantTokens passes grant tokens with every KMS call.
func WithGrantTokens(tokens ...string) Option {
	return func(c *config) error {
		for _, t := range tokens {
			if t == "" {
				return fmt.Errorf("%w: empty grant token", keyring.ErrInvalidConfig)
			}
		}
		c.grantTokens = append(c.grantTokens, tokens...)
		return nil
	}
}

// WithDiscoveryFilter limits a discovery keyring to keys in partition
// (such as "aws") owned by one of accounts.
func WithDiscoveryFilter(partition string, accounts ...string) Option {
	return func(c *config) error {
		if partition == "" || len(accounts) == 0 {
			return fmt.Errorf("%w: a discovery filter needs a partition and at least one account", keyring.ErrInvalidConfig)
		}
		for _, a := range accounts {
			if a == "" {
				return fmt.Errorf("%w: empty account id in discovery filter", keyring.ErrInvalidConfig)
			}
		}
		c.filter = &DiscoveryFilter{Partition: partition, Accounts: append([]string(nil), accounts...)}
		return nil
	}
}

// WithPublicKey gives the RSA keyring the public key of its KMS key (PEM or
// DER SubjectPublicKeyInfo) so it never calls GetPublicKey.
func WithPublicKey(pemOrDER []byte) Option {
	return func(c *config) error {
		c.publicKey = append([]byte(nil), pemOrDER...)
		return nil
	}
}

// apply runs opts and rejects options the constructor does not take.
func apply(opts []Option, allowed ...string) (*config, error) {
	c := &config{}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(c); err != nil {
			return nil, err
		}
	}
	used := map[string]bool{
		"grant tokens":     c.grantTokens != nil,
		"discovery filter": c.filter != nil,
		"public key":       c.publicKey != nil,
	}
	for _, a := range allowed {
		delete(used, a)
	}
	for name, set := range used {
		if set {
			return nil, fmt.Errorf("%w: option %s does not apply to this keyring", keyring.ErrInvalidConfig, name)
		}
	}
	return c, nil
}
