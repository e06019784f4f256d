package s3crypto

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
)

// maxInstructionFile bounds the instruction file GetObject reads.
const maxInstructionFile = 64 << 10

// parseInstruction reads the JSON object of an instruction file: string
// members, and numbers for the tag and plaintext lengths.
func parseInstruction(body []byte) (map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return nil, fmt.Errorf("%w: instruction file is not a JSON object", envelope.ErrFormat)
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			out[k] = s
			continue
		}
		var n json.Number
		d := json.NewDecoder(bytes.NewReader(v))
		d.UseNumber()
		lk := strings.ToLower(k)
		if (lk == s3ecMetaTagLen || lk == s3ecPlainLen) && d.Decode(&n) == nil {
			out[k] = n.String()
			continue
		}
		return nil, fmt.Errorf("%w: instruction file member %q is not a string", envelope.ErrFormat, k)
	}
	return out, nil
}

// encodeJSONMap writes m as the official clients do (a JSON object with
// sorted keys), with every non-ASCII character escaped so that the value
// is US-ASCII, as S3 metadata must be.
func encodeJSONMap(m map[string]string) string {
	if m == nil {
		m = map[string]string{}
	}
	b, _ := json.Marshal(m) // a map of strings always marshals
	var sb strings.Builder
	for _, r := range string(b) {
		switch {
		case r < utf8.RuneSelf:
			sb.WriteRune(r)
		case r > 0xffff:
			r -= 0x10000
			fmt.Fprintf(&sb, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		default:
			fmt.Fprintf(&sb, `\u%04x`, r)
		}
	}
	return sb.String()
}

// decodeJSONMap reads a JSON object of strings (empty or "": none). S3
// returns a metadata value with non-ASCII characters RFC 2047-encoded on
// top of a mangling that turned each UTF-8 byte into a character; both are
// undone.
func decodeJSONMap(s string) (map[string]string, error) {
	if s == "" || s == `""` {
		return map[string]string{}, nil
	}
	if strings.Contains(s, "=?") {
		d, err := new(mime.WordDecoder).DecodeHeader(s)
		if err != nil {
			return nil, fmt.Errorf("%w: undecodable RFC 2047 value", envelope.ErrFormat)
		}
		s = undoByteMangling(d)
	}
	m := map[string]string{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object of strings", envelope.ErrFormat)
	}
	return m, nil
}

// undoByteMangling maps a string whose characters are all below U+0100
// back to those bytes when they are valid UTF-8 (the "double encoding");
// other strings are returned unchanged.
func undoByteMangling(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return s
		}
		b = append(b, byte(r))
	}
	if !utf8.Valid(b) {
		return s
	}
	return string(b)
}
