#!/usr/bin/env bash
# Runs every check of the module on a fresh machine: installs the Node.js
# packages of the interop tests, then go vet, gofmt, the race-enabled tests
# (including interop with the AWS Encryption SDK for JavaScript), every test
# again in FIPS 140-3 mode (GODEBUG=fips140=on) and short fuzz runs on fixed
# budgets. Exits non-zero on the first failure.
#
# Environment:
#   CRYPTKEEPER_MINIO  the MinIO binary of the SSE-C tests; by default minio
#                 on PATH, else $HOME/.cache/cryptkeeper/bin/minio, built
#                 there with go install when missing (about 4 minutes)
#   FUZZ_TARGETS  space-separated "./pkg:FuzzName:budget" fuzz targets; the
#                 budget is a -fuzztime value, an execution count ("200000x")
#                 by default
#   FUZZ_TIME     if set, the -fuzztime of every target instead of its own
#                 budget ("30s", "1000000x"; 0 skips fuzzing)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Budgets are execution counts, sized to about 10 to 20 seconds each on a
# 2-core machine: a wall-clock -fuzztime races the fuzzing coordinator's own
# deadline in Go 1.26 (golang/go#75804) and can fail a run that found nothing.
FUZZ_TARGETS="${FUZZ_TARGETS:-./envelope:FuzzParseHeader:300000x
	./envelope:FuzzDecrypt:200000x
	./keyring:FuzzRawAESOnDecrypt:250000x ./keyring:FuzzRawRSAOnDecrypt:60000x
	./keyring:FuzzParseRSAPrivateKeyPEM:150000x
	./keyring:FuzzParseRSAPublicKeyPEM:200000x
	./keyring/awskms:FuzzParseARN:120000x
	./keyring/awskms/kmstest:FuzzRequest:80000x
	./keyring/awskms/kmstest:FuzzBlob:80000x
	./envelope:FuzzOpenFrame:200000x
	./s3crypto:FuzzParseMeta:200000x ./s3crypto:FuzzPlainLength:200000x
	./s3crypto:FuzzRange:200000x ./s3crypto:FuzzParseS3ECMeta:200000x ./s3crypto:FuzzS3ECBody:60000x
	./keyring/hierarchy:FuzzParseItem:60000x ./keyring/hierarchy:FuzzEDK:200000x
	./dynamocrypto:FuzzParseHeader:200000x ./dynamocrypto:FuzzParseFooter:200000x
	./dynamocrypto:FuzzDecodeValue:150000x ./dynamocrypto:FuzzDecryptItem:80000x
	./dynamocrypto:FuzzExpression:100000x ./dynamocrypto:FuzzRewrite:30000x
	./dynamocrypto:FuzzApplyUpdate:30000x ./cmd/cryptkeeper:FuzzInspect:20000x}"
FUZZ_TIME="${FUZZ_TIME:-}"

step() { printf '\n==> %s\n' "$*"; }
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

step "checking tools"
command -v go >/dev/null || die "go is not on PATH (need Go $(sed -n 's/^go //p' go.mod) or newer)"
command -v node >/dev/null || die "node is not on PATH: install Node.js >= 18 (the interop tests run the AWS Encryption SDK for JavaScript)"
command -v npm >/dev/null || die "npm is not on PATH: install it with Node.js"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 18 ] || die "Node.js $(node --version) is too old; need >= 18"
command -v moto_server >/dev/null ||
	die "moto_server is not on PATH: the AWS KMS tests start it themselves; install it with: pip install 'moto[server]'"
go version
echo "node $(node --version), npm $(npm --version), moto_server $(command -v moto_server)"

step "MinIO (the SSE-C tests run s3crypto against it over TLS)"
# The version is internal/testserver.MinIOVersion.
minio_version=v0.0.0-20260212201848-7aac2a2c5b7c
if [ -z "${CRYPTKEEPER_MINIO:-}" ]; then
	if command -v minio >/dev/null; then
		CRYPTKEEPER_MINIO="$(command -v minio)"
	else
		CRYPTKEEPER_MINIO="$HOME/.cache/cryptkeeper/bin/minio"
		if [ ! -x "$CRYPTKEEPER_MINIO" ]; then
			echo "building MinIO $minio_version into $HOME/.cache/cryptkeeper/bin (about 4 minutes)"
			GOFLAGS='' GOBIN="$HOME/.cache/cryptkeeper/bin" go install "github.com/minio/minio@$minio_version"
		fi
	fi
fi
[ -x "$CRYPTKEEPER_MINIO" ] || die "CRYPTKEEPER_MINIO=$CRYPTKEEPER_MINIO is not an executable"
export CRYPTKEEPER_MINIO
echo "minio $CRYPTKEEPER_MINIO"

step "PostgreSQL 15 (the sqlcrypto tests start a private cluster with initdb and pg_ctl)"
if ! command -v pg_config >/dev/null 2>&1 || [ ! -x "$(pg_config --bindir)/initdb" ]; then
	command -v apt-get >/dev/null || die "PostgreSQL 15 is missing: install postgresql-15 (initdb and pg_ctl in pg_config --bindir)"
	echo "installing postgresql-15"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
fi
echo "postgres $(pg_config --bindir)"

# Tests that need a server fail rather than skip when it cannot be started:
# this script starts or installs every one of them.
export CI="${CI:-1}"

step "npm ci (interop/js), when node_modules is not what package-lock.json pins"
go run ./internal/jsenv/cmd/jsinstall

step "go vet ./..."
go vet ./...

step "gofmt -l ."
unformatted="$(gofmt -l . | grep -v '/node_modules/' || true)"
if [ -n "$unformatted" ]; then
	printf '%s\n' "$unformatted" >&2
	die "the files above need gofmt -w"
fi

step "go test -race -count=1 ./..."
# The interop package runs on its own with -v so that its counts are shown.
mapfile -t pkgs < <(go list ./... | grep -v '/interop$')
go test -race -count=1 "${pkgs[@]}"
go test -race -count=1 -v ./interop | grep -v '^=== RUN'

step "GODEBUG=fips140=on go test -count=1 ./... (FIPS 140-3 mode)"
# Every package again with the Go Cryptographic Module in FIPS 140-3 mode:
# its self-tests run, and what it does not approve must fail with a clear
# error. Without -race, to save time.
GODEBUG=fips140=on go test -count=1 "${pkgs[@]}"
GODEBUG=fips140=on go test -count=1 -v ./interop | grep -v '^=== RUN'

if [ "$FUZZ_TIME" != "0" ]; then
	for target in $FUZZ_TARGETS; do
		IFS=: read -r pkg name fuzztime <<<"$target"
		fuzztime="${FUZZ_TIME:-${fuzztime:-100000x}}"
		step "fuzz $name in $pkg for $fuzztime"
		listed=""
		if [ -d "$pkg" ]; then
			listed="$(go test -list "^${name}\$" "$pkg" 2>/dev/null || true)"
		fi
		if ! grep -qx "$name" <<<"$listed"; then
			echo "warning: fuzz target $name not found in $pkg; skipped" >&2
			continue
		fi
		# Minimizing a new input is capped so that it cannot stall a short run.
		go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime 5s "$pkg"
	done
fi

step "all checks passed"
