package kmstest

import "time"

// Fault is an error the server returns instead of serving a request.
type Fault int

const (
	// Throttling answers 400 ThrottlingException, which the SDK retries.
	Throttling Fault = iota + 1
	// InternalError answers 500 KMSInternalException, which the SDK retries.
	InternalError
	// Unavailable answers 503 ServiceUnavailableException, which the SDK
	// retries.
	Unavailable
	// AccessDenied answers 400 AccessDeniedException, which the SDK does
	// not retry.
	AccessDenied
)

func (f Fault) apiError() *apiError {
	switch f {
	case Throttling:
		return &apiError{400, "ThrottlingException", "Rate exceeded"}
	case InternalError:
		return &apiError{500, "KMSInternalException", "injected internal error"}
	case Unavailable:
		return &apiError{503, "ServiceUnavailableException", "injected outage"}
	default:
		return &apiError{400, "AccessDeniedException", "injected access denial"}
	}
}

type faultRule struct {
	op        string // "" matches every operation
	remaining int    // < 0: until cleared
	fault     Fault
}

// FailNext makes the next n requests for op fail with f (op "" matches
// every operation). Rules apply in the order they were added.
func (s *Server) FailNext(op string, n int, f Fault) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultRule{op: op, remaining: n, fault: f})
}

// FailAlways makes every request for op fail with f until ClearFaults
// (op "" matches every operation).
func (s *Server) FailAlways(op string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultRule{op: op, remaining: -1, fault: f})
}

// ClearFaults removes every injected fault and the latency.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	s.latency = 0
}

// SetLatency delays every response by d (0 removes the delay). A request
// whose context ends first gets no response.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// admit counts a request and decides whether a fault applies to it.
func (s *Server) admit(op string) (*apiError, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
	for i, r := range s.faults {
		if r.op != "" && r.op != op {
			continue
		}
		if r.remaining > 0 {
			r.remaining--
			if r.remaining == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return r.fault.apiError(), s.latency
	}
	return nil, s.latency
}
