package kmstest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// fuzzOps are the operations FuzzRequest drives: those that do not change
// the server's keys, so that every input behaves the same on every run (the
// fuzzer's minimizer needs that). Key-creating and key-state operations are
// covered by the table tests; an RSA_4096 CreateKey alone takes seconds.
var fuzzOps = []string{
	"DescribeKey", "GetPublicKey", "Encrypt", "Decrypt", "GenerateDataKey",
	"GenerateDataKeyWithoutPlaintext", "ReEncrypt", "GenerateRandom",
	"NoSuchOperation", "",
}

// FuzzRequest feeds arbitrary bodies to the data-plane operations: the
// server must answer with a JSON body and never panic.
func FuzzRequest(f *testing.F) {
	s := NewServer()
	defer s.Close()
	arn, err := s.CreateKey()
	if err != nil {
		f.Fatal(err)
	}
	rsaARN, err := s.CreateKey(KeySpec(RSA2048))
	if err != nil {
		f.Fatal(err)
	}
	index := func(op string) uint8 { return uint8(slices.Index(fuzzOps, op)) }
	f.Add(index("Decrypt"), []byte(`{"CiphertextBlob":"awEkAAAA"}`))
	f.Add(index("Encrypt"), []byte(`{"KeyId":"`+arn+`","Plaintext":"aGk="}`))
	f.Add(index("Encrypt"), []byte(`{"KeyId":"`+rsaARN+`","Plaintext":"aGk=","EncryptionAlgorithm":"RSAES_OAEP_SHA_256"}`))
	f.Add(index("GetPublicKey"), []byte(`{"KeyId":"`+rsaARN+`"}`))
	f.Add(index("GenerateDataKey"), []byte(`{"KeyId":"`+arn+`","NumberOfBytes":32}`))
	f.Add(index("ReEncrypt"), []byte(`{"DestinationKeyId":"alias/x"}`))
	f.Add(index("GenerateRandom"), []byte(`{"NumberOfBytes":1024}`))
	f.Fuzz(func(t *testing.T, opIndex uint8, body []byte) {
		op := fuzzOps[int(opIndex)%len(fuzzOps)]
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
