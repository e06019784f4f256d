package keyring

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// ParseRSAPublicKeyPEM parses the first RSA public key PEM block in data:
// a SubjectPublicKeyInfo ("PUBLIC KEY", the form the AWS Encryption SDK
// test vectors and OpenSSL use) or a PKCS #1 "RSA PUBLIC KEY". Blocks of
// other types before it are skipped. Errors wrap ErrInvalidConfig.
func ParseRSAPublicKeyPEM(data []byte) (*rsa.PublicKey, error) {
	block, err := findPEM(data, "PUBLIC KEY", "RSA PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	if block.Type == "RSA PUBLIC KEY" {
		pub, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: PKCS #1 RSA public key: %w", ErrInvalidConfig, err)
		}
		return pub, nil
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: public key: %w", ErrInvalidConfig, err)
	}
	pub, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: public key is %T, not RSA", ErrInvalidConfig, key)
	}
	return pub, nil
}

// ParseRSAPrivateKeyPEM parses the first RSA private key PEM block in data:
// PKCS #8 ("PRIVATE KEY") or PKCS #1 ("RSA PRIVATE KEY"). Encrypted PEM
// blocks are not supported. Blocks of other types before it are skipped.
// Errors wrap ErrInvalidConfig and never contain key material.
func ParseRSAPrivateKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	block, err := findPEM(data, "PRIVATE KEY", "RSA PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	if _, encrypted := block.Headers["DEK-Info"]; encrypted {
		return nil, fmt.Errorf("%w: encrypted PEM private keys are not supported", ErrInvalidConfig)
	}
	var priv *rsa.PrivateKey
	if block.Type == "RSA PRIVATE KEY" {
		priv, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: PKCS #1 RSA private key: malformed", ErrInvalidConfig)
		}
	} else {
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: PKCS #8 private key: malformed", ErrInvalidConfig)
		}
		var ok bool
		if priv, ok = key.(*rsa.PrivateKey); !ok {
			return nil, fmt.Errorf("%w: private key is %T, not RSA", ErrInvalidConfig, key)
		}
	}
	return priv, nil
}

// findPEM returns the first PEM block in data whose type is one of types.
func findPEM(data []byte, types ...string) (*pem.Block, error) {
	for {
		block, rest := pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("%w: no %q PEM block found", ErrInvalidConfig, types)
		}
		for _, t := range types {
			if block.Type == t {
				return block, nil
			}
		}
		data = rest
	}
}
