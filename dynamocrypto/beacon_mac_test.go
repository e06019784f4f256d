package dynamocrypto

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestBeaconFromKeptState checks stored beacons, made from a clone of the
// kept keyed HMAC state, against HMAC-SHA-384 computed from scratch as
// FORMAT.md describes, from goroutines sharing that state, and that the
// compound beacon holds the standard beacon's text.
func TestBeaconFromKeptState(t *testing.T) {
	c := newTestClient(t, nil)
	key, err := hkdf.Key(sha512.New, bytes.Repeat([]byte{9}, 32), nil, beaconLabel+"customers\x00ssn", 48)
	if err != nil {
		t.Fatal(err)
	}
	want := func(ssn string) string {
		enc, err := appendValue(nil, &types.AttributeValueMemberS{Value: ssn}, true, 0)
		if err != nil {
			t.Error(err)
		}
		m := hmac.New(sha512.New384, key)
		m.Write(enc)
		return fmt.Sprintf("%04x", binary.BigEndian.Uint64(m.Sum(nil))>>48)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				item := sampleItem()
				ssn := fmt.Sprintf("%03d-45-%04d", g, i)
				item["ssn"] = &types.AttributeValueMemberS{Value: ssn}
				enc, err := c.EncryptItem(context.Background(), "customers", item)
				if err != nil {
					t.Error(err)
					return
				}
				std := enc[BeaconAttribute("ssn")].(*types.AttributeValueMemberS).Value
				if w := want(ssn); std != w {
					t.Errorf("beacon of %s = %s, want %s", ssn, std, w)
				}
				if cb := enc[BeaconAttribute("ssn_zip")].(*types.AttributeValueMemberS).Value; cb != "S-"+std+"#Z-10115" {
					t.Errorf("compound beacon %s does not hold the standard beacon %s", cb, std)
				}
			}
		}()
	}
	wg.Wait()
}
