package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"time"
)

// errNoMoto says how to get moto_server, or how to do without it.
var errNoMoto = errors.New("moto_server is not on PATH: install it with\n\n\tpip install 'moto[server]==5.2.1'\n\n" +
	"or run against another DynamoDB endpoint with -endpoint URL (DynamoDB Local: -endpoint http://localhost:8000)")

// startMoto starts moto_server on a free 127.0.0.1 port and waits until it
// answers; stop ends it.
func startMoto(ctx context.Context) (url string, stop func(), err error) {
	path, err := exec.LookPath("moto_server")
	if err != nil {
		return "", nil, errNoMoto
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("starting moto_server: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop = func() { _ = cmd.Process.Kill(); <-exited }
	url = fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(60 * time.Second); ; {
		resp, err := http.Get(url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return url, stop, nil
		}
		select {
		case <-exited:
			return "", nil, fmt.Errorf("moto_server exited: %v", cmd.ProcessState)
		case <-ctx.Done():
			stop()
			return "", nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("moto_server did not answer on %s: %v", url, err)
		}
	}
}
