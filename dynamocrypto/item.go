package dynamocrypto

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"fmt"
	"hash"
	"hash/crc32"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Encryption context keys this package adds (FORMAT.md, "Encryption
// context").
const (
	contextPrefix = "ck-dynamodb-"
	contextTable  = contextPrefix + "table"
	contextAttr   = contextPrefix + "attr:"
)

// EncryptItem returns the item as it is stored in table: EncryptAndSign
// attributes encrypted, signed ones covered by the footer, beacons added,
// the header and footer attributes added. item is not modified; the
// result shares the plaintext attribute values with it. Items of a table
// that is not configured are returned unchanged (a shallow copy).
func (c *Client) EncryptItem(ctx context.Context, table string, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	t := c.table(table)
	if t == nil {
		return cloneItem(item), nil
	}
	return c.encrypt(ctx, t, item)
}

// DecryptItem verifies a stored item of table and returns its plaintext,
// without the header, footer and beacon attributes. Nothing is decrypted
// before the whole item verified. item is not modified. Items of a table
// that is not configured are returned unchanged (a shallow copy).
func (c *Client) DecryptItem(ctx context.Context, table string, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	t := c.table(table)
	if t == nil {
		return cloneItem(item), nil
	}
	return c.decrypt(ctx, t, item)
}

func cloneItem(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	if item == nil {
		return nil
	}
	out := make(map[string]types.AttributeValue, len(item))
	for k, v := range item {
		out[k] = v
	}
	return out
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

// putBuf wipes a buffer (it may have held plaintext) and returns it to the
// pool unless it is large.
func putBuf(b *[]byte) {
	clear((*b)[:cap(*b)])
	if cap(*b) > 1<<16 {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

// encrypt returns a new map holding the stored form of item.
func (c *Client) encrypt(ctx context.Context, t *table, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	const op = "encrypt"
	keys := getItemKeys()
	defer putItemKeys(keys)
	signed := slices.Grow(keys.attrs[:0], len(item))
	hasContext := false
	for name, v := range item {
		if strings.HasPrefix(name, ReservedPrefix) {
			return nil, errAttr(op, t.name, name, ErrInvalidItem, "attribute name uses the reserved prefix %q", ReservedPrefix)
		}
		a, ok := t.action(name)
		if !ok {
			return nil, errAttr(op, t.name, name, ErrUnknownAttribute, "not listed in the table's actions")
		}
		if typeTag(v) == 0 {
			return nil, errAttr(op, t.name, name, ErrInvalidItem, "nil or unsupported attribute value")
		}
		if a.signed() {
			if len(name) > 0xffff {
				// The header holds names with a 16-bit length.
				return nil, errAttr(op, t.name, "", ErrInvalidItem, "signed attribute name of %d bytes, longer than 65535", len(name))
			}
			signed = append(signed, signedAttr{name: name, action: a})
			hasContext = hasContext || a == SignAndIncludeInContext
		}
	}
	for _, k := range []string{t.pk, t.sk} {
		if k == "" {
			continue
		}
		switch item[k].(type) {
		case *types.AttributeValueMemberS, *types.AttributeValueMemberN, *types.AttributeValueMemberB:
		case nil:
			return nil, errAttr(op, t.name, k, ErrInvalidItem, "key attribute missing")
		default:
			return nil, errAttr(op, t.name, k, ErrInvalidItem, "key attribute must be S, N or B")
		}
	}
	keys.attrs = signed
	slices.SortFunc(signed, func(a, b signedAttr) int { return strings.Compare(a.name, b.name) })

	ec := t.baseContext
	if hasContext {
		ec = make(map[string]string, len(t.baseContext)+4)
		for k, v := range t.baseContext {
			ec[k] = v
		}
		for _, a := range signed {
			if a.action != SignAndIncludeInContext {
				continue
			}
			s, err := contextValue(item[a.name])
			if err != nil {
				return nil, errAttr(op, t.name, a.name, ErrInvalidItem, "%v", err)
			}
			ec[contextAttr+a.name] = s
		}
		if err := keyring.ValidateContext(ec); err != nil {
			return nil, errAttr(op, t.name, "", ErrInvalidItem, "SignAndIncludeInContext values: %v", err)
		}
	}
	if len(signed) > 0xffff {
		return nil, errAttr(op, t.name, "", ErrInvalidItem, "%d signed attributes, more than the header's 65535", len(signed))
	}

	// Sizes first, so that every encrypted value is encoded and sealed in
	// place in one backing array of the exact size.
	plainLen, stored, nEnc := 0, 0, 0
	for _, a := range signed {
		if a.action == EncryptAndSign {
			n := bodySize(item[a.name])
			plainLen += n
			stored += 1 + n + 16
			nEnc++
		}
	}

	m, err := c.encryptionMaterials(ctx, t, ec, plainLen)
	if err != nil {
		return nil, keyErr(op, t.name, err)
	}
	defer m.Zero()
	h := header{suite: t.suite, context: m.EncryptionContext, edks: m.EncryptedDataKeys, attrs: signed}
	// Read into keys, which is on the heap already: h stays on the stack.
	if _, err := rand.Read(keys.itemID[:]); err != nil {
		return nil, &Error{Op: op, Table: t.name, Err: fmt.Errorf("%w: random item id: %w", ErrTransient, err)}
	}
	h.itemID = keys.itemID
	if err := deriveItemKeys(keys, m.PlaintextDataKey, t.suite, keys.itemID[:]); err != nil {
		return nil, &Error{Op: op, Table: t.name, Err: err}
	}
	copy(h.commit[:], keys.commit)

	out := make(map[string]types.AttributeValue, len(item)+2+len(t.beacons))
	for name, v := range item {
		out[name] = v
	}
	if err := keys.newAttrCipher(); err != nil {
		return nil, &Error{Op: op, Table: t.name, Err: err}
	}
	backing := make([]byte, 0, stored)
	// The stored values, header and footer, in one allocation.
	bs := make([]types.AttributeValueMemberB, 0, nEnc+2)
	newB := func(b []byte) *types.AttributeValueMemberB {
		bs = append(bs, types.AttributeValueMemberB{Value: b})
		return &bs[len(bs)-1]
	}
	for i, a := range signed {
		if a.action != EncryptAndSign {
			continue
		}
		v := item[a.name]
		tag := typeTag(v)
		off := len(backing)
		backing = append(backing, tag)
		start := len(backing)
		if backing, err = appendBody(backing, v, false, 0); err != nil {
			clear(backing[start:])
			return nil, errAttr(op, t.name, a.name, ErrInvalidItem, "%v", err)
		}
		if len(backing)+16 > cap(backing) {
			clear(backing[start:])
			return nil, errAttr(op, t.name, a.name, ErrInvalidItem, "value changed while it was encrypted")
		}
		// In place: the plaintext's storage becomes the ciphertext's.
		sealed := keys.gcm.Seal(backing[start:start], keys.nonceFor(i), backing[start:], aad(keys.ad[:0], tag, a.name))
		backing = backing[:start+len(sealed)]
		out[a.name] = newB(backing[off:len(backing):len(backing)])
	}
	if err := c.addBeacons(ctx, t, item, out); err != nil {
		return nil, err
	}

	// The attributes go into the MAC first, and their checksums into the
	// header, which goes in last.
	pb := getBuf()
	defer putBuf(pb)
	sw := keys.newSigWriter(t.suite)
	if name, err := sw.streamAttrs(t.name, signed, out, pb, func(i int, sum uint32) { signed[i].check = sum }); err != nil {
		return nil, errAttr(op, t.name, name, ErrInvalidItem, "%v", err)
	}
	keysSorted := keys.names[:0]
	for k := range h.context {
		keysSorted = append(keysSorted, k)
	}
	slices.Sort(keysSorted)
	keys.names = keysSorted
	hb := h.marshal(make([]byte, 0, 256), keysSorted)
	out[headerAttr] = newB(hb)
	sw.writeHeader(hb, pb)
	mac := sw.mac.Sum(keys.sum[:0])
	var sig []byte
	if m.SigningKey != nil {
		if sig, err = signDigest(m.SigningKey, sw.digest()); err != nil {
			return nil, &Error{Op: op, Table: t.name, Err: fmt.Errorf("signing: %w", err)}
		}
	}
	out[footerAttr] = newB(marshalFooter(mac, sig))
	return out, nil
}

// sigWriter feeds the footer's input to the MAC and, on signed suites, to
// the SHA-384 digest that is signed.
type sigWriter struct {
	mac hash.Hash
	sha hash.Hash
}

// newSigWriter returns k's sigWriter (valid until k goes back to the
// pool), keyed with k's MAC key.
func (k *itemKeys) newSigWriter(s Suite) *sigWriter {
	k.sw = sigWriter{mac: hmac.New(sha512.New384, k.mac)}
	if s == SuiteCommitHMACECDSA {
		k.sw.sha = sha512.New384()
	}
	return &k.sw
}

func (w *sigWriter) write(b []byte) {
	w.mac.Write(b)
	if w.sha != nil {
		w.sha.Write(b)
	}
}

func (w *sigWriter) digest() []byte { return w.sha.Sum(nil) }

// streamAttrs writes the first part of the footer's input: the table
// name and every signed attribute of the header's list with its stored
// value in the canonical encoding (FORMAT.md, "Footer"), and reports each
// attribute's checksum (CRC-32 of that encoding) to check. pb is scratch
// space. On an encoding failure it returns the attribute's name.
func (w *sigWriter) streamAttrs(table string, attrs []signedAttr, item map[string]types.AttributeValue, pb *[]byte, check func(i int, sum uint32)) (string, error) {
	b := appendString((*pb)[:0], table)
	w.write(b)
	var err error
	for i, a := range attrs {
		w.write(appendString(b[:0], a.name))
		v := item[a.name]
		if bv, ok := v.(*types.AttributeValueMemberB); ok && bv != nil {
			// Large values go to the hash without a copy.
			b = appendLen(append(b[:0], tagB), len(bv.Value))
			w.write(b)
			w.write(bv.Value)
			check(i, crc32.Update(crc32.ChecksumIEEE(b), crc32.IEEETable, bv.Value))
			continue
		}
		if b, err = appendValue(b[:0], v, true, 0); err != nil {
			*pb = b
			return a.name, err
		}
		w.write(b)
		check(i, crc32.ChecksumIEEE(b))
	}
	*pb = b
	return "", nil
}

// writeHeader writes the last part of the footer's input: the header.
func (w *sigWriter) writeHeader(hb []byte, pb *[]byte) {
	*pb = appendLen((*pb)[:0], len(hb))
	w.write(*pb)
	w.write(hb)
}

// contextValue returns the encryption-context text of a
// SignAndIncludeInContext value: its type and its canonical text.
func contextValue(v types.AttributeValue) (string, error) {
	if typeTag(v) == 0 {
		return "", errValue
	}
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return "S:" + v.Value, nil
	case *types.AttributeValueMemberN:
		b, err := appendNumber(nil, v.Value, true)
		if err != nil {
			return "", err
		}
		return "N:" + string(b[4:]), nil
	case *types.AttributeValueMemberB:
		return "B:" + base64Std(v.Value), nil
	case *types.AttributeValueMemberBOOL:
		if v.Value {
			return "BOOL:true", nil
		}
		return "BOOL:false", nil
	}
	return "", fmt.Errorf("SignAndIncludeInContext takes S, N, B or BOOL values")
}
