package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// server is the local server topology of a run: every client talks to
// endpoint, for S3 and KMS alike.
type server struct {
	endpoint string
	topology string
	procs    []*exec.Cmd
}

func (s *server) stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		p := s.procs[i]
		_ = p.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = p.Process.Kill()
			<-done
		}
	}
}

func startServer(ctx context.Context, cfg config, tmp string) (*server, error) {
	s := &server{}
	switch cfg.server {
	case "moto":
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		cmd := exec.Command("moto_server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
		if err := startLogged(cmd, filepath.Join(tmp, "moto.log")); err != nil {
			return nil, fmt.Errorf("start moto_server: %w", err)
		}
		s.procs = append(s.procs, cmd)
		s.endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
		s.topology = fmt.Sprintf("moto_server %s (S3 and KMS on one port, path-style), one process", motoVersion())
		if err := waitHTTP(ctx, s.endpoint+"/moto-api/"); err != nil {
			s.stop()
			return nil, fmt.Errorf("moto_server: %w", err)
		}
	case "gofakes3":
		if err := s.startProxy("gofakes3", "", ""); err != nil {
			s.stop()
			return nil, err
		}
		s.topology = "gofakes3 v1.2.0 (in memory) and kmstest in one Go process, KMS requests (TrentService.*) routed by X-Amz-Target"
	case "minio":
		bin, err := minioBinary(cfg.minio)
		if err != nil {
			return nil, err
		}
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		cport, err := freePort()
		if err != nil {
			return nil, err
		}
		const user, pass = "s3bench", "s3bench-secret"
		cmd := exec.Command(bin, "server", filepath.Join(tmp, "minio-data"),
			"--address", fmt.Sprintf("127.0.0.1:%d", port), "--console-address", fmt.Sprintf("127.0.0.1:%d", cport), "--quiet")
		cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+user, "MINIO_ROOT_PASSWORD="+pass, "MINIO_BROWSER=off")
		if err := startLogged(cmd, filepath.Join(tmp, "minio.log")); err != nil {
			return nil, fmt.Errorf("start minio: %w", err)
		}
		s.procs = append(s.procs, cmd)
		minioURL := fmt.Sprintf("http://127.0.0.1:%d", port)
		if err := waitHTTP(ctx, minioURL+"/minio/health/live"); err != nil {
			s.stop()
			return nil, fmt.Errorf("minio: %w", err)
		}
		if err := s.startProxy(minioURL, user, pass); err != nil {
			s.stop()
			return nil, err
		}
		s.topology = fmt.Sprintf("MinIO %s (one process) behind a routing proxy (one process) that re-signs S3 requests for MinIO and serves KMS (TrentService.*) from an in-process kmstest", minioVersion(bin))
	default:
		return nil, fmt.Errorf("unknown -server %q (moto, minio or gofakes3)", cfg.server)
	}
	return s, nil
}

// startProxy starts this program in proxy mode in front of s3URL and
// makes it the endpoint.
func (s *server) startProxy(s3URL, user, pass string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	px := exec.Command(exe, "-proxy", "-s3", s3URL, "-s3-access-key", user, "-s3-secret-key", pass)
	px.Stderr = os.Stderr
	stdout, err := px.StdoutPipe()
	if err != nil {
		return err
	}
	if err := px.Start(); err != nil {
		return err
	}
	s.procs = append(s.procs, px)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	s.endpoint = "http://" + strings.TrimSpace(line)
	return nil
}

func startLogged(cmd *exec.Cmd, logName string) error {
	f, err := os.Create(logName)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = f, f
	return cmd.Start()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitHTTP(ctx context.Context, url string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return errors.New("not answering at " + url + " after 60 s")
}

func minioBinary(flagged string) (string, error) {
	if flagged != "" {
		return flagged, nil
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p, nil
	}
	home, _ := os.UserHomeDir()
	p := filepath.Join(home, ".cache", "cryptkeeper", "bin", "minio")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no minio binary on PATH or at %s", p)
	}
	return p, nil
}

// minioVersion returns the module version MinIO was built from (its
// --version says DEVELOPMENT.GOGET when built with go install).
func minioVersion(bin string) string {
	if out, err := exec.Command("go", "version", "-m", bin).Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "mod" && f[1] == "github.com/minio/minio" {
				return f[2]
			}
		}
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "(version unknown)"
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}

func motoVersion() string {
	out, err := exec.Command("python3", "-c", "import moto; print(moto.__version__)").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
