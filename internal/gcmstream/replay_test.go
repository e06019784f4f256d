package gcmstream

import (
	"bytes"
	"errors"
	"testing"
)

// marked hashes msg (content and tag) with an Opener, taking a Mark every
// step bytes, and verifies it. It returns the Marks, the last one final.
func marked(t *testing.T, key, nonce, aad, msg []byte, step int) []Mark {
	t.Helper()
	o, err := NewOpener(key, nonce, aad)
	if err != nil {
		t.Fatal(err)
	}
	ct, tag := msg[:len(msg)-TagSize], msg[len(msg)-TagSize:]
	var marks []Mark
	for off := 0; ; off += step {
		m, err := o.Mark()
		if err != nil {
			t.Fatal(err)
		}
		marks = append(marks, m)
		if off+step >= len(ct) {
			if err := o.Hash(ct[off:]); err != nil {
				t.Fatal(err)
			}
			break
		}
		// Hash in two uneven calls, as reads arrive.
		if err := o.Hash(ct[off : off+step/3]); err != nil {
			t.Fatal(err)
		}
		if err := o.Hash(ct[off+step/3 : off+step]); err != nil {
			t.Fatal(err)
		}
	}
	if len(ct)%16 != 0 {
		if _, err := o.Mark(); !errors.Is(err, ErrUnaligned) {
			t.Fatalf("Mark at %d: %v", len(ct), err)
		}
	}
	if err := o.Verify(tag); err != nil {
		t.Fatal(err)
	}
	m, err := o.Mark()
	if err != nil || m.Offset() != int64(len(ct)) {
		t.Fatalf("final Mark at %d: %v", m.Offset(), err)
	}
	return append(marks, m)
}

// TestReplay checks that a Replayer gives back the plaintext of every
// piece between Marks, in any order, and refuses a modified, truncated,
// extended or misplaced piece without touching it.
func TestReplay(t *testing.T) {
	key, nonce, aad := randBytes(32), randBytes(12), randBytes(2)
	for _, n := range []int{0, 1, 16, 17, 1<<20 + 3, 3 << 20} {
		for _, step := range []int{16, 64 << 10, 1 << 20} {
			if n > 100<<10 && step == 16 {
				continue
			}
			pt := randBytes(n)
			msg := reference(t, key, nonce, aad, pt)
			marks := marked(t, key, nonce, aad, msg, step)
			r, err := NewReplayer(key, nonce)
			if err != nil {
				t.Fatal(err)
			}
			for i := len(marks) - 2; i >= 0; i-- { // backwards
				from, to := marks[i], marks[i+1]
				piece := bytes.Clone(msg[from.Offset():to.Offset()])
				if err := r.Open(piece, from, to); err != nil || !bytes.Equal(piece, pt[from.Offset():to.Offset()]) {
					t.Fatalf("n=%d step=%d piece %d: %v", n, step, i, err)
				}
				if len(piece) == 0 {
					continue
				}
				bad := bytes.Clone(msg[from.Offset():to.Offset()])
				bad[len(bad)/2] ^= 1
				keep := bytes.Clone(bad)
				if err := r.Open(bad, from, to); !errors.Is(err, ErrAuthentication) || !bytes.Equal(bad, keep) {
					t.Fatalf("n=%d step=%d piece %d modified: %v", n, step, i, err)
				}
				short := bytes.Clone(msg[from.Offset() : to.Offset()-1])
				if err := r.Open(short, from, to); !errors.Is(err, ErrAuthentication) {
					t.Fatalf("truncated piece: %v", err)
				}
				long := append(bytes.Clone(msg[from.Offset():to.Offset()]), 0)
				if err := r.Open(long, from, to); !errors.Is(err, ErrAuthentication) {
					t.Fatalf("extended piece: %v", err)
				}
				if i > 0 && to.Offset()-from.Offset() == marks[i].Offset()-marks[i-1].Offset() {
					other := bytes.Clone(msg[marks[i-1].Offset():marks[i].Offset()])
					if err := r.Open(other, from, to); !errors.Is(err, ErrAuthentication) {
						t.Fatalf("piece %d in place of %d: %v", i-1, i, err)
					}
				}
			}
			// Decrypt: the plaintext at an offset, unauthenticated.
			if n >= 32 {
				p := bytes.Clone(msg[16:n])
				if err := r.Decrypt(p, 16); err != nil || !bytes.Equal(p, pt[16:]) {
					t.Fatalf("Decrypt: %v", err)
				}
			}
			r.Wipe()
			if err := r.Open(nil, marks[0], marks[0]); !errors.Is(err, ErrFinished) {
				t.Fatalf("Open after Wipe: %v", err)
			}
		}
	}
	// A Replayer of another key refuses every piece.
	pt := randBytes(100 << 10)
	msg := reference(t, key, nonce, aad, pt)
	marks := marked(t, key, nonce, aad, msg, 64<<10)
	r, _ := NewReplayer(randBytes(32), nonce)
	if err := r.Open(bytes.Clone(msg[:64<<10]), marks[0], marks[1]); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("other key: %v", err)
	}
	// Marks need Hash, not Decrypt.
	o, _ := NewOpener(key, nonce, aad)
	o.Decrypt(make([]byte, 16), msg[:16])
	if _, err := o.Mark(); !errors.Is(err, ErrFinished) {
		t.Fatalf("Mark after Decrypt: %v", err)
	}
}
