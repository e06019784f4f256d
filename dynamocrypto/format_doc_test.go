package dynamocrypto

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/binary"
	"hash/crc32"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// TestDecryptFromFormatDoc verifies and decrypts a stored item following
// FORMAT.md step by step, with the standard library and the keyring only
// (none of the package's own codec).
func TestDecryptFromFormatDoc(t *testing.T) {
	kr := testKeyring(t)
	c, err := New(nil, kr, TableConfig{Name: "docs", PartitionKey: "pk", SortKey: "sk",
		Actions: map[string]Action{"name": EncryptAndSign, "zips": SignOnly, "n": EncryptAndSign}})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := c.EncryptItem(context.Background(), "docs", map[string]types.AttributeValue{
		"pk":   &types.AttributeValueMemberS{Value: "p"},
		"sk":   &types.AttributeValueMemberN{Value: "+1.50"},
		"name": &types.AttributeValueMemberS{Value: "Grace Hopper"},
		"n":    &types.AttributeValueMemberN{Value: "0.0100"},
		"zips": &types.AttributeValueMemberSS{Value: []string{"9", "10"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	hdr := stored["ck$h"].(*types.AttributeValueMemberB).Value
	ftr := stored["ck$f"].(*types.AttributeValueMemberB).Value

	// Header.
	p := hdr
	take := func(n int) []byte { b := p[:n]; p = p[n:]; return b }
	u16 := func() int { return int(binary.BigEndian.Uint16(take(2))) }
	if take(1)[0] != 1 {
		t.Fatal("version")
	}
	suite := u16()
	itemID, commit := take(32), take(32)
	ec := map[string]string{}
	for range u16() {
		k := string(take(u16()))
		ec[k] = string(take(u16()))
	}
	var edks []keyring.EncryptedDataKey
	for range u16() {
		id := string(take(u16()))
		info := take(u16())
		edks = append(edks, keyring.EncryptedDataKey{ProviderID: id, ProviderInfo: info, Ciphertext: take(u16())})
	}
	type entry struct {
		action byte
		name   string
		check  uint32
	}
	var list []entry
	for range u16() {
		a := take(1)[0]
		name := string(take(u16()))
		list = append(list, entry{a, name, binary.BigEndian.Uint32(take(4))})
	}
	if len(p) != 0 || suite != 1 || ec["ck-dynamodb-table"] != "docs" {
		t.Fatalf("header: %d trailing bytes, suite %d, context %v", len(p), suite, ec)
	}

	// Keys.
	m := &keyring.DecryptionMaterials{Suite: keyring.Suite{ID: 1, DataKeyLength: 32}, EncryptionContext: ec}
	if err := kr.OnDecrypt(context.Background(), m, edks); err != nil {
		t.Fatal(err)
	}
	info := append([]byte("ck-dynamodb-item-v1"), 0, 1)
	K, err := hkdf.Key(sha512.New, m.PlaintextDataKey, itemID, string(info), 96)
	if err != nil {
		t.Fatal(err)
	}
	encKey, macKey := K[:32], K[32:64]
	if !hmac.Equal(K[64:], commit) {
		t.Fatal("commitment")
	}

	// Footer.
	len32 := func(b []byte) []byte { return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...) }
	input := len32([]byte("docs"))
	for _, e := range list {
		input = append(input, len32([]byte(e.name))...)
		start := len(input)
		switch v := stored[e.name].(type) {
		case *types.AttributeValueMemberS:
			input = append(append(input, 0x01), len32([]byte(v.Value))...)
		case *types.AttributeValueMemberN: // "+1.50" normalized by hand
			input = append(append(input, 0x02), len32([]byte("15E-1"))...)
		case *types.AttributeValueMemberB:
			input = append(append(input, 0x03), len32(v.Value)...)
		case *types.AttributeValueMemberSS:
			s := slices.Sorted(slices.Values(v.Value))
			input = binary.BigEndian.AppendUint32(append(input, 0x08), uint32(len(s)))
			for _, x := range s {
				input = append(input, len32([]byte(x))...)
			}
		}
		if crc32.ChecksumIEEE(input[start:]) != e.check {
			t.Fatalf("%s: checksum in the header differs", e.name)
		}
	}
	input = append(input, len32(hdr)...)
	mac := hmac.New(sha512.New384, macKey)
	mac.Write(input)
	if !hmac.Equal(mac.Sum(nil), ftr) {
		t.Fatal("footer MAC computed from FORMAT.md does not match")
	}

	// Encrypted values.
	block, _ := aes.NewCipher(encKey)
	gcm, _ := cipher.NewGCM(block)
	got := map[string]string{}
	for i, e := range list {
		if e.action != 1 {
			continue
		}
		v := stored[e.name].(*types.AttributeValueMemberB).Value
		nonce := binary.BigEndian.AppendUint64(make([]byte, 4), uint64(i))
		body, err := gcm.Open(nil, nonce, v[1:], append([]byte{v[0]}, e.name...))
		if err != nil {
			t.Fatalf("%s: %v", e.name, err)
		}
		got[e.name] = string([]byte{v[0]}) + string(body[4:])
	}
	if got["name"] != "\x01Grace Hopper" || got["n"] != "\x020.0100" {
		t.Fatalf("decrypted %q", got)
	}
	if strings.Join([]string{list[0].name, list[1].name, list[2].name, list[3].name, list[4].name}, ",") != "n,name,pk,sk,zips" {
		t.Fatalf("signed list %v", list)
	}
}
