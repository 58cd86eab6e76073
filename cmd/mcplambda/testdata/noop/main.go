// Command noop is the smallest aws-lambda-go function: it returns its
// payload unchanged. It is the baseline the cold-start benchmark compares
// examples/time with.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		return payload, nil
	})
}
