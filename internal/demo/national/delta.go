package national

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"path/filepath"

	"github.com/roadcheck/roadcheck/internal/credential"
)

// Delta publishes the status changes of day (1 = the day after At): one
// delta list per issuer on top of its newest sequence (base = that
// sequence, sequence = base+1), together round(fraction·Entries) entries
// split over the issuers by the size of their full lists. Of each list
// about 15 % lift suspensions of the full list (status 0), 25 % are new
// suspensions and the rest new revocations of licences never listed
// before; every since lies in the 24 hours before the list's thisUpdate,
// At + day·24 h, and nextUpdate is 7 days later. The lists are written to
// lists/, then the manifest is replaced atomically.
//
// Deltas chain: each day's lists apply on top of the previous day's. Days
// must increase; asking again for a day already published with the same
// fraction returns that set without writing anything (so a cached world
// serves repeated runs), with another fraction it is ErrDayOrder. The
// result is deterministic for the world and the sequence of calls.
func (w *World) Delta(ctx context.Context, day int, fraction float64) (DeltaSet, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if day < 1 || math.IsNaN(fraction) || fraction < 0 || fraction > 1 {
		return DeltaSet{}, fmt.Errorf("%w: delta day %d, fraction %v", ErrConfig, day, fraction)
	}
	for _, d := range w.m.Deltas {
		if d.Day == day && d.Fraction == fraction {
			return w.deltaSet(d), nil
		}
		if d.Day >= day {
			return DeltaSet{}, fmt.Errorf("%w: day %d after day %d was published", ErrDayOrder, day, w.m.Deltas[len(w.m.Deltas)-1].Day)
		}
	}
	m := w.cloneManifest()
	total := int(math.Round(fraction * float64(w.cfg.Entries)))
	weights := make([]float64, len(m.Issuers))
	for i, is := range m.Issuers {
		weights[i] = float64(is.Entries) + 1
	}
	counts := apportion(total, weights, MaxListEntries)
	this := deltaTime(w.cfg.At, day).Unix()
	from, span := sinceWindow(w.cfg.At)
	set := DeltaSet{Day: day, Fraction: fraction}
	var lw listWriter
	for i := range m.Issuers {
		if err := ctx.Err(); err != nil {
			return DeltaSet{}, err
		}
		is := &m.Issuers[i]
		key := entryKey(w.cfg.Seed, is.Code)
		n := counts[i]
		nRe, nSu := n*reinstatedPercent/100, n*newSuspPercent/100
		// Lift suspensions of the full list, from the cursor on.
		start, cur, picked := is.Cursor, is.Cursor, 0
		for ; cur < is.Entries && picked < nRe; cur++ {
			if st, _ := fullEntry(key, cur, from, span); st == credential.StatusSuspended {
				picked++
			}
		}
		nRv := n - picked - nSu
		r := Ranges{Reinstated: [2]int{start, cur}, Revoked: [2]int{is.NextIndex, is.NextIndex + nRv}}
		r.Suspended = [2]int{r.Revoked[1], r.Revoked[1] + nSu}
		if r.Suspended[1] > MaxIndex {
			return DeltaSet{}, fmt.Errorf("%w: issuer %s runs out of licence indices", ErrConfig, is.Code)
		}
		head := listHead{issuer: is.Code, seq: is.Sequence + 1, base: is.Sequence, this: this, next: this + 7*86400}
		lw.begin(head, n)
		for j := start; j < cur; j++ {
			if st, _ := fullEntry(key, j, from, span); st == credential.StatusSuspended {
				h := idHash(is.Code, j)
				lw.add(&h, credential.StatusActive, deltaSince(key, j, this))
			}
		}
		for _, part := range []struct {
			r  [2]int
			st credential.Status
		}{{r.Revoked, credential.StatusRevoked}, {r.Suspended, credential.StatusSuspended}} {
			for j := part.r[0]; j < part.r[1]; j++ {
				h := idHash(is.Code, j)
				lw.add(&h, part.st, deltaSince(key, j, this))
			}
		}
		s, err := w.signerLocked(is.Signers[0])
		if err != nil {
			return DeltaSet{}, err
		}
		rel := listPath(is.Code, is.CAID, head.seq)
		size, sum, err := lw.finish(w.path(rel), s, randFor(w.cfg.Seed, fmt.Sprintf("list/%s/%d", is.Code, head.seq)))
		if err != nil {
			return DeltaSet{}, fmt.Errorf("national: delta: %w", err)
		}
		rr := r
		m.Objects = append(m.Objects, Object{Type: TypeList, Path: rel, Issuer: is.Code, CA: is.CAID, Sequence: head.seq, Base: head.base,
			Entries: n, Day: day, Size: size, SM3: hex.EncodeToString(sum[:]), Ranges: &rr})
		set.Entries += n
		is.Sequence, is.NextIndex, is.Cursor = head.seq, r.Suspended[1], cur
	}
	m.Deltas = append(m.Deltas, set)
	old := w.m
	w.setManifest(m)
	if w.cfg.Bundle {
		rel := filepath.ToSlash(filepath.Join("bundles", fmt.Sprintf("delta-%d.pem", day)))
		if err := w.writeBundleFile(ctx, rel, w.deltaSet(set).Lists); err != nil {
			w.setManifest(old)
			return DeltaSet{}, err
		}
		m.Deltas[len(m.Deltas)-1].Bundle = rel
	}
	if err := writeManifest(w.dir, m); err != nil {
		w.setManifest(old)
		return DeltaSet{}, err
	}
	return w.deltaSet(m.Deltas[len(m.Deltas)-1]), nil
}

// deltaSet fills d's lists from the manifest (the caller holds mu).
func (w *World) deltaSet(d DeltaSet) DeltaSet {
	d.Lists = nil
	for _, o := range w.m.Objects {
		if o.Type == TypeList && o.Base != 0 && o.Day == d.Day {
			if o.Ranges != nil {
				r := *o.Ranges
				o.Ranges = &r
			}
			d.Lists = append(d.Lists, o)
		}
	}
	return d
}

// Deltas returns the published delta sets, oldest first, with their lists.
func (w *World) Deltas() []DeltaSet {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []DeltaSet
	for _, d := range w.m.Deltas {
		out = append(out, w.deltaSet(d))
	}
	return out
}
