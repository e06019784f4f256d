package keyring_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

func TestSerializeContextGolden(t *testing.T) {
	for desc, c := range map[string]struct {
		ec   map[string]string
		want string // hex
	}{
		"nil":   {nil, ""},
		"empty": {map[string]string{}, ""},
		"one pair": {map[string]string{"a": "bc"},
			"0001" + "0001" + "61" + "0002" + "6263"},
		// Bytewise, "Zeta" (0x5a) sorts before "key1" (0x6b); a locale
		// comparison would put key1 first.
		"ASCII case order": {map[string]string{"key1": "v", "Zeta": "z"},
			"0002" + "0004" + "5a657461" + "0001" + "7a" + "0004" + "6b657931" + "0001" + "76"},
		// "\uff61" is EF BD A1 and "😀" is F0 9F 98 80: bytewise "\uff61"
		// comes first, though in UTF-16 order (D83D < FF61) it would not.
		"non-BMP": {map[string]string{"😀": "1", "\uff61": "2", "z": "3"},
			"0003" + "0001" + "7a" + "0001" + "33" + "0003" + "efbda1" + "0001" + "32" + "0004" + "f09f9880" + "0001" + "31"},
		"prefix sorts first": {map[string]string{"ab": "2", "a": "1"},
			"0002" + "0001" + "61" + "0001" + "31" + "0002" + "6162" + "0001" + "32"},
	} {
		t.Run(desc, func(t *testing.T) {
			got, err := keyring.SerializeContext(c.ec)
			require.NoError(t, err)
			assert.Equal(t, c.want, hex.EncodeToString(got))
		})
	}
}

func TestSerializeContextRejects(t *testing.T) {
	_, err := keyring.SerializeContext(map[string]string{"k\xff": "v"})
	require.ErrorIs(t, err, keyring.ErrInvalidContext)
	_, err = keyring.SerializeContext(map[string]string{"k": "v\xc3"})
	require.ErrorIs(t, err, keyring.ErrInvalidContext)

	// 2 + 4 + 1 + 65528 = 65535 bytes fits the format; one more does not.
	b, err := keyring.SerializeContext(map[string]string{"k": strings.Repeat("v", 65528)})
	require.NoError(t, err)
	assert.Len(t, b, 65535)
	_, err = keyring.SerializeContext(map[string]string{"k": strings.Repeat("v", 65529)})
	require.ErrorIs(t, err, keyring.ErrInvalidContext)
}

func TestValidateContext(t *testing.T) {
	require.NoError(t, keyring.ValidateContext(nil))
	require.NoError(t, keyring.ValidateContext(map[string]string{"tenant": "acme", "😀": "ok"}))
	// 2 + 4 + 1 + 32760 = 32767 bytes, the interoperable maximum.
	require.NoError(t, keyring.ValidateContext(map[string]string{"k": strings.Repeat("v", 32760)}))

	for desc, ec := range map[string]map[string]string{
		"reserved public key": {keyring.PublicKeyContextKey: "AoJvV4eY"},
		"reserved prefix":     {"aws-crypto-anything": "x"},
		"empty key":           {"": "v"},
		"empty value":         {"k": ""},
		"invalid UTF-8":       {"k": "\xff"},
		"too large":           {"k": strings.Repeat("v", 32761)},
		"too large in total":  {"a": strings.Repeat("v", 20000), "b": strings.Repeat("v", 20000)},
	} {
		t.Run(desc, func(t *testing.T) {
			require.ErrorIs(t, keyring.ValidateContext(ec), keyring.ErrInvalidContext)
		})
	}
	// The reserved prefix is matched case-sensitively.
	require.NoError(t, keyring.ValidateContext(map[string]string{"AWS-CRYPTO-x": "v"}))
}
