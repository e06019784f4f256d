// Package s3crypto encrypts objects on the client before they reach
// Amazon S3 and authenticates them before a byte of plaintext reaches the
// caller. It wraps an existing *s3.Client (any [API]):
//
//	c, err := s3crypto.New(s3Client, kr)
//	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: ..., Key: ..., Body: r})
//	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: ..., Key: ...})
//	// out.Body is the plaintext; out.ContentLength its length.
//
// A [Client] exposes only the operations it makes safe (put, get, head,
// copy, delete): it does not embed the S3 client, so nothing reaches S3
// around the encryption. Inputs are never modified. Errors are *[Error]
// values naming the operation, bucket and key, and wrap a sentinel of this
// package or an envelope category (errors.Is(err,
// envelope.ErrAuthentication) and the like); S3 errors stay in the chain,
// and those that may pass (an ended context, a network failure,
// throttling, a server error) match envelope.ErrTransient.
//
// # The envelope object format
//
// [FormatEnvelope], the default and for now the only format, stores the
// object body as one AWS Encryption SDK message (package envelope): framed,
// 64 KiB of plaintext per frame, with the committing unsigned suite
// AES256GCMHKDFSHA512CommitKey (AES256GCMHKDFSHA256 under
// envelope.ForbidEncryptAllowDecrypt). Any AWS Encryption SDK decrypts a
// downloaded body. Every frame is authenticated as it arrives, so both
// directions stream in bounded memory. The encryption context binds the
// object to its place: [ContextBucket] and [ContextKey] hold the bucket
// and key, beside the caller's pairs from [WithEncryptionContext], so an
// object copied or swapped to another key by someone with write access to
// the bucket fails to decrypt (envelope.ErrContext). Keys starting with
// [ReservedPrefix] are s3crypto's, in the context and in the metadata.
// The context, bucket and key included, is stored in the clear in the
// message header: it must hold nothing secret.
//
// The object metadata records the format ([MetaFormat]), the frame size
// ([MetaFrameSize]) and, when known at upload, the plaintext length
// ([MetaPlainLength]) and the message header length ([MetaHeaderLength]).
// Metadata is not authenticated: GetObject checks it against the object
// length and the authenticated message, and fails when they disagree.
//
// Bodies of up to the part size ([WithPartSize], default 5 MiB) are
// encrypted in memory and stored with one PutObject request, so the SDK
// can sign and retry it on any endpoint. Longer bodies, and bodies of
// unknown length that turn out longer, are stored with a multipart upload:
// the ciphertext is cut into parts that are sent in parallel
// ([WithConcurrency]), and the upload is aborted on any failure.
// [Client.CopyObject] re-encrypts (streamed) rather than copying on the
// server, since the copy is bound to another key.
//
// # Ranged GETs
//
// A GetObject with Range (bytes=a-b, bytes=a- or bytes=-n, in plaintext
// offsets) reads the message header from the start of the object and then
// only the frames that hold the range, with envelope.FrameOpener: each
// frame is authenticated before any of its bytes is released, and the
// body holds exactly the requested bytes, with ContentLength and
// ContentRange in plaintext terms. A 1 MiB range costs about 1.1 MiB of
// transfer whatever the object size. The total length (in ContentRange,
// and for suffix ranges) comes from the object length and metadata,
// checked against each other and the authenticated header; the message
// itself vouches for it only when the range holds the final frame, so a
// writer to the bucket who drops whole frames from the end of an object
// makes a range past the new end fail rather than decrypt. A range past
// the end fails with
// [ErrInvalidRange]. Objects of signed suites refuse ranges
// ([ErrUnsupported]): their signature covers the whole object.
//
// # Not done yet
//
// The Amazon S3 Encryption Client formats (V1, V2, V3, instruction files)
// are neither written nor read; GETs of one part (PartNumber) and ranged
// HEADs fail with [ErrUnsupported]; there are no helpers for server-side encryption
// (SSE-C, SSE-KMS, SSE-S3), though the SSE fields of a request are passed
// through.
package s3crypto
