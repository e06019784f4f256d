// Package hierarchy implements the AWS KMS hierarchical keyring and its
// branch key store, compatible with the AWS Encryption SDK and the
// Material Providers Library.
package hierarchy
