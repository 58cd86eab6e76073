// Command initfail is a Lambda bootstrap that fails during init: it posts
// to /runtime/init/error when INIT_MODE=post, and exits otherwise.
package main

import (
	"fmt"
	"net/http"
	"os"
	"strings"
)

func main() {
	if os.Getenv("INIT_MODE") == "post" {
		req, _ := http.NewRequest(http.MethodPost, "http://"+os.Getenv("AWS_LAMBDA_RUNTIME_API")+"/2018-06-01/runtime/init/error",
			strings.NewReader(`{"errorMessage":"config missing","errorType":"Runtime.InitError"}`))
		req.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
	}
	fmt.Fprintln(os.Stderr, "init failed")
	os.Exit(3)
}
