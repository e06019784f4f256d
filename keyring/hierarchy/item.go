package hierarchy

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
)

// The item layout of the branch key store (see doc.go and the reference).
const (
	attrID         = "branch-key-id"
	attrType       = "type"
	attrVersion    = "version"
	attrCreateTime = "create-time"
	attrKMSARN     = "kms-arn"
	attrHierarchy  = "hierarchy-version"
	attrEnc        = "enc"
	attrTableName  = "tablename" // in the encryption context only, never an item attribute

	typeActive    = "branch:ACTIVE"
	typeBeacon    = "beacon:ACTIVE"
	versionPrefix = "branch:version:"
	customPrefix  = "aws-crypto-ec:"

	hierarchyVersion = "1"
	keyLen           = 32
	maxEncLen        = 6144
	createTimeLayout = "2006-01-02T15:04:05.000000Z"
)

// kind is the kind of item a read asks for.
type kind int

const (
	kindActive kind = iota
	kindVersion
	kindBeacon
)

func (k kind) String() string {
	switch k {
	case kindActive:
		return "ACTIVE item"
	case kindVersion:
		return "version item"
	default:
		return "beacon item"
	}
}

// newUUIDv4 returns a random version 4 UUID in lowercase text.
func newUUIDv4() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("hierarchy: random UUID: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b), nil
}

func formatUUID(b [16]byte) string {
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// validVersion reports whether v is a lowercase v4 UUID text, the only
// version form the official SDKs pack into an encrypted data key.
func validVersion(v string) bool {
	if len(v) != 36 || v[8] != '-' || v[13] != '-' || v[18] != '-' || v[23] != '-' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			continue
		}
		c := v[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return v[14] == '4' && strings.IndexByte("89ab", v[19]) >= 0
}

func createTime(now time.Time) string { return now.UTC().Format(createTimeLayout) }

// baseContext is the DECRYPT_ONLY encryption context of a new version v.
func (s *Store) baseContext(id, v, ts string, custom map[string]string) map[string]string {
	ec := make(map[string]string, 6+len(custom))
	for k, val := range custom {
		ec[customPrefix+k] = val
	}
	ec[attrID] = id
	ec[attrType] = versionPrefix + v
	ec[attrCreateTime] = ts
	ec[attrTableName] = s.cfg.logicalName
	ec[attrKMSARN] = s.arn
	ec[attrHierarchy] = hierarchyVersion
	return ec
}

// activeContext derives the ACTIVE context from a DECRYPT_ONLY one.
func activeContext(decryptOnly map[string]string) map[string]string {
	ec := maps.Clone(decryptOnly)
	ec[attrVersion] = decryptOnly[attrType]
	ec[attrType] = typeActive
	return ec
}

// beaconContext derives the beacon context from a DECRYPT_ONLY one.
func beaconContext(decryptOnly map[string]string) map[string]string {
	ec := maps.Clone(decryptOnly)
	ec[attrType] = typeBeacon
	return ec
}

// contextToItem makes the item for an encryption context and its KMS
// ciphertext: tablename dropped, hierarchy-version as N, the rest S.
func contextToItem(ec map[string]string, enc []byte) map[string]types.AttributeValue {
	item := make(map[string]types.AttributeValue, len(ec)+1)
	for k, v := range ec {
		switch k {
		case attrTableName:
		case attrHierarchy:
			item[k] = &types.AttributeValueMemberN{Value: v}
		default:
			item[k] = &types.AttributeValueMemberS{Value: v}
		}
	}
	item[attrEnc] = &types.AttributeValueMemberB{Value: enc}
	return item
}

// itemError names what is wrong with an item; it matches ErrInvalidItem.
func itemError(k kind, id, format string, args ...any) error {
	return fmt.Errorf("%w: %s of branch key %q: %s", ErrInvalidItem, k, id, fmt.Sprintf(format, args...))
}

// parsedItem is an item that passed the structural checks.
type parsedItem struct {
	ec      map[string]string // the KMS encryption context rebuilt from the item
	enc     []byte
	version string // the version UUID (ACTIVE and version items)
	kmsARN  string
	custom  map[string]string
}

// parseItem runs the mandatory structural checks on an item read for
// (id, wantType) and rebuilds its encryption context. The KMS Decrypt that
// follows authenticates it.
func (s *Store) parseItem(k kind, id, wantType string, item map[string]types.AttributeValue) (*parsedItem, error) {
	str := func(name string) (string, error) {
		av, ok := item[name]
		if !ok {
			return "", itemError(k, id, "attribute %q is missing", name)
		}
		sv, ok := av.(*types.AttributeValueMemberS)
		if !ok {
			return "", itemError(k, id, "attribute %q is not a string (S)", name)
		}
		return sv.Value, nil
	}
	p := &parsedItem{ec: make(map[string]string, len(item)+1)}
	gotID, err := str(attrID)
	if err != nil {
		return nil, err
	}
	if gotID == "" || gotID != id {
		return nil, itemError(k, id, "branch-key-id is %q", gotID)
	}
	gotType, err := str(attrType)
	if err != nil {
		return nil, err
	}
	if gotType != wantType {
		return nil, itemError(k, id, "type is %q, want %q", gotType, wantType)
	}
	if _, err := str(attrCreateTime); err != nil {
		return nil, err
	}
	if p.kmsARN, err = str(attrKMSARN); err != nil {
		return nil, err
	}
	if a, err := awskms.ParseARN(p.kmsARN); err != nil || a.ResourceType != "key" {
		return nil, itemError(k, id, "kms-arn %q is not a KMS key ARN", p.kmsARN)
	}
	if !s.arnCompatible(p.kmsARN) {
		return nil, itemError(k, id, "kms-arn %q is not this store's KMS key %q", p.kmsARN, s.arn)
	}
	hv, ok := item[attrHierarchy].(*types.AttributeValueMemberN)
	if !ok {
		return nil, itemError(k, id, "attribute %q is missing or not a number (N)", attrHierarchy)
	}
	if hv.Value != hierarchyVersion {
		return nil, itemError(k, id, "hierarchy-version is %q, want %s", hv.Value, hierarchyVersion)
	}
	enc, ok := item[attrEnc].(*types.AttributeValueMemberB)
	if !ok {
		return nil, itemError(k, id, "attribute %q is missing or not binary (B)", attrEnc)
	}
	if len(enc.Value) == 0 || len(enc.Value) > maxEncLen {
		return nil, itemError(k, id, "enc is %d bytes, want 1 to %d", len(enc.Value), maxEncLen)
	}
	p.enc = enc.Value
	if _, ok := item[attrTableName]; ok {
		return nil, itemError(k, id, "attribute %q must not be stored", attrTableName)
	}
	_, hasVersion := item[attrVersion]
	switch {
	case k == kindActive && !hasVersion:
		return nil, itemError(k, id, "attribute %q is missing", attrVersion)
	case k != kindActive && hasVersion:
		return nil, itemError(k, id, "attribute %q is present on a non-ACTIVE item", attrVersion)
	}
	for name, av := range item {
		switch name {
		case attrEnc:
			continue
		case attrHierarchy:
			p.ec[name] = hv.Value
			continue
		}
		sv, ok := av.(*types.AttributeValueMemberS)
		if !ok {
			return nil, itemError(k, id, "attribute %q is not a string (S)", name)
		}
		p.ec[name] = sv.Value
		if ck, ok := strings.CutPrefix(name, customPrefix); ok {
			if p.custom == nil {
				p.custom = make(map[string]string)
			}
			p.custom[ck] = sv.Value
		}
	}
	p.ec[attrTableName] = s.cfg.logicalName
	switch k {
	case kindActive:
		v, ok := strings.CutPrefix(p.ec[attrVersion], versionPrefix)
		if !ok || v == "" {
			return nil, itemError(k, id, "version %q does not name a version", p.ec[attrVersion])
		}
		if !validVersion(v) {
			return nil, itemError(k, id, "version %q is not a lowercase v4 UUID", v)
		}
		p.version = v
	case kindVersion:
		p.version = strings.TrimPrefix(gotType, versionPrefix)
	}
	return p, nil
}

// arnCompatible reports whether an item's kms-arn may be used with the
// configured key: equal, or (WithMultiRegionKey) the same multi-Region key.
func (s *Store) arnCompatible(itemARN string) bool {
	if itemARN == s.arn {
		return true
	}
	return s.cfg.mrk && awskms.MRKMatch(itemARN, s.arn)
}

// checkCustomContext validates a custom encryption context for CreateKey.
func checkCustomContext(ec map[string]string) error {
	for k, v := range ec {
		if k == "" {
			return fmt.Errorf("%w: empty custom encryption context key", ErrInvalidOption)
		}
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("%w: custom encryption context pair %q is not UTF-8", ErrInvalidOption, k)
		}
		if len(customPrefix)+len(k) > 65535 {
			return fmt.Errorf("%w: custom encryption context key too long for a DynamoDB attribute name", ErrInvalidOption)
		}
	}
	return nil
}

// maxIDLen is DynamoDB's limit on a partition key value.
const maxIDLen = 2048

// checkID validates a caller-chosen branch key id.
func checkID(id string) error {
	if id == "" || len(id) > maxIDLen || !utf8.ValidString(id) {
		return fmt.Errorf("%w: branch key id must be 1 to %d bytes of UTF-8", ErrInvalidOption, maxIDLen)
	}
	return nil
}
