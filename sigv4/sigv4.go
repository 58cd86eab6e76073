// Package sigv4 signs HTTP requests with AWS Signature Version 4, for MCP
// servers behind a Lambda function URL or an API Gateway API that use IAM
// authorization (AuthType AWS_IAM).
//
// A [Transport] is an [http.RoundTripper] that signs every request it
// sends, body included, with aws-sdk-go-v2's signer. Put it into go-sdk's
// streamable client transport:
//
//	client := &http.Client{Transport: sigv4.NewTransport(nil)}
//	t := &mcp.StreamableClientTransport{
//		Endpoint:   "https://abc123.lambda-url.eu-west-1.on.aws/mcp",
//		HTTPClient: client,
//	}
//
// The service and region come from the URL's host when it is a function
// URL (service lambda) or an execute-api endpoint (service execute-api);
// a custom domain needs [Options.Service] and [Options.Region].
// Credentials come from the default AWS configuration chain unless
// [Options.Credentials] supplies them. Every attempt is signed when it is
// sent, so retries and redirects carry a fresh, valid signature.
package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/mcplambda/mcplambda/internal/awsconfig"
)

// Services that serve MCP endpoints with IAM authorization.
const (
	ServiceLambda     = "lambda"      // Lambda function URLs
	ServiceExecuteAPI = "execute-api" // API Gateway REST and HTTP APIs
)

// ErrNoRegion is returned for a request whose region is neither in the
// options, nor in its URL, nor in the AWS configuration.
var ErrNoRegion = errors.New("sigv4: no region: set the region, or use a function URL or execute-api host")

// ErrNoCredentials is wrapped by the error of a request when the default
// AWS configuration chain finds no credentials; its message says, in one
// line, what to set.
var ErrNoCredentials = awsconfig.ErrNoCredentials

// Options configures a [Transport]. The zero value of every field is a
// documented default.
type Options struct {
	// Service is the signing name. "" means the one the URL's host names:
	// "lambda" for *.lambda-url.REGION.on.aws, "execute-api" for
	// *.execute-api.REGION.amazonaws.com; a request to another host fails.
	Service string

	// Region is the signing region. "" means the region in the URL's host,
	// else the AWS configuration's.
	Region string

	// Credentials sign the requests. nil means the default AWS
	// configuration chain (environment, shared files, SSO, container and
	// instance roles), loaded on the first request.
	Credentials aws.CredentialsProvider

	// Base sends the signed requests. nil means http.DefaultTransport.
	Base http.RoundTripper

	// ContentSHA256 adds the X-Amz-Content-Sha256 header with the body's
	// hash, which some intermediaries (CloudFront origin access control)
	// require. false means the hash is only part of the signature.
	ContentSHA256 bool

	// Now is the clock for the signing time. nil means time.Now.
	Now func() time.Time
}

// Transport is an [http.RoundTripper] that signs requests with SigV4. It
// is safe for concurrent use.
type Transport struct {
	opts Options // set at construction

	mu     sync.Mutex
	signer *v4.Signer              // guarded by mu; it caches signing keys by access key id
	creds  aws.CredentialsProvider // the loaded default chain, guarded by mu
	region string                  // its region, guarded by mu
}

var _ http.RoundTripper = (*Transport)(nil)

// NewTransport returns a signing transport. Options may be nil.
func NewTransport(opts *Options) *Transport {
	t := &Transport{signer: v4.NewSigner()}
	if opts != nil {
		t.opts = *opts
	}
	if t.opts.Base == nil {
		t.opts.Base = http.DefaultTransport
	}
	if t.opts.Now == nil {
		t.opts.Now = time.Now
	}
	return t
}

// HostService returns the service and region that an AWS endpoint host
// names: a Lambda function URL or an API Gateway execute-api endpoint
// (including private API VPC endpoint names). ok is false for other hosts.
func HostService(host string) (service, region string, ok bool) {
	host = strings.ToLower(host)
	if h, _, found := strings.Cut(host, ":"); found {
		host = h
	}
	labels := strings.Split(host, ".")
	for i := 1; i+1 < len(labels); i++ {
		switch {
		case labels[i] == "lambda-url" && strings.HasPrefix(strings.Join(labels[i+2:], "."), "on.aws"):
			return ServiceLambda, labels[i+1], true
		case labels[i] == "execute-api" && strings.Contains(strings.Join(labels[i+2:], "."), "amazonaws.com"):
			return ServiceExecuteAPI, labels[i+1], true
		}
	}
	return "", "", false
}

// credentials returns the credentials provider and the configured region.
func (t *Transport) credentials(ctx context.Context) (aws.CredentialsProvider, string, error) {
	if t.opts.Credentials != nil {
		return t.opts.Credentials, "", nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.creds == nil {
		cfg, err := awsconfig.Load(ctx, "", "")
		if err != nil {
			return nil, "", fmt.Errorf("sigv4: loading the AWS configuration: %w", err)
		}
		if cfg.Credentials == nil {
			return nil, "", errors.New("sigv4: no AWS credentials found")
		}
		t.creds, t.region = cfg.Credentials, cfg.Region
	}
	return t.creds, t.region, nil
}

// Refresh makes the next request retrieve credentials afresh: it drops
// the default chain loaded by an earlier request (so the next one loads it
// again, picking up a new SSO session, profile or environment), or
// invalidates [Options.Credentials] when it is an [aws.CredentialsCache].
// A caller whose signed request was refused with 401 or 403 may Refresh
// and retry once.
func (t *Transport) Refresh() {
	t.mu.Lock()
	defer t.mu.Unlock()
	// A new signer: the old one keeps the signing keys it derived, by
	// access key id, which a rotated secret may share.
	t.signer = v4.NewSigner()
	if c, ok := t.opts.Credentials.(*aws.CredentialsCache); ok {
		c.Invalidate()
		return
	}
	t.creds, t.region = nil, ""
}

// RoundTrip implements [http.RoundTripper]: it signs a copy of req and
// sends it with the base transport.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	closeBody := func() {
		if req.Body != nil {
			req.Body.Close()
		}
	}
	ctx := req.Context()
	hostService, hostRegion, _ := HostService(req.URL.Host)
	service := t.opts.Service
	if service == "" {
		service = hostService
	}
	if service == "" {
		closeBody()
		return nil, fmt.Errorf("sigv4: cannot tell the service from host %q: set it (lambda or execute-api)", req.URL.Host)
	}
	creds, cfgRegion, err := t.credentials(ctx)
	if err != nil {
		closeBody()
		return nil, err
	}
	region := t.opts.Region
	if region == "" {
		region = hostRegion
	}
	if region == "" {
		region = cfgRegion
	}
	if region == "" {
		closeBody()
		return nil, ErrNoRegion
	}
	c, err := creds.Retrieve(ctx)
	if err != nil {
		closeBody()
		if t.opts.Credentials == nil {
			err = awsconfig.Explain(creds, err)
		}
		return nil, fmt.Errorf("sigv4: retrieving AWS credentials: %w", err)
	}

	// A RoundTripper must not modify req: sign a clone, with the body
	// read into memory so that it can be hashed and sent.
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("sigv4: reading the request body: %w", err)
		}
	}
	r := req.Clone(ctx)
	r.ContentLength = int64(len(body))
	if len(body) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	} else {
		r.Body, r.GetBody = http.NoBody, func() (io.ReadCloser, error) { return http.NoBody, nil }
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	r.Header.Del("Authorization")
	r.Header.Del("X-Amz-Date")
	r.Header.Del("X-Amz-Security-Token")
	if t.opts.ContentSHA256 {
		r.Header.Set("X-Amz-Content-Sha256", hash)
	}
	t.mu.Lock()
	signer := t.signer
	t.mu.Unlock()
	if err := signer.SignHTTP(ctx, c, r, hash, service, region, t.opts.Now().UTC()); err != nil {
		return nil, fmt.Errorf("sigv4: signing: %w", err)
	}
	return t.opts.Base.RoundTrip(r)
}
