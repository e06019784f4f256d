package envelope

import "fmt"

// BodyLength returns the length of the framed body that holds plaintextLen
// bytes in frames of frameSize bytes: every frame with its sequence
// number, IV and tag, and the final frame with its length. A message is
// its header, this body and, on signed suites, a signature footer. Callers
// that must announce a message's length before writing it (an HTTP
// Content-Length, an object store's size) add the header length, which
// NewWriter writes before it returns. It fails with ErrInvalidOption for a
// negative length or a frame size outside 1..MaxFrameSize, and with
// ErrLimit when the plaintext needs more frames than the format allows.
func BodyLength(plaintextLen int64, frameSize int) (int64, error) {
	if plaintextLen < 0 {
		return 0, fmt.Errorf("%w: plaintext length %d below 0", ErrInvalidOption, plaintextLen)
	}
	if frameSize < 1 || frameSize > MaxFrameSize {
		return 0, fmt.Errorf("%w: frame size %d outside 1..%d", ErrInvalidOption, frameSize, MaxFrameSize)
	}
	if frameCount(plaintextLen, frameSize) > maxFrames {
		return 0, limitErr("%d bytes need more than %d frames of %d bytes", plaintextLen, int64(maxFrames), frameSize)
	}
	return bodySize(plaintextLen, frameSize), nil
}
