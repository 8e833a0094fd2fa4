#!/usr/bin/env bash
# Runs `swift test --skip-build <args>` bounded by TEST_LIMIT seconds.
# When the bound is hit, a log's tail does not say which test hung (suites run
# in parallel), so this names every test that started and never ended.
set -uo pipefail
limit="${TEST_LIMIT:-900}"
swift="${SWIFT:-swift}"
log="$(mktemp "${TMPDIR:-/tmp}/caravan-test.XXXXXX")"
trap 'rm -f "$log"' EXIT

# Line-buffered, so that what a hung run printed last is not stuck in a buffer.
timeout -k 10 "$limit" stdbuf -oL -eL "$swift" test --skip-build "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo
    echo "bounded-test: the run passed its ${limit} s bound; tests that started and never ended:"
    # Swift Testing prints "Test name() started." and later "Test name() passed/failed ...".
    sed -En 's/^.*Test (.*) started\.$/\1/p' "$log" | sort -u > "$log.started"
    sed -En 's/^.*Test (.*) ((passed|failed) after [0-9.]+ seconds|skipped).*$/\1/p' "$log" \
        | sed -E 's/ with [0-9]+ test cases?$//' | sort -u > "$log.ended"
    comm -23 "$log.started" "$log.ended" | sed 's/^/  /'
    rm -f "$log.started" "$log.ended"
fi
exit "$rc"
