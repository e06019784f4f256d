package dynamocrypto

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"
)

func offlineClient(t *testing.T, mod func(*TableConfig)) (*Client, *table) {
	tc := peopleConfig()
	if mod != nil {
		mod(&tc)
	}
	c, err := New(nil, testKeyring(t), tc)
	require.NoError(t, err)
	return c, c.table(peopleTable)
}

func TestPlanReadRewrites(t *testing.T) {
	ctx := context.Background()
	c, tb := offlineClient(t, nil)
	names := map[string]string{"#ck0": "city", "#e": "email"}
	values := map[string]types.AttributeValue{":e": avS("a@example.com"), ":c": avS("Berlin")}
	namesBefore, valuesBefore := map[string]string{"#ck0": "city", "#e": "email"}, copyItem(values)
	plan, err := c.planRead(ctx, "Query", tb, aws.String("#e = :e"), aws.String("#ck0 = :c"), aws.String("note"), names, values)
	require.NoError(t, err)
	require.Equal(t, namesBefore, names)
	require.Equal(t, valuesBefore, values)

	require.NotNil(t, plan.check, "the caller's condition is checked on the plaintext")
	require.NotContains(t, *plan.keyCond, "#e")
	require.Equal(t, "#ck0 = :c", *plan.filter)
	ph := strings.Fields(*plan.keyCond)
	require.Len(t, ph, 3)
	require.Equal(t, BeaconAttribute("email"), plan.names[ph[0]])
	require.NotEqual(t, "#ck0", ph[0], "fresh placeholders avoid the caller's")
	want, err := c.beaconValue(ctx, tb, tb.beaconFor("email"), avS("a@example.com"), "")
	require.NoError(t, err)
	require.Equal(t, want, plan.values[ph[2]])
	require.NotContains(t, plan.values, ":e", "a value no longer used is not sent")
	require.NotContains(t, plan.names, "#e")

	// The projection asks for every signed attribute besides note.
	proj, _, err := parseProjection(*plan.projection, plan.names)
	require.NoError(t, err)
	var got []string
	for _, p := range proj {
		got = append(got, p.top())
	}
	for _, n := range append([]string{"note"}, tb.signedNames()...) {
		require.Contains(t, got, n)
	}
	require.Len(t, plan.paths, 1)
}

func TestPlanReadUntouched(t *testing.T) {
	c, tb := offlineClient(t, nil)
	names := map[string]string{"#c": "city"}
	kc, f := aws.String("pk = :p"), aws.String("#c = :c")
	plan, err := c.planRead(context.Background(), "Query", tb, kc, f, nil, names, nil)
	require.NoError(t, err)
	require.Same(t, kc, plan.keyCond, "nothing to rewrite: sent as given")
	require.Same(t, f, plan.filter)
	require.Nil(t, plan.check)
}

func TestPlanReadTenantKeys(t *testing.T) {
	ctx := context.Background()
	keys := staticBeaconKeys{"acme": bytes.Repeat([]byte{1}, 32), "globex": bytes.Repeat([]byte{2}, 32)}
	c, tb := offlineClient(t, func(tc *TableConfig) {
		tc.Actions["tenant"] = SignOnly
		tc.BeaconKeys, tc.BeaconKeyID, tc.BeaconKeyAttribute = keys, "", "tenant"
	})
	values := map[string]types.AttributeValue{":e": avS("a@example.com"), ":t": avS("globex")}
	_, err := c.planRead(ctx, "Scan", tb, nil, aws.String("email = :e"), nil, nil, values)
	require.ErrorIs(t, err, ErrUnsupported, "without the tenant the beacon key is unknown")
	require.Contains(t, err.Error(), "tenant = :value")

	plan, err := c.planRead(ctx, "Scan", tb, nil, aws.String("email = :e AND tenant = :t"), nil, nil, values)
	require.NoError(t, err)
	want, err := c.beaconValue(ctx, tb, tb.beaconFor("email"), avS("a@example.com"), "globex")
	require.NoError(t, err)
	var found bool
	for _, v := range plan.values {
		found = found || equalValues(v, want)
	}
	require.True(t, found, "the beacon under the tenant's key is sent")
}

func TestCompoundPlain(t *testing.T) {
	_, tb := offlineClient(t, nil)
	b := tb.beaconNamed("email_city")
	item := map[string]types.AttributeValue{"email": avS("x@y"), "city": avS("Rome")}
	got, ok := compoundPlain(b, item)
	require.True(t, ok)
	require.Equal(t, "E-x@y#C-Rome", got)
	m, err := splitCompound(b, got)
	require.NoError(t, err)
	require.Equal(t, avS("Rome"), m.Value["city"])
	_, err = splitCompound(b, "C-Rome#E-x@y")
	require.Error(t, err, "parts out of order")
	_, ok = compoundPlain(b, map[string]types.AttributeValue{"email": avS("x@y")})
	require.False(t, ok)
}

// FuzzRewrite checks that planning any filter and projection never
// panics, and that what is sent parses with the names and values sent.
func FuzzRewrite(f *testing.F) {
	for _, s := range []string{"email = :e AND city = :c", "#e IN (:e, :c) OR NOT attribute_exists(note)", "email_city = :v",
		"begins_with(email_city, :v)", "size(name) > :n", "email = :e OR email = :c"} {
		f.Add(s, "email, note")
	}
	c, err := New(nil, testKeyring(f), peopleConfig())
	if err != nil {
		f.Fatal(err)
	}
	tb := c.table(peopleTable)
	names := map[string]string{"#e": "email"}
	values := map[string]types.AttributeValue{":e": avS("a@b"), ":c": avS("Rome"), ":v": avS("E-a@b#C-Rome"), ":n": avN("3")}
	f.Fuzz(func(t *testing.T, filter, projection string) {
		plan, err := c.planRead(context.Background(), "Scan", tb, nil, &filter, &projection, names, values)
		if err != nil {
			return
		}
		if _, _, err := parseCondition(*plan.filter, plan.names); err != nil {
			t.Fatalf("filter %q sent as %q: %v", filter, *plan.filter, err)
		}
		if plan.projection != nil {
			if _, _, err := parseProjection(*plan.projection, plan.names); err != nil {
				t.Fatalf("projection %q sent as %q: %v", projection, *plan.projection, err)
			}
		}
		if plan.check != nil {
			_, _ = plan.checkItem(map[string]types.AttributeValue{"email": avS("a@b"), "city": avS("Rome")})
		}
	})
}
