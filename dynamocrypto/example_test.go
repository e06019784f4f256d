package dynamocrypto_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/cryptkeeper-go/cryptkeeper/cache"
	"github.com/cryptkeeper-go/cryptkeeper/dynamocrypto"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// exampleKeyring is a raw AES keyring with a fixed key: in production the
// wrapping key lives in a key service (keyring/awskms).
func exampleKeyring() keyring.Keyring {
	kr, err := keyring.NewRawAES("example", "wrapping-key-1", bytes.Repeat([]byte{0x2a}, 32))
	if err != nil {
		log.Fatal(err)
	}
	return kr
}

func exampleConfig() dynamocrypto.TableConfig {
	return dynamocrypto.TableConfig{
		Name: "customers", PartitionKey: "pk",
		Actions: map[string]dynamocrypto.Action{
			"ssn": dynamocrypto.EncryptAndSign,
			"zip": dynamocrypto.SignOnly,
		},
		UnsignedPrefix: "meta_",
	}
}

// EncryptItem and DecryptItem work offline: no DynamoDB client is needed.
func ExampleClient_EncryptItem() {
	c, err := dynamocrypto.New(nil, exampleKeyring(), exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	stored, err := c.EncryptItem(context.Background(), "customers", map[string]types.AttributeValue{
		"pk":         &types.AttributeValueMemberS{Value: "customer#1"},
		"ssn":        &types.AttributeValueMemberS{Value: "123-45-6789"},
		"zip":        &types.AttributeValueMemberS{Value: "10115"},
		"meta_views": &types.AttributeValueMemberN{Value: "3"},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"pk", "ssn", "zip", "meta_views", dynamocrypto.HeaderAttribute, dynamocrypto.FooterAttribute} {
		fmt.Printf("%s: %T\n", name, stored[name])
	}
	// Output:
	// pk: *types.AttributeValueMemberS
	// ssn: *types.AttributeValueMemberB
	// zip: *types.AttributeValueMemberS
	// meta_views: *types.AttributeValueMemberN
	// ck$h: *types.AttributeValueMemberB
	// ck$f: *types.AttributeValueMemberB
}

func ExampleClient_DecryptItem() {
	ctx := context.Background()
	c, err := dynamocrypto.New(nil, exampleKeyring(), exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	stored, err := c.EncryptItem(ctx, "customers", map[string]types.AttributeValue{
		"pk":  &types.AttributeValueMemberS{Value: "customer#1"},
		"ssn": &types.AttributeValueMemberS{Value: "123-45-6789"},
		"zip": &types.AttributeValueMemberS{Value: "10115"},
	})
	if err != nil {
		log.Fatal(err)
	}
	plain, err := c.DecryptItem(ctx, "customers", stored)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(plain["ssn"].(*types.AttributeValueMemberS).Value)

	// A signed attribute changed in storage fails verification.
	stored["zip"] = &types.AttributeValueMemberS{Value: "99999"}
	_, err = c.DecryptItem(ctx, "customers", stored)
	fmt.Println(err != nil)
	// Output:
	// 123-45-6789
	// true
}

// A cache lets one keyring call (one KMS request) serve many items.
func ExampleNew_cache() {
	ch, err := cache.New(cache.MaxAge(5*time.Minute), cache.MaxMessages(1000))
	if err != nil {
		log.Fatal(err)
	}
	tc := exampleConfig()
	tc.Cache = ch
	c, err := dynamocrypto.New(nil, exampleKeyring(), tc)
	if err != nil {
		log.Fatal(err)
	}
	for i := range 3 {
		if _, err := c.EncryptItem(context.Background(), "customers", map[string]types.AttributeValue{
			"pk":  &types.AttributeValueMemberS{Value: fmt.Sprint("customer#", i)},
			"ssn": &types.AttributeValueMemberS{Value: "123-45-6789"},
		}); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println(ch.Len())
	// Output: 1
}

// A standard beacon makes an encrypted attribute searchable by equality.
func ExampleBeacon() {
	ctx := context.Background()
	kr := exampleKeyring()
	wrapped, err := dynamocrypto.NewBeaconKey(ctx, kr, "customers-v1") // store these bytes
	if err != nil {
		log.Fatal(err)
	}
	keys, err := dynamocrypto.NewWrappedBeaconKeys(kr, map[string][]byte{"customers-v1": wrapped})
	if err != nil {
		log.Fatal(err)
	}
	tc := exampleConfig()
	tc.Beacons = []dynamocrypto.Beacon{{Name: "ssn", Source: "ssn", Bits: dynamocrypto.SuggestBeaconBits(1_000_000)}}
	tc.BeaconKeys, tc.BeaconKeyID = keys, "customers-v1"
	c, err := dynamocrypto.New(nil, kr, tc)
	if err != nil {
		log.Fatal(err)
	}
	stored, err := c.EncryptItem(ctx, "customers", map[string]types.AttributeValue{
		"pk":  &types.AttributeValueMemberS{Value: "customer#1"},
		"ssn": &types.AttributeValueMemberS{Value: "123-45-6789"},
	})
	if err != nil {
		log.Fatal(err)
	}
	b := stored[dynamocrypto.BeaconAttribute("ssn")].(*types.AttributeValueMemberS).Value
	fmt.Println(dynamocrypto.BeaconAttribute("ssn"), len(b), "hex digits")
	// Output: ck$b_ssn 3 hex digits
}

func ExampleSuggestBeaconBits() {
	fmt.Println(dynamocrypto.SuggestBeaconBits(10_000), dynamocrypto.SuggestBeaconBits(300_000_000))
	// Output: 7 14
}

func ExampleClient_MarshalEncrypt() {
	type Customer struct {
		PK  string `dynamodbav:"pk"`
		SSN string `dynamodbav:"ssn"`
		Zip string `dynamodbav:"zip"`
	}
	ctx := context.Background()
	c, err := dynamocrypto.New(nil, exampleKeyring(), exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	stored, err := c.MarshalEncrypt(ctx, "customers", Customer{PK: "customer#1", SSN: "123-45-6789", Zip: "10115"})
	if err != nil {
		log.Fatal(err)
	}
	var back Customer
	if err := c.UnmarshalDecrypt(ctx, "customers", stored, &back); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", back)
	// Output: {PK:customer#1 SSN:123-45-6789 Zip:10115}
}

// A compound beacon joins a standard beacon and a signed plaintext
// attribute, for queries on both (or begins_with on the first); per-tenant
// beacon keys come from a signed attribute naming the key id.
func ExampleBeacon_compound() {
	ctx := context.Background()
	kr := exampleKeyring()
	keys, err := dynamocrypto.NewWrappedBeaconKeys(kr, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, tenant := range []string{"acme", "globex"} {
		wrapped, err := dynamocrypto.NewBeaconKey(ctx, kr, tenant)
		if err != nil {
			log.Fatal(err)
		}
		keys.Add(tenant, wrapped)
	}
	tc := exampleConfig()
	tc.Actions["tenant"] = dynamocrypto.SignOnly
	tc.Beacons = []dynamocrypto.Beacon{
		{Name: "ssn", Source: "ssn", Bits: 32},
		{Name: "ssn_zip", Parts: []dynamocrypto.BeaconPart{{Prefix: "S-", Name: "ssn"}, {Prefix: "Z-", Name: "zip"}}},
	}
	tc.BeaconKeys, tc.BeaconKeyAttribute = keys, "tenant"
	c, err := dynamocrypto.New(nil, kr, tc)
	if err != nil {
		log.Fatal(err)
	}
	beacons := map[string]string{}
	for _, tenant := range []string{"acme", "globex"} {
		stored, err := c.EncryptItem(ctx, "customers", map[string]types.AttributeValue{
			"pk":     &types.AttributeValueMemberS{Value: tenant + "#1"},
			"tenant": &types.AttributeValueMemberS{Value: tenant},
			"ssn":    &types.AttributeValueMemberS{Value: "123-45-6789"},
			"zip":    &types.AttributeValueMemberS{Value: "10115"},
		})
		if err != nil {
			log.Fatal(err)
		}
		beacons[tenant] = stored[dynamocrypto.BeaconAttribute("ssn_zip")].(*types.AttributeValueMemberS).Value
	}
	a := beacons["acme"]
	fmt.Println(a[:2], len(a), a[10:])
	fmt.Println("tenants share beacons:", beacons["acme"] == beacons["globex"])
	// Output:
	// S- 18 #Z-10115
	// tenants share beacons: false
}
