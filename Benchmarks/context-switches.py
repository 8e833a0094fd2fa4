#!/usr/bin/env python3
"""Context switches per thread of the running caravand processes (and of a
running ClusterThroughput or RegistrationThroughput), over an interval: where
a load's thread hops are.

On this VM a wakeup costs more than most of the work it carries: at 100 wasm
jobs/s a loopback cluster made about 270 switches per job. Run a load, then
this, alongside:

    cd Benchmarks && TMPDIR=/dev/shm/ .build/release/ClusterThroughput \\
        $PWD/../.build/release/caravand 2000 256 wasm 100 &
    sleep 10; python3 context-switches.py 5

Prints the total and the busiest threads as `switches process thread-name`,
where the process is the agent's --name / --node-name (s1, c1, ...) or
`bench`. Counts are voluntary plus involuntary switches from
/proc/PID/task/TID/status.
"""
import collections
import os
import sys
import time


def process_name(argv):
    if b"Throughput" in argv[0]:
        return "bench"
    for flag in (b"--name", b"--node-name"):
        if flag in argv[:-1]:
            return argv[argv.index(flag) + 1].decode()
    return "caravand"


def snapshot():
    counts = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            if not argv or not (b"caravand" in argv[0] or b"Throughput" in argv[0]):
                continue
            name = process_name(argv)
            for tid in os.listdir(f"/proc/{pid}/task"):
                status = open(f"/proc/{pid}/task/{tid}/status").read()
                thread = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
                fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
                switches = int(fields["voluntary_ctxt_switches"]) + int(fields["nonvoluntary_ctxt_switches"])
                counts[(pid, tid)] = (name, thread, switches)
        except (FileNotFoundError, ProcessLookupError, KeyError, ValueError):
            continue  # the process or thread ended meanwhile
    return counts


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    before = snapshot()
    time.sleep(seconds)
    after = snapshot()
    by_thread = collections.Counter()
    for key, (name, thread, switches) in after.items():
        if key in before:
            by_thread[(name, thread)] += switches - before[key][2]
    total = sum(by_thread.values())
    print(f"{total} context switches in {seconds:g} s ({total / seconds:.0f}/s)")
    for (name, thread), switches in by_thread.most_common(25):
        print(f"{switches:8d} {name:8s} {thread}")


if __name__ == "__main__":
    main()
