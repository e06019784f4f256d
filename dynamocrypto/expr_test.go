package dynamocrypto

import (
	"errors"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"
)

func avS(v string) types.AttributeValue     { return &types.AttributeValueMemberS{Value: v} }
func avN(v string) types.AttributeValue     { return &types.AttributeValueMemberN{Value: v} }
func avSS(v ...string) types.AttributeValue { return &types.AttributeValueMemberSS{Value: v} }

func TestParseConditionRoundTrip(t *testing.T) {
	names := map[string]string{"#n": "name", "#s": "status"}
	for in, want := range map[string]string{
		"#n = :v":                       "#n = :v",
		"a.b[2].c <> :v AND NOT x < :y": "(a.b[2].c <> :v) AND (NOT (x < :y))",
		"begins_with(#s, :p) OR contains(tags, :t) and size(l) >= :n": "(begins_with(#s, :p)) OR ((contains(tags, :t)) AND (size(l) >= :n))",
		"v BETWEEN :a AND :b": "v BETWEEN :a AND :b",
		"v IN (:a,:b, :c)":    "v IN (:a, :b, :c)",
		"(attribute_exists(a)) and attribute_not_exists(#n)": "(attribute_exists(a)) AND (attribute_not_exists(#n))",
	} {
		c, p, err := parseCondition(in, names)
		require.NoError(t, err, in)
		e := newEmitter(names, nil)
		require.Equal(t, want, e.cond(c), in)
		require.NotEmpty(t, p.used)
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"", "a =", "a = :v AND", "#missing = :v", "a[x] = :v", "size(:v) = :n",
		"begins_with(a)", "a = :v)", "((a = :v)", "a @ b", "a BETWEEN :x", "a IN ()", "# = :v"} {
		_, _, err := parseCondition(in, nil)
		require.ErrorIs(t, err, errSyntax, in)
	}
	for _, in := range []string{"", "SET", "SET a", "SET a = :v SET b = :w", "FOO a", "ADD a b", "SET a = :v +", "REMOVE a b"} {
		_, _, err := parseUpdate(in, nil)
		require.ErrorIs(t, err, errSyntax, in)
	}
	_, _, err := parseProjection("a,,b", nil)
	require.ErrorIs(t, err, errSyntax)
}

func TestEvalConditions(t *testing.T) {
	item := map[string]types.AttributeValue{
		"name": avS("Ada"), "age": avN("36"), "tags": avSS("x", "y"),
		"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": avN("1.50")}},
		"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{avS("a"), avN("2")}},
	}
	vals := map[string]types.AttributeValue{":ada": avS("Ada"), ":a": avS("A"), ":36": avN("36.0"), ":40": avN("4e1"),
		":x": avS("x"), ":S": avS("S"), ":3": avN("3"), ":k": avN("1.5"), ":two": avN("2")}
	for expr, want := range map[string]bool{
		"name = :ada": true, "name <> :ada": false, "missing <> :ada": true, "missing = :ada": false,
		"age = :36": true, "age < :40": true, "age BETWEEN :36 AND :40": true, "age > :40": false,
		"begins_with(name, :a)": true, "contains(tags, :x)": true, "contains(l, :two)": true,
		"attribute_type(name, :S)": true, "size(name) = :3": true, "m.k = :k": true, "l[1] = :two": true,
		"age IN (:40, :36)": true, "NOT attribute_exists(zzz) AND (name = :a OR age = :36)": true,
		"name < :36": false,
	} {
		c, _, err := parseCondition(expr, nil)
		require.NoError(t, err, expr)
		got, err := (&evaluator{item: item, values: vals}).eval(c)
		require.NoError(t, err, expr)
		require.Equal(t, want, got, expr)
	}
	c, _, _ := parseCondition("name = :undefined", nil)
	_, err := (&evaluator{item: item}).eval(c)
	require.Error(t, err)
}

func TestApplyUpdate(t *testing.T) {
	item := map[string]types.AttributeValue{
		"n": avN("10"), "tags": avSS("a", "b"), "l": &types.AttributeValueMemberL{Value: []types.AttributeValue{avS("0"), avS("1"), avS("2")}},
		"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}, "gone": avS("x"),
	}
	vals := map[string]types.AttributeValue{":one": avN("1.5"), ":c": avSS("c", "a"), ":b": avSS("b"), ":nl": &types.AttributeValueMemberL{Value: []types.AttributeValue{avS("3")}},
		":v": avS("v"), ":d": avN("7")}
	u, _, err := parseUpdate("SET n = n + :one, x = if_not_exists(x, :d), l = list_append(l, :nl), m.k = :v, y = n - :one REMOVE gone, l[0] ADD tags :c, cnt :one DELETE tags :b", nil)
	require.NoError(t, err)
	require.NoError(t, applyUpdate(u, item, vals))
	require.Equal(t, map[string]types.AttributeValue{
		"n": avN("11.5"), "x": avN("7"), "y": avN("8.5"), "cnt": avN("1.5"), "tags": avSS("a", "c"),
		"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{avS("1"), avS("2"), avS("3")}},
		"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": avS("v")}},
	}, item)

	u, _, _ = parseUpdate("SET a.b = :v", nil)
	require.Error(t, applyUpdate(u, item, vals))
	u, _, _ = parseUpdate("DELETE tags :c", nil)
	require.NoError(t, applyUpdate(u, item, vals))
	_, ok := item["tags"]
	require.False(t, ok, "a set left empty is removed")
	u, _, _ = parseUpdate("ADD x :v", nil)
	var apiErr interface{ ErrorCode() string }
	err = applyUpdate(u, item, vals)
	require.True(t, errors.As(err, &apiErr))
	require.Equal(t, "ValidationException", apiErr.ErrorCode())
}

func TestProjectInMemory(t *testing.T) {
	item := map[string]types.AttributeValue{
		"a": avS("1"), "b": avS("2"),
		"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"x": avN("1"), "y": avN("2"), "z": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"q": avN("3")}}}},
		"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{avS("0"), avS("1"), avS("2")}},
	}
	paths, _, err := parseProjection("a, m.x, m.z.q, l[2], l[0], missing", nil)
	require.NoError(t, err)
	require.Equal(t, map[string]types.AttributeValue{
		"a": avS("1"),
		"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"x": avN("1"), "z": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"q": avN("3")}}}},
		"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{avS("2"), avS("0")}},
	}, project(item, paths))
}

func TestFormatNumber(t *testing.T) {
	for in, want := range map[string]string{"1.5": "1.5", "10": "10", "-0.125": "-0.125", "1e3": "1000", "1E-2": "0.01"} {
		r, ok := number(avN(in))
		require.True(t, ok, in)
		require.Equal(t, want, formatNumber(r))
	}
}

// FuzzExpression checks that the parsers never panic, and that what they
// write back parses to the same text again.
func FuzzExpression(f *testing.F) {
	for _, s := range []string{"#n = :v AND begins_with(a.b[1], :p)", "NOT (a IN (:a, :b)) OR size(x) > :n",
		"SET a = if_not_exists(a, :z) + :one, b = list_append(:l, b) REMOVE c[0] ADD d :s DELETE e :s", "a, b.c, #n[3]",
		"x BETWEEN :a AND :b"} {
		f.Add(s)
	}
	names := map[string]string{"#n": "name"}
	f.Fuzz(func(t *testing.T, in string) {
		if c, _, err := parseCondition(in, names); err == nil {
			out := newEmitter(names, nil).cond(c)
			c2, _, err := parseCondition(out, names)
			if err != nil || newEmitter(names, nil).cond(c2) != out {
				t.Fatalf("condition %q wrote %q, which does not read back: %v", in, out, err)
			}
		}
		if u, _, err := parseUpdate(in, names); err == nil {
			out := newEmitter(names, nil).update(u)
			u2, _, err := parseUpdate(out, names)
			if err != nil || newEmitter(names, nil).update(u2) != out {
				t.Fatalf("update %q wrote %q, which does not read back: %v", in, out, err)
			}
			_ = applyUpdate(u, map[string]types.AttributeValue{"a": avN("1")}, map[string]types.AttributeValue{":v": avN("2")})
		}
		if ps, _, err := parseProjection(in, names); err == nil {
			out := newEmitter(names, nil).projection(ps)
			if _, _, err := parseProjection(out, names); err != nil {
				t.Fatalf("projection %q wrote %q: %v", in, out, err)
			}
		}
	})
}

// FuzzApplyUpdate: an update applied in memory (read-modify-write) to an
// item with lists, maps and sets never panics, and never modifies the
// caller's values.
func FuzzApplyUpdate(f *testing.F) {
	for _, s := range []string{"SET l[1] = :s, m.x = :n REMOVE l[0], m.y ADD ss :ss, n :n DELETE ss :ss",
		"SET l = list_append(l, :l), n = n - :n, m.z.w = :s", "SET l[9] = :m REMOVE l[3], l[1]", "ADD m :n SET ss = if_not_exists(q, :ss)",
		"SET m.l[0] = :s REMOVE m.l[5]", "DELETE ns :ns ADD bs :bs"} {
		f.Add(s)
	}
	item := func() map[string]types.AttributeValue {
		return map[string]types.AttributeValue{
			"n": avN("1"), "s": avS("x"),
			"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{avS("a"), avN("2"), &types.AttributeValueMemberL{}}},
			"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"x": avS("y"),
				"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{avS("b")}}}},
			"ss": &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
			"ns": &types.AttributeValueMemberNS{Value: []string{"1", "2"}},
			"bs": &types.AttributeValueMemberBS{Value: [][]byte{{1}}},
		}
	}
	values := func() map[string]types.AttributeValue {
		return map[string]types.AttributeValue{":s": avS("v"), ":n": avN("3"), ":ss": &types.AttributeValueMemberSS{Value: []string{"b", "c"}},
			":ns": &types.AttributeValueMemberNS{Value: []string{"2"}}, ":bs": &types.AttributeValueMemberBS{Value: [][]byte{{2}}},
			":l": &types.AttributeValueMemberL{Value: []types.AttributeValue{avS("z")}},
			":m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": avS("v")}}}
	}
	f.Fuzz(func(t *testing.T, in string) {
		u, _, err := parseUpdate(in, nil)
		if err != nil {
			return
		}
		vals := values()
		_ = applyUpdate(u, item(), vals)
		if !reflect.DeepEqual(vals, values()) {
			t.Fatalf("update %q modified the caller's values", in)
		}
	})
}
