package awskms

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// ClientSupplier returns the KMS client for a Region. The empty Region
// asks for the default client (used for key identifiers that are not ARNs).
type ClientSupplier func(region string) (Client, error)

// CachingSupplier returns a ClientSupplier that calls newClient once per
// Region and then reuses its client. It is safe for concurrent use; a
// failed call is retried on the next request for that Region.
func CachingSupplier(newClient func(region string) (Client, error)) ClientSupplier {
	var mu sync.Mutex
	clients := map[string]Client{}
	return func(region string) (Client, error) {
		mu.Lock()
		defer mu.Unlock()
		if c, ok := clients[region]; ok {
			return c, nil
		}
		c, err := newClient(region)
		if err != nil {
			return nil, err
		}
		if c == nil {
			return nil, fmt.Errorf("%w: no KMS client for Region %q", keyring.ErrInvalidConfig, region)
		}
		clients[region] = c
		return c, nil
	}
}

// SDKSupplier returns a caching ClientSupplier of *kms.Client built from
// cfg, with the Region set to the requested one (cfg's for "").
func SDKSupplier(cfg aws.Config, optFns ...func(*kms.Options)) ClientSupplier {
	return CachingSupplier(func(region string) (Client, error) {
		fns := slices.Clone(optFns)
		if region != "" {
			fns = append(fns, func(o *kms.Options) { o.Region = region })
		}
		return kms.NewFromConfig(cfg, fns...), nil
	})
}

func (s ClientSupplier) client(region string) (Client, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil client supplier", keyring.ErrInvalidConfig)
	}
	c, err := s(region)
	if err != nil {
		return nil, fmt.Errorf("%w: KMS client for Region %q: %w", keyring.ErrInvalidConfig, region, err)
	}
	if c == nil {
		return nil, fmt.Errorf("%w: no KMS client for Region %q", keyring.ErrInvalidConfig, region)
	}
	return c, nil
}

// regionOf returns the Region of an ARN identifier, "" for others.
func regionOf(id string) string {
	if a, err := ParseARN(id); err == nil {
		return a.Region
	}
	return ""
}

// NewMultiKeyring returns a multi-keyring of strict keyrings: generator
// (may be empty) generates and wraps each data key, and every child adds
// its own encrypted data key. Each keyring's client comes from supplier for
// the Region of its ARN. No two identifiers may name the same multi-Region
// key (even in different Regions). It accepts WithGrantTokens.
func NewMultiKeyring(supplier ClientSupplier, generator string, children []string, opts ...Option) (*keyring.Multi, error) {
	all := children
	if generator != "" {
		all = append([]string{generator}, children...)
	}
	if err := checkMRKDuplicates(all); err != nil {
		return nil, err
	}
	build := func(id string) (*Keyring, error) {
		c, err := supplier.client(regionOf(id))
		if err != nil {
			return nil, err
		}
		return NewKeyring(c, id, opts...)
	}
	var gen keyring.Keyring
	if generator != "" {
		g, err := build(generator)
		if err != nil {
			return nil, err
		}
		gen = g
	}
	kids := make([]keyring.Keyring, 0, len(children))
	for _, id := range children {
		k, err := build(id)
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	return keyring.NewMulti(gen, kids...)
}

// checkMRKDuplicates fails when two identifiers name the same multi-Region
// key, listing every such identifier.
func checkMRKDuplicates(ids []string) error {
	byResource := map[string][]string{}
	var order []string
	for _, id := range ids {
		if !IsMRKIdentifier(id) {
			continue
		}
		res := id
		if a, err := ParseARN(id); err == nil {
			res = a.ResourceID
		}
		if byResource[res] == nil {
			order = append(order, res)
		}
		byResource[res] = append(byResource[res], id)
	}
	var dups []string
	for _, res := range order {
		if len(byResource[res]) > 1 {
			dups = append(dups, byResource[res]...)
		}
	}
	if len(dups) > 0 {
		return fmt.Errorf("%w: several identifiers name the same multi-Region key: %s", keyring.ErrInvalidConfig, strings.Join(dups, ", "))
	}
	return nil
}

// NewDiscoveryMultiKeyring returns a multi-keyring of one discovery
// keyring per Region, clients from supplier. It only decrypts. It accepts
// WithDiscoveryFilter and WithGrantTokens.
func NewDiscoveryMultiKeyring(supplier ClientSupplier, regions []string, opts ...Option) (*keyring.Multi, error) {
	return discoveryMulti(supplier, regions, func(c Client, region string) (keyring.Keyring, error) {
		return NewDiscoveryKeyring(c, opts...)
	})
}

// NewMRKDiscoveryMultiKeyring returns a multi-keyring of one MRK discovery
// keyring per Region, clients from supplier. It only decrypts. It accepts
// WithDiscoveryFilter and WithGrantTokens.
func NewMRKDiscoveryMultiKeyring(supplier ClientSupplier, regions []string, opts ...Option) (*keyring.Multi, error) {
	return discoveryMulti(supplier, regions, func(c Client, region string) (keyring.Keyring, error) {
		return NewMRKDiscoveryKeyring(c, region, opts...)
	})
}

func discoveryMulti(supplier ClientSupplier, regions []string, mk func(Client, string) (keyring.Keyring, error)) (*keyring.Multi, error) {
	if len(regions) == 0 {
		return nil, fmt.Errorf("%w: no Regions", keyring.ErrInvalidConfig)
	}
	kids := make([]keyring.Keyring, 0, len(regions))
	for _, r := range regions {
		if r == "" {
			return nil, fmt.Errorf("%w: empty Region", keyring.ErrInvalidConfig)
		}
		c, err := supplier.client(r)
		if err != nil {
			return nil, err
		}
		k, err := mk(c, r)
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	return keyring.NewMulti(nil, kids...)
}
