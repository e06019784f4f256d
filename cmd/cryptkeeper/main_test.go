package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cryptkeeper-go/cryptkeeper/internal/testserver"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"cryptkeeper": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// scriptEnv names the variables the script commands pass to processes they
// start themselves.
var scriptEnv = []string{"PATH", "HOME", "TMPDIR", "GORACE", "GOCOVERDIR", "GODEBUG",
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_EC2_METADATA_DISABLED",
	"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_MAX_ATTEMPTS"}

// TestScripts runs testdata/script/*.txtar: every subcommand and error path
// through the real binary (the test binary re-executed as cryptkeeper).
// Each script gets its own kmstest server ($KMS_ENDPOINT, $KMS_KEY); the
// s3 scripts share one moto_server ($S3_ENDPOINT, bucket "ckbucket" and "ckbucket2").
func TestScripts(t *testing.T) {
	s3Endpoint := ""
	if needsS3(t) {
		s3Endpoint = testserver.Moto(t)
		for _, b := range []string{"ckbucket", "ckbucket2"} {
			_, err := testserver.S3Client(s3Endpoint, nil).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(b)})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			srv := kmstest.NewServer()
			e.Defer(srv.Close)
			arn, err := srv.CreateKey()
			if err != nil {
				return err
			}
			other, err := srv.CreateKey()
			if err != nil {
				return err
			}
			e.Values["kms"] = srv
			e.Setenv("KMS_ENDPOINT", srv.URL)
			e.Setenv("KMS_KEY", arn)
			e.Setenv("KMS_OTHER_KEY", other)
			e.Setenv("KMS_ACCOUNT", srv.Account())
			e.Setenv("S3_ENDPOINT", s3Endpoint)
			e.Setenv("AWS_ACCESS_KEY_ID", testserver.AccessKey)
			e.Setenv("AWS_SECRET_ACCESS_KEY", testserver.SecretKey)
			e.Setenv("AWS_REGION", srv.Region())
			e.Setenv("AWS_EC2_METADATA_DISABLED", "true")
			e.Setenv("AWS_CONFIG_FILE", os.DevNull)
			e.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
			e.Setenv("AWS_MAX_ATTEMPTS", "1")
			// GODEBUG=fips140=on reaches the commands too.
			if v := os.Getenv("GODEBUG"); v != "" {
				e.Setenv("GODEBUG", v)
			}
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond == "s3" {
				return s3Endpoint != "", nil
			}
			return false, errors.New("unknown condition " + cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"status":    cmdStatus,
			"genfile":   cmdGenfile,
			"genfiles":  cmdGenfiles,
			"tamper":    cmdTamper,
			"truncate":  cmdTruncate,
			"slice":     cmdSlice,
			"s3plain":   cmdS3Plain,
			"kmscalls":  cmdKMSCalls,
			"interrupt": cmdInterrupt,
			"notemp":    cmdNoTemp,
			"waitfile":  cmdWaitfile,
			"envfile":   cmdEnvfile,
			"mode":      cmdMode,
			"cmpdir":    cmdCmpDir,
		},
	})
}

// needsS3 reports whether a script that needs S3 will run.
func needsS3(t *testing.T) bool {
	m, _ := filepath.Glob("testdata/script/s3*.txtar")
	return len(m) > 0 && !testing.Short()
}

// status N prog args...: run prog and check its exit status.
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: status N prog [args...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		got = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("%v", err)
	}
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}

// genfile NAME SIZE: a file of SIZE random bytes.
func cmdGenfile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: genfile NAME SIZE")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	b := make([]byte, n)
	rand.Read(b)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o644))
}

// genfiles DIR COUNT SIZE: COUNT random files spread over subdirectories.
func cmdGenfiles(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: genfiles DIR COUNT SIZE")
	}
	count, err := strconv.Atoi(args[1])
	ts.Check(err)
	size, err := strconv.Atoi(args[2])
	ts.Check(err)
	for i := range count {
		dir := filepath.Join(ts.MkAbs(args[0]), "d"+strconv.Itoa(i%7))
		ts.Check(os.MkdirAll(dir, 0o755))
		b := make([]byte, size+i%13)
		rand.Read(b)
		ts.Check(os.WriteFile(filepath.Join(dir, "f"+strconv.Itoa(i)), b, 0o644))
	}
}

// cmpdir A B SUFFIX: every file under A is under B with SUFFIX added, with
// the same content, and B holds nothing else.
func cmdCmpDir(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: cmpdir A B SUFFIX")
	}
	a, b := ts.MkAbs(args[0]), ts.MkAbs(args[1])
	n := 0
	ts.Check(filepath.Walk(a, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(a, p)
		want, err := os.ReadFile(p)
		ts.Check(err)
		got, err := os.ReadFile(filepath.Join(b, rel+args[2]))
		ts.Check(err)
		if !bytes.Equal(got, want) {
			ts.Fatalf("%s differs", rel)
		}
		n++
		return nil
	}))
	m := 0
	ts.Check(filepath.Walk(b, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			m++
		}
		return err
	}))
	if m != n {
		ts.Fatalf("%s holds %d files, want %d", args[1], m, n)
	}
}

// tamper FILE OFFSET: flip one bit of the byte at OFFSET (negative: from
// the end).
func cmdTamper(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: tamper FILE OFFSET")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	off, err := strconv.Atoi(args[1])
	ts.Check(err)
	if off < 0 {
		off += len(b)
	}
	b[off] ^= 1
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o644))
}

// kmscalls OP MIN MAX: the script's KMS received MIN to MAX calls of OP
// (op "all": every operation) since the last kmscalls; then reset.
func cmdKMSCalls(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: kmscalls OP MIN MAX")
	}
	srv := ts.Value("kms").(*kmstest.Server)
	got := srv.TotalCalls()
	if args[0] != "all" {
		got = srv.Calls(args[0])
	}
	lo, err := strconv.Atoi(args[1])
	ts.Check(err)
	hi, err := strconv.Atoi(args[2])
	ts.Check(err)
	ts.Logf("KMS %s calls: %d", args[0], got)
	if got < lo || got > hi {
		ts.Fatalf("KMS %s calls: %d, want %d to %d", args[0], got, lo, hi)
	}
	srv.ResetCalls()
}

// mode FILE PERM: the file's permission bits are PERM (octal).
func cmdMode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: mode FILE PERM")
	}
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	want, err := strconv.ParseUint(args[1], 8, 32)
	ts.Check(err)
	if got := fi.Mode().Perm(); uint64(got) != want {
		ts.Fatalf("%s has mode %o, want %o", args[0], got, want)
	}
}

// notemp DIR: no temporary output file is left in DIR.
func cmdNoTemp(ts *testscript.TestScript, neg bool, args []string) {
	m, err := filepath.Glob(filepath.Join(ts.MkAbs(args[0]), "*"+tempSuffix))
	ts.Check(err)
	if len(m) > 0 {
		ts.Fatalf("temporary files left: %v", m)
	}
}

// waitfile FILE: wait (up to 20 s) until FILE exists.
func cmdWaitfile(ts *testscript.TestScript, neg bool, args []string) {
	for range 400 {
		if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("%s did not appear", args[0])
}

// envfile FILE: set the NAME=value lines of FILE as variables.
func cmdEnvfile(ts *testscript.TestScript, neg bool, args []string) {
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			ts.Fatalf("envfile: bad line %q", l)
		}
		ts.Setenv(k, v)
	}
}

// interrupt DIR STATUS cryptkeeper args...: run cryptkeeper with a pipe as
// standard input, write part of a message into it and stall, wait until a
// temporary output appears in DIR, send SIGINT and check the exit status.
func cmdInterrupt(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 3 {
		ts.Fatalf("usage: interrupt DIR STATUS cryptkeeper args...")
	}
	dir := ts.MkAbs(args[0])
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	var bin string
	for _, d := range filepath.SplitList(ts.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(d, args[2])); err == nil {
			bin = filepath.Join(d, args[2])
			break
		}
	}
	if bin == "" {
		ts.Fatalf("%s not on PATH", args[2])
	}
	var stdinFile string
	rest := args[3:]
	if n := len(rest); n > 1 && rest[n-2] == "<" {
		stdinFile, rest = ts.MkAbs(rest[n-1]), rest[:n-2]
	}
	cmd := exec.Command(bin, rest...)
	cmd.Dir = ts.Getenv("WORK")
	for _, k := range scriptEnv {
		cmd.Env = append(cmd.Env, k+"="+ts.Getenv(k))
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	w, err := cmd.StdinPipe()
	ts.Check(err)
	ts.Check(cmd.Start())
	if stdinFile != "" {
		// Half of the input, then a stall: the reader blocks.
		b, err := os.ReadFile(stdinFile)
		ts.Check(err)
		if _, err := w.Write(b[:len(b)/2]); err != nil {
			ts.Fatalf("writing the input: %v", err)
		}
	}
	for i := 0; ; i++ {
		if m, _ := filepath.Glob(filepath.Join(dir, "*"+tempSuffix)); len(m) > 0 {
			break
		}
		if i == 400 {
			cmd.Process.Kill()
			cmd.Wait()
			ts.Fatalf("no temporary output appeared; stderr: %s", stderr.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
	ts.Check(cmd.Process.Signal(syscall.SIGINT))
	err = cmd.Wait()
	w.Close()
	ts.Logf("[stderr]\n%s", stderr.String())
	got := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}

// truncate FILE N: cut FILE to N bytes.
func cmdTruncate(ts *testscript.TestScript, neg bool, args []string) {
	n, err := strconv.ParseInt(args[1], 10, 64)
	ts.Check(err)
	ts.Check(os.Truncate(ts.MkAbs(args[0]), n))
}

// slice FILE A B OUT: write bytes A to B (inclusive) of FILE to OUT.
func cmdSlice(ts *testscript.TestScript, neg bool, args []string) {
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	lo, err := strconv.Atoi(args[1])
	ts.Check(err)
	hi, err := strconv.Atoi(args[2])
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[3]), b[lo:hi+1], 0o644))
}

// s3plain BUCKET KEY DATA: store an unencrypted object.
func cmdS3Plain(ts *testscript.TestScript, neg bool, args []string) {
	c := testserver.S3Client(ts.Getenv("S3_ENDPOINT"), nil)
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &args[0], Key: &args[1], Body: strings.NewReader(args[2])})
	ts.Check(err)
}
