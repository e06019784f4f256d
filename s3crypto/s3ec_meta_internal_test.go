package s3crypto

import (
	"encoding/base64"
	"errors"
	"maps"
	"mime"
	"sort"
	"strings"
	"testing"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
)

func b64n(n int, fill byte) string {
	return base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string([]byte{fill}), n)))
}

// v3Meta and v2Meta are metadata as the official Go client v4 writes it
// (S3-FORMAT.md 1.8), empty x-amz-m and length keys included.
func v3Meta() map[string]string {
	return map[string]string{
		"x-amz-c": "115", "x-amz-3": b64n(184, 7), "x-amz-i": b64n(28, 1), "x-amz-d": b64n(28, 2),
		"x-amz-w": "12", "x-amz-t": `{"aws:x-amz-cek-alg":"115","project":"demo","team":"crypto"}`,
		"x-amz-m": "", "x-amz-unencrypted-content-length": "",
	}
}

func v2Meta() map[string]string {
	return map[string]string{
		"x-amz-key-v2": b64n(184, 7), "x-amz-iv": b64n(12, 3), "x-amz-cek-alg": "AES/GCM/NoPadding",
		"x-amz-wrap-alg": "kms+context", "x-amz-tag-len": "128", "x-amz-unencrypted-content-length": "32",
		"x-amz-matdesc": `{"aws:x-amz-cek-alg":"AES/GCM/NoPadding","project":"demo","team":"crypto"}`,
	}
}

func parseObjectMeta(m map[string]string) (*s3ecMeta, error) {
	k, err := s3ecKeys(m)
	if err != nil {
		return nil, err
	}
	v, instr, err := s3ecLayout(k)
	if err != nil {
		return nil, err
	}
	if v == 0 || instr {
		return nil, ErrNotEncrypted
	}
	return parseS3EC(k, v)
}

func TestS3ECParseOfficial(t *testing.T) {
	sm, err := parseObjectMeta(v3Meta())
	if err != nil {
		t.Fatal(err)
	}
	if sm.version != 3 || sm.suite != s3ecCommit || sm.wrapAlg != "kms+context" || len(sm.iv) != 28 || len(sm.commitment) != 28 || sm.plainLen != -1 {
		t.Fatalf("V3: %+v", sm)
	}
	if sm.desc["project"] != "demo" || sm.desc[kmsReservedKey] != "115" {
		t.Fatalf("V3 context %v", sm.desc)
	}
	sm, err = parseObjectMeta(v2Meta())
	if err != nil {
		t.Fatal(err)
	}
	if sm.version != 2 || sm.suite != s3ecGCM || len(sm.iv) != 12 || sm.plainLen != 32 {
		t.Fatalf("V2: %+v", sm)
	}
	// Upper-case keys (stores that keep the case) read the same.
	up := map[string]string{}
	for k, v := range v2Meta() {
		up[strings.ToUpper(k)] = v
	}
	if _, err := parseObjectMeta(up); err != nil {
		t.Fatal(err)
	}
}

// TestS3ECParseRejects alters each key of V2 and V3 metadata.
func TestS3ECParseRejects(t *testing.T) {
	cases := []struct {
		name string
		base func() map[string]string
		edit func(m map[string]string)
	}{
		{"v3 two edks", v3Meta, func(m map[string]string) { m["x-amz-key-v2"] = b64n(10, 1) }},
		{"v2 two edks", v2Meta, func(m map[string]string) { m["x-amz-key"] = b64n(10, 1) }},
		{"v3 with v2 key", v3Meta, func(m map[string]string) { m["x-amz-iv"] = b64n(12, 1) }},
		{"v2 with v3 key", v2Meta, func(m map[string]string) { m["x-amz-w"] = "12" }},
		{"v3 no c", v3Meta, func(m map[string]string) { delete(m, "x-amz-c") }},
		{"v3 no w", v3Meta, func(m map[string]string) { delete(m, "x-amz-w") }},
		{"v3 no d", v3Meta, func(m map[string]string) { delete(m, "x-amz-d") }},
		{"v3 no i", v3Meta, func(m map[string]string) { delete(m, "x-amz-i") }},
		{"v3 bad c", v3Meta, func(m map[string]string) { m["x-amz-c"] = "114" }},
		{"v3 bad w", v3Meta, func(m map[string]string) { m["x-amz-w"] = "13" }},
		{"v3 short d", v3Meta, func(m map[string]string) { m["x-amz-d"] = b64n(27, 2) }},
		{"v3 long i", v3Meta, func(m map[string]string) { m["x-amz-i"] = b64n(29, 2) }},
		{"v3 bad base64", v3Meta, func(m map[string]string) { m["x-amz-3"] = "!!!" }},
		{"v3 t not json", v3Meta, func(m map[string]string) { m["x-amz-t"] = "{" }},
		{"v3 t numbers", v3Meta, func(m map[string]string) { m["x-amz-t"] = `{"a":1}` }},
		{"v3 m for kms", v3Meta, func(m map[string]string) { m["x-amz-m"] = `{"a":"b"}` }},
		{"v3 bad length", v3Meta, func(m map[string]string) { m["x-amz-unencrypted-content-length"] = "-1" }},
		{"v2 no cek", v2Meta, func(m map[string]string) { delete(m, "x-amz-cek-alg") }},
		{"v2 no wrap", v2Meta, func(m map[string]string) { delete(m, "x-amz-wrap-alg") }},
		{"v2 no iv", v2Meta, func(m map[string]string) { delete(m, "x-amz-iv") }},
		{"v2 no matdesc", v2Meta, func(m map[string]string) { delete(m, "x-amz-matdesc") }},
		{"v2 no tag", v2Meta, func(m map[string]string) { delete(m, "x-amz-tag-len") }},
		{"v2 tag 96", v2Meta, func(m map[string]string) { m["x-amz-tag-len"] = "96" }},
		{"v2 iv 16 for gcm", v2Meta, func(m map[string]string) { m["x-amz-iv"] = b64n(16, 1) }},
		{"v2 bad cek", v2Meta, func(m map[string]string) { m["x-amz-cek-alg"] = "AES/CTR/NoPadding" }},
		{"v2 bad wrap", v2Meta, func(m map[string]string) { m["x-amz-wrap-alg"] = "rot13" }},
		{"v2 bad length", v2Meta, func(m map[string]string) { m["x-amz-unencrypted-content-length"] = "x" }},
		{"v2 empty edk", v2Meta, func(m map[string]string) { m["x-amz-key-v2"] = "" }},
		{"iv only", func() map[string]string { return map[string]string{"x-amz-iv": b64n(12, 1)} }, func(map[string]string) {}},
	}
	for _, tc := range cases {
		m := tc.base()
		tc.edit(m)
		if _, err := parseObjectMeta(m); !errors.Is(err, envelope.ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", tc.name, err)
		}
	}
	m := v2Meta()
	m["x-amz-wrap-alg"] = "AESWrap"
	if _, err := parseObjectMeta(m); !errors.Is(err, ErrUnsupported) {
		t.Errorf("AESWrap: %v", err)
	}
}

func TestS3ECTagLenNumberOrString(t *testing.T) {
	for _, body := range []string{
		`{"x-amz-tag-len":128,"x-amz-unencrypted-content-length":5}`,
		`{"x-amz-tag-len":"128","x-amz-unencrypted-content-length":"5"}`,
	} {
		m, err := parseInstruction([]byte(body))
		if err != nil || m["x-amz-tag-len"] != "128" || m["x-amz-unencrypted-content-length"] != "5" {
			t.Fatalf("%s: %v %v", body, m, err)
		}
	}
	for _, body := range []string{`[]`, `null`, `{"x-amz-iv":1}`, `{"x-amz-tag-len":{}}`, `{`} {
		if _, err := parseInstruction([]byte(body)); !errors.Is(err, envelope.ErrFormat) {
			t.Errorf("%s: %v", body, err)
		}
	}
}

func TestS3ECEntriesRoundTrip(t *testing.T) {
	for _, sm := range []*s3ecMeta{
		{version: 3, suite: s3ecCommit, wrapAlg: "kms+context", edk: []byte("edk"), iv: make([]byte, 28), commitment: make([]byte, 28),
			desc: map[string]string{kmsReservedKey: "115", "ü": "日本語 😀"}, plainLen: 9},
		{version: 3, suite: s3ecCommit, wrapAlg: "AES/GCM", edk: []byte("edk"), iv: make([]byte, 28), commitment: make([]byte, 28), desc: map[string]string{}, plainLen: -1},
		{version: 2, suite: s3ecGCM, wrapAlg: "RSA-OAEP-SHA1", edk: []byte("edk"), iv: make([]byte, 12), desc: map[string]string{}, plainLen: 7},
	} {
		e := sm.entries()
		for k, v := range e {
			for _, r := range v {
				if r >= 0x80 {
					t.Fatalf("%s = %q is not US-ASCII", k, v)
				}
			}
		}
		if sm.version == 3 {
			if _, ok := e[s3ecPlainLen]; ok {
				t.Fatal("V3 writes a length key")
			}
			if _, ok := e[s3ecMD3]; ok {
				t.Fatal("V3 writes an empty x-amz-m")
			}
		}
		got, err := parseObjectMeta(e)
		if err != nil {
			t.Fatal(err)
		}
		want := *sm
		if sm.version == 3 {
			want.plainLen = -1
		}
		if got.version != want.version || got.suite != want.suite || got.wrapAlg != want.wrapAlg || got.plainLen != want.plainLen ||
			string(got.edk) != string(want.edk) || !maps.Equal(got.desc, want.desc) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
		}
	}
	if got := encodeJSONMap(map[string]string{"b": "2", "a": "<&>"}); got != `{"a":"\u003c\u0026\u003e","b":"2"}` {
		t.Fatalf("JSON as json.Marshal writes it: %s", got)
	}
}

// TestS3ECDoubleEncoding reads a context with non-ASCII text as S3 returns
// it: each UTF-8 byte made a character, then RFC 2047-encoded.
func TestS3ECDoubleEncoding(t *testing.T) {
	orig := `{"aws:x-amz-cek-alg":"115","city":"Zürich","名前":"値"}`
	var mangled []rune
	for _, b := range []byte(orig) {
		mangled = append(mangled, rune(b))
	}
	wire := mime.BEncoding.Encode("UTF-8", string(mangled))
	if !strings.HasPrefix(wire, "=?UTF-8?b?") {
		t.Fatalf("wire %q", wire)
	}
	m, err := decodeJSONMap(wire)
	if err != nil {
		t.Fatal(err)
	}
	if m["city"] != "Zürich" || m["名前"] != "値" {
		t.Fatalf("decoded %v", m)
	}
	// RFC 2047 without the mangling reads too.
	m, err = decodeJSONMap(mime.QEncoding.Encode("UTF-8", orig))
	if err != nil || m["city"] != "Zürich" {
		t.Fatalf("plain RFC 2047: %v %v", m, err)
	}
	if _, err := decodeJSONMap("=?UTF-8?X?abc?="); !errors.Is(err, envelope.ErrFormat) {
		t.Fatalf("bad RFC 2047: %v", err)
	}
}

func TestS3ECInstructionMerge(t *testing.T) {
	full := v3Meta()
	obj, instr := splitInstruction(full, 3)
	if len(obj) != 3 || instr["x-amz-c"] != "" || instr["x-amz-3"] == "" {
		t.Fatalf("split %v / %v", obj, instr)
	}
	ok, _ := s3ecKeys(obj)
	ik, _ := s3ecKeys(instr)
	merged, v, err := mergeInstruction(ok, ik)
	if err != nil || v != 3 || !maps.Equal(merged, full) {
		t.Fatalf("merge: %v %v %v", merged, v, err)
	}
	// A V3 instruction file holding c/d/i is refused (as Go does).
	if _, _, err := mergeInstruction(ok, full); !errors.Is(err, envelope.ErrFormat) {
		t.Fatalf("V3 file with c/d/i: %v", err)
	}
	// A V3 instruction file for an object without c/d/i.
	if _, _, err := mergeInstruction(map[string]string{}, ik); !errors.Is(err, envelope.ErrFormat) {
		t.Fatalf("V3 file, bare object: %v", err)
	}
	// A V2 file for an object with S3EC keys.
	if _, _, err := mergeInstruction(ok, v2Meta()); !errors.Is(err, envelope.ErrFormat) {
		t.Fatalf("V2 file, V3 object: %v", err)
	}
	if _, v, err := mergeInstruction(map[string]string{}, v2Meta()); err != nil || v != 2 {
		t.Fatalf("V2 file: %v %v", v, err)
	}
}

func TestS3ECMetadataBudget(t *testing.T) {
	m := v2Meta()
	if err := checkMetadataSize(m); err != nil {
		t.Fatal(err)
	}
	m["big"] = strings.Repeat("x", maxUserMetadata)
	if err := checkMetadataSize(m); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("over 2 KB: %v", err)
	}
}

// FuzzParseS3ECMeta feeds object metadata and an instruction file to the
// S3EC parser: it never panics, and what it accepts is consistent.
func FuzzParseS3ECMeta(f *testing.F) {
	enc := func(m map[string]string) string {
		var sb strings.Builder
		for _, k := range sortedKeys(m) {
			sb.WriteString(k + "\x00" + m[k] + "\x00")
		}
		return sb.String()
	}
	f.Add(enc(v3Meta()), []byte(nil))
	f.Add(enc(v2Meta()), []byte(nil))
	obj, instr := splitInstruction(v3Meta(), 3)
	ib, _ := jsonBytes(instr)
	f.Add(enc(obj), ib)
	vb, _ := jsonBytes(v2Meta())
	f.Add("", vb)
	f.Add("x-amz-t\x00=?UTF-8?B?e30=?=\x00", []byte(`{"x-amz-tag-len":128}`))
	f.Fuzz(func(t *testing.T, flat string, file []byte) {
		parts := strings.Split(flat, "\x00")
		m := map[string]string{}
		for i := 0; i+1 < len(parts); i += 2 {
			m[parts[i]] = parts[i+1]
		}
		keys, err := s3ecKeys(m)
		if err != nil {
			return
		}
		v, needInstr, err := s3ecLayout(keys)
		if err != nil {
			return
		}
		if file != nil && (v == 0 || needInstr) {
			in, err := parseInstruction(file)
			if err != nil {
				return
			}
			ik, err := s3ecKeys(in)
			if err != nil {
				return
			}
			obj := keys
			if keys, v, err = mergeInstruction(obj, ik); err != nil {
				return
			}
			if v == 3 {
				// The commitment, message ID and content algorithm come from
				// the object, never from the file.
				for _, k := range v3Object {
					if _, inFile := ik[k]; inFile || obj[k] == "" && keys[k] != "" {
						t.Fatalf("V3 %s taken from the instruction file", k)
					}
				}
			}
		} else if v == 0 || needInstr {
			return
		}
		sm, err := parseS3EC(keys, v)
		if err != nil {
			return
		}
		if len(sm.edk) == 0 || len(sm.edk) > maxS3ECEDK {
			t.Fatalf("accepted an EDK of %d bytes", len(sm.edk))
		}
		switch sm.suite {
		case s3ecCommit:
			if len(sm.iv) != 28 || len(sm.commitment) != 28 {
				t.Fatalf("V3 lengths %d %d", len(sm.iv), len(sm.commitment))
			}
		case s3ecGCM:
			if len(sm.iv) != 12 {
				t.Fatal("GCM IV length")
			}
		case s3ecCBC:
			if len(sm.iv) != 16 {
				t.Fatal("CBC IV length")
			}
		default:
			t.Fatalf("suite %v", sm.suite)
		}
	})
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
