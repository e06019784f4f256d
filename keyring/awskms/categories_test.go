package awskms_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
)

// cancellingClient answers Decrypt for arn with 80 random bytes (a
// context digest that does not match) after cancelling the caller's
// context.
type cancellingClient struct {
	awskms.Client
	arn    string
	cancel context.CancelFunc
}

func (c cancellingClient) Decrypt(context.Context, *kms.DecryptInput, ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	c.cancel()
	pt := make([]byte, 80)
	_, _ = rand.Read(pt)
	return &kms.DecryptOutput{KeyId: aws.String(c.arn), Plaintext: pt}, nil
}

// TestRSAKeyringCancelledMismatchOneCategory: the context ending while
// KMS answers with a data key whose context digest does not match is
// ErrTransient only (the search was cut short), with context.Canceled.
func TestRSAKeyringCancelledMismatchOneCategory(t *testing.T) {
	const arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	forged := funcEDKs{{ProviderID: awskms.RSAProviderID, ProviderInfo: []byte(arn), Ciphertext: make([]byte, 256)}}
	msg, err := envelope.Encrypt(context.Background(), forged, []byte("x"), envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kr, err := awskms.NewRSAKeyring(cancellingClient{arn: arn, cancel: cancel}, arn, types.EncryptionAlgorithmSpecRsaesOaepSha256)
	require.NoError(t, err)
	_, _, err = envelope.Decrypt(ctx, kr, msg)
	requireCategory(t, err, envelope.ErrTransient)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "encryption context does not match")
}

// funcEDKs is a keyring that writes a zero data key and the given
// encrypted data keys.
type funcEDKs []keyring.EncryptedDataKey

func (f funcEDKs) OnEncrypt(_ context.Context, m *keyring.EncryptionMaterials) error {
	m.PlaintextDataKey = make([]byte, m.Suite.DataKeyLength)
	m.EncryptedDataKeys = append(m.EncryptedDataKeys, f...)
	return nil
}

func (funcEDKs) OnDecrypt(context.Context, *keyring.DecryptionMaterials, []keyring.EncryptedDataKey) error {
	return keyring.ErrNotMine
}

// TestUntrustedCertificateNotTransient: a KMS endpoint whose TLS
// certificate the client does not trust is a misconfiguration, not an
// outage: ErrNoDecryptionKey, with the verification error reachable.
func TestUntrustedCertificateNotTransient(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	arn := createKey(t, s)
	ct, err := envelope.Encrypt(ctx, must(awskms.NewKeyring(s.Client(), arn)), []byte("hello"))
	require.NoError(t, err)

	ts := httptest.NewUnstartedServer(s)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failures are the point
	ts.StartTLS()
	t.Cleanup(ts.Close)
	untrusting := s.Client(kmstest.ClientRetries(1), func(o *kms.Options) {
		o.BaseEndpoint = aws.String(ts.URL)
		o.HTTPClient = &http.Client{Transport: &http.Transport{}}
	})
	_, _, err = envelope.Decrypt(ctx, must(awskms.NewKeyring(untrusting, arn)), ct)
	requireCategory(t, err, envelope.ErrNoDecryptionKey)
	assert.False(t, keyring.IsTransient(err))
	var verr *tls.CertificateVerificationError
	require.ErrorAs(t, err, &verr)
	require.ErrorAs(t, err, new(x509.UnknownAuthorityError))

	// The same server trusted decrypts.
	trusting := s.Client(func(o *kms.Options) {
		o.BaseEndpoint = aws.String(ts.URL)
		o.HTTPClient = ts.Client()
	})
	pt, _, err := envelope.Decrypt(ctx, must(awskms.NewKeyring(trusting, arn)), ct)
	require.NoError(t, err)
	assert.Equal(t, []byte("hello"), pt)
}
