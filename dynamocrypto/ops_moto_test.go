package dynamocrypto

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/internal/testserver"
)

// The tests of this file run the operations through the real
// *dynamodb.Client against moto_server, started once for the binary.

var _ dynamodb.QueryAPIClient = (*Client)(nil)
var _ dynamodb.ScanAPIClient = (*Client)(nil)

const (
	peopleTable = "people"
	plainTable  = "plain"
	emailIndex  = "email-index"
	cityIndex   = "email-city-index"
)

// peopleConfig has a 2-bit beacon on email, so that beacon collisions are
// frequent and the false-positive filtering is exercised.
func peopleConfig() TableConfig {
	return TableConfig{
		Name: peopleTable, PartitionKey: "pk", SortKey: "sk",
		Actions: map[string]Action{
			"email": EncryptAndSign, "name": EncryptAndSign, "tags": EncryptAndSign,
			"city": SignOnly, "n": SignOnly, "note": DoNothing,
		},
		UnsignedPrefix: "u_",
		Beacons: []Beacon{{Name: "email", Source: "email", Bits: 2},
			{Name: "email_city", Parts: []BeaconPart{{Prefix: "E-", Name: "email"}, {Prefix: "C-", Name: "city"}}}},
		BeaconKeys:  staticBeaconKeys{"b1": bytes.Repeat([]byte{9}, 32)},
		BeaconKeyID: "b1",
	}
}

type motoEnv struct {
	raw *dynamodb.Client
	c   *Client
}

func createTables(t *testing.T, raw *dynamodb.Client) {
	ctx := context.Background()
	_, err := raw.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(peopleTable),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(BeaconAttribute("email")), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(BeaconAttribute("email_city")), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(emailIndex),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(BeaconAttribute("email")), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String("pk"), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}, {
			IndexName:  aws.String(cityIndex),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String(BeaconAttribute("email_city")), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
		BillingMode: types.BillingModePayPerRequest,
	})
	require.NoError(t, err)
	_, err = raw.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(plainTable),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	require.NoError(t, err)
}

func TestMoto(t *testing.T) {
	endpoint := testserver.Moto(t)
	raw := testserver.DynamoDBClient(endpoint)
	createTables(t, raw)
	c, err := New(raw, testKeyring(t), peopleConfig())
	require.NoError(t, err)
	env := &motoEnv{raw: raw, c: c}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, *motoEnv)
	}{
		{"PutGet", testPutGet},
		{"Passthrough", testPassthrough},
		{"Projection", testProjection},
		{"ReturnValues", testReturnValues},
		{"QueryBeacon", testQueryBeacon},
		{"QueryLimit", testQueryLimit},
		{"ScanFilter", testScanFilter},
		{"Compound", testCompound},
		{"Refused", testRefused},
		{"Tamper", testTamper},
		{"Transient", testTransient},
		{"Batch", testBatch},
		{"BatchUnprocessed", testBatchUnprocessed},
		{"UpdateDirect", testUpdateDirect},
		{"UpdateRMW", testUpdateRMW},
		{"UpdateConcurrent", testUpdateConcurrent},
		{"UpdateConflict", testUpdateConflict},
		{"UpdateRefused", testUpdateRefused},
		{"UpdatePlaintextItem", testUpdatePlaintextItem},
		{"Transact", testTransact},
		{"TransactConflict", testTransactConflict},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, env) })
	}
}

func person(pk, sk, email string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": avS(pk), "sk": avS(sk), "email": avS(email), "name": avS("name of " + email),
		"city": avS("Berlin"), "n": avN("1"), "tags": avSS("a", "b"), "note": avS("free"), "u_x": avS("unsigned"),
	}
}

func itemKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": avS(pk), "sk": avS(sk)}
}

func motoPut(t *testing.T, env *motoEnv, item map[string]types.AttributeValue) {
	t.Helper()
	_, err := env.c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(peopleTable), Item: item})
	require.NoError(t, err)
}

func testPutGet(t *testing.T, env *motoEnv) {
	ctx := context.Background()
	item := person("pg", "1", "ada@example.com")
	in := &dynamodb.PutItemInput{TableName: aws.String(peopleTable), Item: item}
	before := copyItem(item)
	_, err := env.c.PutItem(ctx, in)
	require.NoError(t, err)
	require.Equal(t, before, in.Item, "the input is not modified")

	got, err := env.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(peopleTable), Key: itemKey("pg", "1")})
	require.NoError(t, err)
	require.True(t, equalValues(&types.AttributeValueMemberM{Value: before}, &types.AttributeValueMemberM{Value: got.Item}), "%v", got.Item)

	stored, err := env.raw.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(peopleTable), Key: itemKey("pg", "1")})
	require.NoError(t, err)
	require.IsType(t, &types.AttributeValueMemberB{}, stored.Item["email"], "email is stored encrypted")
	require.Equal(t, avS("Berlin"), stored.Item["city"])
	require.Contains(t, stored.Item, footerAttr)
	require.Contains(t, stored.Item, BeaconAttribute("email"))

	_, err = env.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(peopleTable), Item: map[string]types.AttributeValue{"pk": avS("pg"), "sk": avS("2"), "other": avS("x")}})
	require.ErrorIs(t, err, ErrUnknownAttribute)
}

func testPassthrough(t *testing.T, env *motoEnv) {
	ctx := context.Background()
	item := map[string]types.AttributeValue{"id": avS("1"), "anything": avS("plain")}
	_, err := env.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(plainTable), Item: item})
	require.NoError(t, err)
	got, err := env.raw.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(plainTable), Key: map[string]types.AttributeValue{"id": avS("1")}})
	require.NoError(t, err)
	require.Equal(t, item, got.Item, "an unconfigured table stores the item as given")
	q, err := env.c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(plainTable), FilterExpression: aws.String("anything = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": avS("plain")}})
	require.NoError(t, err)
	require.Len(t, q.Items, 1)
}

func testProjection(t *testing.T, env *motoEnv) {
	ctx := context.Background()
	motoPut(t, env, person("proj", "1", "p@example.com"))
	in := &dynamodb.GetItemInput{TableName: aws.String(peopleTable), Key: itemKey("proj", "1"),
		ProjectionExpression: aws.String("#e, note"), ExpressionAttributeNames: map[string]string{"#e": "email"}}
	got, err := env.c.GetItem(ctx, in)
	require.NoError(t, err)
	require.Equal(t, map[string]types.AttributeValue{"email": avS("p@example.com"), "note": avS("free")}, got.Item)
	require.Equal(t, map[string]string{"#e": "email"}, in.ExpressionAttributeNames, "the caller's names are not modified")
}

func testReturnValues(t *testing.T, env *motoEnv) {
	ctx := context.Background()
	motoPut(t, env, person("rv", "1", "old@example.com"))
	out, err := env.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(peopleTable), Item: person("rv", "1", "new@example.com"), ReturnValues: types.ReturnValueAllOld})
	require.NoError(t, err)
	require.Equal(t, avS("old@example.com"), out.Attributes["email"])
	del, err := env.c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(peopleTable), Key: itemKey("rv", "1"), ReturnValues: types.ReturnValueAllOld})
	require.NoError(t, err)
	require.Equal(t, avS("new@example.com"), del.Attributes["email"])
	require.NotContains(t, del.Attributes, footerAttr)
}

// emails returns n distinct addresses.
func emails(n int) []string {
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, fmt.Sprintf("user%d@example.com", i))
	}
	return out
}

func queryEmail(email string) *dynamodb.QueryInput {
	return &dynamodb.QueryInput{TableName: aws.String(peopleTable), IndexName: aws.String(emailIndex),
		KeyConditionExpression:    aws.String("email = :e"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": avS(email)}}
}

func testQueryBeacon(t *testing.T, env *motoEnv) {
	ctx := context.Background()
	for i, e := range emails(12) {
		motoPut(t, env, person(fmt.Sprintf("qb%02d", i), "1", e))
	}
	motoPut(t, env, person("qb-dup", "1", "user3@example.com"))
	in := queryEmail("user3@example.com")
	before := copyItem(in.ExpressionAttributeValues)
	out, err := env.c.Query(ctx, in)
	require.NoError(t, err)
	require.Equal(t, before, in.ExpressionAttributeValues)
	var pks []string
	for _, it := range out.Items {
		require.Equal(t, avS("user3@example.com"), it["email"])
		pks = append(pks, it["pk"].(*types.AttributeValueMemberS).Value)
	}
	sort.Strings(pks)
	require.Equal(t, []string{"qb-dup", "qb03"}, pks)
	require.Equal(t, int32(2), out.Count)
	require.Greater(t, out.ScannedCount, out.Count, "a 2-bit beacon matched other emails, which were dropped")

	cnt, err := env.c.Query(ctx, &dynamodb.QueryInput{TableName: in.TableName, IndexName: in.IndexName, KeyConditionExpression: in.KeyConditionExpression,
		ExpressionAttributeValues: in.ExpressionAttributeValues, Select: types.SelectCount})
	require.NoError(t, err)
	require.Equal(t, int32(2), cnt.Count)
	require.Nil(t, cnt.Items)
}

func testQueryLimit(t *testing.T, env *motoEnv) {
	ctx := context.Background()
	for i, e := range emails(16) {
		motoPut(t, env, person(fmt.Sprintf("ql%02d", i), "1", "lim-"+e))
	}
	for i := 0; i < 3; i++ {
		motoPut(t, env, person(fmt.Sprintf("ql-hit%d", i), "1", "lim-target@example.com"))
	}
	var got []string
	in := queryEmail("lim-target@example.com")
	in.Limit = aws.Int32(1)
	pages := 0
	for p := NewQueryPaginator(env.c, in); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		require.NoError(t, err)
		pages++
		require.LessOrEqual(t, len(out.Items), 1)
		for _, it := range out.Items {
			got = append(got, it["pk"].(*types.AttributeValueMemberS).Value)
		}
	}
	sort.Strings(got)
	require.Equal(t, []string{"ql-hit0", "ql-hit1", "ql-hit2"}, got)
	require.GreaterOrEqual(t, pages, 3)

	in.Limit = aws.Int32(2)
	out, err := env.c.Query(ctx, in)
	require.NoError(t, err)
	require.Len(t, out.Items, 2, "Limit is filled although false positives were dropped")
	require.NotNil(t, out.LastEvaluatedKey)
}

func testScanFilter(t *testing.T, env *motoEnv) {
	ctx := context.Background()
	motoPut(t, env, person("sf", "1", "scan@example.com"))
	motoPut(t, env, person("sf", "2", "scan2@example.com"))
	in := &dynamodb.ScanInput{TableName: aws.String(peopleTable),
		FilterExpression:          aws.String("#e IN (:a, :b) AND city = :c"),
		ProjectionExpression:      aws.String("sk"),
		ExpressionAttributeNames:  map[string]string{"#e": "email"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":a": avS("scan@example.com"), ":b": avS("scan2@example.com"), ":c": avS("Berlin")}}
	var sks []string
	for p := NewScanPaginator(env.c, in); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		require.NoError(t, err)
		for _, it := range out.Items {
			require.Len(t, it, 1, "projected to sk")
			sks = append(sks, it["sk"].(*types.AttributeValueMemberS).Value)
		}
	}
	sort.Strings(sks)
	require.Equal(t, []string{"1", "2"}, sks)
}

func testRefused(t *testing.T, env *motoEnv) {
	ctx := context.Background()
	vals := map[string]types.AttributeValue{":v": avS("x")}
	for expr, attr := range map[string]string{
		"begins_with(email, :v)": "email", "name = :v": "name", "NOT (email = :v)": "email",
		"email < :v": "email", "contains(tags, :v)": "tags", "email.x = :v": "email",
	} {
		_, err := env.c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(peopleTable), FilterExpression: aws.String(expr), ExpressionAttributeValues: vals})
		require.ErrorIs(t, err, ErrUnsupported, expr)
		var e *Error
		require.True(t, errors.As(err, &e), expr)
		require.Equal(t, attr, e.Attribute, expr)
		require.Contains(t, err.Error(), expr)
	}
	q := queryEmail("x@example.com")
	q.IndexName = nil
	_, err := env.c.Query(ctx, q)
	require.ErrorIs(t, err, ErrUnsupported)
	require.Contains(t, err.Error(), "IndexName")
	_, err = env.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(peopleTable), Item: person("ref", "1", "r@example.com"),
		ConditionExpression: aws.String("email <> :v"), ExpressionAttributeValues: vals})
	require.ErrorIs(t, err, ErrUnsupported)
	_, err = env.c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(peopleTable), ScanFilter: map[string]types.Condition{}})
	require.ErrorIs(t, err, ErrUnsupported)
	// attribute_exists works on ciphertext.
	_, err = env.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(peopleTable), Item: person("ref", "1", "r@example.com"),
		ConditionExpression: aws.String("attribute_not_exists(email)")})
	require.NoError(t, err)
	_, err = env.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(peopleTable), Item: person("ref", "1", "r2@example.com"),
		ConditionExpression:                 aws.String("attribute_not_exists(email)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	var ccf *types.ConditionalCheckFailedException
	require.True(t, errors.As(err, &ccf), "%v", err)
	require.Equal(t, avS("r@example.com"), ccf.Item["email"], "the item of a failed condition comes back decrypted")
}

func testTamper(t *testing.T, env *motoEnv) {
	ctx := context.Background()
	motoPut(t, env, person("tamper", "1", "t@example.com"))
	_, err := env.raw.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(peopleTable), Key: itemKey("tamper", "1"),
		UpdateExpression: aws.String("SET city = :c"), ExpressionAttributeValues: map[string]types.AttributeValue{":c": avS("Paris")}})
	require.NoError(t, err)
	_, err = env.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(peopleTable), Key: itemKey("tamper", "1")})
	require.ErrorIs(t, err, ErrAuthentication)
	_, err = env.c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(peopleTable), KeyConditionExpression: aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": avS("tamper")}})
	require.ErrorIs(t, err, ErrAuthentication)

	// Overwriting the tampered item works; the old version it returns
	// does not verify, and the error says the write happened.
	_, err = env.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(peopleTable), Item: person("tamper", "1", "t2@example.com"), ReturnValues: types.ReturnValueAllOld})
	require.ErrorIs(t, err, ErrAuthentication)
	require.Contains(t, err.Error(), "the write succeeded")
	require.Equal(t, avS("t2@example.com"), motoGet(t, env, "tamper", "1")["email"])
}

func testTransient(t *testing.T, env *motoEnv) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := env.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(peopleTable), Key: itemKey("x", "1")})
	require.ErrorIs(t, err, ErrTransient)
	var e *Error
	require.True(t, errors.As(err, &e))
	require.Equal(t, "GetItem", e.Op)
}

func testCompound(t *testing.T, env *motoEnv) {
	ctx := context.Background()
	a := person("cmp", "1", "cmp@example.com")
	b := person("cmp", "2", "cmp@example.com")
	b["city"] = avS("Paris")
	motoPut(t, env, a)
	motoPut(t, env, b)
	out, err := env.c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(peopleTable), IndexName: aws.String(cityIndex),
		KeyConditionExpression:    aws.String("email_city = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": avS("E-cmp@example.com#C-Paris")}})
	require.NoError(t, err)
	require.Len(t, out.Items, 1)
	require.Equal(t, avS("2"), out.Items[0]["sk"])
	require.NotContains(t, out.Items[0], "email_city")

	sc, err := env.c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(peopleTable),
		FilterExpression:          aws.String("begins_with(email_city, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": avS("E-cmp@example.com")}})
	require.NoError(t, err)
	require.Len(t, sc.Items, 2)

	_, err = env.c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(peopleTable), IndexName: aws.String(cityIndex),
		KeyConditionExpression:    aws.String("email_city = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": avS("E-cmp@example.com")}})
	require.ErrorIs(t, err, ErrUnsupported, "equality needs every part")
}
