package dynamocrypto_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cryptkeeper-go/cryptkeeper/dynamocrypto"
)

// These examples need a DynamoDB endpoint, so they are compiled but not
// run; examples/dynamodb runs the same calls against moto_server.

// customersClient stands for a Client over a real *dynamodb.Client.
var customersClient *dynamocrypto.Client

// A query by an encrypted attribute: the condition is sent as equality on
// the beacon's attribute, which the index is keyed on, and the items that
// come back are verified, decrypted and checked against the condition.
func ExampleClient_Query() {
	ctx := context.Background()
	out, err := customersClient.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String("customers"), IndexName: aws.String("email-index"),
		KeyConditionExpression:    aws.String("email = :e"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": &types.AttributeValueMemberS{Value: "ada@example.com"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, item := range out.Items {
		fmt.Println(item["pk"])
	}
}

// A query on a compound beacon ("ssn_zip" with parts "S-" ssn and "Z-"
// zip) names the beacon and gives its plaintext form.
func ExampleClient_Query_compound() {
	ctx := context.Background()
	_, err := customersClient.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String("customers"), IndexName: aws.String("ssn-zip-index"),
		KeyConditionExpression:    aws.String("ssn_zip = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: "S-123-45-6789#Z-10115"}},
	})
	if err != nil {
		log.Fatal(err)
	}
}

// An update of an encrypted attribute, conditioned on its current value:
// done by read-modify-write under the item's signature.
func ExampleClient_UpdateItem() {
	ctx := context.Background()
	out, err := customersClient.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String("customers"),
		Key:                 map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "c1"}},
		UpdateExpression:    aws.String("SET email = :new ADD visits :one"),
		ConditionExpression: aws.String("email = :old"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":new": &types.AttributeValueMemberS{Value: "ada.lovelace@example.com"},
			":old": &types.AttributeValueMemberS{Value: "ada@example.com"},
			":one": &types.AttributeValueMemberN{Value: "1"},
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	var failed *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &failed):
		fmt.Println("the email was not ada@example.com")
	case errors.Is(err, dynamocrypto.ErrConflict):
		fmt.Println("other writers kept changing the item; try again")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println(out.Attributes["email"])
	}
}

// Refusing updates of signed attributes instead of reading and rewriting
// the item.
func ExampleWithoutReadModifyWrite() {
	ctx := dynamocrypto.WithoutReadModifyWrite(context.Background())
	_, err := customersClient.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String("customers"),
		Key:                       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "c1"}},
		UpdateExpression:          aws.String("SET email = :new"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":new": &types.AttributeValueMemberS{Value: "x@example.com"}},
	})
	fmt.Println(errors.Is(err, dynamocrypto.ErrUnsupported))
}

// All pages of a query, each verified and decrypted.
func ExampleNewQueryPaginator() {
	ctx := context.Background()
	p := dynamocrypto.NewQueryPaginator(customersClient, &dynamodb.QueryInput{
		TableName:                 aws.String("customers"),
		KeyConditionExpression:    aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "c1"}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(len(page.Items))
	}
}

// A scan with a filter on a signed plaintext attribute and a projection:
// the projection is completed on the wire so the items verify, and cut
// back to city on return.
func ExampleNewScanPaginator() {
	ctx := context.Background()
	p := dynamocrypto.NewScanPaginator(customersClient, &dynamodb.ScanInput{
		TableName:                 aws.String("customers"),
		FilterExpression:          aws.String("zip = :z"),
		ProjectionExpression:      aws.String("city"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":z": &types.AttributeValueMemberS{Value: "10115"}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(page.Count)
	}
}
