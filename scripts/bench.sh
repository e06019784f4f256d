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
# Environment:
#   BENCH_RUNS     runs per Go measurement, median reported (default 5)
#   BENCH_JS_RUNS  runs per JavaScript measurement (default 3; 0 skips)
#   BENCH_OUT      report file (default BENCHMARKS.md)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

runs="${BENCH_RUNS:-5}"
js_runs="${BENCH_JS_RUNS:-3}"
out="${BENCH_OUT:-BENCHMARKS.md}"

if [ "$js_runs" != "0" ]; then
	command -v node >/dev/null || {
		echo "error: node is not on PATH (needed for the JavaScript comparison; BENCH_JS_RUNS=0 skips it)" >&2
		exit 1
	}
fi

bin="$(mktemp -d)/benchreport"
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./internal/benchreport
"$bin" -runs "$runs" -js-runs "$js_runs" -out "$out"
echo "wrote $out" >&2
