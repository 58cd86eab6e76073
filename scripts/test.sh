#!/usr/bin/env bash
# The README's test command (via `make test`) and what CI runs: installs the
# real peers the tests use, then gofmt, go vet, staticcheck and every test.
# Tests that need a tool fail instead of skipping (MCPLAMBDA_REQUIRE_TOOLS=1).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-tools.sh

echo "== gofmt"
unformatted=$(git ls-files --cached --others --exclude-standard '*.go' | xargs gofmt -l)
if [ -n "$unformatted" ]; then
	echo "gofmt needed:" >&2
	echo "$unformatted" >&2
	exit 1
fi

echo "== go vet"
go vet ./...

echo "== staticcheck"
.tools/bin/staticcheck ./...

echo "== go test"
MCPLAMBDA_REQUIRE_TOOLS=1 go test -count=1 -timeout 40m ./...
