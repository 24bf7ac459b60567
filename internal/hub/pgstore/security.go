package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/account"
	"github.com/roadcheck/roadcheck/internal/hub/audit"
)

// The hub's security state on PostgreSQL (migration 00002_hubsec): the
// audit log, accounts, sessions and scopes, so that every hub on the
// database writes one audit chain and knows every supervisor (quotas:
// limit.go).

// AuditStore implements hub.AuditStore.
func (s *Store) AuditStore(ctx context.Context) (audit.Store, error) {
	return &auditStore{s}, ctx.Err()
}

// AccountStore implements hub.AccountStore.
func (s *Store) AccountStore(ctx context.Context) (account.Store, error) {
	return &accountStore{s}, ctx.Err()
}

// RecordByKey implements hub.RecordGetter.
func (s *Store) RecordByKey(ctx context.Context, key [16]byte) (hub.StoredRecord, bool, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+recordCols+" FROM records WHERE id = $1", key)
	if err != nil {
		return hub.StoredRecord{}, false, wrap(err)
	}
	recs, err := s.scanRecords(ctx, rows)
	if err != nil || len(recs) == 0 {
		return hub.StoredRecord{}, false, wrap(err)
	}
	return recs[0], true, nil
}

type auditStore struct{ s *Store }

// auditLock serialises appends of all hubs (a transaction-level advisory
// lock, released at commit).
const auditLock = 0x52434155 // "RCAU"

func auditHead(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (audit.Head, error) {
	var (
		seq  int64
		hash []byte
		at   int64
	)
	err := q.QueryRow(ctx, "SELECT seq, hash, at FROM audit_entries ORDER BY seq DESC LIMIT 1").Scan(&seq, &hash, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		err = q.QueryRow(ctx, "SELECT seq, hash, at FROM audit_anchor WHERE id = 1").Scan(&seq, &hash, &at)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return audit.Head{}, nil
	}
	if err != nil {
		return audit.Head{}, wrap(err)
	}
	if len(hash) != gm.SM3Size {
		return audit.Head{}, fmt.Errorf("pgstore: audit head hash of %d bytes", len(hash))
	}
	return audit.Head{Seq: uint64(seq), Hash: [gm.SM3Size]byte(hash), At: time.UnixMilli(at)}, nil
}

func (a *auditStore) AuditHead(ctx context.Context) (audit.Head, error) {
	return auditHead(ctx, a.s.pool)
}

func (a *auditStore) AppendAudit(ctx context.Context, entries []audit.Entry, cps []audit.Checkpoint) error {
	return a.AppendChained(ctx, func(audit.Head) ([]audit.Entry, []audit.Checkpoint, error) { return entries, cps, nil })
}

// AppendChained implements audit.ChainAppender: fn runs under a lock every
// hub on the database takes to append, with the head as stored.
func (a *auditStore) AppendChained(ctx context.Context, fn func(audit.Head) ([]audit.Entry, []audit.Checkpoint, error)) error {
	return wrap(pgx.BeginFunc(ctx, a.s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", auditLock); err != nil {
			return err
		}
		h, err := auditHead(ctx, tx)
		if err != nil {
			return err
		}
		entries, cps, err := fn(h)
		if err != nil {
			return err
		}
		if len(entries) > 0 && (entries[0].Seq != h.Seq+1 || entries[0].Prev != h.Hash) {
			return fmt.Errorf("%w: entry %d after stored head %d", audit.ErrConflict, entries[0].Seq, h.Seq)
		}
		b := &pgx.Batch{}
		for i, e := range entries {
			if i > 0 && (e.Seq != entries[i-1].Seq+1 || e.Prev != entries[i-1].Hash) {
				return fmt.Errorf("%w: entries %d and %d are not consecutive", audit.ErrBadInput, entries[i-1].Seq, e.Seq)
			}
			b.Queue(`INSERT INTO audit_entries (seq, at, who, role, source, action, outcome, status, filters, rows, fields, reason, detail, nonce, prev, hash)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
				int64(e.Seq), e.At.UnixMilli(), e.Who, e.Role, e.Source, e.Action, e.Outcome, e.Status, e.Filters, e.Rows, e.Fields,
				e.Reason, e.Detail, e.Nonce, e.Prev[:], e.Hash[:])
		}
		for _, c := range cps {
			b.Queue(`INSERT INTO audit_checkpoints (seq, hash, at, key_id, sig) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (seq) DO UPDATE SET hash = EXCLUDED.hash, at = EXCLUDED.at, key_id = EXCLUDED.key_id, sig = EXCLUDED.sig`,
				int64(c.Seq), c.Hash[:], c.At.UnixMilli(), c.KeyID, c.Sig)
		}
		if b.Len() == 0 {
			return nil
		}
		return tx.SendBatch(ctx, b).Close()
	}))
}

func (a *auditStore) AuditEntries(ctx context.Context, q audit.Query) ([]audit.Entry, bool, error) {
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = 1000
	case limit > 10000:
		limit = 10000
	}
	where, args := []string{"seq > $1"}, []any{int64(q.After)}
	if !q.From.IsZero() {
		args = append(args, q.From.UnixMilli())
		where = append(where, fmt.Sprintf("at >= $%d", len(args)))
	}
	if !q.To.IsZero() {
		args = append(args, q.To.UnixMilli())
		where = append(where, fmt.Sprintf("at <= $%d", len(args)))
	}
	if q.Who != "" {
		args = append(args, "%"+strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(q.Who)+"%")
		where = append(where, fmt.Sprintf("who ILIKE $%d", len(args)))
	}
	rows, err := a.s.pool.Query(ctx, `SELECT seq, at, who, role, source, action, outcome, status, filters, rows, fields, reason, detail, nonce, prev, hash
		FROM audit_entries WHERE `+strings.Join(where, " AND ")+fmt.Sprintf(" ORDER BY seq LIMIT %d", limit+1), args...)
	if err != nil {
		return nil, false, wrap(err)
	}
	defer rows.Close()
	var out []audit.Entry
	for rows.Next() {
		var (
			e          audit.Entry
			seq, at    int64
			prev, hash []byte
		)
		if err := rows.Scan(&seq, &at, &e.Who, &e.Role, &e.Source, &e.Action, &e.Outcome, &e.Status, &e.Filters, &e.Rows, &e.Fields,
			&e.Reason, &e.Detail, &e.Nonce, &prev, &hash); err != nil {
			return nil, false, wrap(err)
		}
		if len(prev) != gm.SM3Size || len(hash) != gm.SM3Size {
			return nil, false, fmt.Errorf("pgstore: audit entry %d: hashes of %d and %d bytes", seq, len(prev), len(hash))
		}
		e.Seq, e.At, e.Prev, e.Hash = uint64(seq), time.UnixMilli(at), [gm.SM3Size]byte(prev), [gm.SM3Size]byte(hash)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, wrap(err)
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

func scanCheckpoint(row pgx.Row) (audit.Checkpoint, error) {
	var (
		c       audit.Checkpoint
		seq, at int64
		hash    []byte
	)
	if err := row.Scan(&seq, &hash, &at, &c.KeyID, &c.Sig); err != nil {
		return audit.Checkpoint{}, err
	}
	if len(hash) != gm.SM3Size {
		return audit.Checkpoint{}, fmt.Errorf("pgstore: checkpoint %d: hash of %d bytes", seq, len(hash))
	}
	c.Seq, c.Hash, c.At = uint64(seq), [gm.SM3Size]byte(hash), time.UnixMilli(at)
	return c, nil
}

func (a *auditStore) AuditCheckpoints(ctx context.Context, after uint64, limit int) ([]audit.Checkpoint, error) {
	stmt := "SELECT seq, hash, at, key_id, sig FROM audit_checkpoints WHERE seq > $1 ORDER BY seq"
	if limit > 0 {
		stmt += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := a.s.pool.Query(ctx, stmt, int64(after))
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []audit.Checkpoint
	for rows.Next() {
		c, err := scanCheckpoint(rows)
		if err != nil {
			return nil, wrap(err)
		}
		out = append(out, c)
	}
	return out, wrap(rows.Err())
}

func (a *auditStore) AuditAnchor(ctx context.Context) (audit.Checkpoint, bool, error) {
	c, err := scanCheckpoint(a.s.pool.QueryRow(ctx, "SELECT seq, hash, at, key_id, sig FROM audit_anchor WHERE id = 1"))
	if errors.Is(err, pgx.ErrNoRows) {
		return audit.Checkpoint{}, false, nil
	}
	return c, err == nil, wrap(err)
}

func (a *auditStore) RotateAudit(ctx context.Context, anchor audit.Checkpoint) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, a.s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", auditLock); err != nil {
			return err
		}
		stored, err := scanCheckpoint(tx.QueryRow(ctx, "SELECT seq, hash, at, key_id, sig FROM audit_checkpoints WHERE seq = $1", int64(anchor.Seq)))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: no checkpoint at entry %d", audit.ErrBadInput, anchor.Seq)
		}
		if err != nil {
			return err
		}
		if stored.Hash != anchor.Hash || string(stored.Sig) != string(anchor.Sig) {
			return fmt.Errorf("%w: checkpoint %d differs from the stored one", audit.ErrBadInput, anchor.Seq)
		}
		var old int64
		switch err := tx.QueryRow(ctx, "SELECT seq FROM audit_anchor WHERE id = 1").Scan(&old); {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		case uint64(old) >= anchor.Seq:
			return fmt.Errorf("%w: the log is already rotated to entry %d", audit.ErrBadInput, old)
		}
		tag, err := tx.Exec(ctx, "DELETE FROM audit_entries WHERE seq <= $1", int64(anchor.Seq))
		if err != nil {
			return err
		}
		n = int(tag.RowsAffected())
		if _, err := tx.Exec(ctx, "DELETE FROM audit_checkpoints WHERE seq <= $1", int64(anchor.Seq)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO audit_anchor (id, seq, hash, at, key_id, sig) VALUES (1, $1, $2, $3, $4, $5)
			ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, at = EXCLUDED.at, key_id = EXCLUDED.key_id, sig = EXCLUDED.sig`,
			int64(stored.Seq), stored.Hash[:], stored.At.UnixMilli(), stored.KeyID, stored.Sig)
		return err
	})
	return n, wrap(err)
}

type accountStore struct{ s *Store }

const accountCols = "name, role, jurisdiction, password_hash, totp_sealed, totp_step, failures, locked_until, created, disabled"

func scanAccount(row pgx.Row) (account.Account, error) {
	var (
		a                         account.Account
		role                      string
		step                      int64
		locked, created, disabled int64
	)
	if err := row.Scan(&a.Name, &role, &a.Jurisdiction, &a.PasswordHash, &a.TOTPSealed, &step, &a.Failures, &locked, &created, &disabled); err != nil {
		return account.Account{}, err
	}
	a.Role, a.TOTPStep, a.LockedUntil, a.Created, a.Disabled = account.Role(role), uint64(step), tm(locked), tm(created), tm(disabled)
	return a, nil
}

func (a *accountStore) CreateAccount(ctx context.Context, acc account.Account) error {
	_, err := a.s.pool.Exec(ctx, "INSERT INTO accounts ("+accountCols+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
		acc.Name, string(acc.Role), acc.Jurisdiction, acc.PasswordHash, acc.TOTPSealed, int64(acc.TOTPStep), acc.Failures,
		ms(acc.LockedUntil), ms(acc.Created), ms(acc.Disabled))
	if isUnique(err) {
		return fmt.Errorf("%w: %s", account.ErrExists, acc.Name)
	}
	return wrap(err)
}

func (a *accountStore) Account(ctx context.Context, name string) (account.Account, error) {
	acc, err := scanAccount(a.s.pool.QueryRow(ctx, "SELECT "+accountCols+" FROM accounts WHERE name = $1", name))
	if errors.Is(err, pgx.ErrNoRows) {
		return account.Account{}, fmt.Errorf("%w: account %q", account.ErrNotFound, name)
	}
	return acc, wrap(err)
}

func (a *accountStore) Accounts(ctx context.Context) ([]account.Account, error) {
	rows, err := a.s.pool.Query(ctx, "SELECT "+accountCols+" FROM accounts ORDER BY name COLLATE \"C\"")
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []account.Account
	for rows.Next() {
		acc, err := scanAccount(rows)
		if err != nil {
			return nil, wrap(err)
		}
		out = append(out, acc)
	}
	return out, wrap(rows.Err())
}

func (a *accountStore) UpdateAccount(ctx context.Context, name string, fn func(acc *account.Account) error) error {
	return pgx.BeginFunc(ctx, a.s.pool, func(tx pgx.Tx) error {
		acc, err := scanAccount(tx.QueryRow(ctx, "SELECT "+accountCols+" FROM accounts WHERE name = $1 FOR UPDATE", name))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: account %q", account.ErrNotFound, name)
		}
		if err != nil {
			return wrap(err)
		}
		if err := fn(&acc); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE accounts SET role = $2, jurisdiction = $3, password_hash = $4, totp_sealed = $5, totp_step = $6,
			failures = $7, locked_until = $8, created = $9, disabled = $10 WHERE name = $1`,
			name, string(acc.Role), acc.Jurisdiction, acc.PasswordHash, acc.TOTPSealed, int64(acc.TOTPStep), acc.Failures,
			ms(acc.LockedUntil), ms(acc.Created), ms(acc.Disabled))
		return wrap(err)
	})
}

func (a *accountStore) PutSession(ctx context.Context, sess account.Session) error {
	_, err := a.s.pool.Exec(ctx, `INSERT INTO sessions (hash, account, created, expires, revoked, source, key) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		sess.Hash[:], sess.Account, ms(sess.Created), ms(sess.Expires), ms(sess.Revoked), sess.Source, sess.Key)
	return wrap(err)
}

func (a *accountStore) Session(ctx context.Context, hash [gm.SM3Size]byte) (account.Session, error) {
	sess := account.Session{Hash: hash}
	var created, expires, revoked int64
	err := a.s.pool.QueryRow(ctx, "SELECT account, created, expires, revoked, source, key FROM sessions WHERE hash = $1", hash[:]).
		Scan(&sess.Account, &created, &expires, &revoked, &sess.Source, &sess.Key)
	if errors.Is(err, pgx.ErrNoRows) {
		return account.Session{}, account.ErrNotFound
	}
	sess.Created, sess.Expires, sess.Revoked = tm(created), tm(expires), tm(revoked)
	return sess, wrap(err)
}

func (a *accountStore) RevokeSessions(ctx context.Context, name string, only [gm.SM3Size]byte, at time.Time) (int, error) {
	if only != ([gm.SM3Size]byte{}) {
		var owner string
		err := a.s.pool.QueryRow(ctx, "SELECT account FROM sessions WHERE hash = $1", only[:]).Scan(&owner)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && owner != name) {
			return 0, fmt.Errorf("%w: session of %s", account.ErrNotFound, name)
		}
		if err != nil {
			return 0, wrap(err)
		}
		tag, err := a.s.pool.Exec(ctx, "UPDATE sessions SET revoked = $2 WHERE hash = $1 AND revoked = 0", only[:], ms(at))
		return int(tag.RowsAffected()), wrap(err)
	}
	tag, err := a.s.pool.Exec(ctx, "UPDATE sessions SET revoked = $2 WHERE account = $1 AND revoked = 0", name, ms(at))
	return int(tag.RowsAffected()), wrap(err)
}

func (a *accountStore) PruneSessions(ctx context.Context, before time.Time) (int, error) {
	tag, err := a.s.pool.Exec(ctx, "DELETE FROM sessions WHERE expires < $1", ms(before))
	return int(tag.RowsAffected()), wrap(err)
}

func (a *accountStore) PutScope(ctx context.Context, key string, sc account.Scope) error {
	_, err := a.s.pool.Exec(ctx, `INSERT INTO scopes (key, role, jurisdiction) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET role = EXCLUDED.role, jurisdiction = EXCLUDED.jurisdiction`, key, string(sc.Role), sc.Jurisdiction)
	return wrap(err)
}

func (a *accountStore) Scope(ctx context.Context, key string) (account.Scope, bool, error) {
	var role, j string
	err := a.s.pool.QueryRow(ctx, "SELECT role, jurisdiction FROM scopes WHERE key = $1", key).Scan(&role, &j)
	if errors.Is(err, pgx.ErrNoRows) {
		return account.Scope{}, false, nil
	}
	return account.Scope{Role: account.Role(role), Jurisdiction: j}, err == nil, wrap(err)
}

var (
	_ audit.ChainAppender = (*auditStore)(nil)
	_ hub.AuditStore      = (*Store)(nil)
	_ hub.AccountStore    = (*Store)(nil)
	_ hub.RecordGetter    = (*Store)(nil)
)
