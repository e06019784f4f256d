package envelope

import (
	"github.com/cryptkeeper-go/cryptkeeper/cache"
	"github.com/cryptkeeper-go/cryptkeeper/internal/matcache"
)

// lookups returns the implementation behind c, whose Encryption and
// Decryption lookups only this package calls (cache.Cache is defined on
// matcache.Cache, so the conversion is free).
func lookups(c *cache.Cache) *matcache.Cache { return (*matcache.Cache)(c) }
