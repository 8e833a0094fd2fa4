// putbench: the etcd side of Benchmarks/compare-etcd.sh. It puts 256-byte
// values with etcd's own Go client (clientv3, from Debian's
// golang-etcd-server-dev) from a number of concurrent clients and prints
// one line: puts/s and p50/p99 latency in milliseconds.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
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
				_, err := kv.Put(context.Background(), fmt.Sprintf("key-%08d", i), value)
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
	sort.Slice(latencies, func(a, b int) bool { return latencies[a] < latencies[b] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	fmt.Printf("etcd clients=%d puts=%d failures=%d seconds=%.2f puts/s=%.0f p50_ms=%.2f p99_ms=%.2f\n",
		*clients, *total, failures, elapsed.Seconds(), float64(*total)/elapsed.Seconds(),
		ms(latencies[len(latencies)/2]), ms(latencies[len(latencies)*99/100]))
	if failures > 0 {
		os.Exit(1)
	}
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
