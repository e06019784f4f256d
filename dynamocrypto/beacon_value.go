package dynamocrypto

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// beaconLabel starts the info of the per-beacon key derivation.
const beaconLabel = "ck-dynamodb-beacon-v1"

// beaconMAC is the kept state of one beacon under one beacon key: the
// derived key, and HMAC-SHA-384 keyed with it, its padded key already
// hashed, which each beacon value starts from (a clone: the kept state
// is only read).
type beaconMAC struct {
	key []byte
	mac hash.Hash
}

// beaconKey returns the HMAC-SHA-384 key of beacon b under beacon key id:
// HKDF-SHA-512(beacon key, no salt, beaconLabel || table || 0x00 || beacon
// name), 48 bytes, derived once per id and beacon and kept.
func (c *Client) beaconKey(ctx context.Context, t *table, b *beacon, id string) ([]byte, error) {
	m, err := c.beaconState(ctx, t, b, id)
	if err != nil {
		return nil, err
	}
	return m.key, nil
}

// beaconState returns the kept state of beacon b under beacon key id,
// deriving it on first use.
func (c *Client) beaconState(ctx context.Context, t *table, b *beacon, id string) (*beaconMAC, error) {
	ck := beaconCacheKey{id: id, beacon: b.name}
	if k, ok := t.beaconKeys.Load(ck); ok {
		return k.(*beaconMAC), nil
	}
	raw, err := t.keySource.BeaconKey(ctx, id)
	if err != nil {
		return nil, keyErr("beacon", t.name, fmt.Errorf("beacon key %q: %w", id, err))
	}
	if _, own := t.keySource.(*WrappedBeaconKeys); own {
		defer clear(raw) // a copy made for this call
	}
	if len(raw) < 32 {
		return nil, errAttr("beacon", t.name, "", ErrKeyUnavailable, "beacon key %q is %d bytes, want at least 32", id, len(raw))
	}
	k, err := hkdf.Key(sha512.New, raw, nil, beaconLabel+t.name+"\x00"+b.name, 48)
	if err != nil {
		return nil, &Error{Op: "beacon", Table: t.name, Err: err}
	}
	mac := hmac.New(sha512.New384, k)
	// Reset keeps the state after the padded keys, which clones share.
	mac.Reset()
	if _, ok := mac.(hash.Cloner); !ok {
		return nil, &Error{Op: "beacon", Table: t.name, Err: errors.New("HMAC state cannot be cloned")}
	}
	got, _ := t.beaconKeys.LoadOrStore(ck, &beaconMAC{key: k, mac: mac})
	return got.(*beaconMAC), nil
}

// beaconCacheKey identifies a kept beaconMAC of a table.
type beaconCacheKey struct{ id, beacon string }

// standardBeacon returns the text of standard beacon b for the plaintext
// value v: the first b.bits bits of HMAC-SHA-384 over v's canonical
// encoding, as ceil(bits/4) lowercase hexadecimal digits.
func (c *Client) standardBeacon(ctx context.Context, t *table, b *beacon, v types.AttributeValue, id string) (string, error) {
	bm, err := c.beaconState(ctx, t, b, id)
	if err != nil {
		return "", err
	}
	h, err := bm.mac.(hash.Cloner).Clone()
	if err != nil {
		return "", &Error{Op: "beacon", Table: t.name, Err: err}
	}
	pb := getBuf()
	defer putBuf(pb)
	enc, err := appendValue((*pb)[:0], v, true, 0)
	*pb = enc
	if err != nil {
		return "", errAttr("beacon", t.name, b.src, ErrInvalidItem, "%v", err)
	}
	h.Write(enc)
	var sum [sha512.Size384]byte
	x := binary.BigEndian.Uint64(h.Sum(sum[:0])) >> (64 - b.bits)
	s := strconv.FormatUint(x, 16)
	if w := (b.bits + 3) / 4; len(s) < w {
		s = strings.Repeat("0", w-len(s)) + s
	}
	return s, nil
}

// partText returns the text of a plain part of a compound beacon.
func partText(v types.AttributeValue) (string, bool) {
	if typeTag(v) == 0 {
		return "", false
	}
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return v.Value, true
	case *types.AttributeValueMemberN:
		b, err := appendNumber(nil, v.Value, true)
		if err != nil {
			return "", false
		}
		return string(b[4:]), true
	}
	return "", false
}

// compoundBeacon joins the parts of b whose values get returns, stopping
// at the first missing one; complete reports whether all were present.
// std returns the text of a standard beacon part.
func (c *Client) compoundBeacon(t *table, b *beacon, get func(p *beaconPart) types.AttributeValue, std func(*beacon, types.AttributeValue) (string, error)) (s string, complete bool, err error) {
	var sb strings.Builder
	for i := range b.parts {
		p := &b.parts[i]
		v := get(p)
		if v == nil {
			return sb.String(), false, nil
		}
		var text string
		if p.std != nil {
			if text, err = std(p.std, v); err != nil {
				return "", false, err
			}
		} else {
			var ok bool
			if text, ok = partText(v); !ok {
				return "", false, errAttr("beacon", t.name, p.name, ErrInvalidItem, "compound beacon %q: part value must be S or N", b.name)
			}
			if strings.Contains(text, b.split) {
				return "", false, errAttr("beacon", t.name, p.name, ErrInvalidItem, "compound beacon %q: part value contains the split %q", b.name, b.split)
			}
		}
		if i > 0 {
			sb.WriteString(b.split)
		}
		sb.WriteString(p.prefix)
		sb.WriteString(text)
	}
	return sb.String(), true, nil
}

// itemBeaconKeyID returns the beacon key id of a plaintext item.
func (t *table) itemBeaconKeyID(op string, item map[string]types.AttributeValue) (string, error) {
	if t.keyAttr == "" {
		return t.keyID, nil
	}
	s, ok := item[t.keyAttr].(*types.AttributeValueMemberS)
	if !ok || s.Value == "" {
		return "", errAttr(op, t.name, t.keyAttr, ErrInvalidItem, "beacon key id attribute missing or not a non-empty S")
	}
	return s.Value, nil
}

// addBeacons writes into out the beacons of the plaintext item: standard
// beacons whose source is present, compound beacons whose parts all are.
func (c *Client) addBeacons(ctx context.Context, t *table, item, out map[string]types.AttributeValue) error {
	if len(t.beacons) == 0 {
		return nil
	}
	id, err := t.itemBeaconKeyID("encrypt", item)
	if err != nil {
		return err
	}
	// Each standard beacon is computed once per item, whether it is
	// stored, part of compound beacons, or both: the value is the same.
	var done []beaconText
	std := func(b *beacon, v types.AttributeValue) (string, error) {
		for _, d := range done {
			if d.b == b {
				return d.s, nil
			}
		}
		s, err := c.standardBeacon(ctx, t, b, v, id)
		if err == nil {
			done = append(done, beaconText{b, s})
		}
		return s, err
	}
	for _, b := range t.beacons {
		var s string
		if !b.compound() {
			v, ok := item[b.src]
			if !ok {
				continue
			}
			if s, err = std(b, v); err != nil {
				return err
			}
		} else {
			var complete bool
			s, complete, err = c.compoundBeacon(t, b, func(p *beaconPart) types.AttributeValue {
				if p.std != nil {
					return item[p.std.src]
				}
				return item[p.name]
			}, std)
			if err != nil {
				return err
			}
			if !complete {
				continue
			}
		}
		out[b.attr] = &types.AttributeValueMemberS{Value: s}
	}
	return nil
}

// beaconValue returns the stored value of beacon b for the plaintext value
// v under the beacon key keyID ("" for the table's fixed key). For a
// compound beacon v is an M of part names (a standard beacon's name or its
// source attribute, or the plain attribute) to plaintext values; the
// result covers the leading parts present, so that a missing part gives a
// prefix for begins_with.
func (c *Client) beaconValue(ctx context.Context, t *table, b *beacon, v types.AttributeValue, keyID string) (types.AttributeValue, error) {
	if keyID == "" {
		keyID = t.keyID
	}
	if !b.compound() {
		s, err := c.standardBeacon(ctx, t, b, v, keyID)
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberS{Value: s}, nil
	}
	m, ok := v.(*types.AttributeValueMemberM)
	if !ok {
		return nil, errAttr("beacon", t.name, b.name, ErrInvalidItem, "compound beacon values are given as an M of part values")
	}
	s, _, err := c.compoundBeacon(t, b, func(p *beaconPart) types.AttributeValue {
		if pv, ok := m.Value[p.name]; ok {
			return pv
		}
		if p.std != nil {
			return m.Value[p.std.src]
		}
		return nil
	}, func(std *beacon, v types.AttributeValue) (string, error) {
		return c.standardBeacon(ctx, t, std, v, keyID)
	})
	if err != nil {
		return nil, err
	}
	return &types.AttributeValueMemberS{Value: s}, nil
}

// beaconText is a standard beacon's text for the item at hand.
type beaconText struct {
	b *beacon
	s string
}
