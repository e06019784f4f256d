package hierarchy

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
)

// BranchKey is a branch key's plaintext with what identifies it: the
// materials GetActiveBranchKey and GetBranchKeyVersion return.
//
// Key is secret. String, Format, MarshalJSON and LogValue show the id and
// version but never the key; call Zero when done with a BranchKey you own.
type BranchKey struct {
	// ID is the branch key id (the item's branch-key-id).
	ID string
	// Version is the version: a lowercase v4 UUID text of 36 characters.
	Version string
	// Key is the 32-byte branch key.
	Key []byte
	// Context is the custom encryption context given to CreateKey, without
	// the "aws-crypto-ec:" prefix of its item attributes (nil if none).
	Context map[string]string
}

// String describes the branch key without its key bytes. Values and
// pointers print the same way.
func (k BranchKey) String() string {
	return fmt.Sprintf("hierarchy.BranchKey{ID:%q Version:%q Key:[REDACTED %d bytes] Context:%v}", k.ID, k.Version, len(k.Key), k.Context)
}

// GoString is String, so %#v redacts the key too.
func (k BranchKey) GoString() string { return k.String() }

// Format prints String for every verb, so no verb prints the key.
func (k BranchKey) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(k.String())) }

// MarshalJSON implements json.Marshaler with the key replaced by its
// length.
func (k BranchKey) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID      string
		Version string
		Key     string
		Context map[string]string
	}{k.ID, k.Version, redacted(k.Key), k.Context})
}

// LogValue implements slog.LogValuer: log/slog logs String.
func (k BranchKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

func redacted(key []byte) string { return fmt.Sprintf("[REDACTED %d bytes]", len(key)) }

// Zero overwrites the key bytes with zeros.
func (k *BranchKey) Zero() {
	if k != nil {
		clear(k.Key)
	}
}

// Clone returns a deep copy (its own key bytes and context).
func (k *BranchKey) Clone() *BranchKey {
	if k == nil {
		return nil
	}
	return &BranchKey{ID: k.ID, Version: k.Version, Key: append([]byte(nil), k.Key...), Context: maps.Clone(k.Context)}
}

// BeaconKey is a branch key id's beacon key, the root of its searchable
// encryption beacons: what GetBeaconKey returns.
//
// Key is secret. String, Format, MarshalJSON and LogValue never show it;
// call Zero when done.
type BeaconKey struct {
	// ID is the branch key id the beacon key belongs to.
	ID string
	// Key is the 32-byte beacon key.
	Key []byte
	// Context is the custom encryption context given to CreateKey, without
	// the "aws-crypto-ec:" prefix (nil if none).
	Context map[string]string
}

// String describes the beacon key without its key bytes.
func (k BeaconKey) String() string {
	return fmt.Sprintf("hierarchy.BeaconKey{ID:%q Key:[REDACTED %d bytes] Context:%v}", k.ID, len(k.Key), k.Context)
}

// GoString is String, so %#v redacts the key too.
func (k BeaconKey) GoString() string { return k.String() }

// Format prints String for every verb, so no verb prints the key.
func (k BeaconKey) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(k.String())) }

// MarshalJSON implements json.Marshaler with the key replaced by its
// length.
func (k BeaconKey) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID      string
		Key     string
		Context map[string]string
	}{k.ID, redacted(k.Key), k.Context})
}

// LogValue implements slog.LogValuer: log/slog logs String.
func (k BeaconKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// Zero overwrites the key bytes with zeros.
func (k *BeaconKey) Zero() {
	if k != nil {
		clear(k.Key)
	}
}
