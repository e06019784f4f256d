package kmstest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Defaults used when no option overrides them.
const (
	DefaultRegion    = "us-west-2"
	DefaultAccount   = "111122223333"
	DefaultAccessKey = "AKIDKMSTEST"
	DefaultSecretKey = "kmstest-secret"
	maxRequestBytes  = 1 << 20
)

// Server is an in-process KMS. Its exported methods are safe for concurrent
// use, also while requests are being served.
type Server struct {
	// URL is the base URL of the server, http://127.0.0.1:port.
	URL string

	http    *httptest.Server
	region  string
	account string

	mu      sync.Mutex
	keys    map[string]map[string]*key   // region → key id → key
	aliases map[string]map[string]string // region → alias name → key id
	calls   map[string]int
	faults  []*faultRule
	latency time.Duration
}

// Option configures a Server.
type Option func(*Server)

// WithRegion sets the Region used for requests that carry no credential
// scope and for keys created without KeyRegion. The default is us-west-2.
func WithRegion(region string) Option { return func(s *Server) { s.region = region } }

// WithAccount sets the account id in the ARNs of keys created without
// KeyAccount. The default is 111122223333.
func WithAccount(account string) Option { return func(s *Server) { s.account = account } }

// NewServer starts a KMS server on 127.0.0.1. Call Close when done.
func NewServer(opts ...Option) *Server {
	s := &Server{
		region:  DefaultRegion,
		account: DefaultAccount,
		keys:    map[string]map[string]*key{},
		aliases: map[string]map[string]string{},
		calls:   map[string]int{},
	}
	for _, o := range opts {
		o(s)
	}
	s.http = httptest.NewServer(s)
	s.URL = s.http.URL
	// Clients from Client keep a connection per goroutine of a test: with
	// the default of two idle connections per host, most of thousands of
	// concurrent calls would open a connection (left in TIME_WAIT).
	// Close closes them.
	if tr, ok := s.http.Client().Transport.(*http.Transport); ok {
		tr.MaxIdleConnsPerHost = maxIdleConns
	}
	return s
}

// maxIdleConns is the number of idle connections to the server a client
// from Client keeps.
const maxIdleConns = 64

// Close shuts the server down and blocks until its requests have finished.
func (s *Server) Close() { s.http.Close() }

// Region returns the server's default Region.
func (s *Server) Region() string { return s.region }

// Account returns the server's default account id.
func (s *Server) Account() string { return s.account }

// Calls returns how many requests for the operation (such as "Decrypt")
// the server has received, including those failed by injected faults.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// TotalCalls returns the number of requests received for all operations.
func (s *Server) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		n += c
	}
	return n
}

// ResetCalls sets every call counter back to zero.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
}

// request is what a handler knows about the call it serves.
type request struct {
	op     string
	region string
	caller string // access key id from the SigV4 credential scope
	body   []byte
}

// ServeHTTP implements http.Handler for the KMS JSON 1.1 protocol.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, &apiError{http.StatusMethodNotAllowed, "UnknownOperationException", "KMS accepts POST only"})
		return
	}
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "TrentService.")
	if !ok {
		writeError(w, &apiError{400, "UnknownOperationException", fmt.Sprintf("unknown target %q", target)})
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		writeError(w, &apiError{400, "SerializationException", fmt.Sprintf("unsupported content type %q", ct)})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil || len(body) > maxRequestBytes {
		writeError(w, &apiError{400, "SerializationException", "request body unreadable or too large"})
		return
	}
	req := &request{op: op, region: s.region, body: body}
	if akid, region, ok := parseCredential(r.Header.Get("Authorization")); ok {
		req.caller, req.region = akid, region
	}

	fault, latency := s.admit(op)
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}
	if fault != nil {
		writeError(w, fault)
		return
	}
	h, ok := handlers[op]
	if !ok {
		writeError(w, &apiError{400, "UnknownOperationException", fmt.Sprintf("operation %s is not implemented by kmstest", op)})
		return
	}
	out, aerr := h(s, req)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

// parseCredential extracts the access key id and Region from a SigV4
// Authorization header: "AWS4-HMAC-SHA256 Credential=AKID/date/region/kms/aws4_request, ...".
func parseCredential(h string) (akid, region string, ok bool) {
	_, rest, found := strings.Cut(h, "Credential=")
	if !found {
		return "", "", false
	}
	cred, _, _ := strings.Cut(rest, ",")
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 || parts[0] == "" || parts[2] == "" {
		return "", "", false
	}
	return parts[0], parts[2], true
}

// apiError is a KMS error response.
type apiError struct {
	status int
	typ    string // e.g. NotFoundException
	msg    string
}

func (e *apiError) Error() string { return e.typ + ": " + e.msg }

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.typ)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.typ, "message": e.msg})
}

func errNotFound(format string, a ...any) *apiError {
	return &apiError{400, "NotFoundException", fmt.Sprintf(format, a...)}
}

func errValidation(format string, a ...any) *apiError {
	return &apiError{400, "ValidationException", fmt.Sprintf(format, a...)}
}

func errInvalidCiphertext() *apiError {
	return &apiError{400, "InvalidCiphertextException", ""}
}
