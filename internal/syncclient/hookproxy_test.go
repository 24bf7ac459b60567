package syncclient_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// hop is what hookProxy does with one request.
type hop struct {
	// refuse closes the connection without forwarding (the hub is gone).
	refuse bool
	// cutAfter > 0 relays that many bytes of the answer's body, then
	// resets the connection.
	cutAfter int64
	// flip >= 0 inverts the body byte at that offset (corruption on the
	// way); -1: none.
	flip int64
	// lostAnswer forwards the request and reads the hub's answer, then
	// closes the connection without a byte: the answer is lost after the
	// hub acted on the request.
	lostAnswer bool
	// duplicate delivers the request twice and relays the second answer
	// (the first one's is lost).
	duplicate bool
}

var forward = hop{flip: -1}

// hookProxy is a real HTTP/1.1 proxy on loopback in front of the hub that
// streams answers (large objects are never buffered) and lets the test
// decide per request what goes wrong.
type hookProxy struct {
	ln       net.Listener
	upstream string
	hc       *http.Client
	// decide is called for every request with its number (from 1) and
	// whether it came on a connection that carried a request before.
	decide func(n int, r *http.Request, reused bool) hop

	n           atomic.Int64
	objectBytes atomic.Int64 // body bytes relayed of /v1/trust/objects/ answers
	mu          sync.Mutex
	log         []string // "GET /path status" of every relayed answer
	conns       map[net.Conn]struct{}
	wg          sync.WaitGroup
}

func newHookProxy(t testing.TB, upstream string, decide func(n int, r *http.Request, reused bool) hop) *hookProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &hookProxy{ln: ln, upstream: upstream, decide: decide, conns: map[net.Conn]struct{}{},
		hc: &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}}
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

func (p *hookProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *hookProxy) paths() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}

func (p *hookProxy) accept() {
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

func (p *hookProxy) roundTrip(req *http.Request, body []byte) (*http.Response, error) {
	out, err := http.NewRequest(req.Method, "http://"+p.upstream+req.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	out.Header = req.Header.Clone()
	out.ContentLength = int64(len(body))
	return p.hc.Do(out)
}

func (p *hookProxy) serve(client net.Conn) {
	defer client.Close()
	br := bufio.NewReader(client)
	for served := 0; ; served++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return
		}
		h := p.decide(int(p.n.Add(1)), req, served > 0)
		if h.refuse {
			reset(client)
			return
		}
		if h.duplicate {
			if resp, err := p.roundTrip(req, body); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
		resp, err := p.roundTrip(req, body)
		if err != nil {
			reset(client)
			return
		}
		if h.lostAnswer {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			client.Close()
			return
		}
		p.mu.Lock()
		p.log = append(p.log, fmt.Sprintf("%s %s %d", req.Method, req.URL.Path, resp.StatusCode))
		p.mu.Unlock()
		ok := p.relay(client, req, resp, h)
		resp.Body.Close()
		if !ok {
			return
		}
	}
}

// relay writes resp to the client, applying h; false: the connection is
// done.
func (p *hookProxy) relay(client net.Conn, req *http.Request, resp *http.Response, h hop) bool {
	bw := bufio.NewWriter(client)
	fmt.Fprintf(bw, "HTTP/1.1 %s\r\n", resp.Status)
	resp.Header.Del("Content-Length")
	resp.Header.Del("Transfer-Encoding")
	resp.Header.Del("Connection")
	resp.Header.Write(bw)
	closeAfter := resp.ContentLength < 0
	if closeAfter {
		bw.WriteString("Connection: close\r\n")
	} else {
		fmt.Fprintf(bw, "Content-Length: %d\r\n", resp.ContentLength)
	}
	bw.WriteString("\r\n")
	var src io.Reader = resp.Body
	if h.flip >= 0 {
		src = &flipper{r: src, at: h.flip}
	}
	if h.cutAfter > 0 {
		src = io.LimitReader(src, h.cutAfter)
	}
	n, err := io.Copy(bw, src)
	bw.Flush()
	if strings.HasPrefix(req.URL.Path, "/v1/trust/objects/") {
		p.objectBytes.Add(n)
	}
	if h.cutAfter > 0 && (resp.ContentLength < 0 || h.cutAfter < resp.ContentLength) {
		client.Close() // after what was relayed: the client gets exactly cutAfter bytes
		return false
	}
	return err == nil && !closeAfter
}

// flipper inverts the byte at offset at.
type flipper struct {
	r   io.Reader
	at  int64
	off int64
}

func (f *flipper) Read(b []byte) (int, error) {
	n, err := f.r.Read(b)
	if f.at >= f.off && f.at < f.off+int64(n) {
		b[f.at-f.off] ^= 0xff
	}
	f.off += int64(n)
	return n, err
}
