package national

import (
	"context"
	"fmt"
	"time"

	"github.com/roadcheck/roadcheck/internal/credential"
)

// Code returns the RTC1 QR text of licence index of issuerCode as its
// holder would show it at `at`: a static code (kind 3 for even indices,
// kind 1 for odd ones, see KindOf) whose id is LicenceID(issuerCode,
// index), signed by one of the issuer's unrevoked signers (chosen by
// index), issued and valid so that at falls inside its validity (a
// vehicle's review is due 100 days after at). Verified at CheckTime
// against the world's trust data, its verdict follows Status: VALID for
// an active licence, INVALID LICENCE_REVOKED or LICENCE_SUSPENDED
// otherwise. at should lie within about three years of the world's At
// (the signers' validity). Deterministic for (world, issuer, index, at).
func (w *World) Code(ctx context.Context, issuerCode string, index int, at time.Time) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	is, err := w.issuerOf(issuerCode)
	if err != nil {
		return "", err
	}
	if index < 0 || index >= MaxIndex {
		return "", fmt.Errorf("%w: %d", ErrIndex, index)
	}
	s, err := w.signer(is.Signers[index%len(is.Signers)])
	if err != nil {
		return "", err
	}
	at = at.Truncate(time.Second)
	abbr := provinces[w.plan.issuers[w.byCodeIndex(issuerCode)].prov].abbr
	cr, iat := credentialFor(&is, abbr, index, at)
	text, err := s.SignStatic(randFor(w.cfg.Seed, fmt.Sprintf("code/%s/%d/%d", issuerCode, index, at.Unix())), cr, iat)
	if err != nil {
		return "", fmt.Errorf("national: code %s/%d: %w", issuerCode, index, err)
	}
	return text, nil
}

func (w *World) byCodeIndex(code string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.byCode[code]
}

// Status is the status of licence index of issuerCode after the full list
// and every published delta.
func (w *World) Status(issuerCode string, index int) (credential.Status, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	i, ok := w.byCode[issuerCode]
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrUnknownIssuer, issuerCode)
	}
	if index < 0 || index >= MaxIndex {
		return 0, fmt.Errorf("%w: %d", ErrIndex, index)
	}
	return w.statusLocked(i, index), nil
}

func (w *World) statusLocked(i, index int) credential.Status {
	is := &w.m.Issuers[i]
	st, full := credential.StatusActive, credential.StatusActive
	if index < is.Entries {
		from, span := sinceWindow(w.cfg.At)
		full, _ = fullEntry(entryKey(w.cfg.Seed, is.Code), index, from, span)
		st = full
	}
	for _, oi := range w.deltas[is.Code] {
		r := w.m.Objects[oi].Ranges
		switch {
		case r == nil:
		case inRange(r.Reinstated, index) && full == credential.StatusSuspended:
			st = credential.StatusActive
		case inRange(r.Revoked, index):
			st = credential.StatusRevoked
		case inRange(r.Suspended, index):
			st = credential.StatusSuspended
		}
	}
	return st
}

// Revoked returns up to n licences revoked in the newest lists: first
// those revoked by the newest deltas (a terminal one day behind still
// finds them active), then revocations of the full lists still in force;
// spread round-robin over the issuers.
func (w *World) Revoked(n int) []Licence { return w.Sample(n, credential.StatusRevoked) }

// Active returns up to n active licences: first the suspensions the newest
// deltas lifted, then licences no list ever named.
func (w *World) Active(n int) []Licence { return w.Sample(n, credential.StatusActive) }

// Sample returns up to n licences whose status after every published list
// is st, preferring those the newest deltas changed to st, round-robin over
// the issuers (fewer than n only when the world has fewer).
func (w *World) Sample(n int, st credential.Status) []Licence {
	w.mu.Lock()
	defer w.mu.Unlock()
	from, span := sinceWindow(w.cfg.At)
	type cursor struct {
		issuer int
		r      [2]int
		filter func(int) bool
	}
	var out []Licence
	take := func(cs []cursor) {
		for len(out) < n {
			progressed := false
			for k := range cs {
				c := &cs[k]
				for c.r[0] < c.r[1] {
					j := c.r[0]
					c.r[0]++
					if c.filter == nil || c.filter(j) {
						out = append(out, Licence{Issuer: w.m.Issuers[c.issuer].Code, Index: j, Status: st})
						progressed = true
						break
					}
				}
				if len(out) == n {
					return
				}
			}
			if !progressed {
				return
			}
		}
	}
	var newest, rest []cursor
	lastDay := 0
	if k := len(w.m.Deltas); k > 0 {
		lastDay = w.m.Deltas[k-1].Day
	}
	for i, is := range w.m.Issuers {
		key := entryKey(w.cfg.Seed, is.Code)
		if ds := w.deltas[is.Code]; lastDay > 0 && len(ds) > 0 {
			if o := w.m.Objects[ds[len(ds)-1]]; o.Day == lastDay && o.Ranges != nil {
				switch st {
				case credential.StatusActive:
					newest = append(newest, cursor{i, o.Ranges.Reinstated, func(j int) bool {
						f, _ := fullEntry(key, j, from, span)
						return f == credential.StatusSuspended
					}})
				case credential.StatusRevoked:
					newest = append(newest, cursor{i, o.Ranges.Revoked, nil})
				case credential.StatusSuspended:
					newest = append(newest, cursor{i, o.Ranges.Suspended, nil})
				}
			}
		}
		if st == credential.StatusActive {
			rest = append(rest, cursor{i, [2]int{is.NextIndex, MaxIndex}, nil})
		} else {
			rest = append(rest, cursor{i, [2]int{0, is.Entries}, func(j int) bool { return w.statusLocked(i, j) == st }})
		}
	}
	take(newest)
	take(rest)
	return out
}
