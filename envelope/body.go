package envelope

import (
	"crypto/ecdsa"
	"encoding/binary"
	"fmt"
)

// The checks of a message body, shared by the streaming Reader and the
// one-shot Decrypt so that both accept exactly the same messages and fail
// with the same errors.

const (
	regularHeadLen = 4 + ivLen         // sequence number, IV
	finalHeadLen   = 4 + 4 + ivLen + 4 // end marker, sequence number, IV, length
	nonFramedHead  = ivLen + 8         // IV, length
)

// frameHead is a checked frame header.
type frameHead struct {
	iv    []byte
	n     int // plaintext (and ciphertext) length without the tag
	final bool
}

// bodyRules holds what a decoder checks frame headers against.
type bodyRules struct {
	frameSize int
	strictIVs bool
	maxLen    int // WithMaxFrameSize, for non-framed bodies
}

func isFinalMarker(first []byte) bool { return binary.BigEndian.Uint32(first) == finalFrameSeq }

// headLen returns the length of the frame header starting with first (its
// first four bytes).
func headLen(first []byte) int {
	if isFinalMarker(first) {
		return finalHeadLen
	}
	return regularHeadLen
}

// checkHead checks the complete header b of the frame expected to carry
// sequence number seq.
func (br *bodyRules) checkHead(b []byte, seq uint32) (frameHead, error) {
	var fh frameHead
	if isFinalMarker(b) {
		fh.final = true
		if got := binary.BigEndian.Uint32(b[4:]); got != seq {
			return fh, formatErr("final frame number %d, want %d", got, seq)
		}
		fh.iv = b[8 : 8+ivLen]
		cl := binary.BigEndian.Uint32(b[8+ivLen:])
		if uint64(cl) > uint64(br.frameSize) {
			return fh, formatErr("final frame holds %d bytes, more than the frame length %d", cl, br.frameSize)
		}
		fh.n = int(cl)
	} else {
		if got := binary.BigEndian.Uint32(b); got != seq {
			return fh, formatErr("frame number %d, want %d", got, seq)
		}
		if seq == maxFrames {
			return fh, limitErr("more than %d frames", int64(maxFrames))
		}
		fh.iv = b[4 : 4+ivLen]
		fh.n = br.frameSize
	}
	if br.strictIVs && !checkIV(fh.iv, seq) {
		return fh, formatErr("frame %d IV is not the sequence IV", seq)
	}
	return fh, nil
}

// checkNonFramed checks the header of a non-framed body.
func (br *bodyRules) checkNonFramed(b []byte) (iv []byte, n int, err error) {
	iv = b[:ivLen]
	cl := binary.BigEndian.Uint64(b[ivLen:])
	if cl > maxNonFramedLen {
		return nil, 0, formatErr("non-framed body of %d bytes exceeds the format limit", cl)
	}
	if cl > uint64(br.maxLen) {
		return nil, 0, limitErr("non-framed body of %d bytes exceeds the maximum of %d", cl, br.maxLen)
	}
	if br.strictIVs && !checkIV(iv, 1) {
		return nil, 0, formatErr("body IV is not the sequence IV")
	}
	return iv, int(cl), nil
}

func frameLabel(final bool) string {
	if final {
		return labelFinalFrame
	}
	return labelFrame
}

func frameAuthErr(seq uint32) error { return fmt.Errorf("%w: frame %d", ErrAuthentication, seq) }

// verifySignature checks the footer signature over digest.
func verifySignature(vk *ecdsa.PublicKey, digest, sig []byte) error {
	if !ecdsa.VerifyASN1(vk, digest, sig) {
		return fmt.Errorf("%w: signature", ErrAuthentication)
	}
	return nil
}

func trailingErr() error { return formatErr("bytes after the end of the message") }
