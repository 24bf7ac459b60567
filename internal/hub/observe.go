package hub

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
)

// metrics are the server's Prometheus collectors, in a registry of its own
// (several servers in one process do not collide).
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec   // route, code
	latency   *prometheus.HistogramVec // route
	ingested  *prometheus.CounterVec   // status: accepted, duplicate, rejected
	rejected  *prometheus.CounterVec   // reason
	feedBytes prometheus.Counter
	exported  *prometheus.CounterVec // format
}

func newMetrics(st Store) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rchub_http_requests_total",
		Help: "HTTP requests answered, by route and status code."}, []string{"route", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "rchub_http_request_duration_seconds",
		Help: "Time to answer HTTP requests, by route.", Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}},
		[]string{"route"})
	m.ingested = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rchub_records_ingested_total",
		Help: "Pushed records by outcome: accepted (stored), duplicate (stored before), rejected."}, []string{"status"})
	m.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rchub_records_rejected_total",
		Help: "Rejected records by reason."}, []string{"reason"})
	m.feedBytes = prometheus.NewCounter(prometheus.CounterOpts{Name: "rchub_feed_bytes_total",
		Help: "Bytes of trust feed objects sent to terminals."})
	m.exported = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rchub_records_exported_total",
		Help: "Records written by exports, by format."}, []string{"format"})
	m.reg.MustRegister(m.requests, m.latency, m.ingested, m.rejected, m.feedBytes, m.exported,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if ps, ok := st.(PoolStatter); ok {
		gauge := func(name, help string, f func(PoolStats) float64) {
			m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(ps.PoolStats()) }))
		}
		counter := func(name, help string, f func(PoolStats) float64) {
			m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return f(ps.PoolStats()) }))
		}
		gauge("rchub_db_pool_max_conns", "Largest size of the database connection pool.", func(p PoolStats) float64 { return float64(p.Max) })
		gauge("rchub_db_pool_total_conns", "Connections in the pool.", func(p PoolStats) float64 { return float64(p.Total) })
		gauge("rchub_db_pool_idle_conns", "Idle connections in the pool.", func(p PoolStats) float64 { return float64(p.Idle) })
		gauge("rchub_db_pool_in_use_conns", "Connections in use.", func(p PoolStats) float64 { return float64(p.InUse) })
		counter("rchub_db_pool_acquires_total", "Connections acquired from the pool.", func(p PoolStats) float64 { return float64(p.Acquires) })
		counter("rchub_db_pool_empty_waits_total", "Acquisitions that waited for a connection.", func(p PoolStats) float64 { return float64(p.EmptyWaits) })
		counter("rchub_db_pool_wait_seconds_total", "Time spent waiting for a connection.", func(p PoolStats) float64 { return p.WaitTime.Seconds() })
	}
	return m
}

// countIngest counts the outcomes of one push.
func (m *metrics) countIngest(res []wire.PushResult) {
	for _, r := range res {
		m.ingested.WithLabelValues(r.Status).Inc()
		if r.Status == wire.StatusRejected {
			m.rejected.WithLabelValues(r.Reason).Inc()
		}
	}
}

// statusWriter records the status code and size of a response.
type statusWriter struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (deadlines,
// flushes).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe counts, times and logs one request. Logs name the route (the
// pattern, never the query string: it may hold a plate) and the device id
// of signed requests, never tokens or personal data.
func (s *Server) observe(w http.ResponseWriter, r *http.Request, serve func(http.ResponseWriter, *http.Request)) {
	start := time.Now() // latency is wall-clock time, not domain time
	sw := &statusWriter{ResponseWriter: w}
	// The route is the pattern the request matches (wrappers may serve a
	// copy of r, so it is looked up here rather than read back).
	_, route := s.mux.Handler(r)
	if route == "" {
		route = "unmatched"
	}
	serve(sw, r)
	code := sw.code
	if code == 0 {
		code = http.StatusOK
	}
	d := time.Since(start)
	s.metrics.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	s.metrics.latency.WithLabelValues(route).Observe(d.Seconds())
	if route == routeObject || route == "GET /v1/trust/manifest" {
		s.metrics.feedBytes.Add(float64(sw.bytes))
	}
	level := slogLevel(code)
	if s.log.Enabled(r.Context(), level) {
		s.log.Log(r.Context(), level, "request", "route", route, "status", code, "duration_ms", d.Milliseconds(),
			"bytes", sw.bytes, "device", r.Header.Get(wire.HeaderDevice))
	}
}

// MetricsHandler serves the server's metrics in the Prometheus text format.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}

// handleReady answers GET /v1/ready: 200 when the store answers, 503
// (with Retry-After) when it does not — for load balancers, which then
// send terminals to another replica.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if p, ok := s.store.(Pinger); ok {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := p.Ping(ctx); err != nil {
			s.log.Warn("not ready", "err", err)
			w.Header().Set("Retry-After", retryAfter)
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "hub_time": s.clk.Now().UTC()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "hub_time": s.clk.Now().UTC()})
}

// retryAfter is the Retry-After (seconds) of answers while the store is
// unavailable.
const retryAfter = "5"

// unavailable answers 503 with Retry-After: the request may be retried.
func (s *Server) unavailable(w http.ResponseWriter, err error) {
	s.log.Warn("store unavailable", "err", err)
	w.Header().Set("Retry-After", retryAfter)
	fail(w, http.StatusServiceUnavailable, wire.CodeUnavailable, "the hub's database is unavailable: retry later (your records are kept)")
}

func isUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }

func slogLevel(code int) slog.Level {
	switch {
	case code >= 500:
		return slog.LevelError
	case code >= 400:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}
