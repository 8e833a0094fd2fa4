# The two commands of the Quick start. Each installs what it needs first.
.PHONY: run test build deps bench clean

SWIFT ?= swift

# RaftCore and its simulation tests build optimized even in debug builds (see
# Package.swift): run `swift test` by hand with this set too, or it rebuilds.
export CARAVAN_OPTIMIZE_CORE = 1

deps:
	@scripts/install-system-packages.sh

build: deps
	$(SWIFT) build

## run: the main job: a local cluster (3 servers, 2 clients) running the example jobs
run: deps
	$(SWIFT) build --product caravand
	$(SWIFT) build --product caravan
	scripts/run-local-cluster.sh

## test: build and pass every test
# Each run is bounded (TEST_LIMIT seconds, scripts/bounded-test.sh) so a hung test
# fails the build, naming the tests that never ended, instead of the CI clock.
# The pure, CPU-bound suites run apart from the ones
# doing real I/O, and the multi-process cluster tests apart from both: on the
# two-thread cooperative pool, an I/O test's async calls would otherwise wait
# behind minutes of simulation and miss their time limits.
TEST_LIMIT ?= 900
PURE_SUITES = RaftCoreTests|SchedulerTests|ModelTests
test: deps
	SWIFT=$(SWIFT) scripts/check-dependable.sh
	$(SWIFT) build --build-tests
	TEST_LIMIT=$(TEST_LIMIT) SWIFT=$(SWIFT) scripts/bounded-test.sh --filter '$(PURE_SUITES)'
	@# A private Docker engine for the Executor's docker tests; one this started stops on any exit.
	scripts/dockerd-test.sh status || started=1; \
	trap '[ -z "$$started" ] || scripts/dockerd-test.sh stop' EXIT; \
	if scripts/dockerd-test.sh start; then export CARAVAN_TEST_DOCKER_SOCKET="$$(scripts/dockerd-test.sh socket)"; \
	else echo "make test: dockerd did not start; the docker driver tests will be skipped"; fi; \
	TEST_LIMIT=$(TEST_LIMIT) SWIFT=$(SWIFT) scripts/bounded-test.sh --skip '$(PURE_SUITES)|AgentTests'
	TEST_LIMIT=$(TEST_LIMIT) SWIFT=$(SWIFT) scripts/bounded-test.sh --filter AgentTests

bench: deps
	cd Benchmarks && $(SWIFT) run -c release RaftThroughput

clean:
	rm -rf .build
