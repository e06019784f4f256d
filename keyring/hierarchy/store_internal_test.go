package hierarchy

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
)

func TestTransactionErrors(t *testing.T) {
	cancelled := func(codes ...string) error {
		tc := &types.TransactionCanceledException{}
		for _, c := range codes {
			tc.CancellationReasons = append(tc.CancellationReasons, types.CancellationReason{Code: aws.String(c)})
		}
		return tc
	}
	for _, code := range []string{"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"} {
		err := txErr(cancelled("None", code))
		assert.ErrorIs(t, err, ErrTransient, code)
		assert.False(t, conditionFailed(cancelled("None", code)), code)
	}
	assert.True(t, conditionFailed(cancelled("None", "ConditionalCheckFailed", "None")))
	assert.NotErrorIs(t, txErr(cancelled("ValidationError")), ErrTransient)
	assert.NotErrorIs(t, txErr(errors.New("other")), ErrTransient)
}

func TestValidVersion(t *testing.T) {
	for i := 0; i < 100; i++ {
		v, err := newUUIDv4()
		assert.NoError(t, err)
		assert.True(t, validVersion(v), v)
	}
	for _, v := range []string{
		"", "bb7a4175-2c3e-42d0-bd65-d5fc4c668f4", "BB7A4175-2c3e-42d0-bd65-d5fc4c668f46",
		"bb7a4175-2c3e-32d0-bd65-d5fc4c668f46", "bb7a4175-2c3e-42d0-7d65-d5fc4c668f46",
		"bb7a41752c3e42d0bd65d5fc4c668f46xxxx", "bb7a4175-2c3e-42d0-bd65-d5fc4c668g46",
	} {
		assert.False(t, validVersion(v), v)
	}
	assert.True(t, validVersion("bb7a4175-2c3e-42d0-bd65-d5fc4c668f46"))
}
