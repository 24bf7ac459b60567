package hub

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/roadcheck/roadcheck/internal/hub/account"
	"github.com/roadcheck/roadcheck/internal/hub/audit"
	"github.com/roadcheck/roadcheck/internal/hub/limit"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
)

// Security configures the hub's protections (Config.Security); zero fields
// get defaults.
type Security struct {
	// Audit is the audit log. Nil: New opens one on the store — a
	// BoltStore keeps it in its file, a store implementing audit.Store
	// there, any other store in memory (with a warning) — signing its
	// checkpoints with the keyring's signing key; Server.Close closes it.
	Audit *audit.Log
	// Accounts manages supervisor accounts, sessions and scopes. Nil: New
	// makes one on the store likewise (account.Store).
	Accounts *account.Service
	// Limits are the quotas (nil: limit.Default()); SharedLimits counts
	// them where several hubs on one database see them (nil: memory).
	Limits       *limit.Limits
	SharedLimits limit.Store
	// OfflineWindow is how long a record may wait on a terminal before the
	// hub flags its time as doubtful (default 30 days).
	OfflineWindow time.Duration
	// RequireSealed refuses record pushes not sealed to the hub's key
	// (415 sealing_required); rchub serve sets it.
	RequireSealed bool
	// QuietDevices logs only the refusals and failures of device requests,
	// not every one (benchmarks). WARNING: the audit log then no longer
	// keeps the nonces of the replay window across a restart.
	QuietDevices bool
}

// DefaultOfflineWindow is how long a terminal may stay offline before the
// times of the records it then delivers are flagged.
const DefaultOfflineWindow = 30 * 24 * time.Hour

// security is the server's state for Security.
type security struct {
	audit    *audit.Log
	ownAudit bool
	accounts *account.Service
	limits   *limit.Limiter
	// admit takes the admission of pushes (nonce and quotas) in one step:
	// set when the store keeps both the nonces and the shared quotas.
	admit         Admitter
	offline       time.Duration
	requireSealed bool
	quietDevices  bool
	refused       atomic.Uint64 // 429s answered
}

// initSecurity sets up s.sec from cfg and registers the endpoints of
// accounts, reveals, searches and the audit log on m.
func (s *Server) initSecurity(ctx context.Context, cfg Config, m *http.ServeMux) error {
	if s.keys.Derived() {
		s.log.Warn("hub keys from a key file without SM2 keys: the SM2 keys are derived from the index key; move to a keyring (rchub keys wrap)")
	}
	var err error
	sc := cfg.Security
	sec := &security{offline: sc.OfflineWindow, requireSealed: sc.RequireSealed, quietDevices: sc.QuietDevices, audit: sc.Audit, accounts: sc.Accounts}
	if sec.offline <= 0 {
		sec.offline = DefaultOfflineWindow
	}
	lims := limit.Default()
	if sc.Limits != nil {
		lims = *sc.Limits
	}
	if sec.limits, err = limit.New(lims, s.clk, sc.SharedLimits); err != nil {
		return err
	}
	if a, ok := sc.SharedLimits.(Admitter); ok && any(a) == any(s.shared) {
		sec.admit = a
	}
	if sec.audit == nil {
		st, err := s.auditStore(ctx)
		if err != nil {
			return err
		}
		if sec.audit, err = audit.Open(ctx, audit.Options{Store: st, Key: s.keys.sign, PreviousKeys: s.keys.oldSign, Clock: s.clk, Log: s.log}); err != nil {
			return err
		}
		sec.ownAudit = true
	}
	if sec.accounts == nil {
		st, err := s.accountStore(ctx)
		if err != nil {
			return err
		}
		if sec.accounts, err = account.New(account.Options{Store: st, Sealer: s.keys.data, Clock: s.clk}); err != nil {
			return err
		}
	}
	s.sec = sec
	if s.shared == nil {
		if err := s.seedNonces(ctx); err != nil {
			return fmt.Errorf("hub: nonces of the replay window from the audit log: %w", err)
		}
	}
	m.HandleFunc("POST "+wire.PathSession, s.handleSignIn)
	m.HandleFunc("GET "+wire.PathSession, s.handleWhoAmI)
	m.HandleFunc("DELETE "+wire.PathSession, s.handleSignOut)
	m.HandleFunc("POST "+wire.PathRecordSearch, s.handleSearch)
	m.HandleFunc("POST "+wire.PathRecordExport, s.handleExportPost)
	m.HandleFunc("POST "+wire.PathReveal, s.handleReveal)
	m.HandleFunc("GET "+wire.PathAudit, s.handleAudit)
	m.HandleFunc("GET "+wire.PathHubKey, s.handleHubKey)
	return nil
}

// AuditStore is implemented by stores that keep the audit log (BoltStore
// in its file; PostgreSQL in its database).
type AuditStore interface {
	AuditStore(ctx context.Context) (audit.Store, error)
}

// AccountStore is implemented by stores that keep accounts and sessions.
type AccountStore interface {
	AccountStore(ctx context.Context) (account.Store, error)
}

func (s *Server) auditStore(ctx context.Context) (audit.Store, error) {
	switch st := s.store.(type) {
	case AuditStore:
		return st.AuditStore(ctx)
	case audit.Store:
		return st, nil
	}
	s.log.Warn("the hub's store keeps no audit log: it is kept in memory and lost at exit")
	return audit.NewMemoryStore(), nil
}

func (s *Server) accountStore(ctx context.Context) (account.Store, error) {
	switch st := s.store.(type) {
	case AccountStore:
		return st.AccountStore(ctx)
	case account.Store:
		return st, nil
	}
	s.log.Warn("the hub's store keeps no supervisor accounts: they are kept in memory and lost at exit")
	return account.NewMemoryStore(), nil
}

// AuditStore implements AuditStore: the audit log in the hub's file.
func (s *BoltStore) AuditStore(ctx context.Context) (audit.Store, error) {
	return audit.NewBoltStore(ctx, s.db)
}

// AccountStore implements AccountStore: accounts in the hub's file.
func (s *BoltStore) AccountStore(ctx context.Context) (account.Store, error) {
	return account.NewBoltStore(ctx, s.db)
}

// Close flushes and closes the audit log New opened (signing a last
// checkpoint). Requests after Close are not logged.
func (s *Server) Close(ctx context.Context) error {
	if s.sec != nil && s.sec.ownAudit {
		return s.sec.audit.Close(ctx)
	}
	return nil
}

// Audit returns the server's audit log (for local commands and tests).
func (s *Server) Audit() *audit.Log { return s.sec.audit }

// Accounts returns the server's account service.
func (s *Server) Accounts() *account.Service { return s.sec.accounts }

// SecurityStats are counters of the hub's protections, for metrics: the
// audit log's (entries, denied requests, failure bursts …) and the
// requests refused for a quota (HTTP 429).
type SecurityStats struct {
	Audit       audit.Stats
	RateLimited uint64
}

// SecurityStats returns the counters since New.
func (s *Server) SecurityStats() SecurityStats {
	return SecurityStats{Audit: s.sec.audit.Stats(), RateLimited: s.sec.refused.Load()}
}

// seedNonces loads into the nonce cache the nonces of the device requests
// the audit log holds for the replay window, so that a request captured
// before a restart is still refused as a replay after it.
func (s *Server) seedNonces(ctx context.Context) error {
	st := s.sec.audit.Store()
	now := s.clk.Now()
	from := now.Add(-2 * s.window)
	seq, err := audit.SeqAt(ctx, st, from)
	if err != nil {
		return err
	}
	for after := seq - min(seq, 1); ; {
		es, more, err := st.AuditEntries(ctx, audit.Query{After: after, Limit: 10000})
		if err != nil {
			return err
		}
		for _, e := range es {
			dev, ok := strings.CutPrefix(e.Who, "device ")
			if e.Nonce != "" && ok {
				s.nonces.add(dev+"/"+e.Nonce, now.UnixMilli(), e.At.Add(2*s.window).UnixMilli())
			}
		}
		if !more || len(es) == 0 {
			return nil
		}
		after = es[len(es)-1].Seq
	}
}

// sourceIP is the address a request came from (the TCP peer: headers set
// by proxies are not trusted).
func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
