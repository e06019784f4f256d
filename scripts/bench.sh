#!/usr/bin/env bash
# Runs the performance comparison and writes BENCHMARKS.md at the
# repository root: raw AES-256-GCM and SHA-384 (the limits), package
# envelope on 64 MiB messages (suites 0478 and 0578, frames of 4 KiB,
# 64 KiB and 1 MiB), the AWS Encryption SDK for JavaScript 5.0.2 on the same
# plaintext, AppendEncrypt/AppendDecrypt into reused buffers, 1 KiB messages
# with and without a cache (also in a process run with GODEBUG=fips140=on),
# and the peak RSS of streaming 1 GiB through a Writer into a Reader. A full
# run takes a few minutes. The go test benchmarks are separate: go test -bench . ./envelope
#
# Then the S3 section (internal/s3bench): against one local S3 server in a
# separate process, the plain *s3.Client, s3crypto and the official Amazon
# S3 Encryption Client for Go v4 (the peer CLI in ../shared/peers/s3ec,
# built into a temporary directory) put and get 256 MiB and 1 GiB objects,
# each operation in a child process of its own: MB/s and the client's peak
# RSS, and the bytes a 1 MiB ranged GET from the 1 GiB object moves.
# It replaces the S3 section of BENCHMARKS.md and leaves the rest alone.
#
# Then the field-encryption section (internal/fieldbench, a module of its
# own so that Tink is never a dependency of the library): go test -bench
# on the same 11-byte SSN with Tink Go's AES-256-GCM keyset AEAD, one
# envelope message per field with a cache (suite 0478 and the default),
# and sqlcrypto's Seal, Open and Index; then 100,000 rows inserted into
# SQLite, plaintext and with one encrypted, blind-indexed column. It
# replaces the field section of BENCHMARKS.md and leaves the rest alone.
#
# Then the hierarchical keyring section (internal/hierbench): 1 KiB messages
# per core with the AWS KMS hierarchical keyring (branch key cached) next to
# the raw AES keyring and the data-key cache. It replaces that section of
# BENCHMARKS.md and leaves the rest alone.
#
# Then the DynamoDB section (internal/dynbench): dynamocrypto's EncryptItem
# and DecryptItem of a 1 KB item of 10 attributes with a cached data key and
# with a raw AES keyring call per item (µs, items/s, allocations), and the
# bytes one call allocates for a 100 KB item. It replaces the DynamoDB
# section of BENCHMARKS.md and leaves the rest alone.
#
# Then the CLI section (internal/clibench): a 1 GiB file encrypted and
# decrypted through the cryptkeeper binary against the library's own
# streaming (MB/s and the binary's peak RSS), and a directory of 10,000
# small files with --recursive under a kmstest KMS key, KMS calls counted
# with the data key cache and without. It replaces the CLI section of
# BENCHMARKS.md and leaves the rest alone.
#
# Environment:
#   BENCH_RUNS          runs per Go measurement, median reported (default 5)
#   BENCH_JS_RUNS       runs per JavaScript measurement (default 3; 0 skips)
#   BENCH_OUT           report file (default BENCHMARKS.md)
#   BENCH_ONLY          "s3": only the S3 section; "field": only the field
#                       section; "hierarchy": only the hierarchical keyring
#                       section; "dynamodb": only the DynamoDB section; "cli":
#                       only the CLI section; "envelope": only the envelope
#                       sections (the generated sections already in the
#                       report are kept)
#   BENCH_S3_SERVER     minio (MinIO behind a proxy that also serves KMS) or
#                       moto (moto_server, S3 and KMS on one port) or
#                       gofakes3 (in memory, with kmstest, one process); default
#                       minio when a minio binary is on PATH or in
#                       ~/.cache/cryptkeeper/bin, else moto
#   BENCH_S3_SIZES      object sizes (default 256MiB,1GiB)
#   BENCH_S3_PEER_MAX   largest size the official client is measured at (default 1GiB)
#   BENCH_S3_RUNS       runs per S3 measurement (default 1)
#   BENCH_CLI_SIZE      the CLI's large file (default 1GiB)
#   BENCH_CLI_FILES     files in the CLI's directory (default 10000)
#   BENCH_S3_PEER_DIR   source of the peer CLI (default ../shared/peers/s3ec;
#                       missing: the official client is left out, with a note)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

runs="${BENCH_RUNS:-5}"
js_runs="${BENCH_JS_RUNS:-3}"
out="${BENCH_OUT:-BENCHMARKS.md}"
only="${BENCH_ONLY:-}"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

case "$out" in /*) ;; *) out="$PWD/$out" ;; esac

if [ -z "$only" ] || [ "$only" = envelope ]; then
	if [ "$js_runs" != "0" ]; then
		command -v node >/dev/null || {
			echo "error: node is not on PATH (needed for the JavaScript comparison; BENCH_JS_RUNS=0 skips it)" >&2
			exit 1
		}
	fi
	go build -o "$tmp/benchreport" ./internal/benchreport
	"$tmp/benchreport" -runs "$runs" -js-runs "$js_runs" -out "$out"
	echo "wrote $out" >&2
fi

if [ -z "$only" ] || [ "$only" = s3 ]; then
	server="${BENCH_S3_SERVER:-}"
	if [ -z "$server" ]; then
		if command -v minio >/dev/null || [ -x "$HOME/.cache/cryptkeeper/bin/minio" ]; then
			server=minio
		else
			server=moto
		fi
	fi
	if [ "$server" = moto ]; then
		command -v moto_server >/dev/null || {
			echo "error: moto_server is not on PATH (BENCH_S3_SERVER=minio, or BENCH_ONLY=envelope skips the S3 section)" >&2
			exit 1
		}
	fi
	peer_dir="${BENCH_S3_PEER_DIR:-../shared/peers/s3ec}"
	peer=""
	if [ -f "$peer_dir/go.mod" ]; then
		# The peer's directory may be read-only: build from a copy.
		cp -r "$peer_dir" "$tmp/peer-src"
		chmod -R u+w "$tmp/peer-src"
		(cd "$tmp/peer-src" && go build -o "$tmp/s3ec" .)
		peer="$tmp/s3ec"
	else
		echo "warning: no peer CLI at $peer_dir: the official S3 Encryption Client is left out" >&2
	fi
	go build -o "$tmp/s3bench" ./internal/s3bench
	"$tmp/s3bench" -server "$server" -peer "$peer" \
		-sizes "${BENCH_S3_SIZES:-256MiB,1GiB}" -peer-max "${BENCH_S3_PEER_MAX:-1GiB}" \
		-runs "${BENCH_S3_RUNS:-1}" -out "$out"
	echo "wrote the S3 section of $out" >&2
fi

if [ -z "$only" ] || [ "$only" = field ]; then
	(
		cd internal/fieldbench
		# Rounds of every benchmark, so that load from elsewhere on the
		# machine spreads over all of them.
		go test -c -o "$tmp/fieldbench.test" .
		: >"$tmp/field.txt"
		for _ in $(seq "$runs"); do
			"$tmp/fieldbench.test" -test.run '^$' -test.bench '^Benchmark(Tink|Envelope|Sqlcrypto)$' -test.benchmem | tee -a "$tmp/field.txt" >&2
			"$tmp/fieldbench.test" -test.run '^$' -test.bench '^BenchmarkInsert$' -test.benchtime 1x | tee -a "$tmp/insert.txt" >&2
		done
		go run . -in "$tmp/field.txt,$tmp/insert.txt" -out "$out" >/dev/null
	)
	echo "wrote the field section of $out" >&2
fi

if [ -z "$only" ] || [ "$only" = hierarchy ]; then
	go build -o "$tmp/hierbench" ./internal/hierbench
	"$tmp/hierbench" -runs "$((runs * 8))" -slice 50ms -out "$out" >/dev/null
	echo "wrote the hierarchical keyring section of $out" >&2
fi

if [ -z "$only" ] || [ "$only" = dynamodb ]; then
	go build -o "$tmp/dynbench" ./internal/dynbench
	"$tmp/dynbench" -runs "$runs" -out "$out" >/dev/null
	echo "wrote the DynamoDB section of $out" >&2
fi

if [ -z "$only" ] || [ "$only" = cli ]; then
	go build -o "$tmp/clibench" ./internal/clibench
	"$tmp/clibench" -size "${BENCH_CLI_SIZE:-1GiB}" -files "${BENCH_CLI_FILES:-10000}" \
		-runs "$(( runs < 3 ? runs : 3 ))" -out "$out"
	echo "wrote the CLI section of $out" >&2
fi
