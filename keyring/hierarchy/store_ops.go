package hierarchy

import (
	"context"
	"errors"
)

var errTODO = errors.New("hierarchy: not implemented yet")

// CreateKeyOption configures CreateKey.
type CreateKeyOption func(*createConfig) error

type createConfig struct {
	id string
	ec map[string]string
}

// WithNewKeyID makes CreateKey use id as the branch key id instead of a
// random v4 UUID. The reference requires a custom encryption context with
// it (WithKeyContext).
func WithNewKeyID(id string) CreateKeyOption {
	return func(c *createConfig) error { c.id = id; return nil }
}

// WithKeyContext adds a custom encryption context to the new branch key.
func WithKeyContext(ec map[string]string) CreateKeyOption {
	return func(c *createConfig) error { c.ec = ec; return nil }
}

// CreateKey creates a branch key.
func (s *Store) CreateKey(ctx context.Context, opts ...CreateKeyOption) (string, error) {
	return "", errTODO
}

// VersionKey rotates a branch key.
func (s *Store) VersionKey(ctx context.Context, branchKeyID string) error { return errTODO }

// GetActiveBranchKey returns the active version of a branch key.
func (s *Store) GetActiveBranchKey(ctx context.Context, branchKeyID string) (*BranchKey, error) {
	return nil, errTODO
}

// GetBranchKeyVersion returns one version of a branch key.
func (s *Store) GetBranchKeyVersion(ctx context.Context, branchKeyID, version string) (*BranchKey, error) {
	return nil, errTODO
}

// GetBeaconKey returns the beacon key of a branch key id.
func (s *Store) GetBeaconKey(ctx context.Context, branchKeyID string) (*BeaconKey, error) {
	return nil, errTODO
}

// BeaconKey returns the 32 bytes of the beacon key of id.
func (s *Store) BeaconKey(ctx context.Context, id string) ([]byte, error) {
	return nil, errTODO
}

// CreateTable creates the table.
func (s *Store) CreateTable(ctx context.Context) error { return errTODO }

func newUUIDv4() (string, error) { return "", errTODO }
