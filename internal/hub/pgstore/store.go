package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub"
)

// Options configure Open.
type Options struct {
	// MaxConns bounds the connection pool (default 32); the combined
	// statements of the request path have 4 connections of their own.
	MaxConns int32
}

// Store is the hub's Store on PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	// hot carries the combined statements of the request path (Device,
	// and the admissions: UseNonce, TakeWindows, Admit): primary-key statements on small tables, on
	// connections that plan each once (plan_cache_mode
	// force_generic_plan) instead of for every round's arrays.
	hot       *pgxpool.Pool
	scanLimit int

	devMu   sync.RWMutex
	devNo   map[string]int32 // device id → number (never changes once made)
	devByNo map[int32]string

	partsMu     sync.Mutex
	parts       map[int64]bool // days (Unix ms) with a partition (partitionDays); nil: to list
	partsMissed map[int64]bool // days not among parts that made it list again

	stopFold func()        // stops foldLoop
	folded   chan struct{} // closed when foldLoop has returned

	// Concurrent calls combined into one statement (or transaction) per
	// round: see combiner.
	devices combiner[deviceOp]
	admits  combiner[admitOp]
	ingests combiner[*ingestOp]
}

// IsURL reports whether s names a PostgreSQL database (postgres:// or
// postgresql://).
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

func newPool(ctx context.Context, url string, maxConns int32, params ...string) (*pgxpool.Pool, error) {
	if !IsURL(url) {
		return nil, ErrURL
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrURL, err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "rchub"
	for i := 0; i+1 < len(params); i += 2 {
		cfg.ConnConfig.RuntimeParams[params[i]] = params[i+1]
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, wrap(err)
	}
	return pool, nil
}

// Open connects to the database at url (a postgres:// URL), checks that its
// schema is the one this build knows (hub.ErrSchema otherwise: run Migrate)
// and makes the feed's epoch when the database has none.
func Open(ctx context.Context, url string, o Options) (*Store, error) {
	if o.MaxConns == 0 {
		o.MaxConns = 32
	}
	pool, err := newPool(ctx, url, o.MaxConns)
	if err != nil {
		return nil, err
	}
	if err := checkSchema(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	hot, err := newPool(ctx, url, hotConns, "plan_cache_mode", "force_generic_plan")
	if err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{pool: pool, hot: hot, scanLimit: ScanLimit, devNo: map[string]int32{}, devByNo: map[int32]string{}, partsMissed: map[int64]bool{}}
	s.initCombiners()
	if err := s.initFeed(ctx); err != nil {
		pool.Close()
		hot.Close()
		return nil, err
	}
	fctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stopFold, s.folded = stop, make(chan struct{})
	go s.foldLoop(fctx, s.folded)
	return s, nil
}

// SetScanLimit sets how many records one page of a query with several
// filters examines at most (tests; the default is ScanLimit).
func (s *Store) SetScanLimit(n int) { s.scanLimit = max(n, 1) }

// Close stops the background fold of counter deltas and closes the
// connection pools.
func (s *Store) Close() {
	s.stopFold()
	<-s.folded
	s.pool.Close()
	s.hot.Close()
}

// Ping implements hub.Pinger: the database answers and takes writes (a
// read-only one — a standby, default_transaction_read_only — gives
// hub.ErrUnavailable).
func (s *Store) Ping(ctx context.Context) error {
	var ro string
	if err := s.pool.QueryRow(ctx, "SELECT current_setting('transaction_read_only')").Scan(&ro); err != nil {
		return wrap(err)
	}
	if ro == "on" {
		return fmt.Errorf("%w: the database is read-only", hub.ErrUnavailable)
	}
	return nil
}

// hotConns is the size of the request path's own pool (see combiner).
const hotConns = 4

// PoolStats implements hub.PoolStatter: the figures of the store's
// connections, the main pool's and the request path's together.
func (s *Store) PoolStats() hub.PoolStats {
	var ps hub.PoolStats
	for _, p := range []*pgxpool.Pool{s.pool, s.hot} {
		if p == nil {
			continue
		}
		st := p.Stat()
		ps.Max += st.MaxConns()
		ps.Total += st.TotalConns()
		ps.Idle += st.IdleConns()
		ps.InUse += st.AcquiredConns()
		ps.Acquires += st.AcquireCount()
		ps.EmptyWaits += st.EmptyAcquireCount()
		ps.WaitTime += st.EmptyAcquireWaitTime()
	}
	return ps
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func tm(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

// PutToken implements hub.Store.
func (s *Store) PutToken(ctx context.Context, t hub.Token) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO tokens (hash, role, label, created, expires, used_by, revoked) VALUES ($1,$2,$3,$4,$5,$6,$7)
		ON CONFLICT (hash) DO UPDATE SET role = EXCLUDED.role, label = EXCLUDED.label, created = EXCLUDED.created,
		expires = EXCLUDED.expires, used_by = EXCLUDED.used_by, revoked = EXCLUDED.revoked`,
		t.Hash[:], string(t.Role), t.Label, ms(t.Created), ms(t.Expires), t.UsedBy, ms(t.Revoked))
	return wrap(err)
}

const tokenCols = "hash, role, label, created, expires, used_by, revoked"

func scanToken(row pgx.Row) (hub.Token, error) {
	var (
		t                         hub.Token
		hash                      []byte
		role                      string
		created, expires, revoked int64
	)
	if err := row.Scan(&hash, &role, &t.Label, &created, &expires, &t.UsedBy, &revoked); err != nil {
		return t, err
	}
	if len(hash) != gm.SM3Size {
		return t, fmt.Errorf("pgstore: token hash of %d bytes", len(hash))
	}
	t.Hash, t.Role, t.Created, t.Expires, t.Revoked = [gm.SM3Size]byte(hash), hub.Role(role), tm(created), tm(expires), tm(revoked)
	return t, nil
}

// Token implements hub.Store.
func (s *Store) Token(ctx context.Context, hash [gm.SM3Size]byte) (hub.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, "SELECT "+tokenCols+" FROM tokens WHERE hash = $1", hash[:]))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, hub.ErrNotFound
	}
	return t, wrap(err)
}

// Tokens implements hub.Store.
func (s *Store) Tokens(ctx context.Context) ([]hub.Token, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+tokenCols+" FROM tokens ORDER BY hash")
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []hub.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, wrap(rows.Err())
}

// RevokeToken implements hub.Store.
func (s *Store) RevokeToken(ctx context.Context, hash [gm.SM3Size]byte, at time.Time) error {
	var found bool
	err := s.pool.QueryRow(ctx, `WITH u AS (UPDATE tokens SET revoked = $2 WHERE hash = $1 AND revoked = 0 RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM tokens WHERE hash = $1)`, hash[:], max(ms(at), 1)).Scan(&found)
	if err != nil {
		return wrap(err)
	}
	if !found {
		return fmt.Errorf("%w: token %s", hub.ErrNotFound, hub.TokenID(hash))
	}
	return nil
}

const deviceCols = "id, no, public_key, label, enrolled, next_seq, last_hash, last_seen, revoked"

func (s *Store) scanDevice(row pgx.Row) (hub.Device, int32, error) {
	var (
		d                       hub.Device
		no                      int32
		enrolled, seen, revoked int64
		next                    int64
		last                    []byte
	)
	if err := row.Scan(&d.ID, &no, &d.PublicKey, &d.Label, &enrolled, &next, &last, &seen, &revoked); err != nil {
		return d, 0, err
	}
	if len(last) != gm.SM3Size {
		return d, 0, fmt.Errorf("pgstore: device %s: chain hash of %d bytes", d.ID, len(last))
	}
	d.Enrolled, d.NextSeq, d.LastHash, d.LastSeen, d.Revoked = tm(enrolled), uint64(next), [gm.SM3Size]byte(last), tm(seen), tm(revoked)
	s.remember(d.ID, no)
	return d, no, nil
}

func (s *Store) remember(id string, no int32) {
	s.devMu.Lock()
	s.devNo[id], s.devByNo[no] = no, id
	s.devMu.Unlock()
}

// deviceNo returns the number of device id (ok false: no such device).
func (s *Store) deviceNo(ctx context.Context, id string) (int32, bool, error) {
	s.devMu.RLock()
	no, ok := s.devNo[id]
	s.devMu.RUnlock()
	if ok {
		return no, true, nil
	}
	err := s.pool.QueryRow(ctx, "SELECT no FROM devices WHERE id = $1", id).Scan(&no)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, wrap(err)
	}
	s.remember(id, no)
	return no, true, nil
}

// deviceIDs returns the ids of device numbers.
func (s *Store) deviceIDs(ctx context.Context, nos []int32) (map[int32]string, error) {
	out := make(map[int32]string, 4)
	var missing []int32
	s.devMu.RLock()
	for _, n := range nos {
		if id, ok := s.devByNo[n]; ok {
			out[n] = id
		} else {
			missing = append(missing, n)
		}
	}
	s.devMu.RUnlock()
	if len(missing) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, "SELECT no, id FROM devices WHERE no = ANY($1)", missing)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	for rows.Next() {
		var no int32
		var id string
		if err := rows.Scan(&no, &id); err != nil {
			return nil, err
		}
		out[no] = id
		s.remember(id, no)
	}
	return out, wrap(rows.Err())
}

// Enroll implements hub.Store.
func (s *Store) Enroll(ctx context.Context, hash [gm.SM3Size]byte, dev hub.Device, now time.Time) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		t, err := scanToken(tx.QueryRow(ctx, "SELECT "+tokenCols+" FROM tokens WHERE hash = $1 FOR UPDATE", hash[:]))
		if errors.Is(err, pgx.ErrNoRows) {
			return hub.ErrTokenInvalid
		}
		if err != nil {
			return err
		}
		if !t.Revoked.IsZero() {
			return hub.ErrTokenInvalid
		}
		old, _, err := s.scanDevice(tx.QueryRow(ctx, "SELECT "+deviceCols+" FROM devices WHERE id = $1", dev.ID))
		exists := err == nil
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if exists {
			if !old.Revoked.IsZero() {
				return fmt.Errorf("%w: %s", hub.ErrDeviceRevoked, dev.ID)
			}
			if t.Role == hub.RoleDevice && t.UsedBy == dev.ID && string(old.PublicKey) == string(dev.PublicKey) {
				return nil // the same device again (its first answer was lost): idempotent
			}
		}
		if t.Role != hub.RoleDevice || t.UsedBy != "" || (!t.Expires.IsZero() && now.After(t.Expires)) {
			return hub.ErrTokenInvalid
		}
		if exists {
			return fmt.Errorf("%w: %s", hub.ErrDeviceExists, dev.ID)
		}
		var no int32
		err = tx.QueryRow(ctx, `INSERT INTO devices (id, public_key, label, enrolled, next_seq, last_hash, last_seen, revoked)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING no`,
			dev.ID, dev.PublicKey, dev.Label, ms(dev.Enrolled), int64(dev.NextSeq), dev.LastHash[:], ms(dev.LastSeen), ms(dev.Revoked)).Scan(&no)
		if isUnique(err) {
			return fmt.Errorf("%w: %s", hub.ErrDeviceExists, dev.ID)
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "UPDATE tokens SET used_by = $2 WHERE hash = $1", hash[:], dev.ID)
		return err
	})
	return wrap(err)
}

// Device implements hub.Store. Concurrent calls are answered by one
// query (each reads the row as committed when its round's query starts,
// after the call began).
func (s *Store) Device(ctx context.Context, id string) (hub.Device, error) {
	o, err := s.devices.do(ctx, deviceOp{id: id})
	if err != nil {
		return hub.Device{}, wrap(err)
	}
	if !o.found {
		return hub.Device{}, fmt.Errorf("%w: device %q", hub.ErrNotFound, id)
	}
	return o.dev, nil
}

// deviceOp is one Device call in a round.
type deviceOp struct {
	id    string
	dev   hub.Device
	found bool
}

// readDevices answers a round of Device calls with one query.
func (s *Store) readDevices(ctx context.Context, batch []*op[deviceOp]) {
	ids := make([]string, 0, len(batch))
	for _, o := range batch {
		ids = append(ids, o.v.id)
	}
	fail := func(err error) {
		for _, o := range batch {
			o.err = err
		}
	}
	rows, err := s.hot.Query(ctx, "SELECT "+deviceCols+" FROM devices WHERE id = ANY($1)", ids)
	if err != nil {
		fail(err)
		return
	}
	defer rows.Close()
	got := make(map[string]hub.Device, len(batch))
	for rows.Next() {
		d, _, err := s.scanDevice(rows)
		if err != nil {
			fail(err)
			return
		}
		got[d.ID] = d
	}
	if err := rows.Err(); err != nil {
		fail(err)
		return
	}
	for _, o := range batch {
		o.v.dev, o.v.found = got[o.v.id]
	}
}

// Devices implements hub.Store.
func (s *Store) Devices(ctx context.Context) ([]hub.Device, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+deviceCols+" FROM devices ORDER BY id COLLATE \"C\"")
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []hub.Device
	for rows.Next() {
		d, _, err := s.scanDevice(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, wrap(rows.Err())
}

// RevokeDevice implements hub.Store.
func (s *Store) RevokeDevice(ctx context.Context, id string, at time.Time) error {
	var found bool
	err := s.pool.QueryRow(ctx, `WITH u AS (UPDATE devices SET revoked = $2 WHERE id = $1 AND revoked = 0 RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM devices WHERE id = $1)`, id, max(ms(at), 1)).Scan(&found)
	if err != nil {
		return wrap(err)
	}
	if !found {
		return fmt.Errorf("%w: device %q", hub.ErrNotFound, id)
	}
	return nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

var (
	_ hub.Store       = (*Store)(nil)
	_ hub.NonceStore  = (*Store)(nil)
	_ hub.Pinger      = (*Store)(nil)
	_ hub.PoolStatter = (*Store)(nil)
	_ hub.Maintainer  = (*Store)(nil)
	_ hub.AnchorStore = (*Store)(nil)
)
