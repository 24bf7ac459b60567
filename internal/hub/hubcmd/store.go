package hubcmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/pgstore"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/trust"
)

// opened is a hub database with everything opened on it.
type opened struct {
	ref   string // what --store named: a URL or a path
	store hub.Store
	// bbolt
	db   *storage.DB
	bolt *hub.BoltStore
	// PostgreSQL
	pg       *pgstore.Store
	trustDir string // the hub's own trust store ("" : a temporary one)
	// keys are the serving hub's keys (nil outside `rchub serve`):
	// commands run through the admin socket sign with them.
	keys *hub.Keys

	trustMu   sync.Mutex
	ts        *trust.Store
	tmpTrust  string
	closeOnce sync.Once
}

// isPG reports whether ref names a PostgreSQL database.
func isPG(ref string) bool { return pgstore.IsURL(ref) }

var errNoStore = errors.New("--store URL|PATH (or --db PATH) is required")

func open(ctx context.Context, ref, trustDir string) (*opened, error) {
	if ref == "" {
		return nil, errNoStore
	}
	o := &opened{ref: ref, trustDir: trustDir}
	if isPG(ref) {
		st, err := pgstore.Open(ctx, ref, pgstore.Options{})
		if err != nil {
			return nil, err
		}
		o.pg, o.store = st, st
		return o, nil
	}
	db, err := storage.Open(ctx, ref, storage.Options{})
	if err != nil {
		return nil, err
	}
	st, err := hub.NewBoltStore(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	o.db, o.bolt, o.store = db, st, st
	return o, nil
}

// trust returns the hub's trust store, opening it on first use: beside a
// bbolt database, or (PostgreSQL) in trustDir or a temporary directory,
// brought up to the database's state.
func (o *opened) trust(ctx context.Context) (*trust.Store, error) {
	o.trustMu.Lock()
	defer o.trustMu.Unlock()
	if o.ts != nil {
		return o.ts, nil
	}
	if o.db != nil {
		ts, err := trust.New(ctx, o.db)
		if err != nil {
			return nil, err
		}
		o.ts = ts
		return ts, nil
	}
	dir := o.trustDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "rchub-trust-")
		if err != nil {
			return nil, err
		}
		dir, o.tmpTrust = tmp, tmp
	}
	ts, err := trust.Open(ctx, dir, trust.Options{})
	if err != nil {
		return nil, err
	}
	if _, err := hub.SyncTrust(ctx, o.store, ts); err != nil {
		ts.Close()
		return nil, fmt.Errorf("trust store from the database: %w", err)
	}
	o.ts = ts
	return ts, nil
}

func (o *opened) close() {
	o.closeOnce.Do(func() {
		if o.ts != nil {
			o.ts.Close() // first: waits for a background merge
		}
		if o.tmpTrust != "" {
			os.RemoveAll(o.tmpTrust)
		}
		if o.db != nil {
			o.db.Close()
		}
		if o.pg != nil {
			o.pg.Close()
		}
	})
}

// withStore opens the store ref names, runs fn on it and closes it: what
// every command but serve does once its flags are read. Inside a serving
// hub (admin socket) fn runs on the served store. A bbolt file held by a
// serving hub is reached through its admin socket.
func withStore(ctx context.Context, env *Env, ref string, fn func(o *opened) int) int {
	if env.served != nil {
		return fn(env.served)
	}
	o, err := open(ctx, ref, "")
	if errors.Is(err, storage.ErrLocked) {
		if sock := AdminSocket(ref); socketExists(sock) {
			return forward(ctx, env, sock)
		}
		return failf(env, "%v (is `rchub serve` running on it without its admin socket %s? stop it, run this command, start it again)", err, AdminSocket(ref))
	}
	if err != nil {
		return failf(env, "%v", err)
	}
	defer o.close()
	return fn(o)
}

// withTrust is withStore for commands that need the trust store too.
func withTrust(ctx context.Context, env *Env, ref string, fn func(o *opened, ts *trust.Store) int) int {
	return withStore(ctx, env, ref, func(o *opened) int {
		ts, err := o.trust(ctx)
		if err != nil {
			return failf(env, "%v", err)
		}
		return fn(o, ts)
	})
}
