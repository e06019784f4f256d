// Command dynamodb stores client-side encrypted and signed DynamoDB items
// with package dynamocrypto, and finds them again by an encrypted
// attribute through a beacon.
//
// It creates a table whose global secondary index is keyed on the beacon
// of the encrypted email attribute, puts three customers, reads one back,
// shows what DynamoDB stores, updates an encrypted attribute (a
// read-modify-write under the item's signature), queries by email through
// the beacon index, shows a query that cannot be done on ciphertext being
// refused, and deletes the table again. Keys come from an in-process KMS
// (package kmstest) through the real KMS client.
//
// By default it starts moto_server (a local AWS) on 127.0.0.1 when it is on
// PATH; install it with
//
//	pip install 'moto[server]==5.2.1'
//
// or point it at any DynamoDB endpoint (DynamoDB Local, or AWS with the
// credentials of the default chain):
//
//	go run ./examples/dynamodb
//	go run ./examples/dynamodb -endpoint http://localhost:8000
//	go run ./examples/dynamodb -endpoint https://dynamodb.eu-west-1.amazonaws.com -region eu-west-1
//
// Against AWS, use awskms.NewKeyring(kms.NewFromConfig(cfg), keyARN) with
// your KMS key instead of the local KMS.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cryptkeeper-go/cryptkeeper/cache"
	"github.com/cryptkeeper-go/cryptkeeper/dynamocrypto"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
)

func main() {
	if err := run(context.Background(), os.Stdout, os.Args[1:]); err != nil {
		log.Fatal(err)
	}
}

const emailIndex = "email-index"

func run(ctx context.Context, w io.Writer, args []string) error {
	fs := flag.NewFlagSet("dynamodb", flag.ContinueOnError)
	endpoint := fs.String("endpoint", "", "DynamoDB endpoint URL (default: start moto_server from PATH)")
	region := fs.String("region", "us-east-1", "AWS Region")
	tableName := fs.String("table", "cryptkeeper-example-customers", "table to create (and delete at the end)")
	keep := fs.Bool("keep", false, "keep the table at the end")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ddb, stop, err := dynamoClient(ctx, *endpoint, *region)
	if err != nil {
		return err
	}
	defer stop()

	// Keys: a KMS key wraps the data keys (one KMS call serves many items
	// through the cache) and the beacon key.
	kmsSrv := kmstest.NewServer()
	defer kmsSrv.Close()
	keyARN, err := kmsSrv.CreateKey()
	if err != nil {
		return err
	}
	kr, err := awskms.NewKeyring(kmsSrv.Client(), keyARN)
	if err != nil {
		return err
	}
	wrapped, err := dynamocrypto.NewBeaconKey(ctx, kr, "customers-v1") // store this beside your configuration
	if err != nil {
		return err
	}
	beaconKeys, err := dynamocrypto.NewWrappedBeaconKeys(kr, map[string][]byte{"customers-v1": wrapped})
	if err != nil {
		return err
	}
	defer beaconKeys.Close()
	keyCache, err := cache.New(cache.MaxAge(5*time.Minute), cache.MaxMessages(10_000))
	if err != nil {
		return err
	}

	bits := dynamocrypto.SuggestBeaconBits(1_000_000) // about a million distinct emails expected
	c, err := dynamocrypto.New(ddb, kr, dynamocrypto.TableConfig{
		Name: *tableName, PartitionKey: "id",
		Actions: map[string]dynamocrypto.Action{
			"email": dynamocrypto.EncryptAndSign, "name": dynamocrypto.EncryptAndSign,
			"city": dynamocrypto.SignOnly, "visits": dynamocrypto.SignOnly, "note": dynamocrypto.DoNothing,
		},
		Beacons:    []dynamocrypto.Beacon{{Name: "email", Source: "email", Bits: bits}},
		BeaconKeys: beaconKeys, BeaconKeyID: "customers-v1",
		Cache: keyCache,
	})
	if err != nil {
		return err
	}
	if err := createTable(ctx, ddb, *tableName); err != nil {
		return err
	}
	if !*keep {
		defer ddb.DeleteTable(context.WithoutCancel(ctx), &dynamodb.DeleteTableInput{TableName: tableName})
	}
	fmt.Fprintf(w, "table %s: index %s on the %d-bit email beacon (attribute %s)\n", *tableName, emailIndex, bits, dynamocrypto.BeaconAttribute("email"))

	table := aws.String(*tableName)
	calls := kmsSrv.TotalCalls()
	for _, cu := range [][3]string{{"c1", "ada@example.com", "Ada"}, {"c2", "grace@example.com", "Grace"}, {"c3", "alan@example.com", "Alan"}} {
		_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: map[string]types.AttributeValue{
			"id": str(cu[0]), "email": str(cu[1]), "name": str(cu[2]), "city": str("London"),
			"visits": &types.AttributeValueMemberN{Value: "0"}, "note": str("new"),
		}})
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "put 3 customers: %d KMS calls (one data key for all three through the cache, one to unwrap the beacon key)\n", kmsSrv.TotalCalls()-calls)

	got, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: map[string]types.AttributeValue{"id": str("c2")}})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "get c2: name %s, email %s, city %s\n", text(got.Item["name"]), text(got.Item["email"]), text(got.Item["city"]))

	raw, err := ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: map[string]types.AttributeValue{"id": str("c2")}})
	if err != nil {
		return err
	}
	_, emailIsBinary := raw.Item["email"].(*types.AttributeValueMemberB)
	fmt.Fprintf(w, "stored c2: %d attributes, email stored as ciphertext: %v, city in plaintext: %s\n", len(raw.Item), emailIsBinary, text(raw.Item["city"]))

	// An update of encrypted and signed attributes, with a condition on an
	// encrypted one: read, checked, applied and re-signed on the client,
	// written on the condition that nobody changed the item meanwhile.
	up, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: table, Key: map[string]types.AttributeValue{"id": str("c2")},
		UpdateExpression:    aws.String("SET email = :new ADD visits :one"),
		ConditionExpression: aws.String("email = :old"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":new": str("grace.hopper@example.com"), ":old": str("grace@example.com"), ":one": &types.AttributeValueMemberN{Value: "1"}},
		ReturnValues: types.ReturnValueAllNew})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "update c2: email %s, visits %s\n", text(up.Attributes["email"]), text(up.Attributes["visits"]))

	for _, email := range []string{"grace.hopper@example.com", "grace@example.com"} {
		q, err := c.Query(ctx, &dynamodb.QueryInput{TableName: table, IndexName: aws.String(emailIndex),
			KeyConditionExpression:    aws.String("email = :e"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":e": str(email)}})
		if err != nil {
			return err
		}
		var ids []string
		for _, it := range q.Items {
			ids = append(ids, text(it["id"]))
		}
		sort.Strings(ids)
		fmt.Fprintf(w, "query email = %s: %v\n", email, ids)
	}

	_, err = c.Scan(ctx, &dynamodb.ScanInput{TableName: table, FilterExpression: aws.String("begins_with(email, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str("grace")}})
	fmt.Fprintf(w, "scan begins_with(email, ...): refused: %v\n", errors.Is(err, dynamocrypto.ErrUnsupported))
	if err == nil {
		return errors.New("a prefix search on ciphertext was not refused")
	}
	return nil
}

// dynamoClient returns a client for endpoint, or for a moto_server it
// starts when endpoint is empty; stop ends the server.
func dynamoClient(ctx context.Context, endpoint, region string) (*dynamodb.Client, func(), error) {
	if endpoint == "" {
		url, stop, err := startMoto(ctx)
		if err != nil {
			return nil, nil, err
		}
		return dynamodb.New(dynamodb.Options{
			BaseEndpoint: aws.String(url), Region: region,
			Credentials: credentials.NewStaticCredentialsProvider("example", "example", ""),
		}), stop, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return nil, nil, err
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) }), func() {}, nil
}

func createTable(ctx context.Context, ddb *dynamodb.Client, name string) error {
	beacon := dynamocrypto.BeaconAttribute("email")
	_, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(beacon), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(emailIndex),
			KeySchema: []types.KeySchemaElement{{AttributeName: aws.String(beacon), KeyType: types.KeyTypeHash}},
			// The index must hold every signed attribute, so that the
			// items it returns verify.
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
		BillingMode: types.BillingModePayPerRequest,
	})
	if err != nil {
		return err
	}
	return dynamodb.NewTableExistsWaiter(ddb).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 5*time.Minute)
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func text(v types.AttributeValue) string {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		return v.Value
	}
	return fmt.Sprintf("%T", v)
}
