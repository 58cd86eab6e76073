package mcplambda

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/aws/aws-lambda-go/lambda"
)

// NewLambdaHandler returns a lambda.Handler that answers Function URL, API
// Gateway HTTP API (payload 2.0), API Gateway REST API (payload 1.0),
// Application Load Balancer and direct-invoke events by serving them with h.
func NewLambdaHandler(h http.Handler, opts *Options) lambda.Handler {
	return lambdaHandler{h: h}
}

type lambdaHandler struct{ h http.Handler }

func (lh lambdaHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	_ = json.Valid(payload)
	return nil, errors.New("mcplambda: not implemented yet")
}
