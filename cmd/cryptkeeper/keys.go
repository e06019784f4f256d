package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
)

func newKeys(e *env) *cobra.Command {
	keys := &cobra.Command{
		Use:   "keys",
		Short: "Generate raw wrapping keys",
		Example: `  cryptkeeper keys generate --aes team.key
  cryptkeeper keys generate --rsa recovery.pem --public recovery-public.pem`,
	}
	var aesFile, rsaFile, pubFile string
	var aesBits, rsaBits int
	var force bool
	gen := &cobra.Command{
		Use:   "generate (--aes FILE | --rsa FILE [--public FILE])",
		Short: "Generate a raw AES key or an RSA key pair, written with mode 0600",
		Long: `Generate a wrapping key from crypto/rand. --aes writes an AES key as base64
text; --rsa writes an RSA private key as PKCS #8 PEM and, with --public, its
public key as PKIX PEM (which can only encrypt). Files are created with mode
0600 and never replace an existing file without --force. The key name used in
messages defaults to the file's base name (see --key-name).`,
		Example: `  cryptkeeper keys generate --aes team.key
  cryptkeeper keys generate --rsa recovery.pem --public recovery-public.pem --bits 4096`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if (aesFile == "") == (rsaFile == "") {
				return usagef("give one of --aes and --rsa")
			}
			write := func(name string, data []byte) error {
				defer keyring.Wipe(data)
				err := writeAtomic(ctx, name, force, func(f *os.File) error {
					_, err := f.Write(data)
					return err
				})
				if err != nil {
					return &fileError{op: "keys generate", name: name, err: err}
				}
				fmt.Fprintf(e.stderr, "wrote %s\n", name)
				return nil
			}
			if aesFile != "" {
				if aesBits != 128 && aesBits != 192 && aesBits != 256 {
					return usagef("--aes-bits must be 128, 192 or 256")
				}
				key := make([]byte, aesBits/8)
				rand.Read(key)
				defer keyring.Wipe(key)
				return write(aesFile, []byte(base64.StdEncoding.EncodeToString(key)+"\n"))
			}
			if rsaBits < keyring.MinRSABits {
				return usagef("--bits must be at least %d", keyring.MinRSABits)
			}
			priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
			if err != nil {
				return &usageError{err}
			}
			der, err := x509.MarshalPKCS8PrivateKey(priv)
			if err != nil {
				return err
			}
			defer keyring.Wipe(der)
			if err := write(rsaFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
				return err
			}
			if pubFile != "" {
				pder, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
				if err != nil {
					return err
				}
				return write(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder}))
			}
			return nil
		},
	}
	fs := gen.Flags()
	fs.StringVar(&aesFile, "aes", "", "write a raw AES key to this file")
	fs.IntVar(&aesBits, "aes-bits", 256, "AES key size: 128, 192 or 256")
	fs.StringVar(&rsaFile, "rsa", "", "write an RSA private key (PEM) to this file")
	fs.StringVar(&pubFile, "public", "", "also write the RSA public key (PEM) to this file")
	fs.IntVar(&rsaBits, "bits", 3072, "RSA modulus size")
	fs.BoolVarP(&force, "force", "f", false, "replace existing files")
	keys.AddCommand(gen)
	return keys
}

func newKMS(e *env) *cobra.Command {
	k := &cobra.Command{
		Use:     "kms",
		Short:   "A local AWS KMS for development",
		Example: `  cryptkeeper kms serve --env-file kms.env`,
	}
	var region, account, envFile string
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Run an in-memory AWS KMS on 127.0.0.1 and print its endpoint and a key ARN",
		Long: `Run an in-memory AWS KMS (package kmstest: the real KMS JSON protocol) on
127.0.0.1 until interrupted, with one symmetric key ready. It prints shell
assignments for the endpoint, the key ARN and credentials; --env-file writes
them to a file as well once the server is ready. Keys live in memory only:
for development and tests, never for data you keep.`,
		Example: `  cryptkeeper kms serve --env-file kms.env &
  . ./kms.env
  cryptkeeper encrypt -i a.txt -o a.txt.ck --endpoint-url "$CRYPTKEEPER_KMS_ENDPOINT" --wrapping-keys key="$CRYPTKEEPER_KMS_KEY"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			srv := kmstest.NewServer(kmstest.WithRegion(region), kmstest.WithAccount(account))
			defer srv.Close()
			arn, err := srv.CreateKey(kmstest.KeyAlias("alias/cryptkeeper-dev"))
			if err != nil {
				return err
			}
			lines := []string{
				"CRYPTKEEPER_KMS_ENDPOINT=" + srv.URL,
				"CRYPTKEEPER_KMS_KEY=" + arn,
				"AWS_REGION=" + srv.Region(),
				"AWS_ACCESS_KEY_ID=" + kmstest.DefaultAccessKey,
				"AWS_SECRET_ACCESS_KEY=local-development-only",
			}
			text := strings.Join(lines, "\n") + "\n"
			fmt.Fprint(e.stdout, text)
			if envFile != "" {
				// Never replace (and later remove) a file that was there.
				err := writeAtomic(ctx, envFile, false, func(f *os.File) error {
					_, err := f.WriteString(text)
					return err
				})
				if err != nil {
					return &fileError{op: "kms serve", name: envFile, err: err}
				}
				defer os.Remove(envFile)
			}
			fmt.Fprintln(e.stderr, "cryptkeeper: local KMS ready; interrupt to stop")
			<-ctx.Done()
			return nil
		},
	}
	fs := serve.Flags()
	fs.StringVar(&region, "region", kmstest.DefaultRegion, "Region of the server and its key")
	fs.StringVar(&account, "account", kmstest.DefaultAccount, "account id in key ARNs")
	fs.StringVar(&envFile, "env-file", "", "also write the assignments to this file, which must not exist (removed on exit)")
	k.AddCommand(serve)
	return k
}
