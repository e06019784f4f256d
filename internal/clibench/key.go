package main

import (
	"encoding/base64"
	"strings"
)

// decodeKey reads the base64 key file that `cryptkeeper keys generate --aes`
// writes.
func decodeKey(b []byte) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
}
