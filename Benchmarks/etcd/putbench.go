// putbench: the etcd side of Benchmarks/compare-etcd.sh. It puts 256-byte
// values with etcd's own Go client (clientv3, from Debian's
// golang-etcd-server-dev) from a number of concurrent clients and prints
// one line: puts/s, p50/p99 latency in milliseconds, and the CPU time per
// put of the servers named by -server-pids (together) and of this client.
// With -floor it makes serializable gets instead, the cheapest call etcd
// answers, and prints the same figures as a "floor" line.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.etcd.io/etcd/clientv3"
)

func main() {
	endpoints := flag.String("endpoints", "127.0.0.1:2379", "comma-separated client URLs")
	clients := flag.Int("clients", 1, "concurrent clients")
	total := flag.Int("total", 10000, "puts in all")
	valueSize := flag.Int("value-size", 256, "bytes per value")
	killPid := flag.Int("failover-kill", 0, "instead: SIGKILL this pid (the leader), then put until one succeeds and print the time")
	serverPids := flag.String("server-pids", "", "comma-separated pids of the servers, whose CPU time per put is printed")
	floor := flag.Bool("floor", false, "instead of puts: serializable gets of one key, answered by the member reached without Raft or disk (the transport's ceiling)")
	flag.Parse()
	if *killPid != 0 {
		failover(strings.Split(*endpoints, ","), *killPid)
		return
	}

	// One connection per 8 clients, as etcd's benchmark tool pairs conns and clients.
	conns := (*clients + 7) / 8
	var pool []*clientv3.Client
	for i := 0; i < conns; i++ {
		c, err := clientv3.New(clientv3.Config{Endpoints: strings.Split(*endpoints, ","), DialTimeout: 5 * time.Second})
		if err != nil {
			fmt.Fprintln(os.Stderr, "putbench: connect:", err)
			os.Exit(1)
		}
		defer c.Close()
		pool = append(pool, c)
	}
	value := strings.Repeat("v", *valueSize)
	latencies := make([]time.Duration, *total)
	var next int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	failures := 0
	serversBefore, ownBefore := serversCPU(*serverPids), ownCPU()
	start := time.Now()
	for w := 0; w < *clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			kv := pool[w%conns]
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if int(i) >= *total {
					return
				}
				t0 := time.Now()
				var err error
				if *floor {
					_, err = kv.Get(context.Background(), "key-00000000", clientv3.WithSerializable())
				} else {
					_, err = kv.Put(context.Background(), fmt.Sprintf("key-%08d", i), value)
				}
				latencies[i] = time.Since(t0)
				if err != nil {
					mu.Lock()
					failures++
					mu.Unlock()
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	serverCPU := (serversCPU(*serverPids) - serversBefore) / float64(*total) * 1e6
	clientCPU := (ownCPU() - ownBefore) / float64(*total) * 1e6
	sort.Slice(latencies, func(a, b int) bool { return latencies[a] < latencies[b] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	if *floor {
		fmt.Printf("etcd floor clients=%d calls=%d failures=%d seconds=%.2f calls/s=%.0f p50_ms=%.2f server_cpu_us=%.0f client_cpu_us=%.0f\n",
			*clients, *total, failures, elapsed.Seconds(), float64(*total)/elapsed.Seconds(),
			ms(latencies[len(latencies)/2]), serverCPU, clientCPU)
		if failures > 0 {
			os.Exit(1)
		}
		return
	}
	fmt.Printf("etcd clients=%d puts=%d failures=%d seconds=%.2f puts/s=%.0f p50_ms=%.2f p99_ms=%.2f server_cpu_us=%.0f client_cpu_us=%.0f\n",
		*clients, *total, failures, elapsed.Seconds(), float64(*total)/elapsed.Seconds(),
		ms(latencies[len(latencies)/2]), ms(latencies[len(latencies)*99/100]), serverCPU, clientCPU)
	if failures > 0 {
		os.Exit(1)
	}
}

// ownCPU is this process's CPU time so far, in seconds.
func ownCPU() float64 {
	var usage syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
	return float64(usage.Utime.Nano()+usage.Stime.Nano()) / 1e9
}

// serversCPU is the CPU time the processes in pids (comma-separated) used so
// far, in seconds: utime and stime of /proc/<pid>/stat, in the kernel's
// USER_HZ of 100 ticks a second.
func serversCPU(pids string) float64 {
	total := 0.0
	for _, pid := range strings.Split(pids, ",") {
		if pid == "" {
			continue
		}
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command, which ends at the last ')': state is the first; utime and stime the 12th and 13th.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		utime, _ := strconv.ParseFloat(fields[11], 64)
		stime, _ := strconv.ParseFloat(fields[12], 64)
		total += (utime + stime) / 100
	}
	return total
}

// failover measures SIGKILL of the leader to the next acknowledged put, as
// RegistrationThroughput does for Caravan: the same 250 ms per attempt.
func failover(endpoints []string, pid int) {
	c, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "putbench: connect:", err)
		os.Exit(1)
	}
	defer c.Close()
	if _, err := c.Put(context.Background(), "failover-warm", "v"); err != nil {
		fmt.Fprintln(os.Stderr, "putbench: warm-up put:", err)
		os.Exit(1)
	}
	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		fmt.Fprintln(os.Stderr, "putbench: kill:", err)
		os.Exit(1)
	}
	for time.Since(killed) < 30*time.Second {
		ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
		_, err := c.Put(ctx, "failover", "v")
		cancel()
		if err == nil {
			fmt.Printf("etcd failover_ms=%.0f\n", float64(time.Since(killed).Microseconds())/1000)
			return
		}
	}
	fmt.Println("etcd failover: no put succeeded within 30 s")
	os.Exit(1)
}
