package sigv4_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/mcplambda/mcplambda/sigv4"
)

func Example() {
	// A stand-in for an IAM-authorized function URL, which shows what it
	// receives.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		fmt.Println(auth[:strings.Index(auth, "Signature=")])
	}))
	defer srv.Close()

	// In a program, NewTransport(nil) signs with the default AWS credential
	// chain, for the service and region in a function URL's host name.
	client := &http.Client{Transport: sigv4.NewTransport(&sigv4.Options{
		Service:     sigv4.ServiceLambda,
		Region:      "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		Now:         func() time.Time { return time.Date(2026, 7, 28, 12, 0, 0, 0, time.UTC) },
	})}
	// Put client into mcp.StreamableClientTransport.HTTPClient; here, one
	// request by hand.
	resp, err := client.Post(srv.URL+"/mcp", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	// Output:
	// AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260728/eu-west-1/lambda/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-date,
}
