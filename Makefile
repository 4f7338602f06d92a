# The README's test command is `make test`; .ci/run runs exactly that.

.PHONY: test lint fuzz bench bench-deep bench-workers bench-logoff pictures demo

# The tools are pinned; go run fetches them through the module proxy
# without adding them to go.mod.
STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2
BENCHSTAT = golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
BENCHCOUNT ?= 8

# The dashboard's browser test needs Chromium: .ci/chromium installs
# Debian's package if it is missing, and the test fails instead of
# skipping without it. The root package's tests take 3-6 minutes under
# -race here: -timeout 20m leaves a slower machine room under go test's
# default of 10 minutes per package (tests that could hang have
# deadlines of their own).
test: lint fuzz
	.ci/chromium
	DAGR_REQUIRE_CHROMIUM=1 go test -race -count=1 -timeout 20m ./...

# Every fuzz target (each decoder of what other processes send), for
# FUZZTIME each, from its committed corpus in testdata/fuzz; a crash
# fails the build and leaves the input that crashed there. FUZZTIME is a
# count of executions (Nx): a duration limit (3s, 1m) can fail with a bare
# "context deadline exceeded" and no crasher, a race in Go 1.26's fuzzing
# coordinator (go.dev/issue/75804, fixed in Go 1.27) that a fresh-clone
# run of FuzzDecodeUp hit.
FUZZTIME ?= 20000x
fuzz:
	@for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for t in $$(grep -h '^func Fuzz' $$dir/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo "go test -run '^\$$' -fuzz '^$$t\$$' -fuzztime $(FUZZTIME) $$dir"; \
			go test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$dir || exit 1; \
		done; \
	done

lint:
	go mod tidy -diff
	go vet ./...
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt -l: these files need gofmt -w:"; echo "$$unformatted"; exit 1; \
	fi
	go run $(STATICCHECK) ./...

# Every workload of bench/ on one process, dagr beside its baselines,
# BENCHCOUNT times; the raw results go to bench.out and benchstat prints
# their medians.
bench:
	go test -run '^$$' -bench . -skip 'CliffDeepLarge|Remote|W6Workers' -count $(BENCHCOUNT) -timeout 60m ./bench/ | tee bench.out
	go run $(BENCHSTAT) bench.out

# The deepest recursions (100k levels on 2 processors, 1M on 1), left out of
# bench for their time and memory: the 1M goroutine-per-level baseline
# alone takes some 20 s and 3 GB per run.
bench-deep:
	go test -run '^$$' -bench CliffDeepLarge -count 3 -timeout 60m ./bench/ | tee bench-deep.out
	go run $(BENCHSTAT) bench-deep.out

# The benchmarks with worker processes: a remote round trip beside raw
# NATS, throughput to two workers, 64 MiB between workers, W6 on workers.
bench-workers:
	go test -run '^$$' -bench 'Remote|W6Workers|Recovery' -count 3 -timeout 30m ./bench/ | tee bench-workers.out

# What the event log and timing cost while they are off: W1 with dagr in a
# build that has no log or timing sites at all (tag dagrnolog) and in the
# usual one, one after the other LOGOFFRUNS times, so that both see the
# same moods of the machine; benchstat compares them (nolog.out against
# log.out).
LOGOFFRUNS ?= 10
bench-logoff:
	go test -c -o bench-nolog.test -tags dagrnolog ./bench/
	go test -c -o bench-log.test ./bench/
	rm -f nolog.out log.out
	for i in $$(seq $(LOGOFFRUNS)); do \
		./bench-nolog.test -test.run '^$$' -test.bench 'W1FanOut$$/dagr' -test.benchtime 2s | tee -a nolog.out; \
		./bench-log.test -test.run '^$$' -test.bench 'W1FanOut$$/dagr' -test.benchtime 2s | tee -a log.out; \
	done
	go run $(BENCHSTAT) nolog.out log.out

# The README's pictures, made by the code: the timeline of the demo's
# multiplication on two processors, and the dashboard's screenshot from its
# browser test.
pictures:
	tmp=$$(mktemp -d) && go run ./cmd/dagr demo -procs 2 -n 256 -trace $$tmp && cp $$tmp/timeline.svg docs/timeline.svg && rm -r $$tmp
	DAGR_DASH_SCREENSHOT=$$PWD/docs/dashboard.png go test -count=1 -run TestDashboardInChromium .

demo:
	go run ./cmd/dagr demo
