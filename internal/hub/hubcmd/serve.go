package hubcmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/account"
	"github.com/roadcheck/roadcheck/internal/trust"
)

func serve(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "serve")
	ref := f.storeFlag()
	listen := f.String("listen", "127.0.0.1:8443", "listen `address` host:port (port 0: any free port, printed when listening)")
	cert := f.String("tls-cert", "", "TLS certificate chain `file` (PEM)")
	key := f.String("tls-key", "", "TLS private key `file` (PEM)")
	keyFile := f.String("keys", "", "the hub's key `file` (default for bbolt: PATH.key, created when missing; required for PostgreSQL: the same file on every replica, see rchub keys create)")
	trustDir := f.String("trust-dir", "", "PostgreSQL: `directory` of this hub's own trust store, kept in step with the database (default: a temporary one, filled at start)")
	keep := f.String("keep", "", "delete records older than `DURATION` (e.g. 180d) once a day; empty: keep everything")
	syncEvery := f.Duration("trust-sync", 30*time.Second, "PostgreSQL: how often to bring the hub's trust store up to the database's feed")
	logFormat := f.String("log-format", "json", "log format on standard error: json or text")
	instance := f.String("instance", "", "this hub's name in logs (default: the host name)")
	useDemo := f.Bool("demo", false, "load the demo world's trust data and print an enrolment token")
	kek := addKEKFlagsWith(f, keyFile) // security.go
	plainKeys := f.Bool("plain-keys", false, "WARNING: serve off loopback with the keys unwrapped beside the database (no KEK)")
	allowUnsealed := f.Bool("allow-unsealed", false, "take record pushes that are not sealed to the hub's key (terminals of older versions)")
	pos, code, done := f.parse(args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return failf(env, "serve: no arguments expected")
	}
	if *cert == "" && !hub.IsLoopback(*listen) {
		return failf(env, "%v (address %q)", hub.ErrPlainHTTP, *listen)
	}
	if (*cert == "") != (*key == "") {
		return failf(env, "%v: give both --tls-cert and --tls-key", hub.ErrBadInput)
	}
	var keepFor time.Duration
	if *keep != "" {
		var err error
		if keepFor, err = parseKeep(*keep); err != nil {
			return failf(env, "--keep: %v", err)
		}
	}
	var handler slog.Handler
	switch *logFormat {
	case "json":
		handler = slog.NewJSONHandler(env.Stderr, nil)
	case "text":
		handler = slog.NewTextHandler(env.Stderr, nil)
	default:
		return failf(env, "--log-format must be json or text")
	}
	log := slog.New(handler)
	if *instance == "" {
		*instance, _ = os.Hostname()
	}
	if *ref == "" {
		return failf(env, "%v", errNoStore)
	}
	o, err := open(ctx, *ref, *trustDir)
	if err != nil {
		if isPG(*ref) {
			return failf(env, "%v", err)
		}
		return failf(env, "%v (is another `rchub serve` running on it?)", err)
	}
	defer o.close()
	keys, err := serveKeys(ctx, env, o, kek, *plainKeys, *listen) // security.go: keyring wrapped by a KEK
	if err != nil {
		return failf(env, "%v", err)
	}
	o.keys = keys
	ts, err := o.trust(ctx)
	if err != nil {
		return failf(env, "%v", err)
	}
	srv, err := hub.New(hub.Config{Store: o.store, Trust: ts, Keys: keys, Clock: env.Clock, Log: log, Instance: *instance,
		Security: hub.Security{RequireSealed: !*allowUnsealed, SharedLimits: sharedLimits(o)}})
	if err != nil {
		return failf(env, "%v", err)
	}
	defer srv.Close(context.WithoutCancel(ctx)) // the audit log's last checkpoint
	if *useDemo {
		if err := loadDemo(ctx, env, o, ts); err != nil {
			return failf(env, "demo: %v", err)
		}
		tok, err := hub.CreateToken(ctx, o.store, hub.RoleDevice, "demo", 0, env.Clock.Now())
		if err != nil {
			return failf(env, "%v", err)
		}
		var sup string
		if acc, aerr := accountStoreOf(ctx, o); aerr == nil {
			sup, err = hub.CreateScopedToken(ctx, o.store, acc, hub.RoleSupervisor, account.Scope{Role: account.Viewer, Jurisdiction: account.National}, "demo", 0, env.Clock.Now())
		} else { // a store without scopes: a viewer of every region
			sup, err = hub.CreateToken(ctx, o.store, hub.RoleSupervisor, "demo", 0, env.Clock.Now())
		}
		if err != nil {
			return failf(env, "%v", err)
		}
		fmt.Fprintf(env.Stdout, "enrolment token (one-time, 24 h): %s\nsupervisor token: %s\n", tok, sup)
	}
	if o.db != nil {
		// Without its admin socket the hub still serves; administration
		// then needs it stopped.
		if stop, err := serveAdmin(ctx, env, o); err != nil {
			log.Warn("no admin socket: admin commands need the hub stopped", "err", err)
		} else {
			defer stop()
		}
	}
	// The store's maintenance runs once before the first request (a fresh
	// database gets its day partitions before any record arrives, so none
	// has to be moved out of the default partition under a reader), then
	// hourly in the background.
	maintained := maintain(ctx, log, o, env.Clock.Now(), time.Time{})
	bg, cancel := context.WithCancel(ctx)
	defer cancel()
	go housekeeping(bg, env, log, o, ts, keepFor, *syncEvery, maintained)
	scheme := "http"
	if *cert != "" {
		scheme = "https"
	}
	err = hub.Serve(ctx, hub.ServeOptions{Addr: *listen, TLSCert: *cert, TLSKey: *key, Ready: func(a net.Addr) {
		log.Info("listening", "addr", a.String(), "store", storeKind(o))
		fmt.Fprintf(env.Stdout, "rchub listening on %s://%s\n", scheme, a)
	}}, srv)
	if err != nil && !errors.Is(err, context.Canceled) {
		return failf(env, "%v", err)
	}
	return ExitOK
}

func storeKind(o *opened) string {
	if o.pg != nil {
		return "postgresql"
	}
	return "bbolt"
}

// maintain runs the store's maintenance, if it has any, and returns when
// it last succeeded: now, or last when it failed (logged; tried again
// next time).
func maintain(ctx context.Context, log *slog.Logger, o *opened, now, last time.Time) time.Time {
	m, ok := o.store.(hub.Maintainer)
	if !ok {
		return now
	}
	if err := m.Maintain(ctx, now); err != nil {
		log.Warn("maintenance failed", "err", err)
		return last
	}
	return now
}

// housekeeping runs the periodic work of a serving hub until ctx ends:
// the store's maintenance (hourly, the last at lastMaint), the trust store kept in step with a
// shared database, and retention (daily, with --keep). Failures are
// logged, and tried again next time.
func housekeeping(ctx context.Context, env *Env, log *slog.Logger, o *opened, ts *trust.Store, keep, syncEvery time.Duration, lastMaint time.Time) {
	var lastRetain time.Time
	var synced hub.Manifest // the feed state the trust store was last brought to
	tick := time.NewTicker(min(syncEvery, time.Minute))
	defer tick.Stop()
	for {
		now := env.Clock.Now()
		if now.Sub(lastMaint) >= time.Hour {
			lastMaint = maintain(ctx, log, o, now, lastMaint)
		}
		if m, err := o.store.Manifest(ctx); o.pg != nil && err == nil && (m.Epoch != synced.Epoch || m.Seq != synced.Seq) {
			if rep, err := hub.SyncTrust(ctx, o.store, ts); err != nil {
				log.Warn("trust sync failed", "err", err)
			} else {
				synced = m
				if rep.Objects > 0 || rep.Anchors {
					log.Info("trust store updated from the database", "objects", rep.Objects, "anchors", rep.Anchors)
				}
			}
		}
		if keep > 0 && now.Sub(lastRetain) >= 24*time.Hour {
			rep, err := o.store.Retain(ctx, hub.RetentionCutoff(now, keep))
			if err != nil {
				log.Warn("retention failed", "err", err)
			} else {
				lastRetain = now
				log.Info("retention", "records", rep.Records, "flags", rep.Flags, "partitions", rep.Partitions)
				auditRetention(ctx, env, log, o, keep, rep) // security.go
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
