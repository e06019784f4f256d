package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cryptkeeper-go/cryptkeeper/internal/benchdoc"
)

type config struct {
	server, minio, peer string
	sizes               []int64
	peerMax, rangeN     int64
	runs                int
	clients             []string // names of the clients measured; all when empty
	profiles            string   // directory of the children's CPU profiles, or ""
}

// measurement is one operation of one client on one object size.
type measurement struct {
	client string
	size   int64
	op     string  // put, get, range, raw
	rate   float64 // plaintext bytes per second (median of the runs)
	rssKB  int64   // peak RSS of the client process, KiB (largest of the runs)
	wire   int64   // response body bytes (range; the largest of the runs)
	err    string
	cpu    float64 // CPU seconds of the client process (median of the runs)
	rates  []float64
	cpus   []float64
}

type results struct {
	cfg                config
	cpu, goVersion     string
	cores              int
	topology           string
	loadStart, loadEnd string
	parentKB           int64
	touchMS            float64 // ms to touch one MiB of fresh memory
	peerNote           string
	ms                 []measurement
	elapsed            time.Duration
}

func runParent(ctx context.Context, cfg config, out string) error {
	start := time.Now()
	res := &results{cfg: cfg, cpu: benchdoc.CPUModel(), cores: runtime.NumCPU(), goVersion: runtime.Version(), loadStart: loadAvg()}
	tmp, err := os.MkdirTemp("", "s3bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	srv, err := startServer(ctx, cfg, tmp)
	if err != nil {
		return err
	}
	defer srv.stop()
	res.topology = srv.topology
	logf("server: %s at %s", srv.topology, srv.endpoint)

	s3c := s3.New(s3.Options{
		BaseEndpoint: aws.String(srv.endpoint), UsePathStyle: true, Region: region,
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
	})
	const bucket = "bench"
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return fmt.Errorf("create bucket: %w", err)
	}
	kmsc := kms.New(kms.Options{
		BaseEndpoint: aws.String(srv.endpoint), Region: region,
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
	})
	key, err := kmsc.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		return fmt.Errorf("create KMS key: %w", err)
	}
	kmsKey := aws.ToString(key.KeyMetadata.Arn)

	exe, err := os.Executable()
	if err != nil {
		return err
	}
	largest := slices.Max(cfg.sizes)
	// For each size, the clients take turns in rounds (one run of each
	// operation of each client per round), so that a burst of load from
	// elsewhere on the machine lowers one run of several clients rather
	// than every run of one.
	for _, size := range cfg.sizes {
		var input string
		if cfg.peer != "" && size <= cfg.peerMax {
			if input, err = writeInput(tmp, size); err != nil {
				return err
			}
		}
		ms := map[string]*measurement{}
		var order []string
		for round := range max(cfg.runs, 1) {
			for _, c := range clients {
				if (c.peer && input == "") || (len(cfg.clients) > 0 && !slices.Contains(cfg.clients, c.name)) {
					continue
				}
				objKey := fmt.Sprintf("%s/%d", c.name, size)
				ops := []string{"put", "get"}
				if c.ranged && size == largest {
					ops = append(ops, "range")
				}
				if c.raw {
					ops = append(ops, "raw")
				}
				if c.bound {
					// The GET and its ceilings take turns at running first
					// after the PUT, so that none of them always gets (or
					// always reuses) the memory another just freed.
					reads := []string{"get", "spool", "twice"}
					k := round % len(reads)
					ops = append([]string{"put"}, append(reads[k:], reads[:k]...)...)
				}
				for _, op := range ops {
					var args []string
					if c.peer {
						args = peerArgs(cfg.peer, op, srv.endpoint, bucket, objKey, kmsKey, input)
					} else {
						args = []string{exe, "-child", "-client", c.name, "-op", op, "-endpoint", srv.endpoint,
							"-bucket", bucket, "-key", objKey, "-kms-key", kmsKey, "-size", fmt.Sprint(size)}
						if cfg.profiles != "" {
							args = append(args, "-cpuprofile", filepath.Join(cfg.profiles, fmt.Sprintf("%s-%d-%s-%d.prof", c.name, size, op, round+1)))
						}
						if op == "range" {
							args = append(args, "-from", fmt.Sprint(size/2), "-n", fmt.Sprint(cfg.rangeN))
						}
					}
					id := c.name + " " + op
					m := ms[id]
					if m == nil {
						m = &measurement{client: c.name, size: size, op: op}
						ms[id] = m
						order = append(order, id)
					}
					if m.err != "" {
						continue
					}
					logf("round %d: %s %s %s (load %s)", round+1, c.name, op, sizeName(size), loadAvg())
					m.add(runOnce(ctx, c.peer, op, size, cfg.rangeN, args))
				}
				_, _ = s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(objKey)})
			}
		}
		for _, id := range order {
			res.ms = append(res.ms, ms[id].done())
		}
		if input != "" {
			os.Remove(input)
		}
	}
	if cfg.peer == "" {
		res.peerNote = "not measured (no -peer binary)"
	} else if cfg.peerMax < largest {
		res.peerNote = fmt.Sprintf("measured up to %s only (-peer-max)", sizeName(cfg.peerMax))
	}
	res.loadEnd = loadAvg()
	res.parentKB = selfHWM()
	res.touchMS = touchCost()
	res.elapsed = time.Since(start)

	section := res.markdown()
	fmt.Print(section)
	return benchdoc.SpliceFile(out, beginMark, endMark, section)
}

func peerArgs(bin, op, endpoint, bucket, key, kmsKey, input string) []string {
	args := []string{bin, op, "-endpoint", endpoint, "-region", region, "-bucket", bucket, "-key", key, "-kms-key", kmsKey}
	if op == "put" {
		return append(args, "-in", input)
	}
	return append(args, "-out", os.DevNull)
}

// writeInput writes size bytes of generated content to a file for the
// peer CLI, which reads its input from a file.
func writeInput(dir string, size int64) (string, error) {
	name := filepath.Join(dir, fmt.Sprintf("input-%d", size))
	f, err := os.Create(name)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, newGen(size)); err != nil {
		f.Close()
		return "", err
	}
	return name, f.Close()
}

// run is one run of one operation.
type run struct {
	rate  float64 // plaintext bytes per second
	cpu   float64 // user + system CPU seconds of the child
	rssKB int64
	wire  int64
	err   string
}

// runOnce runs args, a child process doing one operation, and reads its
// peak RSS. The rate is over the child's whole run (its start, its KMS
// call and the transfer), as for the peer CLI.
func runOnce(ctx context.Context, peer bool, op string, size, rangeN int64, args []string) run {
	want := size
	if op == "range" {
		want = rangeN
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		return run{err: fmt.Sprintf("%v: %s", err, lastLine(stderr.String()))}
	}
	var r run
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.rssKB = ru.Maxrss // KiB on Linux
		r.cpu = time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime)).Seconds()
	}
	if !peer {
		var res result
		if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
			return run{err: "bad child output: " + lastLine(stdout.String())}
		}
		if res.Bytes != want {
			return run{err: fmt.Sprintf("moved %d bytes, want %d", res.Bytes, want)}
		}
		r.wire = res.Wire
	}
	r.rate = float64(want) / elapsed.Seconds()
	return r
}

// add records a run: a failed run fails the measurement.
func (m *measurement) add(r run) {
	if r.err != "" {
		m.err = r.err
		return
	}
	m.rates = append(m.rates, r.rate)
	m.cpus = append(m.cpus, r.cpu)
	m.rssKB = max(m.rssKB, r.rssKB)
	m.wire = max(m.wire, r.wire)
}

// done sets the rate to the median of the runs.
func (m *measurement) done() measurement {
	if m.err == "" && len(m.rates) > 0 {
		s := slices.Clone(m.rates)
		slices.Sort(s)
		m.rate = s[len(s)/2]
		c := slices.Clone(m.cpus)
		slices.Sort(c)
		m.cpu = c[len(c)/2]
	}
	return *m
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// loadAvg returns the 1-minute load average.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

// touchCost returns the time to touch one MiB of memory the process has
// not used before (page faults; on some virtual machines far slower than
// copying the same bytes), over 32 MiB.
func touchCost() float64 {
	const n = 32 << 20
	start := time.Now()
	b := make([]byte, n)
	for i := 0; i < n; i += 4096 {
		b[i] = 1
	}
	runtime.KeepAlive(b)
	return float64(time.Since(start).Microseconds()) / 1000 / (n >> 20)
}

// selfHWM returns this process's peak RSS in KiB: a child's getrusage
// peak cannot be below it, as the child starts as a copy of this process.
func selfHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb)
			return kb
		}
	}
	return 0
}
