package syncclient_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Fault kinds the proxy injects, in round-robin order.
const (
	faultDrop         = iota // close the client connection without forwarding
	faultDelay               // forward after a pause
	faultResetMidBody        // forward half the request, then reset both sides
	faultCutResponse         // forward the request, return half the answer, reset
	fault500                 // answer 500 itself
	fault503                 // answer 503 with Retry-After: 0 itself
	faultDuplicate           // deliver the request twice (the copy's answer is dropped)
	numFaults
)

var faultNames = [numFaults]string{"drop", "delay", "reset-mid-body", "cut-response", "500", "503+Retry-After", "duplicate"}

// faultProxy is a real TCP proxy on loopback that speaks HTTP/1.1 on both
// sides and injects faults into a fraction of the requests.
type faultProxy struct {
	ln       net.Listener
	upstream string
	rate     float64

	mu     sync.Mutex
	rng    *rand.Rand
	next   int
	counts [numFaults]int
	total  int
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func newFaultProxy(t testing.TB, upstream string, rate float64, seed uint64) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, upstream: upstream, rate: rate, rng: rand.New(rand.NewPCG(seed, 7)), conns: map[net.Conn]struct{}{}}
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *faultProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *faultProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serve(c)
			p.mu.Lock()
			delete(p.conns, c)
			p.mu.Unlock()
		}()
	}
}

// decide returns the fault for the next request (-1: none).
func (p *faultProxy) decide() (int, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total++
	delay := time.Duration(p.rng.IntN(20)) * time.Millisecond
	if p.rng.Float64() >= p.rate {
		return -1, 0
	}
	f := p.next
	p.next = (p.next + 1) % numFaults
	p.counts[f]++
	return f, delay
}

func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0) // RST instead of FIN
	}
	c.Close()
}

func (p *faultProxy) serve(client net.Conn) {
	defer client.Close()
	br := bufio.NewReader(client)
	var up net.Conn
	var upBr *bufio.Reader
	defer func() {
		if up != nil {
			up.Close()
		}
	}()
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return
		}
		var raw bytes.Buffer
		req.Body = io.NopCloser(bytes.NewReader(body))
		if err := req.Write(&raw); err != nil {
			return
		}
		fault, delay := p.decide()
		switch fault {
		case faultDrop:
			reset(client)
			return
		case faultResetMidBody:
			if c, err := net.Dial("tcp", p.upstream); err == nil {
				c.Write(raw.Bytes()[:raw.Len()/2])
				reset(c)
			}
			reset(client)
			return
		case fault500, fault503:
			status := "500 Internal Server Error"
			if fault == fault503 {
				status = "503 Service Unavailable\r\nRetry-After: 0"
			}
			fmt.Fprintf(client, "HTTP/1.1 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status)
			return
		case faultDelay:
			time.Sleep(delay)
		case faultDuplicate:
			// The first delivery's answer is lost; the second is relayed.
			if c, err := net.Dial("tcp", p.upstream); err == nil {
				c.Write(raw.Bytes())
				if resp, err := http.ReadResponse(bufio.NewReader(c), req); err == nil {
					io.Copy(io.Discard, resp.Body)
				}
				c.Close()
			}
		}
		if up == nil {
			if up, err = net.Dial("tcp", p.upstream); err != nil {
				reset(client)
				return
			}
			upBr = bufio.NewReader(up)
		}
		if _, err := up.Write(raw.Bytes()); err != nil {
			reset(client)
			return
		}
		resp, err := http.ReadResponse(upBr, req)
		if err != nil {
			reset(client)
			return
		}
		var out bytes.Buffer
		err = resp.Write(&out)
		resp.Body.Close()
		if err != nil {
			return
		}
		if fault == faultCutResponse {
			client.Write(out.Bytes()[:out.Len()*2/3])
			reset(client)
			return
		}
		if _, err := client.Write(out.Bytes()); err != nil {
			return
		}
	}
}

func (p *faultProxy) report() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := fmt.Sprintf("%d requests;", p.total)
	for i, n := range p.counts {
		s += fmt.Sprintf(" %s=%d", faultNames[i], n)
	}
	return s
}

func (p *faultProxy) faultCounts() [numFaults]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts
}
