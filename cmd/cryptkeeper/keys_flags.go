package main

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go/logging"
	"github.com/spf13/pflag"

	"github.com/cryptkeeper-go/cryptkeeper/cache"
	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
)

// keyFlags are the flags that choose the wrapping keys, shared by encrypt,
// decrypt and the s3 commands.
type keyFlags struct {
	wrapping     []string
	rawAES       string
	rawRSA       string
	rsaPadding   string
	namespace    string
	name         string
	endpoint     string
	region       string
	context      []string
	policy       string
	maxEDKs      int
	cacheAge     time.Duration
	cacheMsgs    uint64
	cacheBytes   int64
	cacheEntries int
	caching      string
}

func (f *keyFlags) register(fs *pflag.FlagSet, endpointFlag string) {
	fs.StringArrayVarP(&f.wrapping, "wrapping-keys", "w", nil,
		"AWS KMS wrapping keys as attribute=value pairs, comma- or space-separated, flag repeatable:\n"+
			"key=ARN (repeatable; the first generates the data key), discovery=true,\n"+
			"discovery-account=ID (repeatable), discovery-partition=aws, region=REGION, profile=NAME,\n"+
			"provider=aws-kms (accepted as the AWS Encryption CLI takes it)")
	fs.StringVar(&f.rawAES, "raw-aes-key", "", "file holding a raw AES key (16, 24 or 32 bytes, binary or base64)")
	fs.StringVar(&f.rawRSA, "raw-rsa-key", "", "PEM file holding an RSA private key (encrypt and decrypt) or public key (encrypt only)")
	fs.StringVar(&f.rsaPadding, "raw-rsa-padding", "oaep-sha256", "RSA padding: pkcs1, oaep-sha1, oaep-sha256, oaep-sha384, oaep-sha512")
	fs.StringVar(&f.namespace, "key-namespace", "cryptkeeper", "provider namespace of the raw key (must match to decrypt)")
	fs.StringVar(&f.name, "key-name", "", "name of the raw key (must match to decrypt; default the key file's base name)")
	fs.StringVar(&f.endpoint, endpointFlag, "", "AWS KMS endpoint (for a local KMS such as 'cryptkeeper kms serve')")
	fs.StringVar(&f.region, "region", "", "AWS Region (default from the SDK's configuration chain)")
	fs.StringArrayVarP(&f.context, "encryption-context", "c", nil,
		"encryption context pairs key=value (repeatable, or several separated by spaces or commas;\n"+
			"a value may hold commas and spaces where no \"=\" follows them); on decrypt every pair\n"+
			"must be in the message, and a bare key must be in it with any value")
	fs.StringVar(&f.policy, "commitment-policy", "require-encrypt-require-decrypt",
		"require-encrypt-require-decrypt, require-encrypt-allow-decrypt or forbid-encrypt-allow-decrypt")
	fs.IntVar(&f.maxEDKs, "max-encrypted-data-keys", 0, "most encrypted data keys a message may carry (0: no limit)")
	fs.DurationVar(&f.cacheAge, "cache-max-age", 0, "reuse data keys for up to this long (0: no cache); enables the data key cache")
	fs.Uint64Var(&f.cacheMsgs, "cache-max-messages", 0, "messages per cached data key (default: 2^32)")
	fs.Int64Var(&f.cacheBytes, "cache-max-bytes", 0, "plaintext bytes per cached data key (default: no limit)")
	fs.IntVar(&f.cacheEntries, "cache-capacity", 0, "entries the cache holds (default: the cache's)")
	fs.StringVar(&f.caching, "caching", "", "the cache as the AWS Encryption CLI takes it: capacity=N,max_age=SECONDS[,max_messages_encrypted=N][,max_bytes_encrypted=N]")
}

// splitPairs splits flag values that hold several items separated by
// commas or spaces.
func splitPairs(vals []string) []string {
	var out []string
	for _, v := range vals {
		out = append(out, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })...)
	}
	return out
}

func parsePolicy(s string) (envelope.CommitmentPolicy, error) {
	switch strings.ToLower(strings.ReplaceAll(s, "_", "-")) {
	case "require-encrypt-require-decrypt", "":
		return envelope.RequireEncryptRequireDecrypt, nil
	case "require-encrypt-allow-decrypt":
		return envelope.RequireEncryptAllowDecrypt, nil
	case "forbid-encrypt-allow-decrypt":
		return envelope.ForbidEncryptAllowDecrypt, nil
	}
	return 0, usagef("--commitment-policy %q: unknown policy", s)
}

// parseSuite takes a suite by its specification name (as the AWS Encryption
// CLI's --algorithm) or its hex id.
func parseSuite(s string) (envelope.SuiteID, error) {
	for _, id := range envelope.Suites() {
		if strings.EqualFold(s, id.String()) {
			return id, nil
		}
	}
	if v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(s), "0x"), 16, 16); err == nil {
		for _, id := range envelope.Suites() {
			if uint64(id) == v {
				return id, nil
			}
		}
	}
	names := make([]string, 0, len(envelope.Suites()))
	for _, id := range envelope.Suites() {
		names = append(names, id.String())
	}
	return 0, usagef("--algorithm %q: unknown suite (one of %s)", s, strings.Join(names, ", "))
}

// newCache returns the data key cache the flags ask for, or nil.
func (f *keyFlags) newCache() (*cache.Cache, error) {
	if f.caching != "" {
		for _, p := range splitPairs([]string{f.caching}) {
			k, v, _ := strings.Cut(p, "=")
			n, err := strconv.ParseFloat(v, 64)
			if err != nil || n < 0 {
				return nil, usagef("--caching %q: want attribute=number", p)
			}
			switch k {
			case "capacity":
				f.cacheEntries = int(n)
			case "max_age":
				f.cacheAge = time.Duration(n * float64(time.Second))
			case "max_messages_encrypted":
				f.cacheMsgs = uint64(n)
			case "max_bytes_encrypted":
				f.cacheBytes = int64(n)
			default:
				return nil, usagef("--caching: unknown attribute %q", k)
			}
		}
		if f.cacheAge == 0 {
			return nil, usagef("--caching needs max_age")
		}
	}
	if f.cacheAge == 0 {
		if f.cacheMsgs != 0 || f.cacheBytes != 0 || f.cacheEntries != 0 {
			return nil, usagef("the cache needs --cache-max-age")
		}
		return nil, nil
	}
	opts := []cache.Option{cache.MaxAge(f.cacheAge)}
	if f.cacheMsgs != 0 {
		opts = append(opts, cache.MaxMessages(f.cacheMsgs))
	}
	if f.cacheBytes != 0 {
		opts = append(opts, cache.MaxBytes(f.cacheBytes))
	}
	if f.cacheEntries != 0 {
		opts = append(opts, cache.Capacity(f.cacheEntries))
	}
	c, err := cache.New(opts...)
	if err != nil {
		return nil, &usageError{err}
	}
	return c, nil
}

// wrappingSpec is the parsed --wrapping-keys.
type wrappingSpec struct {
	keys      []string
	discovery bool
	accounts  []string
	partition string
	region    string
	profile   string
}

func parseWrapping(vals []string) (*wrappingSpec, error) {
	pairs := splitPairs(vals)
	if len(pairs) == 0 {
		return nil, nil
	}
	w := &wrappingSpec{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || v == "" {
			return nil, usagef("--wrapping-keys %q: want attribute=value", p)
		}
		switch strings.ToLower(k) {
		case "key":
			w.keys = append(w.keys, v)
		case "discovery":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, usagef("--wrapping-keys discovery=%q: want true or false", v)
			}
			w.discovery = b
		case "discovery-account":
			w.accounts = append(w.accounts, v)
		case "discovery-partition":
			w.partition = v
		case "region":
			w.region = v
		case "profile":
			w.profile = v
		case "provider":
			// The AWS Encryption CLI's default and only built-in provider.
			if v != "aws-kms" {
				return nil, usagef("--wrapping-keys provider=%q: only aws-kms", v)
			}
		default:
			return nil, usagef("--wrapping-keys: unknown attribute %q", k)
		}
	}
	switch {
	case w.discovery && len(w.keys) > 0:
		return nil, usagef("--wrapping-keys: discovery=true takes no key=")
	case !w.discovery && len(w.keys) == 0:
		return nil, usagef("--wrapping-keys: name a key= or set discovery=true")
	case (len(w.accounts) > 0) != (w.partition != ""):
		return nil, usagef("--wrapping-keys: discovery-account and discovery-partition go together")
	}
	return w, nil
}

// awsConfig loads the SDK's configuration chain (environment, profiles,
// IMDS) with the flags' Region and endpoint.
func awsConfig(ctx context.Context, region, profile string) (aws.Config, error) {
	// The SDK's own log lines (IMDS fallbacks, retries) would break the
	// one-line error: what fails is in the error returned.
	opts := []func(*config.LoadOptions) error{config.WithLogger(logging.Nop{})}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	return cfg, nil
}

// keyring builds the keyring of the flags. encrypting refuses discovery
// and keys that cannot wrap.
func (f *keyFlags) keyring(ctx context.Context, encrypting bool) (keyring.Keyring, error) {
	var krs []keyring.Keyring
	w, err := parseWrapping(f.wrapping)
	if err != nil {
		return nil, err
	}
	if w != nil {
		ks, err := f.kmsKeyrings(ctx, w, encrypting)
		if err != nil {
			return nil, err
		}
		krs = append(krs, ks...)
	}
	if f.rawAES != "" {
		kr, err := rawAESKeyring(f.rawAES, f.namespace, f.name)
		if err != nil {
			return nil, err
		}
		krs = append(krs, kr)
	}
	if f.rawRSA != "" {
		kr, err := rawRSAKeyring(f.rawRSA, f.namespace, f.name, f.rsaPadding, encrypting)
		if err != nil {
			return nil, err
		}
		krs = append(krs, kr)
	}
	switch len(krs) {
	case 0:
		return nil, usagef("no wrapping key: give --wrapping-keys, --raw-aes-key or --raw-rsa-key")
	case 1:
		return krs[0], nil
	}
	m, err := keyring.NewMulti(krs[0], krs[1:]...)
	if err != nil {
		return nil, &usageError{err}
	}
	return m, nil
}

func (f *keyFlags) kmsKeyrings(ctx context.Context, w *wrappingSpec, encrypting bool) ([]keyring.Keyring, error) {
	region := w.region
	if region == "" {
		region = f.region
	}
	cfg, err := awsConfig(ctx, region, w.profile)
	if err != nil {
		return nil, err
	}
	var kmsOpts []func(*kms.Options)
	if f.endpoint != "" {
		kmsOpts = append(kmsOpts, func(o *kms.Options) { o.BaseEndpoint = aws.String(f.endpoint) })
	}
	supplier := awskms.SDKSupplier(cfg, kmsOpts...)
	if w.discovery {
		if encrypting {
			return nil, usagef("--wrapping-keys discovery=true cannot encrypt: name a key=")
		}
		client, err := supplier("")
		if err != nil {
			return nil, err
		}
		var opts []awskms.Option
		if w.partition != "" {
			opts = append(opts, awskms.WithDiscoveryFilter(w.partition, w.accounts...))
		}
		kr, err := awskms.NewDiscoveryKeyring(client, opts...)
		if err != nil {
			return nil, &usageError{err}
		}
		return []keyring.Keyring{kr}, nil
	}
	var out []keyring.Keyring
	for _, id := range w.keys {
		r := ""
		if a, err := awskms.ParseARN(id); err == nil {
			r = a.Region
		}
		client, err := supplier(r)
		if err != nil {
			return nil, err
		}
		kr, err := awskms.NewKeyring(client, id)
		if err != nil {
			return nil, &usageError{err}
		}
		out = append(out, kr)
	}
	return out, nil
}

func keyName(file, name string) string {
	if name != "" {
		return name
	}
	base := filepath.Base(file)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// readAESKey reads a raw AES key: 16, 24 or 32 bytes, or their base64.
func readAESKey(file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, usagef("--raw-aes-key: %w", err)
	}
	// Base64 first: the text of a 24-byte key is 32 bytes long, while random
	// binary keys are almost never valid base64.
	dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err == nil && (len(dec) == 16 || len(dec) == 24 || len(dec) == 32) {
		keyring.Wipe(b)
		return dec, nil
	}
	keyring.Wipe(dec)
	switch len(b) {
	case 16, 24, 32:
		return b, nil
	}
	keyring.Wipe(b)
	return nil, usagef("--raw-aes-key %s: not a 16, 24 or 32-byte AES key (binary or base64)", file)
}

func rawAESKeyring(file, namespace, name string) (keyring.Keyring, error) {
	key, err := readAESKey(file)
	if err != nil {
		return nil, err
	}
	defer keyring.Wipe(key)
	kr, err := keyring.NewRawAES(namespace, keyName(file, name), key)
	if err != nil {
		return nil, usagef("--raw-aes-key %s: %w", file, err)
	}
	return kr, nil
}

var paddings = map[string]keyring.RSAPadding{
	"pkcs1": keyring.PKCS1, "oaep-sha1": keyring.OAEPSHA1, "oaep-sha256": keyring.OAEPSHA256,
	"oaep-sha384": keyring.OAEPSHA384, "oaep-sha512": keyring.OAEPSHA512,
}

func rawRSAKeyring(file, namespace, name, padding string, encrypting bool) (keyring.Keyring, error) {
	pad, ok := paddings[strings.ToLower(padding)]
	if !ok {
		return nil, usagef("--raw-rsa-padding %q: unknown padding", padding)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, usagef("--raw-rsa-key: %w", err)
	}
	defer keyring.Wipe(b)
	var pub *rsa.PublicKey
	priv, err := keyring.ParseRSAPrivateKeyPEM(b)
	if err != nil {
		if pub, err = keyring.ParseRSAPublicKeyPEM(b); err != nil {
			return nil, usagef("--raw-rsa-key %s: neither an RSA private nor public key in PEM", file)
		}
		if !encrypting {
			return nil, usagef("--raw-rsa-key %s: a public key cannot decrypt", file)
		}
	} else {
		pub = &priv.PublicKey
	}
	kr, err := keyring.NewRawRSA(namespace, keyName(file, name), pub, priv, pad)
	if err != nil {
		return nil, usagef("--raw-rsa-key %s: %w", file, err)
	}
	return kr, nil
}
