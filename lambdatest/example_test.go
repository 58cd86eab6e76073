package lambdatest_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/mcplambda/mcplambda/lambdatest"
)

// buildBootstrap builds a Lambda bootstrap from a main package the way it
// is built for the provided.al2023 runtime (minus GOOS/GOARCH).
func buildBootstrap(pkg string) (path string, cleanup func()) {
	dir, err := os.MkdirTemp("", "bootstrap-")
	if err != nil {
		log.Fatal(err)
	}
	path = filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", path, pkg)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		log.Fatal(err)
	}
	return path, func() { os.RemoveAll(dir) }
}

func Example() {
	bootstrap, cleanup := buildBootstrap("./testdata/behave")
	defer cleanup()

	f, err := lambdatest.NewFunction(bootstrap, &lambdatest.Options{
		FunctionName: "echo",
		Timeout:      10 * time.Second,
		Stderr:       io.Discard, // the function's logs
		OnReport:     func(r lambdatest.Report) { fmt.Println("cold start:", r.Cold) },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()

	ctx := context.Background()
	for range 2 {
		resp, err := f.Invoke(ctx, []byte(`{"op":"echo","data":"hello"}`))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s %q\n", resp.Payload, resp.FunctionError)
	}
	resp, err := f.Invoke(ctx, []byte(`{"op":"error","message":"bad input"}`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %q\n", resp.Payload, resp.FunctionError)
	// Output:
	// cold start: true
	// "hello" ""
	// cold start: false
	// "hello" ""
	// cold start: false
	// {"errorMessage":"bad input","errorType":"myError"} "Unhandled"
}

func ExampleNewFrontDoor() {
	bootstrap, cleanup := buildBootstrap("./testdata/httpecho")
	defer cleanup()

	f, err := lambdatest.NewFunction(bootstrap, &lambdatest.Options{Stderr: io.Discard})
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()

	// An API Gateway HTTP API on stage "v1" in front of the function.
	srv := httptest.NewServer(lambdatest.NewFrontDoor(f, lambdatest.HTTPAPI, &lambdatest.FrontDoorOptions{Stage: "v1"}))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/v1/hello?mode=stream&chunks=Hello,+world&status=202")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"), strings.TrimSpace(string(body)))
	// Output:
	// 202 text/plain Hello world
}
