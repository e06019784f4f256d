package errcat_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/internal/errcat"
)

var (
	errA = errors.New("a")
	errB = errors.New("b")
	errC = errors.New("c")
	cats = []error{errA, errB, errC}
)

// sliceErr is an error type that is not comparable.
type sliceErr []string

func (e sliceErr) Error() string { return fmt.Sprint([]string(e)) }

func TestWrapHidesOtherCategories(t *testing.T) {
	pathErr := &fs.PathError{Op: "open", Path: "x", Err: fs.ErrNotExist}
	cause := fmt.Errorf("layer: %w", errors.Join(fmt.Errorf("%w: %w", errB, pathErr), errC, context.Canceled, sliceErr{"s"}))
	err := errcat.Wrap(errA, cats, "", cause)
	assert.True(t, errors.Is(err, errA))
	assert.False(t, errors.Is(err, errB))
	assert.False(t, errors.Is(err, errC))
	assert.True(t, errcat.Only(err, errA, cats))
	assert.False(t, errcat.Only(cause, errB, cats))
	assert.True(t, errors.Is(err, context.Canceled))
	assert.True(t, errors.Is(err, fs.ErrNotExist))
	assert.False(t, errors.Is(err, sliceErr{"s"}), "non-comparable target")
	var pe *fs.PathError
	require.ErrorAs(t, err, &pe)
	assert.Same(t, pathErr, pe)
	var se sliceErr
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "a: layer: b: open x: file does not exist\nc\ncontext canceled\n[s]", err.Error())

	// The kind's own sentinel in the cause stays; so does a message given.
	err = errcat.Wrap(errB, cats, "custom", cause)
	assert.True(t, errcat.Only(err, errB, cats))
	assert.Equal(t, "custom", err.Error())
	assert.Equal(t, "b: x", errcat.Message(errB, fmt.Errorf("%w: x", errB)))
}
