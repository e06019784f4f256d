package matcache_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cryptkeeper-go/cryptkeeper/cache"
)

// Users reach the lookups only through package envelope: *cache.Cache
// offers its configuration, partitions, counters and Purge, nothing else.
func TestCacheMethodSet(t *testing.T) {
	typ := reflect.TypeOf((*cache.Cache)(nil))
	var names []string
	for i := range typ.NumMethod() {
		names = append(names, typ.Method(i).Name)
	}
	slices.Sort(names)
	assert.Equal(t, []string{"GoString", "Len", "PartitionName", "Purge", "Stats", "String", "WithPartition"}, names)
}
