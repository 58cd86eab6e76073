// Package awsconfig loads the AWS configuration of mcplambda's AWS clients
// (packages invoke and sigv4), so that they treat a local emulator and a
// missing configuration the same way:
//
//   - an Invoke API endpoint on a loopback address, such as the one
//     "mcplambda dev" prints, needs no AWS configuration at all: [Load]
//     gives it static placeholder credentials and region us-east-1 (unless
//     a region is named) and reads nothing from the machine;
//   - anything else uses the default chain (environment, shared config and
//     credentials files, SSO, container and instance roles), with the SDK's
//     own log output off;
//   - when that chain finds no credentials, [Explain] turns the SDK's long
//     error (which ends in the instance metadata service) into one line
//     that says what to set.
//
// A client loads and checks its configuration like this:
//
//	cfg, err := awsconfig.Load(ctx, region, endpoint)
//	if err != nil {
//		return err
//	}
//	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
//		return awsconfig.Explain(cfg.Credentials, err)
//	}
package awsconfig

import (
	"context"
	"errors"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/smithy-go/logging"
	"github.com/mcplambda/mcplambda/internal/hostcheck"
)

// LocalRegion is the region of a loopback endpoint when none is named.
const LocalRegion = "us-east-1"

// ErrNoCredentials is wrapped by the error [Explain] returns when the
// default chain found no credentials anywhere.
var ErrNoCredentials = errors.New("no AWS credentials found")

// Load returns the AWS configuration for a client of endpoint (the base URL
// of an AWS API; "" means AWS's own) in region ("" means the
// configuration's). A loopback endpoint gets static placeholder
// credentials and region (region, else [LocalRegion]) without reading
// anything from the environment or the disk.
func Load(ctx context.Context, region, endpoint string) (aws.Config, error) {
	if IsLoopback(endpoint) {
		if region == "" {
			region = LocalRegion
		}
		return aws.Config{
			Region:      region,
			Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("mcplambda-local", "mcplambda-local", "")),
			Logger:      logging.Nop{},
		}, nil
	}
	optFns := []func(*config.LoadOptions) error{config.WithLogger(logging.Nop{})}
	if region != "" {
		optFns = append(optFns, config.WithRegion(region))
	}
	return config.LoadDefaultConfig(ctx, optFns...)
}

// IsLoopback reports whether endpoint is an http(s) URL whose host is a
// loopback address or localhost.
func IsLoopback(endpoint string) bool {
	if endpoint == "" {
		return false
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return hostcheck.IsLoopback(u.Host)
}

// Explain returns err, the failure to retrieve credentials from provider,
// as an error of one readable line wrapping [ErrNoCredentials] when
// provider is the end of the default chain (the instance role): nothing
// else in the chain had credentials. Other errors (an expired SSO session,
// a broken profile) are returned as they are.
func Explain(provider aws.CredentialsProvider, err error) error {
	if err == nil || !aws.IsCredentialsProvider(provider, (*ec2rolecreds.Provider)(nil)) {
		return err
	}
	return &noCredentialsError{err: err}
}

type noCredentialsError struct{ err error }

func (e *noCredentialsError) Error() string {
	return "no AWS credentials found (environment, shared config and credentials files, SSO, container or instance role): " +
		"set AWS_PROFILE to a configured profile (aws configure, aws sso login) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
}

func (e *noCredentialsError) Unwrap() []error { return []error{ErrNoCredentials, e.err} }
