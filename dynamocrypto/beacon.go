package dynamocrypto

import (
	"context"
	"strings"
)

// Beacon configures a searchable beacon: a plaintext attribute, written by
// EncryptItem beside the encrypted ones, that equal values share, so that
// a query (or a global secondary index) can find items by an encrypted
// attribute. See the package documentation on what beacons leak.
//
// A standard beacon has Source and Bits: its value is the first Bits bits
// of an HMAC of Source's plaintext, in hexadecimal. A compound beacon has
// Parts instead: each part's value behind its prefix, joined with Split.
type Beacon struct {
	// Name names the beacon; the beacon is stored in the attribute
	// BeaconAttribute(Name).
	Name string
	// Source is the EncryptAndSign attribute of a standard beacon.
	Source string
	// Bits is the length of a standard beacon, 1 to 63 (SuggestBeaconBits).
	Bits int
	// Parts are the parts of a compound beacon, in order.
	Parts []BeaconPart
	// Split joins the parts of a compound beacon (default "#").
	Split string
}

// BeaconPart is one part of a compound beacon: Prefix followed by the value
// of Name, which is either a standard beacon of the same table or a signed
// plaintext attribute with S or N values.
type BeaconPart struct {
	Prefix string
	Name   string
}

// BeaconKeySource supplies beacon keys (at least 32 bytes) by id. The Client
// derives one key per beacon from it and keeps the derived keys; it does
// not modify or keep the returned slice. WrappedBeaconKeys is the default
// implementation; a branch key store may provide per-tenant keys.
type BeaconKeySource interface {
	BeaconKey(ctx context.Context, id string) ([]byte, error)
}

// BeaconAttribute returns the name of the attribute that stores the beacon
// named name (for key schemas of global secondary indexes).
func BeaconAttribute(name string) string { return beaconPrefix + name }

// beacon is a validated Beacon.
type beacon struct {
	name  string
	attr  string // stored attribute
	src   string // standard: source attribute
	bits  int
	parts []beaconPart
	split string
}

type beaconPart struct {
	prefix string
	name   string
	std    *beacon // the standard beacon, nil for a plain attribute
}

// attribute returns the plain attribute that stores the beacon value.
func (b *beacon) attribute() string { return b.attr }

// compound reports whether b is a compound beacon.
func (b *beacon) compound() bool { return len(b.parts) > 0 }

// beaconFor returns the standard beacon whose source is attr, nil if none.
func (t *table) beaconFor(attr string) *beacon { return t.beaconBySrc[attr] }

// beaconNamed returns the beacon (standard or compound) named name.
func (t *table) beaconNamed(name string) *beacon { return t.beaconByName[name] }

// beaconKeyAttr returns the attribute holding per-item beacon key ids, ""
// when the table's beacon key is fixed.
func (t *table) beaconKeyAttr() string { return t.keyAttr }

func (t *table) configureBeacons(tc *TableConfig) error {
	bad := func(attr, format string, args ...any) error {
		return errAttr("configure", tc.Name, attr, ErrInvalidConfig, format, args...)
	}
	t.beaconByName = make(map[string]*beacon, len(tc.Beacons))
	t.beaconBySrc = make(map[string]*beacon, len(tc.Beacons))
	if len(tc.Beacons) == 0 {
		return nil
	}
	if tc.BeaconKeys == nil {
		return bad("", "beacons need a BeaconKeySource")
	}
	t.keySource, t.keyID, t.keyAttr = tc.BeaconKeys, tc.BeaconKeyID, tc.BeaconKeyAttribute
	if t.keyAttr != "" {
		if a, _ := t.action(t.keyAttr); a != SignOnly && a != SignAndIncludeInContext {
			return bad(t.keyAttr, "beacon key attribute must be a signed plaintext attribute (SignOnly or SignAndIncludeInContext)")
		}
	}
	// Standard beacons first, so compound parts can refer to them.
	for i := range tc.Beacons {
		bc := &tc.Beacons[i]
		if len(bc.Parts) > 0 {
			continue
		}
		if err := t.checkBeaconName(bc.Name, bad); err != nil {
			return err
		}
		if bc.Bits < 1 || bc.Bits > 63 {
			return bad(bc.Name, "beacon bits %d outside 1–63", bc.Bits)
		}
		if a, ok := t.actions[bc.Source]; !ok || a != EncryptAndSign {
			return bad(bc.Source, "beacon %q: source must be an EncryptAndSign attribute", bc.Name)
		}
		if _, dup := t.beaconBySrc[bc.Source]; dup {
			return bad(bc.Source, "two standard beacons on one attribute")
		}
		b := &beacon{name: bc.Name, attr: BeaconAttribute(bc.Name), src: bc.Source, bits: bc.Bits}
		t.beaconByName[b.name], t.beaconBySrc[b.src] = b, b
		t.beacons = append(t.beacons, b)
	}
	for i := range tc.Beacons {
		bc := &tc.Beacons[i]
		if len(bc.Parts) == 0 {
			continue
		}
		if err := t.checkBeaconName(bc.Name, bad); err != nil {
			return err
		}
		b := &beacon{name: bc.Name, attr: BeaconAttribute(bc.Name), split: bc.Split}
		if b.split == "" {
			b.split = "#"
		}
		seen := map[string]bool{}
		for _, p := range bc.Parts {
			if p.Prefix == "" || seen[p.Prefix] || strings.Contains(p.Prefix, b.split) {
				return bad(p.Name, "compound beacon %q: part prefixes must be unique, not empty, without %q", b.name, b.split)
			}
			seen[p.Prefix] = true
			part := beaconPart{prefix: p.Prefix, name: p.Name}
			if std := t.beaconByName[p.Name]; std != nil && !std.compound() {
				part.std = std
			} else if a, ok := t.actions[p.Name]; !ok || (a != SignOnly && a != SignAndIncludeInContext) {
				return bad(p.Name, "compound beacon %q: part must be a standard beacon or a signed plaintext attribute", b.name)
			}
			b.parts = append(b.parts, part)
		}
		t.beaconByName[b.name] = b
		t.beacons = append(t.beacons, b)
	}
	return nil
}

func (t *table) checkBeaconName(name string, bad func(string, string, ...any) error) error {
	switch {
	case name == "":
		return bad("", "beacon without a name")
	case t.beaconByName[name] != nil:
		return bad(name, "two beacons named %q", name)
	}
	if _, ok := t.actions[BeaconAttribute(name)]; ok {
		return bad(name, "beacon attribute collides with a configured attribute")
	}
	return nil
}
