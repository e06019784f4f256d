package dynamocrypto

import (
	"context"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func signDigest(priv *ecdsa.PrivateKey, digest []byte) ([]byte, error) {
	return ecdsa.SignASN1(rand.Reader, priv, digest)
}

// decrypt verifies item and returns a new map of its plaintext.
func (c *Client) decrypt(ctx context.Context, t *table, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	const op = "decrypt"
	authErr := func(attr, format string, args ...any) error {
		return errAttr(op, t.name, attr, ErrAuthentication, format, args...)
	}
	if t.plaintextReads && item[headerAttr] == nil && item[footerAttr] == nil {
		return legacyItem(t, item)
	}
	hv, ok := item[headerAttr].(*types.AttributeValueMemberB)
	if !ok || typeTag(hv) == 0 {
		return nil, errAttr(op, t.name, headerAttr, ErrFormat, "no header attribute (B): not an encrypted item")
	}
	fv, ok := item[footerAttr].(*types.AttributeValueMemberB)
	if !ok || typeTag(fv) == 0 {
		return nil, errAttr(op, t.name, footerAttr, ErrFormat, "no footer attribute (B): not an encrypted item")
	}
	h, err := parseHeader(hv.Value)
	if err != nil {
		return nil, &Error{Op: op, Table: t.name, Attribute: headerAttr, Err: err}
	}
	if t.suite == SuiteCommitHMACECDSA && h.suite != SuiteCommitHMACECDSA {
		// Anyone who can unwrap data keys can make an item of the HMAC
		// suite: a table of the signed suite takes only signed items.
		return nil, errAttr(op, t.name, headerAttr, ErrAuthentication, "item of suite %#04x is not signed, and the table requires signed items", uint16(h.suite))
	}
	f, err := parseFooter(fv.Value, h.suite)
	if err != nil {
		return nil, &Error{Op: op, Table: t.name, Attribute: footerAttr, Err: err}
	}
	if got := h.context[contextTable]; got != t.name {
		return nil, authErr("", "the item was written for table %q", got)
	}
	for k, v := range t.context {
		if h.context[k] != v {
			return nil, authErr("", "encryption context value of %q differs from the table's", k)
		}
	}

	// The attribute lists: everything the header signs must be present,
	// nothing the configuration signs may be present unsigned.
	inHeader := h.action
	for _, a := range h.attrs {
		v, present := item[a.name]
		if !present {
			return nil, authErr(a.name, "signed attribute was removed")
		}
		switch a.action {
		case EncryptAndSign:
			b, isB := v.(*types.AttributeValueMemberB)
			if !isB || b == nil || len(b.Value) < 1+16 {
				return nil, authErr(a.name, "encrypted attribute was replaced by a value that is not an encrypted value")
			}
		case SignAndIncludeInContext:
			s, err := contextValue(v)
			if err != nil || !hmac.Equal([]byte(s), []byte(h.context[contextAttr+a.name])) {
				return nil, authErr(a.name, "value differs from the one bound into the encryption context")
			}
		}
	}
	for _, k := range []string{t.pk, t.sk} {
		if a, ok := inHeader(k); k != "" && (!ok || a == EncryptAndSign) {
			return nil, authErr(k, "key attribute is not signed in plaintext by the item")
		}
	}
	for name := range item {
		if _, ok := inHeader(name); ok || strings.HasPrefix(name, ReservedPrefix) {
			continue
		}
		a, known := t.action(name)
		switch {
		case !known:
			return nil, errAttr(op, t.name, name, ErrUnknownAttribute, "not listed in the table's actions")
		case a.signed():
			return nil, authErr(name, "attribute was added: the configuration signs it but the item does not")
		}
	}
	for k := range h.context {
		if strings.HasPrefix(k, contextAttr) {
			if a, _ := inHeader(strings.TrimPrefix(k, contextAttr)); a != SignAndIncludeInContext {
				return nil, authErr("", "encryption context names attribute %q that the item does not bind", strings.TrimPrefix(k, contextAttr))
			}
		}
	}
	var pub *ecdsa.PublicKey
	if h.suite == SuiteCommitHMACECDSA {
		if pub, err = parsePublicKey(h.context[keyring.PublicKeyContextKey]); err != nil {
			return nil, errAttr(op, t.name, headerAttr, ErrFormat, "%v", err)
		}
	} else if _, has := h.context[keyring.PublicKeyContextKey]; has {
		return nil, errAttr(op, t.name, headerAttr, ErrFormat, "unsigned suite with a verification key")
	}

	m, err := c.decryptionMaterials(ctx, t, h)
	if err != nil {
		return nil, keyErr(op, t.name, err)
	}
	keys := getItemKeys()
	defer putItemKeys(keys)
	err = deriveItemKeys(keys, m.PlaintextDataKey, h.suite, h.itemID[:])
	m.Zero()
	if err != nil {
		return nil, &Error{Op: op, Table: t.name, Err: err}
	}
	if !hmac.Equal(keys.commit, h.commit[:]) {
		return nil, authErr(headerAttr, "key commitment does not match the data key")
	}

	pb := getBuf()
	defer putBuf(pb)
	sw := keys.newSigWriter(h.suite)
	changed := -1 // the first attribute whose checksum differs from the header's
	if name, err := sw.streamAttrs(t.name, h.attrs, item, pb, func(i int, sum uint32) {
		if changed < 0 && sum != h.attrs[i].check {
			changed = i
		}
	}); err != nil {
		return nil, authErr(name, "signed value cannot be encoded: %v", err)
	}
	sw.writeHeader(hv.Value, pb)
	if !hmac.Equal(sw.mac.Sum(keys.sum[:0]), f.mac) {
		if changed >= 0 {
			// The checksums only point at the culprit; the MAC decided.
			return nil, authErr(h.attrs[changed].name, "value is not the one the item was signed with (altered, swapped from another item, replayed, or the item moved to another key)")
		}
		return nil, authErr("", "footer MAC does not match: the header or a signed attribute was altered")
	}
	if pub != nil && !ecdsa.VerifyASN1(pub, sw.digest(), f.sig) {
		return nil, authErr(footerAttr, "signature does not verify")
	}

	out := make(map[string]types.AttributeValue, len(item))
	for name, v := range item {
		if !strings.HasPrefix(name, ReservedPrefix) {
			out[name] = v
		}
	}
	if err := keys.newAttrCipher(); err != nil {
		return nil, &Error{Op: op, Table: t.name, Err: err}
	}
	var tv textValues
	for _, a := range h.attrs {
		if a.action == EncryptAndSign {
			tv.reserve(item[a.name].(*types.AttributeValueMemberB).Value)
		}
	}
	tv.alloc()
	for i, a := range h.attrs {
		if a.action != EncryptAndSign {
			continue
		}
		stored := item[a.name].(*types.AttributeValueMemberB).Value
		tag := stored[0]
		body, err := keys.gcm.Open((*pb)[:0], keys.nonceFor(i), stored[1:], aad(keys.ad[:0], tag, a.name))
		if err != nil {
			return nil, authErr(a.name, "encrypted value does not authenticate")
		}
		*pb = body
		var v types.AttributeValue
		if tag == tagS || tag == tagN {
			v, err = tv.decode(tag, body)
		} else {
			v, err = decodeValue(tag, body)
		}
		if err != nil {
			return nil, errAttr(op, t.name, a.name, ErrFormat, "decrypted value: %v", err)
		}
		out[a.name] = v
	}
	return out, nil
}

// legacyItem returns a copy of an item written before the table was
// encrypted (TableConfig.PlaintextReads), without reserved attributes.
// Its attributes must still be known to the configuration.
func legacyItem(t *table, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	out := make(map[string]types.AttributeValue, len(item))
	for name, v := range item {
		if strings.HasPrefix(name, ReservedPrefix) {
			continue
		}
		if _, known := t.action(name); !known {
			return nil, errAttr("decrypt", t.name, name, ErrUnknownAttribute, "not listed in the table's actions")
		}
		out[name] = v
	}
	return out, nil
}

// textValues decodes the top-level S and N values of one item with few
// allocations: their strings are substrings of one, their structs share
// one slice per type. reserve every stored value first, then alloc, then
// decode.
type textValues struct {
	sb     strings.Builder
	size   int
	nS, nN int
	ss     []types.AttributeValueMemberS
	ns     []types.AttributeValueMemberN
}

// reserve counts a stored encrypted value (type tag, ciphertext, GCM tag).
func (tv *textValues) reserve(stored []byte) {
	switch stored[0] {
	case tagS:
		tv.nS++
	case tagN:
		tv.nN++
	default:
		return
	}
	// The body is the ciphertext's length: a u32 length and the text.
	tv.size += max(0, len(stored)-1-16-4)
}

func (tv *textValues) alloc() {
	tv.sb.Grow(tv.size)
	tv.ss = make([]types.AttributeValueMemberS, 0, tv.nS)
	tv.ns = make([]types.AttributeValueMemberN, 0, tv.nN)
}

// decode decodes the body of an S or N value, as decodeValue does.
func (tv *textValues) decode(tag byte, body []byte) (types.AttributeValue, error) {
	d := decoder{b: body}
	raw, err := d.bytes()
	if err != nil {
		return nil, err
	}
	if len(d.b) != 0 {
		return nil, errors.New("trailing bytes after value")
	}
	if !utf8.Valid(raw) {
		return nil, errors.New("string is not valid UTF-8")
	}
	start := tv.sb.Len()
	tv.sb.Write(raw)
	s := tv.sb.String()[start:]
	if tag == tagS {
		tv.ss = append(tv.ss, types.AttributeValueMemberS{Value: s})
		return &tv.ss[len(tv.ss)-1], nil
	}
	if _, _, _, err := parseNumber(s); err != nil {
		return nil, err
	}
	tv.ns = append(tv.ns, types.AttributeValueMemberN{Value: s})
	return &tv.ns[len(tv.ns)-1], nil
}
