# The README's test command is `make test`; .ci/run runs exactly that.

.PHONY: test bench demo

test:
	go vet ./...
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt -l: these files need gofmt -w:"; echo "$$unformatted"; exit 1; \
	fi
	go test -race -count=1 ./...

bench:
	go test -run '^$$' -bench . ./bench/

demo:
	go run ./cmd/dagr demo
