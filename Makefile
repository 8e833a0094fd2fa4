# The two commands of the Quick start. Each installs what it needs first.
.PHONY: run test build deps bench clean

SWIFT ?= swift

deps:
	@scripts/install-system-packages.sh

build: deps
	$(SWIFT) build

## run: the main job (today: the embedded Raft example; a local cluster once the agent lands)
run: deps
	$(SWIFT) run -c release replicated-kv

## test: build and pass every test
test: deps
	$(SWIFT) build --build-tests
	@# A private Docker engine for the Executor's docker tests; one this started stops on any exit.
	scripts/dockerd-test.sh status || started=1; \
	trap '[ -z "$$started" ] || scripts/dockerd-test.sh stop' EXIT; \
	if scripts/dockerd-test.sh start; then export CARAVAN_TEST_DOCKER_SOCKET="$$(scripts/dockerd-test.sh socket)"; \
	else echo "make test: dockerd did not start; the docker driver tests will be skipped"; fi; \
	$(SWIFT) test --skip-build --skip AgentTests
	@# The multi-process cluster tests run alone: in one process with the CPU-bound
	@# simulation, their async calls would wait behind it on the two-thread pool.
	$(SWIFT) test --skip-build --filter AgentTests

bench: deps
	cd Benchmarks && $(SWIFT) run -c release RaftThroughput

clean:
	rm -rf .build
