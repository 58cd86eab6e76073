# Quick start: `make run` serves examples/time locally; `make test` installs
# what the tests need and runs every check and test (this is what CI runs).

.PHONY: run test bench tools

run:
	go run ./examples/time

test:
	scripts/test.sh

tools:
	scripts/install-test-tools.sh

bench:
	go test -run XXX -bench . -count 5 .
