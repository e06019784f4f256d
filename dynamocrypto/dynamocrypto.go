package dynamocrypto

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/cryptkeeper-go/cryptkeeper/cache"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Action says what EncryptItem does with an attribute.
type Action int

const (
	// EncryptAndSign encrypts the attribute (stored as B) and signs it.
	EncryptAndSign Action = iota + 1
	// SignOnly stores the attribute in plaintext and signs it. Partition and
	// sort keys are always SignOnly (or SignAndIncludeInContext).
	SignOnly
	// SignAndIncludeInContext is SignOnly and also puts the value into the
	// encryption context the keyring sees (S, N, B or BOOL values only), so
	// that a key service can check it (KMS grants, audit logs). A cache then
	// serves one data key only to items with equal values.
	SignAndIncludeInContext
	// DoNothing stores the attribute as it is, neither encrypted nor signed:
	// it may be changed without breaking the item.
	DoNothing
)

// String returns the action's name.
func (a Action) String() string {
	switch a {
	case EncryptAndSign:
		return "EncryptAndSign"
	case SignOnly:
		return "SignOnly"
	case SignAndIncludeInContext:
		return "SignAndIncludeInContext"
	case DoNothing:
		return "DoNothing"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

func (a Action) signed() bool { return a >= EncryptAndSign && a <= SignAndIncludeInContext }

// Suite selects the algorithms of an item. The zero value is
// SuiteCommitHMAC.
type Suite uint16

const (
	// SuiteCommitHMAC: AES-256-GCM per attribute, key-committing
	// HKDF-SHA-512 derivation, HMAC-SHA-384 footer.
	SuiteCommitHMAC Suite = 0x0001
	// SuiteCommitHMACECDSA is SuiteCommitHMAC plus an ECDSA P-384
	// signature in the footer, so that readers who can decrypt items
	// cannot forge them. A table configured with it reads only items of
	// this suite: an item of SuiteCommitHMAC, which any reader could have
	// made, fails with ErrAuthentication.
	SuiteCommitHMACECDSA Suite = 0x0002
)

// Reserved attribute names. Attribute names starting with ReservedPrefix
// belong to this package.
const (
	ReservedPrefix = "ck$"
	headerAttr     = "ck$h" // the item header (B)
	footerAttr     = "ck$f" // the item footer (B)
	beaconPrefix   = "ck$b_"
)

// HeaderAttribute and FooterAttribute are the names of the attributes that
// hold an item's header and footer.
const (
	HeaderAttribute = headerAttr
	FooterAttribute = footerAttr
)

// TableConfig configures one table. It is plain data; New validates it.
type TableConfig struct {
	// Name is the DynamoDB table name.
	Name string
	// PartitionKey and SortKey name the primary key attributes (SortKey
	// may be empty). They are signed, never encrypted.
	PartitionKey, SortKey string
	// Actions maps attribute names to what happens to them. Key
	// attributes may be left out (they are SignOnly) or listed as SignOnly
	// or SignAndIncludeInContext.
	Actions map[string]Action
	// UnsignedPrefix, when not empty, makes every attribute starting with
	// it DoNothing without being listed.
	UnsignedPrefix string
	// Beacons are the searchable beacons of the table.
	Beacons []Beacon
	// Suite selects the item algorithms (zero: SuiteCommitHMAC).
	Suite Suite
	// Cache, when set, serves data keys to many items from one keyring
	// call, within its limits (see package cache).
	Cache *cache.Cache
	// Context is added to every item's encryption context (besides the
	// table name and SignAndIncludeInContext values); decryption requires
	// the same pairs.
	Context map[string]string
	// BeaconKeys supplies beacon keys; required when Beacons is not empty.
	BeaconKeys BeaconKeySource
	// BeaconKeyID is the id of the table's beacon key, passed to
	// BeaconKeys. Ignored when BeaconKeyAttribute is set.
	BeaconKeyID string
	// BeaconKeyAttribute, when set, names a signed plaintext S attribute
	// (typically a tenant id) whose value is the beacon key id of the
	// item: one beacon key per tenant.
	BeaconKeyAttribute string
	// PlaintextReads makes DecryptItem return items that have neither a
	// header nor a footer as they are, instead of failing with ErrFormat:
	// for reading items written before the table was encrypted, during a
	// migration. Such items are not verified (anyone who can write the
	// table can make one), so turn it off once every item was rewritten.
	PlaintextReads bool
}

// Client encrypts, signs, verifies and decrypts items of configured tables
// and calls DynamoDB through API. It is safe for concurrent use.
type Client struct {
	api    API
	kr     keyring.Keyring
	tables map[string]*table
}

// table is a validated TableConfig.
type table struct {
	name    string
	pk, sk  string
	actions map[string]Action
	prefix  string
	suite   Suite
	cache   *cache.Cache
	context map[string]string
	// plaintextReads is TableConfig.PlaintextReads.
	plaintextReads bool
	// baseContext is context plus the table name: the encryption context
	// of items without SignAndIncludeInContext attributes (never modified).
	baseContext map[string]string

	beacons      []*beacon
	beaconByName map[string]*beacon
	beaconBySrc  map[string]*beacon
	keySource    BeaconKeySource
	keyID        string
	keyAttr      string
	beaconKeys   sync.Map // beaconCacheKey -> *beaconMAC, derived per-beacon keys

	signed []string // names verification needs: signed attributes, keys, header, footer
}

// New returns a Client for the given tables. client may be nil when only
// EncryptItem and DecryptItem are used. Every TableConfig is validated;
// the first problem is returned as an *Error wrapping ErrInvalidConfig that
// names the table and attribute.
func New(client API, kr keyring.Keyring, tables ...TableConfig) (*Client, error) {
	if kr == nil {
		return nil, fmt.Errorf("%w: nil keyring", ErrInvalidConfig)
	}
	c := &Client{api: client, kr: kr, tables: make(map[string]*table, len(tables))}
	for i := range tables {
		t, err := newTable(&tables[i])
		if err != nil {
			return nil, err
		}
		if _, dup := c.tables[t.name]; dup {
			return nil, errAttr("configure", t.name, "", ErrInvalidConfig, "table configured twice")
		}
		c.tables[t.name] = t
	}
	return c, nil
}

func newTable(tc *TableConfig) (*table, error) {
	bad := func(attr, format string, args ...any) error {
		return errAttr("configure", tc.Name, attr, ErrInvalidConfig, format, args...)
	}
	if tc.Name == "" {
		return nil, bad("", "empty table name")
	}
	if tc.PartitionKey == "" {
		return nil, bad("", "no partition key")
	}
	if tc.SortKey == tc.PartitionKey {
		return nil, bad(tc.SortKey, "sort key equals partition key")
	}
	switch tc.Suite {
	case 0, SuiteCommitHMAC, SuiteCommitHMACECDSA:
	default:
		return nil, bad("", "unknown suite %#04x", uint16(tc.Suite))
	}
	if strings.HasPrefix(tc.UnsignedPrefix, ReservedPrefix) || strings.HasPrefix(ReservedPrefix, tc.UnsignedPrefix) && tc.UnsignedPrefix != "" {
		return nil, bad("", "unsigned prefix %q overlaps the reserved prefix %q", tc.UnsignedPrefix, ReservedPrefix)
	}
	t := &table{
		name: tc.Name, pk: tc.PartitionKey, sk: tc.SortKey,
		actions: make(map[string]Action, len(tc.Actions)+2),
		prefix:  tc.UnsignedPrefix, suite: tc.Suite, cache: tc.Cache, plaintextReads: tc.PlaintextReads,
		context: make(map[string]string, len(tc.Context)),
	}
	if t.suite == 0 {
		t.suite = SuiteCommitHMAC
	}
	for k, v := range tc.Context {
		if strings.HasPrefix(k, contextPrefix) || k == keyring.PublicKeyContextKey {
			return nil, bad("", "encryption context key %q is reserved", k)
		}
		t.context[k] = v
	}
	if err := keyring.ValidateContext(t.context); err != nil {
		return nil, bad("", "encryption context: %v", err)
	}
	t.baseContext = maps.Clone(t.context)
	t.baseContext[contextTable] = t.name
	for name, a := range tc.Actions {
		switch {
		case name == "":
			return nil, bad(name, "empty attribute name")
		case strings.HasPrefix(name, ReservedPrefix):
			return nil, bad(name, "attribute name uses the reserved prefix %q", ReservedPrefix)
		case a < EncryptAndSign || a > DoNothing:
			return nil, bad(name, "invalid action %v", a)
		case t.prefix != "" && strings.HasPrefix(name, t.prefix) && a != DoNothing:
			return nil, bad(name, "attribute under the unsigned prefix %q must be DoNothing, not %v", t.prefix, a)
		}
		t.actions[name] = a
	}
	for _, k := range []string{t.pk, t.sk} {
		if k == "" {
			continue
		}
		if strings.HasPrefix(k, ReservedPrefix) {
			return nil, bad(k, "key attribute uses the reserved prefix %q", ReservedPrefix)
		}
		if t.prefix != "" && strings.HasPrefix(k, t.prefix) {
			return nil, bad(k, "key attribute is under the unsigned prefix %q", t.prefix)
		}
		switch a, ok := t.actions[k]; {
		case !ok:
			t.actions[k] = SignOnly
		case a == EncryptAndSign:
			return nil, bad(k, "key attributes cannot be encrypted (must be SignOnly)")
		case a == DoNothing:
			return nil, bad(k, "key attributes must be signed (SignOnly)")
		}
	}
	if err := t.configureBeacons(tc); err != nil {
		return nil, err
	}
	for name, a := range t.actions {
		if a.signed() {
			t.signed = append(t.signed, name)
		}
	}
	t.signed = append(t.signed, headerAttr, footerAttr)
	slices.Sort(t.signed)
	return t, nil
}

// table returns the configuration of the named table, nil when the table
// is not configured (its items pass through untouched).
func (c *Client) table(name string) *table { return c.tables[name] }

// action returns what happens to attribute attr; false when the attribute
// is neither listed nor under the unsigned prefix.
func (t *table) action(attr string) (Action, bool) {
	if a, ok := t.actions[attr]; ok {
		return a, true
	}
	if t.prefix != "" && strings.HasPrefix(attr, t.prefix) {
		return DoNothing, true
	}
	return 0, false
}

// signedNames returns every attribute verification may need: the signed
// attributes of the configuration (keys included) and the header and
// footer attributes, sorted. The caller must not modify it.
func (t *table) signedNames() []string { return t.signed }

// keyNames returns the partition and sort key attribute names.
func (t *table) keyNames() (pk, sk string) { return t.pk, t.sk }
