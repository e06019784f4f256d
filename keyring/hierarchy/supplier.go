package hierarchy

import (
	"context"
	"errors"
	"fmt"
)

// ErrUnknownTenant means a ContextKeySupplier found no tenant in the
// encryption context, or a tenant it has no branch key id for.
var ErrUnknownTenant = errors.New("hierarchy: no branch key id for the encryption context")

// ContextKeySupplier returns a supplier that reads the tenant from the
// encryption context pair named key and maps it to a branch key id with
// branchKeyIDs; with a nil map, the tenant is the branch key id itself. A
// context without the pair (or with an empty tenant), or a tenant missing
// from a non-nil map (or mapped to ""), fails with ErrUnknownTenant.
//
// On decryption the tenant is read from the message's own encryption
// context: a service that decrypts for one tenant should pass that
// tenant's pair to Decrypt (envelope.WithContext), so that a message of
// another tenant fails instead of decrypting with that tenant's branch key. The map is read, never changed, and must not be
// changed while the supplier is in use.
func ContextKeySupplier(key string, branchKeyIDs map[string]string) BranchKeyIDSupplier {
	return func(_ context.Context, ec map[string]string) (string, error) {
		tenant, ok := ec[key]
		if !ok || tenant == "" {
			return "", fmt.Errorf("%w: no %q in the encryption context", ErrUnknownTenant, key)
		}
		if branchKeyIDs == nil {
			return tenant, nil
		}
		id, ok := branchKeyIDs[tenant]
		if !ok || id == "" {
			return "", fmt.Errorf("%w: tenant %q", ErrUnknownTenant, tenant)
		}
		return id, nil
	}
}
