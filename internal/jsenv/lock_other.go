//go:build !unix

package jsenv

// lockFile does not lock where flock is missing: run `npm ci` in interop/js
// before testing packages side by side there.
func lockFile(string) (func(), error) { return func() {}, nil }
