package s3crypto

import (
	"encoding/base64"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/internal/s3ecwrap"
)

// Metadata keys of the Amazon S3 Encryption Client formats (stored as
// x-amz-meta-<key>, or in an instruction file).
const (
	s3ecKeyV1      = "x-amz-key"
	s3ecKeyV2      = "x-amz-key-v2"
	s3ecKeyV3      = "x-amz-3"
	s3ecIV         = "x-amz-iv"
	s3ecMsgID      = "x-amz-i"
	s3ecMatDesc    = "x-amz-matdesc"
	s3ecMD3        = "x-amz-m"
	s3ecEC3        = "x-amz-t"
	s3ecWrapAlg    = "x-amz-wrap-alg"
	s3ecWrap3      = "x-amz-w"
	s3ecCekAlg     = "x-amz-cek-alg"
	s3ecCek3       = "x-amz-c"
	s3ecCommitK    = "x-amz-d"
	s3ecMetaTagLen = "x-amz-tag-len"
	s3ecPlainLen   = "x-amz-unencrypted-content-length"
	s3ecInstrTag   = "x-amz-crypto-instr-file"
)

// s3ecAllKeys are the keys GetObject and HeadObject strip from the user
// metadata they return.
var s3ecAllKeys = []string{s3ecKeyV1, s3ecKeyV2, s3ecKeyV3, s3ecIV, s3ecMsgID, s3ecMatDesc, s3ecMD3, s3ecEC3,
	s3ecWrapAlg, s3ecWrap3, s3ecCekAlg, s3ecCek3, s3ecCommitK, s3ecMetaTagLen, s3ecPlainLen, s3ecInstrTag}

var (
	// v12Only and v3Only are the keys of one layout that must not appear
	// in the other.
	v12Only = []string{s3ecKeyV1, s3ecKeyV2, s3ecIV, s3ecMatDesc, s3ecWrapAlg, s3ecCekAlg, s3ecMetaTagLen}
	v3Only  = []string{s3ecKeyV3, s3ecMsgID, s3ecMD3, s3ecEC3, s3ecWrap3, s3ecCek3, s3ecCommitK}
	// v3Object are the V3 keys that stay in the object metadata when an
	// instruction file holds the others.
	v3Object = []string{s3ecCek3, s3ecCommitK, s3ecMsgID}
)

// Content-encryption algorithm strings (x-amz-cek-alg, x-amz-c).
const (
	cekGCM    = "AES/GCM/NoPadding"
	cekCBC    = "AES/CBC/PKCS5Padding"
	cekCommit = "115"
)

// s3ecCekString is the string a suite is named by in the metadata, the
// KMS context and the raw wraps.
func s3ecCekString(s s3ecSuite) string {
	switch s {
	case s3ecGCM:
		return cekGCM
	case s3ecCBC:
		return cekCBC
	}
	return cekCommit
}

// Compressed wrap algorithm codes (x-amz-w).
var wrapCodes = map[string]string{"02": s3ecwrap.AlgAESGCM, "12": s3ecwrap.AlgKMSContext, "22": s3ecwrap.AlgRSAOAEP}

func wrapCode(alg string) string {
	for c, a := range wrapCodes {
		if a == alg {
			return c
		}
	}
	return ""
}

// kmsReservedKey is the encryption context key that binds the content
// algorithm into a kms+context wrap; kmsLegacyKey is the one of the
// legacy kms wrap.
const (
	kmsReservedKey = "aws:x-amz-cek-alg"
	kmsLegacyKey   = "kms_cmk_id"
)

// maxS3ECEDK bounds the encrypted data key s3crypto accepts (a KMS blob is
// about 200 bytes, an RSA-4096 wrap 512).
const maxS3ECEDK = 4096

// maxUserMetadata is S3's limit on the user metadata of an object: the
// bytes of every key and value.
const maxUserMetadata = 2048

// s3ecMeta is what the S3EC metadata of an object says.
type s3ecMeta struct {
	version    int // 1, 2 or 3
	suite      s3ecSuite
	wrapAlg    string
	edk        []byte
	iv         []byte // x-amz-iv, or the message ID x-amz-i (V3)
	commitment []byte // V3
	// desc is the JSON map the wrap uses: the KMS encryption context
	// (kms wraps) or the material description (raw wraps).
	desc     map[string]string
	plainLen int64 // -1 when not recorded
	// instrETag is the ETag of the instruction file it was read from.
	instrETag *string
}

// s3ecKeys returns the S3EC keys of an object's metadata (or of an
// instruction file), lower-cased. Two spellings of one key are an error.
func s3ecKeys(m map[string]string) (map[string]string, error) {
	out := make(map[string]string)
	for k, v := range m {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, "x-amz-") {
			continue
		}
		if _, dup := out[lk]; dup {
			return nil, fmt.Errorf("%w: metadata key %q appears twice", envelope.ErrFormat, lk)
		}
		out[lk] = v
	}
	return out, nil
}

func hasAny(k map[string]string, keys ...string) (string, bool) {
	for _, key := range keys {
		if _, ok := k[key]; ok {
			return key, true
		}
	}
	return "", false
}

// s3ecLayout says what the S3EC keys k of an object's metadata describe:
// a V1, V2 or V3 object (version), a V3 object whose other keys are in an
// instruction file (version 3, instr), or nothing (version 0: plain, or a
// V1/V2 object with an instruction file).
func s3ecLayout(k map[string]string) (version int, instr bool, err error) {
	n := 0
	for _, key := range []string{s3ecKeyV1, s3ecKeyV2, s3ecKeyV3} {
		if _, ok := k[key]; ok {
			n++
		}
	}
	if n > 1 {
		return 0, false, fmt.Errorf("%w: more than one of the encrypted data key entries %s, %s, %s", envelope.ErrFormat, s3ecKeyV1, s3ecKeyV2, s3ecKeyV3)
	}
	if _, ok := k[s3ecKeyV1]; ok {
		return 1, false, nil
	}
	if _, ok := k[s3ecKeyV2]; ok {
		return 2, false, nil
	}
	if _, ok := k[s3ecKeyV3]; ok {
		return 3, false, nil
	}
	if _, ok := hasAny(k, v3Object...); ok {
		return 3, true, nil
	}
	if key, ok := hasAny(k, s3ecIV, s3ecMatDesc, s3ecWrapAlg, s3ecCekAlg, s3ecMetaTagLen, s3ecMD3, s3ecEC3, s3ecWrap3); ok {
		return 0, false, fmt.Errorf("%w: metadata has %s but no encrypted data key", envelope.ErrFormat, key)
	}
	return 0, false, nil
}

// parseS3EC validates the S3EC keys k of a version-version object (the
// object metadata merged with its instruction file).
func parseS3EC(k map[string]string, version int) (*s3ecMeta, error) {
	sm := &s3ecMeta{version: version, plainLen: -1}
	var err error
	b64 := func(key string, min, max int) []byte {
		if err != nil {
			return nil
		}
		v, ok := k[key]
		if !ok {
			err = fmt.Errorf("%w: metadata %s missing", envelope.ErrFormat, key)
			return nil
		}
		b, e := base64.StdEncoding.Strict().DecodeString(v)
		if e != nil || len(b) < min || len(b) > max {
			err = fmt.Errorf("%w: metadata %s is not base64 of %d to %d bytes", envelope.ErrFormat, key, min, max)
			return nil
		}
		return b
	}
	need := func(key string) string {
		v, ok := k[key]
		if !ok && err == nil {
			err = fmt.Errorf("%w: metadata %s missing", envelope.ErrFormat, key)
		}
		return v
	}
	if version == 3 {
		if key, ok := hasAny(k, v12Only...); ok {
			return nil, fmt.Errorf("%w: V3 metadata with the V1/V2 key %s", envelope.ErrFormat, key)
		}
		sm.edk = b64(s3ecKeyV3, 1, maxS3ECEDK)
		sm.iv = b64(s3ecMsgID, 28, 28)
		sm.commitment = b64(s3ecCommitK, 28, 28)
		c, w := need(s3ecCek3), need(s3ecWrap3)
		if err != nil {
			return nil, err
		}
		if c != cekCommit {
			return nil, fmt.Errorf("%w: metadata %s = %q (want %q)", envelope.ErrFormat, s3ecCek3, c, cekCommit)
		}
		sm.suite = s3ecCommit
		alg, ok := wrapCodes[w]
		if !ok {
			return nil, fmt.Errorf("%w: metadata %s = %q is no known wrap algorithm", envelope.ErrFormat, s3ecWrap3, w)
		}
		sm.wrapAlg = alg
		descKey, otherKey := s3ecMD3, s3ecEC3
		if alg == s3ecwrap.AlgKMSContext {
			descKey, otherKey = s3ecEC3, s3ecMD3
		}
		if sm.desc, err = decodeJSONMap(k[descKey]); err != nil {
			return nil, fmt.Errorf("metadata %s: %w", descKey, err)
		}
		if other, err := decodeJSONMap(k[otherKey]); err != nil || len(other) > 0 {
			return nil, fmt.Errorf("%w: metadata %s is set for wrap algorithm %s", envelope.ErrFormat, otherKey, alg)
		}
		if v, ok := k[s3ecPlainLen]; ok && v != "" {
			// The official Go client writes the key empty; V3 defines none.
			if sm.plainLen, err = parseLength(v); err != nil {
				return nil, err
			}
		}
		return sm, nil
	}
	if key, ok := hasAny(k, v3Only...); ok {
		return nil, fmt.Errorf("%w: V%d metadata with the V3 key %s", envelope.ErrFormat, version, key)
	}
	edkKey := s3ecKeyV2
	if version == 1 {
		edkKey = s3ecKeyV1
	}
	sm.edk = b64(edkKey, 1, maxS3ECEDK)
	sm.iv = b64(s3ecIV, 12, 16)
	if err != nil {
		return nil, err
	}
	md, ok := k[s3ecMatDesc]
	if !ok {
		return nil, fmt.Errorf("%w: metadata %s missing", envelope.ErrFormat, s3ecMatDesc)
	}
	if sm.desc, err = decodeJSONMap(md); err != nil {
		return nil, fmt.Errorf("metadata %s: %w", s3ecMatDesc, err)
	}
	cek, hasCek := k[s3ecCekAlg]
	wrap, hasWrap := k[s3ecWrapAlg]
	if version == 2 && (!hasCek || !hasWrap) {
		return nil, fmt.Errorf("%w: V2 metadata needs %s and %s", envelope.ErrFormat, s3ecCekAlg, s3ecWrapAlg)
	}
	if version == 1 {
		// V1 objects are CBC; their wrap is named only by the material
		// description (kms_cmk_id for KMS).
		if !hasCek {
			cek = cekCBC
		}
		if !hasWrap {
			if _, isKMS := sm.desc[kmsLegacyKey]; !isKMS {
				return nil, fmt.Errorf("%w: V1 object wrapped with a symmetric or RSA key (only KMS V1 objects are read)", ErrUnsupported)
			}
			wrap = s3ecwrap.AlgKMS
		}
	}
	sm.wrapAlg = wrap
	switch wrap {
	case s3ecwrap.AlgKMSContext, s3ecwrap.AlgKMS, s3ecwrap.AlgAESGCM, s3ecwrap.AlgRSAOAEP:
	case "AESWrap", "AES", "RSA", "RSA/ECB/OAEPWithSHA-256AndMGF1Padding":
		return nil, fmt.Errorf("%w: legacy wrap algorithm %q", ErrUnsupported, wrap)
	default:
		return nil, fmt.Errorf("%w: metadata %s = %q is no known wrap algorithm", envelope.ErrFormat, s3ecWrapAlg, wrap)
	}
	tag, hasTag := k[s3ecMetaTagLen]
	switch cek {
	case cekGCM:
		sm.suite = s3ecGCM
		if len(sm.iv) != 12 {
			return nil, fmt.Errorf("%w: %s IV of %d bytes", envelope.ErrFormat, cek, len(sm.iv))
		}
		if !hasTag || strings.Trim(tag, `"`) != "128" {
			return nil, fmt.Errorf("%w: metadata %s = %q (want 128)", envelope.ErrFormat, s3ecMetaTagLen, tag)
		}
	case cekCBC:
		sm.suite = s3ecCBC
		if len(sm.iv) != 16 {
			return nil, fmt.Errorf("%w: %s IV of %d bytes", envelope.ErrFormat, cek, len(sm.iv))
		}
		if hasTag {
			return nil, fmt.Errorf("%w: metadata %s on a CBC object", envelope.ErrFormat, s3ecMetaTagLen)
		}
	default:
		return nil, fmt.Errorf("%w: metadata %s = %q is no known content algorithm", envelope.ErrFormat, s3ecCekAlg, cek)
	}
	if v, ok := k[s3ecPlainLen]; ok {
		if sm.plainLen, err = parseLength(v); err != nil {
			return nil, err
		}
	}
	return sm, nil
}

func parseLength(v string) (int64, error) {
	n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64)
	if err != nil || n < 0 || n > 1<<62 {
		return 0, fmt.Errorf("%w: metadata %s = %q", envelope.ErrFormat, s3ecPlainLen, v)
	}
	return n, nil
}

// entries returns the metadata entries of sm as written: V2 or V3.
func (sm *s3ecMeta) entries() map[string]string {
	b64 := base64.StdEncoding.EncodeToString
	m := make(map[string]string, 8)
	if sm.version == 3 {
		m[s3ecKeyV3] = b64(sm.edk)
		m[s3ecCek3] = cekCommit
		m[s3ecCommitK] = b64(sm.commitment)
		m[s3ecMsgID] = b64(sm.iv)
		m[s3ecWrap3] = wrapCode(sm.wrapAlg)
		if sm.wrapAlg == s3ecwrap.AlgKMSContext {
			m[s3ecEC3] = encodeJSONMap(sm.desc)
		} else if len(sm.desc) > 0 {
			m[s3ecMD3] = encodeJSONMap(sm.desc)
		}
		return m
	}
	m[s3ecKeyV2] = b64(sm.edk)
	m[s3ecIV] = b64(sm.iv)
	m[s3ecMatDesc] = encodeJSONMap(sm.desc)
	m[s3ecWrapAlg] = sm.wrapAlg
	m[s3ecCekAlg] = cekGCM
	m[s3ecMetaTagLen] = "128"
	if sm.plainLen >= 0 {
		m[s3ecPlainLen] = strconv.FormatInt(sm.plainLen, 10)
	}
	return m
}

// splitInstruction splits the entries of a V2 or V3 object between the
// object metadata and its instruction file (V3 keeps c, d and i in the
// object metadata; V2 keeps nothing).
func splitInstruction(e map[string]string, version int) (obj, instr map[string]string) {
	obj, instr = make(map[string]string), maps.Clone(e)
	if version == 3 {
		for _, k := range v3Object {
			obj[k] = instr[k]
			delete(instr, k)
		}
	}
	return obj, instr
}

// checkMetadataSize fails with ErrInvalidRequest when m exceeds S3's
// limit on user metadata.
func checkMetadataSize(m map[string]string) error {
	n := 0
	for k, v := range m {
		n += len(k) + len(v)
	}
	if n > maxUserMetadata {
		return invalid("the object metadata would be %d bytes, S3 allows %d (shorten the metadata or encryption context, or use WithInstructionFile)", n, maxUserMetadata)
	}
	return nil
}

// stripS3ECMeta returns m without the S3EC and s3crypto keys.
func stripS3ECMeta(m map[string]string) map[string]string {
	out := userMeta(m)
	for k := range out {
		lk := strings.ToLower(k)
		for _, s := range s3ecAllKeys {
			if lk == s {
				delete(out, k)
			}
		}
	}
	return out
}
