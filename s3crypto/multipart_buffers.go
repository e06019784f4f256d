package s3crypto

import "context"

// take returns an empty buffer of capacity size for the next part, once
// fewer than concurrency parts are held (being filled or in flight): a
// multipart upload holds at most concurrency part buffers, reused from
// part to part, whatever the object size. The slot is given back when the
// part's upload ends (send) or by send itself when it sends nothing.
func (up *uploader) take(size int) ([]byte, error) {
	select {
	case up.sem <- struct{}{}:
	case <-up.ctx.Done():
		err := context.Cause(up.ctx)
		up.fail(err)
		return nil, err
	}
	return up.buffer(size), nil
}

// emptyPart takes the slot of an empty first part.
func (up *uploader) emptyPart() error {
	_, err := up.take(0)
	return err
}
