package dynamocrypto

import "github.com/aws/aws-sdk-go-v2/service/dynamodb"

var _ API = (*dynamodb.Client)(nil)
