package kmstest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzRequest feeds arbitrary bodies to every operation: the server must
// answer with JSON and never panic.
func FuzzRequest(f *testing.F) {
	s := NewServer()
	defer s.Close()
	arn, err := s.CreateKey()
	if err != nil {
		f.Fatal(err)
	}
	f.Add("Decrypt", []byte(`{"CiphertextBlob":"awEkAAAA"}`))
	f.Add("Encrypt", []byte(`{"KeyId":"`+arn+`","Plaintext":"aGk="}`))
	f.Add("GenerateDataKey", []byte(`{"KeyId":"`+arn+`","NumberOfBytes":32}`))
	f.Add("ReEncrypt", []byte(`{"DestinationKeyId":"alias/x"}`))
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", "TrentService."+op)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code == 0 || rec.Body.Len() == 0 {
			t.Fatalf("empty response for %s", op)
		}
	})
}

// FuzzBlob checks that hostile ciphertext blobs are rejected, never
// accepted or panicking.
func FuzzBlob(f *testing.F) {
	s := NewServer()
	defer s.Close()
	arn, _ := s.CreateKey()
	k, _ := s.adminKey(arn)
	f.Add(seal(k, []byte("hello"), nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		pb, err := parseBlob(b)
		if err != nil {
			return
		}
		if pb.keyID == k.id {
			if pt, err := open(k, pb, nil); err == nil && !bytes.Equal(pt, []byte("hello")) {
				t.Fatalf("forged blob opened")
			}
		}
	})
}
