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
	$(SWIFT) test --skip-build

bench: deps
	cd Benchmarks && $(SWIFT) run -c release RaftThroughput

clean:
	rm -rf .build
