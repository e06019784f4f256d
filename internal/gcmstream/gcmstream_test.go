package gcmstream

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	mrand "math/rand/v2"
	"testing"
)

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// reference returns crypto/cipher's AES-GCM Seal of pt.
func reference(t testing.TB, key, nonce, aad, pt []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return aead.Seal(nil, nonce, pt, aad)
}

// splits cuts n into random pieces, small and large.
func splits(r *mrand.Rand, n int) []int {
	var out []int
	for n > 0 {
		var k int
		switch r.IntN(4) {
		case 0:
			k = r.IntN(17)
		case 1:
			k = r.IntN(1000)
		case 2:
			k = r.IntN(100 << 10)
		default:
			k = r.IntN(600 << 10)
		}
		k = min(k, n)
		out = append(out, k)
		n -= k
	}
	return out
}

var sizes = []int{0, 1, 15, 16, 17, 4096, 65536, 65536 + 5, 1<<20 + 3}

// TestSealMatchesStandard checks that ciphertext and tag equal
// crypto/cipher's Seal byte for byte, for random keys, nonces, additional
// data and splits of the input, and that Opener verifies them.
func TestSealMatchesStandard(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	for _, n := range sizes {
		for trial := range 4 {
			key := randBytes([]int{16, 24, 32, 32}[trial])
			nonce := randBytes(NonceSize)
			aad := randBytes([]int{0, 2, 0, 37}[trial])
			pt := randBytes(n)
			want := reference(t, key, nonce, aad, pt)

			s, err := NewSealer(key, nonce, aad)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, n)
			off := 0
			for _, k := range splits(r, n) {
				if trial%2 == 1 { // in place
					copy(got[off:off+k], pt[off:off+k])
					err = s.Encrypt(got[off:off+k], got[off:off+k])
				} else {
					err = s.Encrypt(got[off:off+k], pt[off:off+k])
				}
				if err != nil {
					t.Fatal(err)
				}
				off += k
			}
			got, err = s.Tag(got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("n=%d trial=%d: sealed message differs from crypto/cipher's", n, trial)
			}

			for _, hashOnly := range []bool{false, true} {
				o, err := NewOpener(key, nonce, aad)
				if err != nil {
					t.Fatal(err)
				}
				dec := make([]byte, n)
				off = 0
				for _, k := range splits(r, n) {
					if hashOnly {
						err = o.Hash(want[off : off+k])
					} else {
						err = o.Decrypt(dec[off:off+k], want[off:off+k])
					}
					if err != nil {
						t.Fatal(err)
					}
					off += k
				}
				if err := o.Verify(want[n:]); err != nil {
					t.Fatalf("n=%d: Verify: %v", n, err)
				}
				if !hashOnly && !bytes.Equal(dec, pt) {
					t.Fatalf("n=%d: decrypted plaintext differs", n)
				}
			}
		}
	}
}

// open hashes msg (ciphertext and tag) in one piece and verifies it.
func open(key, nonce, aad, msg []byte) error {
	o, err := NewOpener(key, nonce, aad)
	if err != nil {
		return err
	}
	n := max(len(msg)-TagSize, 0)
	if err := o.Hash(msg[:n]); err != nil {
		return err
	}
	return o.Verify(msg[n:])
}

// TestTamper checks that every flipped bit of ciphertext or tag, a
// truncation, an extension, another nonce or additional data fail.
func TestTamper(t *testing.T) {
	for _, n := range []int{0, 1, 17, 70000} {
		key, nonce, aad := randBytes(32), randBytes(12), []byte{0, 0x73}
		msg := reference(t, key, nonce, aad, randBytes(n))
		if err := open(key, nonce, aad, msg); err != nil {
			t.Fatal(err)
		}
		positions := []int{0, len(msg) / 2, len(msg) - TagSize - 1, len(msg) - TagSize, len(msg) - 1}
		for _, pos := range positions {
			if pos < 0 {
				continue
			}
			for bit := range 8 {
				bad := bytes.Clone(msg)
				bad[pos] ^= 1 << bit
				if err := open(key, nonce, aad, bad); !errors.Is(err, ErrAuthentication) {
					t.Fatalf("n=%d: flipped bit %d of byte %d: %v", n, bit, pos, err)
				}
			}
		}
		for _, bad := range [][]byte{msg[:len(msg)-1], append(bytes.Clone(msg), 0)} {
			if err := open(key, nonce, aad, bad); !errors.Is(err, ErrAuthentication) {
				t.Fatalf("n=%d: length %d: %v", n, len(bad), err)
			}
		}
		if err := open(key, randBytes(12), aad, msg); !errors.Is(err, ErrAuthentication) {
			t.Fatalf("other nonce: %v", err)
		}
		if err := open(key, nonce, nil, msg); !errors.Is(err, ErrAuthentication) {
			t.Fatalf("other aad: %v", err)
		}
	}
}

// TestCTRAtOffset checks that NewCTR at any offset gives the plaintext of
// the ciphertext from that offset.
func TestCTRAtOffset(t *testing.T) {
	key, nonce := randBytes(32), randBytes(12)
	pt := randBytes(5000)
	ct := reference(t, key, nonce, nil, pt)
	for _, off := range []int{0, 1, 15, 16, 17, 31, 32, 1000, 4999, 5000} {
		s, err := NewCTR(key, nonce, int64(off))
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(pt)-off)
		s.XORKeyStream(got, ct[off:len(pt)])
		if !bytes.Equal(got, pt[off:]) {
			t.Fatalf("offset %d: wrong plaintext", off)
		}
	}
	if _, err := NewCTR(key, nonce, -1); err == nil {
		t.Fatal("negative offset accepted")
	}
	if _, err := NewCTR(key, nonce, MaxLength+1); !errors.Is(err, ErrTooLong) {
		t.Fatal("offset past the limit accepted")
	}
}

// TestCounterNearLimit checks the keystream at the last blocks GCM allows
// against the standard CTR with GCM's 32-bit counter: no carry into the
// nonce happens within MaxLength.
func TestCounterNearLimit(t *testing.T) {
	key, nonce := randBytes(32), randBytes(12)
	block, _ := aes.NewCipher(key)
	off := int64(MaxLength - 32)
	s, err := NewCTR(key, nonce, off)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 32)
	s.XORKeyStream(got, got)
	want := make([]byte, 32)
	for i := range 2 {
		var ctr [16]byte
		copy(ctr[:], nonce)
		c := uint32(2 + off/16 + int64(i))
		ctr[12], ctr[13], ctr[14], ctr[15] = byte(c>>24), byte(c>>16), byte(c>>8), byte(c)
		block.Encrypt(want[16*i:], ctr[:])
	}
	if !bytes.Equal(got, want) {
		t.Fatal("keystream at the end of the counter space differs")
	}
	if c := uint32(2 + (off+16)/16); c != 0xffffffff {
		t.Fatalf("last counter %#x, want 0xffffffff", c)
	}
}

// TestLimits checks ErrTooLong, ErrFinished and bad parameters.
func TestLimits(t *testing.T) {
	key, nonce := randBytes(32), randBytes(12)
	s, err := NewSealer(key, nonce, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.s.n = MaxLength - 1
	if err := s.Encrypt(make([]byte, 2), make([]byte, 2)); !errors.Is(err, ErrTooLong) {
		t.Fatalf("past MaxLength: %v", err)
	}
	if err := s.Encrypt(make([]byte, 1), make([]byte, 1)); err != nil {
		t.Fatalf("up to MaxLength: %v", err)
	}
	if _, err := s.Tag(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tag(nil); !errors.Is(err, ErrFinished) {
		t.Fatalf("second Tag: %v", err)
	}
	if err := s.Encrypt(nil, nil); !errors.Is(err, ErrFinished) {
		t.Fatalf("Encrypt after Tag: %v", err)
	}
	o, err := NewOpener(key, nonce, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Hash([]byte{1}); err != nil {
		t.Fatal(err)
	}
	if err := o.Decrypt(make([]byte, 1), []byte{1}); !errors.Is(err, ErrFinished) {
		t.Fatalf("Decrypt after Hash: %v", err)
	}
	o.Wipe()
	if err := o.Verify(make([]byte, 16)); !errors.Is(err, ErrFinished) {
		t.Fatalf("Verify after Wipe: %v", err)
	}
	if _, err := NewSealer(key, make([]byte, 16), nil); err == nil {
		t.Fatal("16-byte nonce accepted")
	}
	if _, err := NewOpener(make([]byte, 20), nonce, nil); err == nil {
		t.Fatal("20-byte key accepted")
	}
	if o, err = NewOpener(key, nonce, nil); err != nil {
		t.Fatal(err)
	}
	if err := o.Verify(make([]byte, 15)); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("short tag: %v", err)
	}
}

// TestMul checks the field multiplication against the standard library:
// GHASH of one block X under H, as AES-GCM computes it, is X·H.
func TestMul(t *testing.T) {
	key := randBytes(32)
	block, _ := aes.NewCipher(key)
	g, err := newGHASH(block)
	if err != nil {
		t.Fatal(err)
	}
	one := elem{1 << 63, 0}
	if mul(one, g.h) != g.h || mul(g.h, one) != g.h {
		t.Fatal("1·H != H")
	}
	x, y, z := load(randBytes(16)), load(randBytes(16)), load(randBytes(16))
	if mul(x, y) != mul(y, x) || mul(mul(x, y), z) != mul(x, mul(y, z)) || mul(x, y.xor(z)) != mul(x, y).xor(mul(x, z)) {
		t.Fatal("multiplication is not a commutative ring product")
	}
	for m := uint64(0); m < 70; m++ {
		want := one
		for range m {
			want = mul(want, g.h)
		}
		if g.hpow(m) != want {
			t.Fatalf("H^%d wrong", m)
		}
	}
}

func BenchmarkStream(b *testing.B) {
	key, nonce := randBytes(32), randBytes(12)
	pt := randBytes(1 << 20)
	buf := make([]byte, len(pt)+TagSize)
	b.Run("Sealer", func(b *testing.B) {
		b.SetBytes(int64(len(pt)))
		for b.Loop() {
			s, _ := NewSealer(key, nonce, nil)
			s.Encrypt(buf, pt)
			s.Tag(buf[:len(pt)])
		}
	})
	b.Run("Opener", func(b *testing.B) {
		b.SetBytes(int64(len(pt)))
		for b.Loop() {
			o, _ := NewOpener(key, nonce, nil)
			o.Decrypt(buf, pt)
			o.Verify(buf[:16])
		}
	})
	b.Run("Sealer32KiBWrites", func(b *testing.B) {
		b.SetBytes(int64(len(pt)))
		for b.Loop() {
			s, _ := NewSealer(key, nonce, nil)
			for off := 0; off < len(pt); off += 32 << 10 {
				s.Encrypt(buf[off:off+32<<10], pt[off:off+32<<10])
			}
			s.Tag(buf[:len(pt)])
		}
	})
	b.Run("Sealer1000BWrites", func(b *testing.B) {
		b.SetBytes(int64(len(pt)))
		for b.Loop() {
			s, _ := NewSealer(key, nonce, nil)
			for off := 0; off < len(pt); off += 1000 {
				k := min(1000, len(pt)-off)
				s.Encrypt(buf[off:off+k], pt[off:off+k])
			}
			s.Tag(buf[:len(pt)])
		}
	})
	b.Run("StdlibSeal", func(b *testing.B) {
		block, _ := aes.NewCipher(key)
		aead, _ := cipher.NewGCM(block)
		b.SetBytes(int64(len(pt)))
		for b.Loop() {
			aead.Seal(buf[:0], nonce, pt, nil)
		}
	})
	b.Run("StdlibOpen", func(b *testing.B) {
		block, _ := aes.NewCipher(key)
		aead, _ := cipher.NewGCM(block)
		ct := aead.Seal(nil, nonce, pt, nil)
		b.SetBytes(int64(len(pt)))
		for b.Loop() {
			aead.Open(buf[:0], nonce, ct, nil)
		}
	})
}
