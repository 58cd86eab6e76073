package awskms_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/mcplambda/mcplambda/auth"
	"github.com/mcplambda/mcplambda/auth/authserver"
	"github.com/mcplambda/mcplambda/auth/authserver/awskms"
	"github.com/mcplambda/mcplambda/auth/authserver/internal/flowtest"
	"github.com/mcplambda/mcplambda/auth/authtest"
	"github.com/mcplambda/mcplambda/state"
)

// fakeKMS is an httptest server speaking the part of the AWS KMS JSON
// protocol (awsJson1_1, "TrentService") that package awskms uses, so that
// the real SDK client is tested end to end. It is a fake because KMS
// cannot run offline; it really signs, with local keys.
type fakeKMS struct {
	mu      sync.Mutex
	keys    map[string]crypto.Signer // by key ARN
	aliases map[string]string        // alias name -> key ARN
	signs   map[string]int           // Sign calls by key ARN
}

func newFakeKMS() *fakeKMS {
	return &fakeKMS{keys: map[string]crypto.Signer{}, aliases: map[string]string{}, signs: map[string]int{}}
}

func (k *fakeKMS) add(id string, signer crypto.Signer) string {
	arn := "arn:aws:kms:eu-west-1:123456789012:key/" + id
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys[arn] = signer
	return arn
}

func (k *fakeKMS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	defer k.mu.Unlock()
	fail := func(typ, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(400)
		json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		fail("AccessDeniedException", "unsigned request")
		return
	}
	var in struct {
		KeyId, MessageType, SigningAlgorithm string
		Message                              []byte
	}
	json.NewDecoder(r.Body).Decode(&in)
	arn := in.KeyId
	if a, ok := k.aliases[in.KeyId]; ok {
		arn = a
	}
	signer, ok := k.keys[arn]
	if !ok {
		fail("NotFoundException", "Key '"+in.KeyId+"' does not exist")
		return
	}
	spec, algo := "ECC_NIST_P256", "ECDSA_SHA_256"
	if _, isRSA := signer.Public().(*rsa.PublicKey); isRSA {
		spec, algo = "RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256"
	}
	out := map[string]any{"KeyId": arn}
	switch r.Header.Get("X-Amz-Target") {
	case "TrentService.GetPublicKey":
		der, _ := x509.MarshalPKIXPublicKey(signer.Public())
		out["PublicKey"] = der
		out["KeySpec"] = spec
		out["KeyUsage"] = "SIGN_VERIFY"
		out["SigningAlgorithms"] = []string{algo}
	case "TrentService.Sign":
		if in.MessageType != "DIGEST" || in.SigningAlgorithm != algo || len(in.Message) != 32 {
			fail("ValidationException", "want a SHA-256 DIGEST and "+algo)
			return
		}
		sig, err := signer.Sign(rand.Reader, in.Message, crypto.SHA256)
		if err != nil {
			fail("KMSInternalException", err.Error())
			return
		}
		k.signs[arn]++
		out["Signature"] = sig
		out["SigningAlgorithm"] = algo
	default:
		fail("UnknownOperationException", r.Header.Get("X-Amz-Target"))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

func kmsClient(t *testing.T, fake *fakeKMS) *kms.Client {
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return kms.New(kms.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	})
}

// TestKeys: tokens signed in "KMS" (ES256 and RS256) verify with package
// auth's verifier through the server's JWKS, and pointing the alias at a
// new key rotates, the old key staying published.
func TestKeys(t *testing.T) {
	fake := newFakeKMS()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecARN := fake.add("ec-1", ec)
	rsaARN := fake.add("rsa-1", rk)
	fake.aliases["alias/mcp"] = ecARN
	client := kmsClient(t, fake)
	ctx := context.Background()

	for _, tt := range []struct {
		id, alg string
	}{{"alias/mcp", "ES256"}, {rsaARN, "RS256"}} {
		k, err := awskms.Key(ctx, client, tt.id)
		if err != nil {
			t.Fatalf("Key(%s): %v", tt.id, err)
		}
		if k.Algorithm != tt.alg {
			t.Errorf("Key(%s).Algorithm = %s, want %s", tt.id, k.Algorithm, tt.alg)
		}
		if id, _ := authserver.Thumbprint(k.Public); k.ID != id {
			t.Errorf("Key(%s).ID = %s, want the thumbprint %s", tt.id, k.ID, id)
		}
		token := issue(t, awskms.Keys(client, tt.id))
		if _, err := verify(token.as, token.resource, token.access); err != nil {
			t.Errorf("token signed by %s does not verify: %v", tt.id, err)
		}
	}

	// Rotation: the alias moves to the RSA key; the EC key is previous.
	fake.mu.Lock()
	fake.aliases["alias/mcp"] = rsaARN
	before := fake.signs[rsaARN]
	fake.mu.Unlock()
	keys := awskms.Keys(client, "alias/mcp", ecARN)
	set, err := keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, _ := awskms.Key(ctx, client, ecARN)
	if set.Current.Algorithm != "RS256" || len(set.Previous) != 1 || set.Previous[0].ID != ecKey.ID || set.Previous[0].Sign != nil {
		t.Errorf("after rotation: current %s, previous %+v; want RS256 current, the EC key previous and unable to sign", set.Current.Algorithm, set.Previous)
	}
	tok := issue(t, keys)
	if _, err := verify(tok.as, tok.resource, tok.access); err != nil {
		t.Errorf("token after rotation: %v", err)
	}
	fake.mu.Lock()
	if fake.signs[rsaARN] == before {
		t.Error("the token was not signed in KMS with the key the alias now names")
	}
	fake.mu.Unlock()
}

// TestKeyErrors: a missing key and a key of the wrong usage are errors.
func TestKeyErrors(t *testing.T) {
	client := kmsClient(t, newFakeKMS())
	_, err := awskms.Key(context.Background(), client, "alias/missing")
	if err == nil || !strings.Contains(err.Error(), "NotFoundException") {
		t.Errorf("Key(alias/missing) = %v, want NotFoundException", err)
	}
	if _, err := awskms.Keys(client, "alias/missing")(context.Background()); err == nil {
		t.Error("Keys(alias/missing) = nil error")
	}
}

type issued struct {
	as       *authserver.Server
	resource string
	access   string
}

// issue signs a user in through a server signing with keys and returns
// its access token.
func issue(t *testing.T, keys authserver.KeySource) issued {
	t.Helper()
	idp := authtest.NewIssuer(&authtest.IssuerOptions{ClientID: "as", ClientSecret: "s"})
	t.Cleanup(idp.Close)
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	resource := srv.URL + "/mcp"
	as, err := authserver.New(srv.URL, []string{resource}, authserver.Upstream{Issuer: idp.URL, ClientID: "as", ClientSecret: "s"},
		&authserver.Options{Keys: keys, Store: state.NewMemory(nil), Scopes: []string{"mcp"}})
	if err != nil {
		t.Fatal(err)
	}
	h = as
	return issued{as: as, resource: resource, access: flowtest.SignIn(t, srv.URL, resource)}
}

func verify(as *authserver.Server, resource, token string) (string, error) {
	v, err := auth.NewJWTVerifier(as.Issuer(), resource, &auth.JWTOptions{RequireAccessTokenType: true})
	if err != nil {
		return "", err
	}
	ti, err := v.Verify(context.Background(), token, nil)
	if err != nil {
		return "", err
	}
	return ti.UserID, nil
}
