.PHONY: test bench

# Runs every check (installs the Node.js packages the interop tests need).
test:
	./scripts/test.sh

# Runs the benchmarks: scripts/bench.sh when present, else go test -bench.
bench:
	@if [ -x scripts/bench.sh ]; then ./scripts/bench.sh; \
	else go test -run '^$$' -bench . -benchmem ./...; fi
