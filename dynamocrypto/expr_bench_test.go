package dynamocrypto

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// BenchmarkPlanQuery measures the client-side cost of a query by beacon:
// parsing, the beacon of the value, and writing the request's expressions.
func BenchmarkPlanQuery(b *testing.B) {
	c, err := New(nil, testKeyring(b), peopleConfig())
	if err != nil {
		b.Fatal(err)
	}
	tb := c.table(peopleTable)
	values := map[string]types.AttributeValue{":e": avS("ada@example.com"), ":c": avS("Berlin")}
	kc, f, p := aws.String("email = :e"), aws.String("city = :c AND attribute_exists(note)"), aws.String("email, note")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.planRead(context.Background(), "Query", tb, kc, f, p, nil, values); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyUpdate measures an update expression parsed and applied
// in memory, as a read-modify-write does.
func BenchmarkApplyUpdate(b *testing.B) {
	item := map[string]types.AttributeValue{"n": avN("10"), "tags": avSS("a", "b"), "email": avS("a@example.com")}
	values := map[string]types.AttributeValue{":one": avN("1"), ":t": avSS("c"), ":e": avS("b@example.com")}
	b.ReportAllocs()
	for b.Loop() {
		u, _, err := parseUpdate("SET email = :e, n = n + :one ADD tags :t", nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := applyUpdate(u, copyItem(item), values); err != nil {
			b.Fatal(err)
		}
	}
}
