package hub_test

import (
	"bytes"
	"io"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkConcurrentObjectDownloads: 50 terminals download the same 64 MiB
// object at once over loopback. It reports the hub's heap in use above idle
// at its peak (sampled every 2 ms; the downloaders discard what they read,
// so nearly all of it is the hub's): objects are streamed from disk, never
// buffered. Run with -bench ConcurrentObjectDownloads -benchtime 1x.
func BenchmarkConcurrentObjectDownloads(b *testing.B) {
	const terminals, size = 50, 64 << 20
	obj := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	f := newFeedHub(b, obj)
	obj, f.obj = nil, nil
	path := "/v1/trust/objects/" + f.ref.Digest.String()
	for range b.N {
		b.StopTimer()
		runtime.GC()
		var idle runtime.MemStats
		runtime.ReadMemStats(&idle)
		var peak atomic.Uint64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			var ms runtime.MemStats
			t := time.NewTicker(2 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					runtime.ReadMemStats(&ms)
					if ms.HeapInuse > peak.Load() {
						peak.Store(ms.HeapInuse)
					}
				}
			}
		}()
		reqs := make([]*http.Request, terminals)
		for i := range reqs {
			reqs[i] = f.signed(b, path)
		}
		b.StartTimer()
		start := time.Now()
		var wg sync.WaitGroup
		var total atomic.Int64
		for _, req := range reqs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Error(resp.StatusCode, err)
				}
				total.Add(n)
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.StopTimer()
		close(stop)
		<-sampled
		if total.Load() != terminals*size {
			b.Fatalf("received %d bytes, want %d", total.Load(), terminals*size)
		}
		above := float64(peak.Load()) - float64(idle.HeapInuse)
		b.ReportMetric(max(above, 0)/(1<<20), "MiB-heap-peak-above-idle")
		b.ReportMetric(float64(total.Load())/(1<<20)/elapsed.Seconds(), "MiB/s")
	}
}
