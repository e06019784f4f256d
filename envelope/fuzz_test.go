package envelope

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// storedMessage is a message kept in testdata/messages.json: written once
// with the fixed test keyring, it must decrypt forever.
type storedMessage struct {
	Name       string            `json:"name"`
	Suite      string            `json:"suite"`
	Plaintext  string            `json:"plaintext"`  // hex
	Reproduced map[string]string `json:"reproduced"` // context to supply on decrypt
	Reference  bool              `json:"reference"`  // refDecrypt can read it
	Message    string            `json:"message"`    // hex
}

func storedMessages(t testing.TB) []storedMessage {
	var file struct{ Messages []storedMessage }
	loadJSON(t, "messages.json", &file)
	require.NotEmpty(t, file.Messages)
	return file.Messages
}

// TestStoredMessages decrypts the stored messages: every suite, both
// exact-multiple layouts, non-framed bodies, the early empty-context form
// and a message with a required context key.
func TestStoredMessages(t *testing.T) {
	kr := testKR(t)
	suitesSeen := map[SuiteID]bool{}
	for _, m := range storedMessages(t) {
		t.Run(m.Name, func(t *testing.T) {
			msg, pt := unhex(t, m.Message), unhex(t, m.Plaintext)
			got, errD, errS := decryptBoth(kr, msg, allowAll(), WithContext(m.Reproduced))
			require.NoError(t, errD)
			require.NoError(t, errS)
			assert.Equal(t, string(pt), string(got))
			_, h, err := Decrypt(context.Background(), kr, msg, allowAll(), WithContext(m.Reproduced))
			require.NoError(t, err)
			assert.Equal(t, m.Suite, h.Suite.String())
			suitesSeen[h.Suite] = true
			if m.Reference {
				got, err := refDecrypt(msg, testWrapKey, testNamespace, testKeyName)
				require.NoError(t, err)
				assert.Equal(t, string(pt), string(got))
			}
			if len(m.Reproduced) > 0 {
				_, errD, _ := decryptBoth(kr, msg, allowAll())
				assert.Error(t, errD, "the reproduced context is needed")
			}
		})
	}
	assert.Len(t, suitesSeen, len(Suites()), "every suite has a stored message")
}

// headerInvariants checks what a successfully parsed header promises.
func headerInvariants(t *testing.T, data []byte, h *Header, consumed int) {
	s, ok := lookupSuite(h.Suite)
	require.True(t, ok)
	require.Equal(t, int(s.version), h.Version)
	require.Len(t, h.MessageID, s.messageIDLen())
	require.NotEmpty(t, h.EncryptedDataKeys)
	require.Equal(t, h.ContentType == NonFramed, h.FrameSize == 0)
	require.LessOrEqual(t, h.FrameSize, MaxFrameSize)

	// The raw fields are exactly the bytes consumed, in order.
	auth := append(bytes.Clone(h.headerIV), h.authTag...)
	require.Equal(t, data[:consumed], append(bytes.Clone(h.raw), auth...))

	// Re-marshalling with the context bytes as stored gives the raw header
	// body back; with a canonical context, the canonical form does too.
	ecOff := 20
	if h.Version == 2 {
		ecOff = 35
	}
	ecLen := int(binary.BigEndian.Uint16(h.raw[ecOff:]))
	stored := h.raw[ecOff+2 : ecOff+2+ecLen]
	require.Equal(t, h.raw, h.marshal(stored))
	canonical, err := keyring.SerializeContext(h.Context)
	require.NoError(t, err, "a parsed context always serializes")
	if bytes.Equal(canonical, stored) {
		require.Equal(t, h.raw, h.marshal(canonical))
	}
	back, err := parseContext(canonical)
	require.NoError(t, err)
	require.Equal(t, len(h.Context), len(back))
	for k, v := range h.Context {
		require.Equal(t, v, back[k])
	}
}

// FuzzParseHeader parses arbitrary input as a header: it must never panic,
// failures must be categorized, and a parsed header must account for
// exactly the bytes it consumed.
func FuzzParseHeader(f *testing.F) {
	for _, m := range storedMessages(f) {
		f.Add(unhex(f, m.Message))
	}
	f.Add(unhex(f, goldenV1Header+"000000000000000000000000 F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF"))
	f.Add(unhex(f, goldenV2Header+"F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF"))
	f.Add([]byte("AYAAFHg="))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		h, err := parseHeader(r, DefaultMaxHeaderSize, 0xffff)
		if err != nil {
			require.Nil(t, h)
			require.NotNil(t, category(err), "uncategorized error %v", err)
			return
		}
		headerInvariants(t, data, h, len(data)-r.Len())
	})
}

// FuzzDecrypt decrypts arbitrary input with the fixed test keyring: it must
// never panic, every failure must be categorized and agree with the
// streaming reader, and only the stored messages may decrypt.
func FuzzDecrypt(f *testing.F) {
	kr := testKR(f)
	known := map[string]bool{}
	for _, m := range storedMessages(f) {
		msg := unhex(f, m.Message)
		known[string(msg)] = true
		f.Add(msg)
	}
	// Seeds are the stored messages only: fuzzing workers run this setup
	// again, so a message encrypted here would differ in every process.
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		pt, h, err := Decrypt(ctx, kr, data, allowAll())
		var streamed []byte
		r, errS := NewReader(ctx, bytes.NewReader(data), kr, allowAll())
		if errS == nil {
			streamed, errS = io.ReadAll(r)
		}
		if err != nil {
			require.Nil(t, pt)
			require.Nil(t, h)
			require.NotNil(t, category(err), "uncategorized error %v", err)
			require.Error(t, errS, "the streaming reader accepted what Decrypt refused: %v", err)
			require.NotNil(t, category(errS), "uncategorized error %v", errS)
			return
		}
		require.True(t, known[string(data)], "decrypted an input that is not a known message")
		require.NoError(t, errS)
		require.Equal(t, string(pt), string(streamed))
	})
}
