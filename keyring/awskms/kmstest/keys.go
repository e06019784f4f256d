package kmstest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Key specs the server can create.
const (
	SymmetricDefault = "SYMMETRIC_DEFAULT"
	RSA2048          = "RSA_2048"
	RSA3072          = "RSA_3072"
	RSA4096          = "RSA_4096"
)

// Key states reported by DescribeKey.
const (
	stateEnabled         = "Enabled"
	stateDisabled        = "Disabled"
	statePendingDeletion = "PendingDeletion"
)

// ErrNotFound is returned by the Server's Go methods for an unknown key or
// alias; ErrInvalidRequest for a request the server cannot honour.
var (
	ErrNotFound       = errors.New("kmstest: key not found")
	ErrInvalidRequest = errors.New("kmstest: invalid request")
)

// family is what the primary key of a multi-Region key and its replicas
// share: the key material and the set of Regions. A single-Region key has a
// family of its own.
type family struct {
	versions      [][]byte // symmetric material; the last is current
	rsa           *rsa.PrivateKey
	primaryRegion string
	regions       []string
}

type key struct {
	id, region, account, arn string
	spec                     string
	multiRegion              bool
	state                    string
	rotation                 bool
	description              string
	created                  time.Time
	fam                      *family
	allow                    map[string]bool // nil: every caller
	grants                   map[string]bool
}

func (k *key) symmetric() bool { return k.spec == SymmetricDefault }

type keyConfig struct {
	spec, region, account, alias, description string
	multiRegion                               bool
	allow                                     []string
}

// KeyOption configures a key made by Server.CreateKey.
type KeyOption func(*keyConfig)

// KeySpec sets the key spec: SymmetricDefault (the default), RSA2048,
// RSA3072 or RSA4096 (key usage ENCRYPT_DECRYPT).
func KeySpec(spec string) KeyOption { return func(c *keyConfig) { c.spec = spec } }

// KeyRegion creates the key in region instead of the server's default.
func KeyRegion(region string) KeyOption { return func(c *keyConfig) { c.region = region } }

// KeyAccount creates the key in another account than the server's default.
func KeyAccount(account string) KeyOption { return func(c *keyConfig) { c.account = account } }

// MultiRegion makes a multi-Region primary key (its id starts "mrk-").
func MultiRegion() KeyOption { return func(c *keyConfig) { c.multiRegion = true } }

// KeyAlias also creates the alias (such as "alias/app") for the key.
func KeyAlias(alias string) KeyOption { return func(c *keyConfig) { c.alias = alias } }

// KeyDescription sets the key description.
func KeyDescription(d string) KeyOption { return func(c *keyConfig) { c.description = d } }

// AllowedCallers restricts the key to the given access key ids, modelling
// a key policy: other callers get AccessDeniedException.
func AllowedCallers(accessKeyIDs ...string) KeyOption {
	return func(c *keyConfig) { c.allow = append(c.allow, accessKeyIDs...) }
}

// CreateKey creates a key and returns its ARN.
func (s *Server) CreateKey(opts ...KeyOption) (string, error) {
	c := keyConfig{spec: SymmetricDefault, region: s.region, account: s.account}
	for _, o := range opts {
		o(&c)
	}
	k, aerr := s.newKey(c)
	if aerr != nil {
		return "", fmt.Errorf("%w: %s", ErrInvalidRequest, aerr.msg)
	}
	if c.alias != "" {
		if err := s.CreateAlias(c.alias, k.arn); err != nil {
			return "", err
		}
	}
	return k.arn, nil
}

func (s *Server) newKey(c keyConfig) (*key, *apiError) {
	fam := &family{primaryRegion: c.region, regions: []string{c.region}}
	switch c.spec {
	case SymmetricDefault:
		fam.versions = [][]byte{randomBytes(32)}
	case RSA2048, RSA3072, RSA4096:
		bits := map[string]int{RSA2048: 2048, RSA3072: 3072, RSA4096: 4096}[c.spec]
		priv, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			return nil, &apiError{500, "KMSInternalException", "key generation failed"}
		}
		fam.rsa = priv
	default:
		return nil, errValidation("KeySpec %q is not supported by kmstest", c.spec)
	}
	id := newKeyID(c.multiRegion)
	k := &key{
		id: id, region: c.region, account: c.account, spec: c.spec,
		arn:         keyARN(c.region, c.account, id),
		multiRegion: c.multiRegion, state: stateEnabled, description: c.description,
		created: time.Now().Truncate(time.Second), fam: fam,
	}
	if c.allow != nil {
		k.allow = map[string]bool{}
		for _, a := range c.allow {
			k.allow[a] = true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putKey(k)
	return k, nil
}

func (s *Server) putKey(k *key) {
	if s.keys[k.region] == nil {
		s.keys[k.region] = map[string]*key{}
	}
	s.keys[k.region][k.id] = k
}

func keyARN(region, account, id string) string {
	return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", region, account, id)
}

func newKeyID(mrk bool) string {
	b := randomBytes(16)
	if mrk {
		return "mrk-" + hex.EncodeToString(b)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+).
	return b
}

// resolve finds the key an identifier names in a Region: a key id, key
// ARN, alias name or alias ARN. The caller holds s.mu.
func (s *Server) resolve(region, ident string) (*key, *apiError) {
	if ident == "" {
		return nil, errValidation("KeyId is required")
	}
	name := ident
	if strings.HasPrefix(ident, "arn:") {
		parts := strings.SplitN(ident, ":", 6)
		if len(parts) != 6 || parts[2] != "kms" {
			return nil, errNotFound("Invalid arn %s", ident)
		}
		if parts[3] != region {
			return nil, errNotFound("Invalid arn %s: Region %s does not match %s", ident, parts[3], region)
		}
		name = parts[5]
		if id, ok := strings.CutPrefix(name, "key/"); ok {
			k := s.keys[region][id]
			if k == nil || k.account != parts[4] {
				return nil, errNotFound("Key '%s' does not exist", ident)
			}
			return k, nil
		}
	}
	if strings.HasPrefix(name, "alias/") {
		id, ok := s.aliases[region][name]
		if !ok {
			return nil, errNotFound("Alias %s is not found.", ident)
		}
		return s.keys[region][id], nil
	}
	k := s.keys[region][name]
	if k == nil {
		return nil, errNotFound("Key '%s' does not exist", keyARN(region, s.account, name))
	}
	return k, nil
}

// authorize applies the key's allow-list (grant tokens admit any caller)
// and then its state. The caller holds s.mu.
func (s *Server) authorize(k *key, req *request, grantTokens []string) *apiError {
	if k.allow != nil && !k.allow[req.caller] && !slices.ContainsFunc(grantTokens, func(t string) bool { return k.grants[t] }) {
		return &apiError{400, "AccessDeniedException", fmt.Sprintf(
			"User: arn:aws:iam::%s:user/%s is not authorized to perform: kms:%s on resource: %s because no resource-based policy allows the kms:%s action",
			k.account, req.caller, req.op, k.arn, req.op)}
	}
	switch k.state {
	case stateDisabled:
		return &apiError{400, "DisabledException", k.arn + " is disabled."}
	case statePendingDeletion:
		return &apiError{400, "KMSInvalidStateException", k.arn + " is pending deletion."}
	}
	return nil
}

// adminKey resolves an identifier for the Go API: an ARN carries its
// Region, anything else is looked up in the default Region.
func (s *Server) adminKey(ident string) (*key, error) {
	region := s.region
	if strings.HasPrefix(ident, "arn:") {
		if parts := strings.SplitN(ident, ":", 6); len(parts) == 6 {
			region = parts[3]
		}
	}
	k, aerr := s.resolve(region, ident)
	if aerr != nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, aerr.msg)
	}
	return k, nil
}

// CreateAlias points alias (such as "alias/app") at the key in the key's
// Region.
func (s *Server) CreateAlias(alias, keyID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.adminKey(keyID)
	if err != nil {
		return err
	}
	if aerr := s.addAlias(k.region, alias, k); aerr != nil {
		return fmt.Errorf("%w: %s", ErrInvalidRequest, aerr.msg)
	}
	return nil
}

func (s *Server) addAlias(region, alias string, k *key) *apiError {
	if !strings.HasPrefix(alias, "alias/") || len(alias) == len("alias/") || strings.HasPrefix(alias, "alias/aws/") {
		return errValidation("invalid alias name %q", alias)
	}
	if _, ok := s.aliases[region][alias]; ok {
		return &apiError{400, "AlreadyExistsException", fmt.Sprintf("An alias with the name arn:aws:kms:%s:%s:%s already exists", region, k.account, alias)}
	}
	if s.aliases[region] == nil {
		s.aliases[region] = map[string]string{}
	}
	s.aliases[region][alias] = k.id
	return nil
}

// ReplicateKey creates a replica of a multi-Region key in region and
// returns the replica's ARN. The replica shares the key material.
func (s *Server) ReplicateKey(keyID, region string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.adminKey(keyID)
	if err != nil {
		return "", err
	}
	r, aerr := s.replicate(k, region)
	if aerr != nil {
		return "", fmt.Errorf("%w: %s", ErrInvalidRequest, aerr.msg)
	}
	return r.arn, nil
}

func (s *Server) replicate(k *key, region string) (*key, *apiError) {
	if !k.multiRegion {
		return nil, &apiError{400, "UnsupportedOperationException", k.arn + " is not a multi-Region key"}
	}
	if region == "" || slices.Contains(k.fam.regions, region) {
		return nil, &apiError{400, "AlreadyExistsException", fmt.Sprintf("%s already has a key in %q", k.id, region)}
	}
	r := *k
	r.region, r.arn, r.created = region, keyARN(region, k.account, k.id), time.Now().Truncate(time.Second)
	r.allow, r.grants = copySet(k.allow), copySet(k.grants)
	k.fam.regions = append(k.fam.regions, region)
	s.putKey(&r)
	return &r, nil
}

func copySet(m map[string]bool) map[string]bool {
	if m == nil {
		return nil
	}
	out := make(map[string]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (s *Server) setState(keyID, state string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.adminKey(keyID)
	if err != nil {
		return err
	}
	k.state = state
	return nil
}

// DisableKey disables a key: cryptographic operations answer
// DisabledException until EnableKey.
func (s *Server) DisableKey(keyID string) error { return s.setState(keyID, stateDisabled) }

// EnableKey enables a key again.
func (s *Server) EnableKey(keyID string) error { return s.setState(keyID, stateEnabled) }

// ScheduleKeyDeletion puts a key in the PendingDeletion state:
// cryptographic operations answer KMSInvalidStateException.
func (s *Server) ScheduleKeyDeletion(keyID string) error {
	return s.setState(keyID, statePendingDeletion)
}

// RotateKey gives a symmetric key new key material (for a multi-Region key,
// in every Region). Ciphertexts made under earlier material still decrypt.
func (s *Server) RotateKey(keyID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.adminKey(keyID)
	if err != nil {
		return err
	}
	if !k.symmetric() {
		return fmt.Errorf("%w: only symmetric keys rotate", ErrInvalidRequest)
	}
	k.fam.versions = append(k.fam.versions, randomBytes(32))
	return nil
}

// AllowCallers adds access key ids to the key's allow-list. A key with an
// allow-list refuses every other caller with AccessDeniedException.
func (s *Server) AllowCallers(keyID string, accessKeyIDs ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.adminKey(keyID)
	if err != nil {
		return err
	}
	if k.allow == nil {
		k.allow = map[string]bool{}
	}
	for _, a := range accessKeyIDs {
		k.allow[a] = true
	}
	return nil
}

// AddGrantToken registers a grant token for the key: a request that
// carries it in GrantTokens is allowed whatever its caller.
func (s *Server) AddGrantToken(keyID, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.adminKey(keyID)
	if err != nil {
		return err
	}
	if k.grants == nil {
		k.grants = map[string]bool{}
	}
	k.grants[token] = true
	return nil
}
