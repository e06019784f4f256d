//go:build race

package sqlcrypto_test

const raceEnabled = true
