// Command httpecho is a Lambda bootstrap for the front-door tests. It
// answers Function URL / HTTP API (payload 2.0), REST API (payload 1.0) and
// ALB events (in the request's header mode); the query parameter "mode"
// picks the response:
//
//	(none)  200, the event as a JSON body, headers and cookies
//	body    the request body as a binary (base64) response body
//	stream  a streamed response (prelude, then the body in chunks)
//	error   a function error
//	big     a body of "n" bytes
//	raw     a JSON document that is not an HTTP response
//	wrong   (ALB) headers in the other mode than the request's
//
// and the query parameter "gate" is a URL it GETs before answering (in
// stream mode: between chunks).
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Version        string `json:"version"`
		RequestContext struct {
			ELB *json.RawMessage `json:"elb"`
		} `json:"requestContext"`
	}
	_ = json.Unmarshal(raw, &probe)
	if probe.RequestContext.ELB != nil {
		return alb(raw)
	}
	var (
		query   map[string]string
		body    string
		b64     bool
		v2      = probe.Version == "2.0"
		v2event events.APIGatewayV2HTTPRequest
		v1event events.APIGatewayProxyRequest
	)
	if v2 {
		if err := json.Unmarshal(raw, &v2event); err != nil {
			return nil, err
		}
		query, body, b64 = v2event.QueryStringParameters, v2event.Body, v2event.IsBase64Encoded
	} else {
		if err := json.Unmarshal(raw, &v1event); err != nil {
			return nil, err
		}
		query, body, b64 = v1event.QueryStringParameters, v1event.Body, v1event.IsBase64Encoded
	}
	status := 200
	if s, err := strconv.Atoi(query["status"]); err == nil {
		status = s
	}
	gate := func() {
		if query["gate"] != "" {
			if resp, err := http.Get(query["gate"]); err == nil {
				resp.Body.Close()
			}
		}
	}
	if query["mode"] != "stream" {
		gate()
	}
	respBody, respB64 := string(raw), false
	headers := map[string]string{"Content-Type": "application/json", "X-Echo": "yes"}
	cookies := []string{"a=1", "b=2; Path=/"}
	switch query["mode"] {
	case "error":
		return nil, errors.New("handler failed")
	case "raw":
		return map[string]string{"hello": "world"}, nil
	case "body":
		if b64 {
			respBody, respB64 = body, true
		} else {
			respBody, respB64 = base64.StdEncoding.EncodeToString([]byte(body)), true
		}
		headers["Content-Type"] = "application/octet-stream"
	case "big":
		n, _ := strconv.Atoi(query["n"])
		respBody = strings.Repeat("x", n)
		headers["Content-Type"] = "text/plain"
	case "stream":
		chunks := strings.Split(query["chunks"], ",")
		r, w := io.Pipe()
		go func() {
			for i, c := range chunks {
				if i > 0 {
					gate()
				}
				w.Write([]byte(c))
			}
			w.Close()
		}()
		headers["Content-Type"] = "text/plain"
		if v2 {
			return &events.LambdaFunctionURLStreamingResponse{StatusCode: status, Headers: headers, Cookies: cookies, Body: r}, nil
		}
		return &events.APIGatewayProxyStreamingResponse{StatusCode: status, Headers: headers,
			MultiValueHeaders: map[string][]string{"X-Multi": {"1", "2"}}, Body: r}, nil
	}
	if v2 {
		return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: headers, Cookies: cookies, Body: respBody, IsBase64Encoded: respB64}, nil
	}
	return events.APIGatewayProxyResponse{StatusCode: status, Headers: headers,
		MultiValueHeaders: map[string][]string{"X-Multi": {"1", "2"}, "Set-Cookie": cookies}, Body: respBody, IsBase64Encoded: respB64}, nil
}

// alb answers an ALB event.
func alb(raw json.RawMessage) (any, error) {
	var ev events.ALBTargetGroupRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	query := ev.QueryStringParameters
	if ev.MultiValueQueryStringParameters != nil {
		query = map[string]string{}
		for k, vs := range ev.MultiValueQueryStringParameters {
			query[k] = vs[len(vs)-1]
		}
	}
	status := 200
	if s, err := strconv.Atoi(query["status"]); err == nil {
		status = s
	}
	if query["gate"] != "" {
		if resp, err := http.Get(query["gate"]); err == nil {
			resp.Body.Close()
		}
	}
	resp := events.ALBTargetGroupResponse{StatusCode: status, StatusDescription: strconv.Itoa(status) + " " + http.StatusText(status), Body: string(raw)}
	headers := map[string][]string{"Content-Type": {"application/json"}, "X-Echo": {"yes"}, "Set-Cookie": {"a=1", "b=2; Path=/"}}
	switch query["mode"] {
	case "error":
		return nil, errors.New("handler failed")
	case "raw":
		return map[string]string{"hello": "world"}, nil
	case "big":
		n, _ := strconv.Atoi(query["n"])
		resp.Body = strings.Repeat("x", n)
		headers["Content-Type"] = []string{"text/plain"}
	case "body":
		resp.Body, resp.IsBase64Encoded = ev.Body, ev.IsBase64Encoded
		if !ev.IsBase64Encoded {
			resp.Body, resp.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(ev.Body)), true
		}
		headers["Content-Type"] = []string{"application/octet-stream"}
	}
	multi := ev.MultiValueHeaders != nil
	if query["mode"] == "wrong" {
		multi = !multi
	}
	if multi {
		resp.MultiValueHeaders = headers
	} else {
		resp.Headers = map[string]string{}
		for k, vs := range headers {
			resp.Headers[k] = vs[len(vs)-1]
		}
	}
	if query["mode"] == "stream" {
		b, err := json.Marshal(resp)
		if err != nil {
			return nil, err
		}
		return strings.NewReader(string(b)), nil
	}
	return resp, nil
}

func main() {
	lambda.Start(handle)
}
