// Package dynamocrypto encrypts and signs DynamoDB items on the client,
// attribute by attribute, through calls shaped like the SDK's.
package dynamocrypto
