# The README's test command is `make test`; .ci/run runs exactly that.

.PHONY: test lint bench demo

# The linter is pinned; go run fetches it through the module proxy without
# adding it to go.mod.
STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2

test: lint
	go test -race -count=1 ./...

lint:
	go mod tidy -diff
	go vet ./...
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt -l: these files need gofmt -w:"; echo "$$unformatted"; exit 1; \
	fi
	go run $(STATICCHECK) ./...

bench:
	go test -run '^$$' -bench . ./bench/

demo:
	go run ./cmd/dagr demo
