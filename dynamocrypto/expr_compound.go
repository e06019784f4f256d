package dynamocrypto

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Conditions on compound beacons, written with the beacon's name and the
// plaintext form of its value.

// compound returns the compound beacon o names, when o is a top-level path
// that is not an attribute of the table but a compound beacon's name.
func (rw *rewriter) compound(o operand) *beacon {
	p, ok := o.(*docPath)
	if !ok || p.nested() {
		return nil
	}
	if _, attr := rw.t.action(p.top()); attr {
		return nil
	}
	if b := rw.t.beaconNamed(p.top()); b != nil && b.compound() {
		return b
	}
	return nil
}

// compoundValue turns a :value written as the compound beacon's
// plaintext (each part's prefix and value, joined by its split, parts in
// order; a standard beacon's part as the S value of its source) into the
// beacon attribute and a placeholder of its stored value. Equality needs
// every part; begins_with the leading ones.
func (rw *rewriter) compoundValue(ctx context.Context, b *beacon, v valueRef, all bool) (*docPath, valueRef, error) {
	if rw.t.beaconKeyAttr() != "" && !rw.haveKeyID {
		return nil, "", rw.refuse(b.name, fmt.Sprintf("beacons use per-item keys: the condition needs %s = :value", rw.t.beaconKeyAttr()))
	}
	sv, ok := rw.values[string(v)].(*types.AttributeValueMemberS)
	if !ok {
		return nil, "", rw.refuse(b.name, "the value of a compound beacon is an S of its parts")
	}
	parts, err := splitCompound(b, sv.Value)
	if err != nil || all && len(parts.Value) != len(b.parts) {
		return nil, "", rw.refuse(b.name, fmt.Sprintf("the value must be the parts %s in order, each behind its prefix, joined by %q", partNames(b), b.split))
	}
	bv, err := rw.c.beaconValue(ctx, rw.t, b, parts, rw.keyID)
	if err != nil {
		return nil, "", err
	}
	rw.rewritten, rw.lastBeacon = true, b.attribute()
	if rw.virtual == nil {
		rw.virtual = map[string]*beacon{}
	}
	rw.virtual[b.name] = b
	return rw.e.namePath(b.attribute()), rw.e.value(bv), nil
}

// splitCompound parses the plaintext form of a compound beacon value
// into an M of part names to S values (the leading parts present).
func splitCompound(b *beacon, s string) (*types.AttributeValueMemberM, error) {
	m := &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}
	for i, piece := range strings.Split(s, b.split) {
		if i >= len(b.parts) || !strings.HasPrefix(piece, b.parts[i].prefix) {
			return nil, errSyntax
		}
		m.Value[b.parts[i].name] = &types.AttributeValueMemberS{Value: piece[len(b.parts[i].prefix):]}
	}
	return m, nil
}

func partNames(b *beacon) string {
	var names []string
	for _, p := range b.parts {
		names = append(names, p.prefix+"<"+p.name+">")
	}
	return strings.Join(names, b.split)
}

// compoundPlain is the plaintext form of compound beacon b over a
// plaintext item, as splitCompound reads it; false when a part is missing.
func compoundPlain(b *beacon, item map[string]types.AttributeValue) (string, bool) {
	var sb strings.Builder
	for i, p := range b.parts {
		src := p.name
		if p.std != nil {
			src = p.std.src
		}
		text, ok := partText(item[src])
		if !ok {
			return "", false
		}
		if i > 0 {
			sb.WriteString(b.split)
		}
		sb.WriteString(p.prefix + text)
	}
	return sb.String(), true
}

func (rw *rewriter) refuse(attr, why string) error {
	return unsupported(rw.op, rw.t, attr, "%s %q: %s", rw.which, rw.expr, why)
}
