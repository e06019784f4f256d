package awskms

import (
	"fmt"
	"strings"
)

// ARN is a parsed AWS KMS ARN: arn:Partition:kms:Region:Account:ResourceType/ResourceID.
type ARN struct {
	Partition    string
	Region       string
	Account      string
	ResourceType string // "key" or "alias"
	ResourceID   string
}

// ParseARN parses a KMS key or alias ARN. Every part must be non-empty, the
// service must be "kms" and the resource type "key" or "alias".
func ParseARN(s string) (ARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ARN{}, fmt.Errorf("%w: %q is not an ARN", ErrInvalidARN, s)
	}
	if parts[2] != "kms" {
		return ARN{}, fmt.Errorf("%w: %q: service is not kms", ErrInvalidARN, s)
	}
	typ, id, ok := strings.Cut(parts[5], "/")
	a := ARN{Partition: parts[1], Region: parts[3], Account: parts[4], ResourceType: typ, ResourceID: id}
	if a.Partition == "" || a.Region == "" || a.Account == "" || !ok || a.ResourceID == "" {
		return ARN{}, fmt.Errorf("%w: %q has an empty part", ErrInvalidARN, s)
	}
	if typ != "key" && typ != "alias" {
		return ARN{}, fmt.Errorf("%w: %q: resource type %q is neither key nor alias", ErrInvalidARN, s, typ)
	}
	return a, nil
}

// String formats the ARN.
func (a ARN) String() string {
	return "arn:" + a.Partition + ":kms:" + a.Region + ":" + a.Account + ":" + a.ResourceType + "/" + a.ResourceID
}

// IsMRK reports whether the ARN names a multi-Region key: resource type
// key and an id starting "mrk-". An alias named mrk-… is not one.
func (a ARN) IsMRK() bool {
	return a.ResourceType == "key" && strings.HasPrefix(a.ResourceID, "mrk-")
}

// IsMRKIdentifier reports whether a key identifier (ARN, alias name or key
// id) names a multi-Region key.
func IsMRKIdentifier(id string) bool {
	switch {
	case strings.HasPrefix(id, "arn:"):
		a, err := ParseARN(id)
		return err == nil && a.IsMRK()
	case strings.HasPrefix(id, "alias/"):
		return false
	default:
		return strings.HasPrefix(id, "mrk-")
	}
}

// MRKMatch reports whether two key identifiers name the same key for
// decryption: identical strings match, and two multi-Region key ARNs that
// differ only in their Region match.
func MRKMatch(a, b string) bool {
	if a == b {
		return true
	}
	x, err := ParseARN(a)
	if err != nil {
		return false
	}
	y, err := ParseARN(b)
	if err != nil || !x.IsMRK() || !y.IsMRK() {
		return false
	}
	x.Region = y.Region
	return x == y
}

// validIdentifier accepts what a strict keyring may be configured with: a
// key or alias ARN, an alias name, or a key id.
func validIdentifier(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty key identifier", ErrInvalidARN)
	case strings.HasPrefix(id, "arn:"):
		_, err := ParseARN(id)
		return err
	case strings.HasPrefix(id, "alias/") && len(id) == len("alias/"):
		return fmt.Errorf("%w: empty alias name", ErrInvalidARN)
	}
	return nil
}
