package hostcheck_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/mcplambda/mcplambda/internal/hostcheck"
)

// A local-only endpoint refuses a request whose Host is not this machine.
func ExampleOwnHost() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostcheck.OwnHost(r) {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		fmt.Fprint(w, "ok")
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, host := range []string{"", "localhost:8080", "evil.example.com"} {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		if host == "" {
			host = "(the server's address)"
		}
		fmt.Printf("Host %s: %d\n", host, resp.StatusCode)
	}
	// Output:
	// Host (the server's address): 200
	// Host localhost:8080: 200
	// Host evil.example.com: 403
}
