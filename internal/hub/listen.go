package hub

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// IsLoopback reports whether a listen address (host:port) binds only to a
// loopback interface. An empty host (all interfaces) is not loopback.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ServeOptions configure Serve.
type ServeOptions struct {
	Addr    string // host:port
	TLSCert string // PEM certificate chain file; empty: plain HTTP (loopback only)
	TLSKey  string // PEM private key file
	// Ready is called with the bound address once the hub listens.
	Ready func(addr net.Addr)
}

// Serve serves h on o.Addr until ctx ends, then shuts down gracefully. It
// serves HTTPS (TLS 1.3) with the configured certificate; plain HTTP is
// refused (ErrPlainHTTP) unless the address is a loopback address.
func Serve(ctx context.Context, o ServeOptions, h http.Handler) error {
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return fmt.Errorf("%w: give both --tls-cert and --tls-key", ErrBadInput)
	}
	var tlsConf *tls.Config
	if o.TLSCert != "" {
		if err := CheckKeyFileMode(o.TLSKey); err != nil { // tlskey.go
			return err
		}
		cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return fmt.Errorf("hub: TLS certificate: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}
	} else if !IsLoopback(o.Addr) {
		return fmt.Errorf("%w (address %q)", ErrPlainHTTP, o.Addr)
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("hub: listen: %w", err)
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	if o.Ready != nil {
		o.Ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := srv.Shutdown(sctx)
		if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
			err = e
		}
		return err
	}
}
