//go:build !race

package sqlcrypto_test

const raceEnabled = false
