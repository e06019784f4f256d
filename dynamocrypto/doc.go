// Package dynamocrypto encrypts and signs DynamoDB items on the client,
// attribute by attribute, through calls shaped like the SDK's.
//
// A [Client] wraps a DynamoDB client ([API], which *dynamodb.Client
// satisfies) and a keyring, and is configured per table with a
// [TableConfig]: which attributes are encrypted ([EncryptAndSign]), which
// are stored in plaintext but signed ([SignOnly], [SignAndIncludeInContext])
// and which are left alone ([DoNothing], or any attribute under
// UnsignedPrefix). The partition and sort key are always signed and never
// encrypted. Tables that are not configured pass through untouched.
//
//	c, err := dynamocrypto.New(ddb, kr, dynamocrypto.TableConfig{
//		Name: "customers", PartitionKey: "pk", SortKey: "sk",
//		Actions: map[string]dynamocrypto.Action{
//			"ssn": dynamocrypto.EncryptAndSign, "zip": dynamocrypto.SignOnly,
//		},
//		Cache: ch, // one keyring call serves many items
//	})
//	stored, err := c.EncryptItem(ctx, "customers", item)
//	plain, err := c.DecryptItem(ctx, "customers", stored)
//
// [Client.EncryptItem] and [Client.DecryptItem] work offline on items;
// [Client.MarshalEncrypt] and [Client.UnmarshalDecrypt] add
// attributevalue's struct mapping. Inputs are never modified.
//
// # Items
//
// Each item gets a data key from the keyring (through a cache.Cache when
// TableConfig.Cache is set) and a random 256-bit item id; one HKDF-SHA-512
// call derives the item's AES-256-GCM key, MAC key and key
// commitment from both. Each encrypted attribute becomes a B value holding
// its type tag and the AES-256-GCM ciphertext of its value (any type,
// nested ones included), with the attribute name and type as associated
// data. A header attribute (ck$h) holds the format version, suite, item
// id, commitment, wrapped data keys, encryption context (the table name,
// TableConfig.Context and SignAndIncludeInContext values) and the list of
// signed attributes; a footer attribute (ck$f) holds an HMAC-SHA-384 over
// the header, the table name and every signed attribute in a canonical
// encoding (normalized numbers, sorted sets), and with
// [SuiteCommitHMACECDSA] an ECDSA P-384 signature. FORMAT.md beside this
// file specifies the bytes.
//
// DecryptItem checks the item against its header, unwraps the data key,
// checks the commitment and the MAC (constant-time), and only then
// decrypts. An attribute removed, added, altered, swapped with another
// item's, replayed from an older version, or an item moved to another key
// or table, fails with [ErrAuthentication] naming the attribute (a
// checksum per attribute in the header points at the one that changed
// once the MAC has failed; the MAC alone decides). A whole
// older version of an item, stored back as it was, still verifies: that
// is a matter of conditional writes (a condition on the footer), not of
// the item format.
//
// Attribute names starting with "ck$" are reserved.
//
// # Beacons
//
// A standard [Beacon] stores beside an encrypted attribute the first Bits
// bits (1–63) of an HMAC-SHA-384 of its plaintext, in hexadecimal, in the
// plain S attribute [BeaconAttribute](name), which a global secondary index
// can key on; queries for a value look for its beacon and drop false
// positives after decryption. A compound beacon joins parts (standard
// beacons or signed plaintext attributes) behind prefixes, like
// "L-3f2a#Z-10115", for queries on several attributes or begins_with.
//
// Beacon keys come from a [BeaconKeySource]: [NewBeaconKey] makes a random
// key wrapped by the keyring (an envelope message bound to its id), the
// application stores the bytes where it keeps configuration, and
// [NewWrappedBeaconKeys] unwraps each once per process. Per-tenant keys: set
// TableConfig.BeaconKeyAttribute to a signed attribute holding the tenant's
// key id, so that equal values of different tenants have unrelated beacons.
//
// # What beacons leak
//
// Whoever reads the table (or an index) sees which items share a beacon
// value, and how many do: with b bits, items with equal plaintexts always
// share it, and items with different plaintexts share it with probability
// 2^-b. With many bits, beacon equality is plaintext equality, and the
// frequency of each beacon reveals the frequency distribution of the
// plaintexts, which for skewed data (names, zip codes, booleans) often
// reveals the plaintexts themselves. With few bits, each beacon value
// covers many plaintexts and queries return more false positives.
// [SuggestBeaconBits] picks about log2(distinct)/2 bits, so that each
// beacon value covers about sqrt(distinct) plaintexts. Do not put beacons on
// attributes with few possible values, and prefer fewer bits for skewed
// data. Compound beacons leak the combination of their parts, and their
// plaintext parts in clear. Beacons are not signed: changing one only hides
// an item from queries that use it.
//
// # Errors
//
// Errors are *[Error] values naming the operation, table and attribute,
// wrapping one of [ErrInvalidConfig], [ErrUnknownAttribute],
// [ErrAuthentication], [ErrFormat], [ErrInvalidItem], [ErrUnsupported],
// [ErrKeyUnavailable] or [ErrTransient]; only ErrTransient is worth
// retrying. Errors never hold key bytes or plaintext values.
package dynamocrypto
