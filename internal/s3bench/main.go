// Command s3bench measures package s3crypto against a local S3 server in
// a separate process, beside the plain *s3.Client and the official Amazon
// S3 Encryption Client for Go v4 (through the peer CLI), and writes the
// S3 section of BENCHMARKS.md. scripts/bench.sh runs it.
//
// Usage:
//
//	go run ./internal/s3bench [-server minio|moto|gofakes3] [-peer PATH] [-sizes 256MiB,1GiB] [-runs 1] [-out BENCHMARKS.md]
//	s3bench -child -client NAME -op put|get|range|raw ...   (child mode: one operation)
//	s3bench -proxy -listen ADDR -s3 URL                 (server mode: S3 + KMS on one port; -s3 gofakes3: in memory)
//
// Every operation of every client runs in a child process of its own, so
// its peak RSS (getrusage) is that of the client alone: the server runs
// in other processes, and this parent holds no object. Bodies are
// generated as they are read (plain and s3crypto) and checked as they are
// read back; the peer CLI reads its input file whole, as the official
// client needs a body of known length, and writes what it gets to
// /dev/null.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"time"
)

func main() {
	var (
		child    = flag.Bool("child", false, "child mode: run one operation and print its result as JSON")
		proxy    = flag.Bool("proxy", false, "server mode: serve S3 (forwarded to -s3, re-signed) and an in-process KMS on -listen")
		listen   = flag.String("listen", "127.0.0.1:0", "proxy mode: address to listen on")
		s3URL    = flag.String("s3", "", "proxy mode: the S3 server to forward to")
		s3Access = flag.String("s3-access-key", "", "proxy mode: access key of the S3 server")
		s3Secret = flag.String("s3-secret-key", "", "proxy mode: secret key of the S3 server")

		j job

		server    = flag.String("server", "minio", "the local server: minio (MinIO behind a proxy that also serves KMS), moto (moto_server, S3 and KMS on one port) or gofakes3 (in memory, with kmstest, one process)")
		minio     = flag.String("minio", "", "the MinIO binary (-server minio; default: minio on PATH, then ~/.cache/cryptkeeper/bin/minio)")
		peer      = flag.String("peer", "", "the peer CLI binary (empty: the official client is not measured)")
		sizes     = flag.String("sizes", "256MiB,1GiB", "object sizes")
		peerMax   = flag.String("peer-max", "1GiB", "largest object size the peer is measured at")
		runs      = flag.Int("runs", 1, "runs per measurement (the median rate and the largest RSS are reported)")
		out       = flag.String("out", "BENCHMARKS.md", "report file: its S3 section is replaced (or appended)")
		rangeSize = flag.String("range", "1MiB", "length of the ranged GET")
		cpuProf   = flag.String("cpuprofile", "", "child mode: write a CPU profile of the operation to this file")
		only      = flag.String("clients", "", "comma-separated names of the clients to measure (default: all)")
		profiles  = flag.String("profiles", "", "a directory for a CPU profile of every s3crypto and plain child, named client-size-op-round.prof (default: none)")
	)
	flag.StringVar(&j.client, "client", "", "child mode: client name")
	flag.StringVar(&j.op, "op", "", "child mode: put, get, range or raw")
	flag.StringVar(&j.endpoint, "endpoint", "", "child mode: S3 and KMS endpoint")
	flag.StringVar(&j.bucket, "bucket", "bench", "child mode: bucket")
	flag.StringVar(&j.key, "key", "", "child mode: object key")
	flag.StringVar(&j.kmsKey, "kms-key", "", "child mode: KMS key ARN")
	flag.Int64Var(&j.size, "size", 0, "child mode: object size")
	flag.Int64Var(&j.from, "from", 0, "child mode: range start")
	flag.Int64Var(&j.n, "n", 0, "child mode: range length")
	flag.Int64Var(&j.partSize, "part-size", 0, "child mode: s3crypto part size (0: the default)")
	flag.Parse()

	ctx := context.Background()
	var err error
	switch {
	case *child:
		if *cpuProf != "" {
			stop, perr := startProfile(*cpuProf)
			if perr != nil {
				err = perr
				break
			}
			defer stop()
		}
		err = runChild(ctx, j)
	case *proxy:
		err = serveProxy(*listen, *s3URL, *s3Access, *s3Secret)
	default:
		var cfg config
		cfg.server, cfg.minio, cfg.peer, cfg.runs, cfg.profiles = *server, *minio, *peer, *runs, *profiles
		if *only != "" {
			cfg.clients = strings.Split(*only, ",")
		}
		if cfg.sizes, err = parseSizes(*sizes); err == nil {
			var v []int64
			if v, err = parseSizes(*peerMax); err == nil {
				cfg.peerMax = v[0]
				if v, err = parseSizes(*rangeSize); err == nil {
					cfg.rangeN = v[0]
				}
			}
		}
		if err == nil {
			err = runParent(ctx, cfg, *out)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3bench:", err)
		os.Exit(1)
	}
}

// startProfile starts a CPU profile into name and returns what stops it.
func startProfile(name string) (func(), error) {
	f, err := os.Create(name)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "s3bench: %s "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05")}, args...)...)
}

// parseSizes parses a comma-separated list of sizes such as 256MiB,1GiB.
func parseSizes(s string) ([]int64, error) {
	var sizes []int64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		mult := int64(1)
		for _, u := range []struct {
			suffix string
			mult   int64
		}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
			if v, ok := strings.CutSuffix(f, u.suffix); ok {
				f, mult = v, u.mult
				break
			}
		}
		var n int64
		if _, err := fmt.Sscanf(f, "%d", &n); err != nil || n <= 0 || fmt.Sprint(n) != f {
			return nil, fmt.Errorf("bad size %q", s)
		}
		sizes = append(sizes, n*mult)
	}
	return sizes, nil
}

// sizeName formats a size as parseSizes reads it.
func sizeName(n int64) string {
	switch {
	case n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
