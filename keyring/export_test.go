package keyring

// RSAPrivateOps returns the number of RSA private-key operations RawRSA
// has made.
func RSAPrivateOps() int64 { return rsaPrivateOps.Load() }
