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
// [FormatEnvelope], the default format, stores the
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
// # The Amazon S3 Encryption Client formats
//
// [FormatS3ECv3] and [FormatS3ECv2] write objects byte-compatible with
// the official Amazon S3 Encryption Clients (Go v3.2+/v4, Java v3+):
// the whole body is one AES-GCM message (V3: the key-committing suite 115,
// HKDF-SHA512; V2: AES/GCM/NoPadding) followed by its 16-byte tag, and
// the wrapped data key and parameters go to the object metadata
// (x-amz-meta-x-amz-3 and so on) or, with [WithInstructionFile], to the
// object "<key>.instruction". Both directions stream in bounded memory:
// GetObject releases no byte before the tag has verified, keeping a long
// object (as stored: ciphertext) in a temporary file that is checked
// chunk by chunk against the object's own GHASH, recorded in memory, as it
// is read back. GetObject and HeadObject read every
// format whatever the option: envelope objects, S3EC V1, V2 and V3 in
// metadata or instruction files (read through the same client, optFns,
// SSE-C key and ExpectedBucketOwner as the object; never with its
// VersionId). An object with neither s3crypto nor S3EC metadata nor an
// instruction file fails with [ErrNotEncrypted]; a V3 object whose
// instruction file is missing with [ErrInstructionFile].
//
// The data key is wrapped by the client's keyring, which must be one of:
// an awskms.Keyring (wrap "kms+context": the encryption context is the
// caller's from [WithEncryptionContext] plus aws:x-amz-cek-alg, which the
// caller may not set; the object stores no key id, so the keyring
// decrypts with its own key, and should be configured with the key ARN);
// an awskms.DiscoveryKeyring (decrypt only: KMS finds the key, and the
// filter is applied to the key it names); a keyring.RawAES ("AES/GCM");
// a keyring.RawRSA with OAEPSHA1 padding ("RSA-OAEP-SHA1", refused in
// FIPS 140-3 mode); or a keyring.Multi of these (to write, one generator
// and no children: an S3EC object holds one wrapped key). The raw wraps
// bind only the content algorithm, not a context: PutObject refuses a
// context with them. On GetObject, a context given with
// WithEncryptionContext must equal the stored one without the reserved
// keys ([envelope.ErrContext] otherwise), as in the official clients.
//
// Unlike FormatEnvelope, these formats do not bind the object to its
// bucket and key (the official clients do not): someone with write access
// to the bucket can move or swap S3EC objects undetected. They have no
// authenticated ranges: a ranged GET needs [WithUnauthenticatedS3ECRanges]
// and decrypts with AES-CTR without authentication. A data key cache
// ([WithCache]) is not used for them.
//
// The commitment policy decides what GetObject reads, mirroring the
// official clients: V3 objects under every policy; V2 GCM objects, which
// are not key-committing, under envelope.RequireEncryptAllowDecrypt and
// ForbidEncryptAllowDecrypt (not under the default
// RequireEncryptRequireDecrypt: [envelope.ErrPolicy]); the legacy,
// unauthenticated or weaker formats (CBC content, the "kms" wrap of V1
// objects), which the official clients read only with their "legacy"
// switches, only under ForbidEncryptAllowDecrypt. FormatS3ECv2 needs
// ForbidEncryptAllowDecrypt to write, as in the official clients.
//
// [Client.CopyObject] copies an S3EC object on the server (with its
// instruction file), and [Client.Rewrap] re-keys one (a new wrapping key
// or context) by rewriting its metadata or instruction file: the body
// never moves. [Client.DeleteObject] and [Client.DeleteObjects] also
// delete instruction files. The metadata of an object is limited by S3
// to 2 KB; PutObject fails with [ErrInvalidRequest] beyond it (a long
// context or metadata fits with WithInstructionFile).
//
// # Server-side encryption
//
// Server-side encryption can sit on top of client-side encryption.
// [SSECustomerKey], [SSEKMS] and [SSES3] build an [SSE], whose methods
// return a copy of an input with the fields set:
// c.PutObject(ctx, sse.PutObject(in)), c.GetObject(ctx, sse.GetObject(in)),
// and for a copy dst.CopyObject(src.CopySource(in)). Client repeats the
// fields on every request it makes for a call: each part of a multipart
// upload, each GET of a ranged read, the instruction file. A request
// carrying an SSE-C key is refused before it is sent unless the endpoint
// is HTTPS ([ErrInsecureEndpoint]). A 403 to an SSE-C write is explained
// ([ErrSSECDenied]: S3 blocks SSE-C by default on buckets created from
// April 2026), and so is a read refused over its SSE-C key ([ErrSSECKey]).
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
// GETs of one part (PartNumber) and ranged HEADs fail with
// [ErrUnsupported]; so do S3EC objects of the legacy wrap algorithms
// AESWrap, AES, RSA and RSA/ECB/OAEPWithSHA-256AndMGF1Padding, and V1
// objects not wrapped by KMS. Instruction files with a custom suffix are
// not read.
package s3crypto
