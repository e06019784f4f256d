package kmstest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"hash"
)

// Encryption algorithms.
const (
	algSymmetric  = "SYMMETRIC_DEFAULT"
	algOAEPSHA1   = "RSAES_OAEP_SHA_1"
	algOAEPSHA256 = "RSAES_OAEP_SHA_256"
	maxPlaintext  = 4096
	maxRandom     = 1024
)

type handler func(*Server, *request) (any, *apiError)

var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"CreateKey":                       opCreateKey,
		"CreateAlias":                     opCreateAlias,
		"DescribeKey":                     opDescribeKey,
		"GetPublicKey":                    opGetPublicKey,
		"Encrypt":                         opEncrypt,
		"Decrypt":                         opDecrypt,
		"GenerateDataKey":                 opGenerateDataKey,
		"GenerateDataKeyWithoutPlaintext": opGenerateDataKey,
		"ReEncrypt":                       opReEncrypt,
		"GenerateRandom":                  opGenerateRandom,
		"EnableKey":                       opSetState(stateEnabled),
		"DisableKey":                      opSetState(stateDisabled),
		"ScheduleKeyDeletion":             opSetState(statePendingDeletion),
		"EnableKeyRotation":               opRotation(true),
		"DisableKeyRotation":              opRotation(false),
		"RotateKeyOnDemand":               opRotateKeyOnDemand,
		"ReplicateKey":                    opReplicateKey,
	}
}

func decode(req *request, v any) *apiError {
	if err := json.Unmarshal(req.body, v); err != nil {
		return &apiError{400, "SerializationException", "cannot decode request: " + err.Error()}
	}
	return nil
}

// common request fields.
type keyRef struct {
	KeyId       string
	GrantTokens []string
}

// lookupRef decodes a request that names one key (KeyId, and GrantTokens
// when grants is set) and looks the key up as lookup does; on success s.mu
// is held and the caller must unlock it.
func (s *Server) lookupRef(req *request, grants, checkState bool) (*key, *apiError) {
	var in keyRef
	if aerr := decode(req, &in); aerr != nil {
		return nil, aerr
	}
	if !grants {
		in.GrantTokens = nil
	}
	return s.lookup(req, in.KeyId, in.GrantTokens, checkState)
}

// lookup resolves and authorizes a key; checkState also refuses disabled
// keys and keys pending deletion. It returns with s.mu held on success.
func (s *Server) lookup(req *request, ident string, tokens []string, checkState bool) (*key, *apiError) {
	s.mu.Lock()
	k, aerr := s.resolve(req.region, ident)
	if aerr == nil {
		aerr = s.authorize(k, req, tokens)
		if aerr != nil && !checkState && aerr.typ != "AccessDeniedException" {
			aerr = nil
		}
	}
	if aerr != nil {
		s.mu.Unlock()
		return nil, aerr
	}
	return k, nil
}

func algorithms(k *key) []string {
	if k.symmetric() {
		return []string{algSymmetric}
	}
	return []string{algOAEPSHA1, algOAEPSHA256}
}

func opGetPublicKey(s *Server, req *request) (any, *apiError) {
	k, aerr := s.lookupRef(req, true, true)
	if aerr != nil {
		return nil, aerr
	}
	defer s.mu.Unlock()
	if k.symmetric() {
		return nil, &apiError{400, "UnsupportedOperationException", k.arn + " key type is not supported for this operation."}
	}
	der, err := x509.MarshalPKIXPublicKey(&k.fam.rsa.PublicKey)
	if err != nil {
		return nil, &apiError{500, "KMSInternalException", "cannot encode public key"}
	}
	return map[string]any{
		"KeyId": k.arn, "PublicKey": der, "KeySpec": k.spec, "CustomerMasterKeySpec": k.spec,
		"KeyUsage": "ENCRYPT_DECRYPT", "EncryptionAlgorithms": algorithms(k),
	}, nil
}

func oaepHash(alg string) hash.Hash {
	switch alg {
	case algOAEPSHA1:
		return sha1.New()
	case algOAEPSHA256:
		return sha256.New()
	}
	return nil
}

// encrypt seals plaintext under k. The caller holds s.mu.
func encrypt(k *key, plaintext []byte, ec map[string]string, alg string) ([]byte, string, *apiError) {
	if len(plaintext) == 0 || len(plaintext) > maxPlaintext {
		return nil, "", errValidation("1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and %d", maxPlaintext)
	}
	if k.symmetric() {
		if alg != "" && alg != algSymmetric {
			return nil, "", &apiError{400, "InvalidKeyUsageException", "encryption algorithm " + alg + " is not compatible with " + k.arn}
		}
		return seal(k, plaintext, ec), algSymmetric, nil
	}
	h := oaepHash(alg)
	if h == nil {
		return nil, "", &apiError{400, "InvalidKeyUsageException", "encryption algorithm " + alg + " is not compatible with " + k.arn}
	}
	if len(ec) > 0 {
		return nil, "", errValidation("EncryptionContext is not supported with asymmetric keys")
	}
	if len(plaintext) > k.fam.rsa.Size()-2*h.Size()-2 {
		return nil, "", errValidation("plaintext is too long for %s with %s", k.spec, alg)
	}
	ct, err := rsa.EncryptOAEP(h, rand.Reader, &k.fam.rsa.PublicKey, plaintext, nil)
	if err != nil {
		return nil, "", &apiError{500, "KMSInternalException", "RSA encryption failed"}
	}
	return ct, alg, nil
}

func opEncrypt(s *Server, req *request) (any, *apiError) {
	var in struct {
		keyRef
		Plaintext           []byte
		EncryptionContext   map[string]string
		EncryptionAlgorithm string
	}
	if aerr := decode(req, &in); aerr != nil {
		return nil, aerr
	}
	k, aerr := s.lookup(req, in.KeyId, in.GrantTokens, true)
	if aerr != nil {
		return nil, aerr
	}
	defer s.mu.Unlock()
	ct, alg, aerr := encrypt(k, in.Plaintext, in.EncryptionContext, in.EncryptionAlgorithm)
	if aerr != nil {
		return nil, aerr
	}
	return map[string]any{"CiphertextBlob": ct, "KeyId": k.arn, "EncryptionAlgorithm": alg}, nil
}

// decrypt opens a ciphertext blob in the request's Region. keyID may be
// empty for symmetric blobs. On success it returns with s.mu held.
func (s *Server) decrypt(req *request, blobBytes []byte, keyID string, ec map[string]string, alg string, tokens []string) (*key, []byte, *apiError) {
	var k *key
	if keyID != "" {
		var aerr *apiError
		if k, aerr = s.lookup(req, keyID, tokens, true); aerr != nil {
			return nil, nil, aerr
		}
		if !k.symmetric() {
			h := oaepHash(alg)
			if h == nil {
				s.mu.Unlock()
				return nil, nil, &apiError{400, "InvalidKeyUsageException", "encryption algorithm " + alg + " is not compatible with " + k.arn}
			}
			pt, err := rsa.DecryptOAEP(h, nil, k.fam.rsa, blobBytes, nil)
			if err != nil || len(ec) > 0 {
				s.mu.Unlock()
				return nil, nil, errInvalidCiphertext()
			}
			return k, pt, nil
		}
		s.mu.Unlock()
	}
	b, err := parseBlob(blobBytes)
	if err != nil {
		return nil, nil, errInvalidCiphertext()
	}
	if alg != "" && alg != algSymmetric {
		return nil, nil, errInvalidCiphertext()
	}
	if k != nil && k.id != b.keyID {
		return nil, nil, &apiError{400, "IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation."}
	}
	k, aerr := s.lookup(req, b.keyID, tokens, true)
	if aerr != nil {
		return nil, nil, aerr
	}
	pt, err := open(k, b, ec)
	if err != nil {
		s.mu.Unlock()
		return nil, nil, errInvalidCiphertext()
	}
	return k, pt, nil
}

func opDecrypt(s *Server, req *request) (any, *apiError) {
	var in struct {
		keyRef
		CiphertextBlob      []byte
		EncryptionContext   map[string]string
		EncryptionAlgorithm string
	}
	if aerr := decode(req, &in); aerr != nil {
		return nil, aerr
	}
	k, pt, aerr := s.decrypt(req, in.CiphertextBlob, in.KeyId, in.EncryptionContext, in.EncryptionAlgorithm, in.GrantTokens)
	if aerr != nil {
		return nil, aerr
	}
	defer s.mu.Unlock()
	alg := in.EncryptionAlgorithm
	if alg == "" {
		alg = algSymmetric
	}
	return map[string]any{"KeyId": k.arn, "Plaintext": pt, "EncryptionAlgorithm": alg}, nil
}

func opGenerateDataKey(s *Server, req *request) (any, *apiError) {
	var in struct {
		keyRef
		NumberOfBytes     int
		KeySpec           string
		EncryptionContext map[string]string
	}
	if aerr := decode(req, &in); aerr != nil {
		return nil, aerr
	}
	n := in.NumberOfBytes
	switch {
	case n != 0 && in.KeySpec != "":
		return nil, errValidation("Please specify either number of bytes or key spec.")
	case in.KeySpec == "AES_256":
		n = 32
	case in.KeySpec == "AES_128":
		n = 16
	case in.KeySpec != "":
		return nil, errValidation("KeySpec %q is not valid", in.KeySpec)
	case n < 1 || n > maxRandom:
		return nil, errValidation("NumberOfBytes must be between 1 and %d", maxRandom)
	}
	k, aerr := s.lookup(req, in.KeyId, in.GrantTokens, true)
	if aerr != nil {
		return nil, aerr
	}
	defer s.mu.Unlock()
	if !k.symmetric() {
		return nil, &apiError{400, "InvalidKeyUsageException", k.arn + " is not a symmetric key"}
	}
	pt := randomBytes(n)
	out := map[string]any{"CiphertextBlob": seal(k, pt, in.EncryptionContext), "KeyId": k.arn}
	if req.op == "GenerateDataKey" {
		out["Plaintext"] = pt
	}
	return out, nil
}

func opReEncrypt(s *Server, req *request) (any, *apiError) {
	var in struct {
		CiphertextBlob                                                                           []byte
		SourceKeyId, DestinationKeyId, SourceEncryptionAlgorithm, DestinationEncryptionAlgorithm string
		SourceEncryptionContext, DestinationEncryptionContext                                    map[string]string
		GrantTokens                                                                              []string
	}
	if aerr := decode(req, &in); aerr != nil {
		return nil, aerr
	}
	src, pt, aerr := s.decrypt(req, in.CiphertextBlob, in.SourceKeyId, in.SourceEncryptionContext, in.SourceEncryptionAlgorithm, in.GrantTokens)
	if aerr != nil {
		return nil, aerr
	}
	srcARN, srcAlg := src.arn, algorithms(src)[0]
	if in.SourceEncryptionAlgorithm != "" {
		srcAlg = in.SourceEncryptionAlgorithm
	}
	s.mu.Unlock()
	defer clear(pt)
	dst, aerr := s.lookup(req, in.DestinationKeyId, in.GrantTokens, true)
	if aerr != nil {
		return nil, aerr
	}
	defer s.mu.Unlock()
	ct, alg, aerr := encrypt(dst, pt, in.DestinationEncryptionContext, in.DestinationEncryptionAlgorithm)
	if aerr != nil {
		return nil, aerr
	}
	return map[string]any{
		"CiphertextBlob": ct, "KeyId": dst.arn, "SourceKeyId": srcARN,
		"SourceEncryptionAlgorithm": srcAlg, "DestinationEncryptionAlgorithm": alg,
	}, nil
}

func opGenerateRandom(s *Server, req *request) (any, *apiError) {
	var in struct{ NumberOfBytes int }
	if aerr := decode(req, &in); aerr != nil {
		return nil, aerr
	}
	if in.NumberOfBytes < 1 || in.NumberOfBytes > maxRandom {
		return nil, errValidation("NumberOfBytes must be between 1 and %d", maxRandom)
	}
	return map[string]any{"Plaintext": randomBytes(in.NumberOfBytes)}, nil
}
