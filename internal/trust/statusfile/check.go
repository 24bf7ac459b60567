package statusfile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Check verifies every file of the current generation in full (every
// leaf and digest node by SM3) and the structure of every run (bucket
// tables, order, statuses). It returns the lists whose files are damaged,
// in key order; the error wraps ErrDamaged when the manifest or the meta
// blob is damaged (then no list can be trusted: Reset), and reports I/O
// problems otherwise.
//
// Another writer may commit while Check runs (a sync, a compaction): the
// files of the generation being checked are opened first, and when one has
// gone meanwhile the check starts again on the new generation, so a
// removed file is never taken for a damaged one. After several such
// restarts the error wraps ErrStale.
func (s *Store) Check(ctx context.Context) ([]Key, error) {
	for attempt := 0; ; attempt++ {
		bad, err := s.check(ctx)
		if !errors.Is(err, ErrStale) || attempt == StaleRetries {
			return bad, err
		}
	}
}

func (s *Store) check(ctx context.Context) ([]Key, error) {
	g, err := s.current()
	if err != nil {
		return nil, err
	}
	defer s.release(g)
	m := g.man
	bad := map[uint64]bool{}
	readers := map[uint64]*vfile{}
	defer func() {
		for _, vf := range readers {
			vf.close()
		}
	}()
	// Open every file first: once open, a file stays readable whoever
	// removes it.
	for id, fi := range m.files {
		vf, err := openVFile(s.dir, fi, false)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && s.isStale(g) {
				return nil, fmt.Errorf("%w (%v)", ErrStale, err) // not ErrDamaged
			}
			if !errors.Is(err, ErrDamaged) || fi.kind == kindMeta {
				return nil, err
			}
			bad[id] = true
			continue
		}
		readers[id] = vf
	}
	buf := make([]byte, 1<<20+2<<maxLeafShift)
	for id, vf := range readers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := vf.verifyAll(buf); err != nil {
			if !errors.Is(err, ErrDamaged) || m.files[id].kind == kindMeta {
				return nil, err
			}
			bad[id] = true
			vf.close()
			delete(readers, id)
		}
	}
	var out []Key
	for _, k := range m.keys {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for _, r := range k.runs {
			if bad[r.file] || walkRun(readers[r.file], k.key, r) != nil {
				out = append(out, k.key)
				break
			}
		}
	}
	return out, nil
}

// walkRun reads every entry of a run, checking its structure and that it
// holds the entries the manifest says.
func walkRun(vf *vfile, k Key, r runRef) error {
	c, err := newCursor(vf, k, r)
	if err != nil {
		return err
	}
	var e int64
	for {
		if err := c.next(); err != nil {
			return err
		}
		if !c.ok {
			break
		}
		e++
	}
	if e != r.e {
		return damaged(vf.name, "run at %d holds %d entries, the manifest says %d", r.off, e, r.e)
	}
	return nil
}

// Stats describes the current generation.
type Stats struct {
	Files    int   // data files (bases, overlay segments, meta)
	Bytes    int64 // their sizes plus the manifest's
	Entries  int64 // stored entries, over all runs (after compaction rules)
	Overlays int   // overlay segment files (merged away by Compact)
}

// Stats returns figures about the current generation (zero if it cannot
// be read).
func (s *Store) Stats() Stats {
	g, err := s.current()
	if err != nil {
		return Stats{}
	}
	defer s.release(g)
	var st Stats
	for _, fi := range g.man.files {
		st.Files++
		st.Bytes += fi.size
		if fi.kind == kindSegment {
			st.Overlays++
		}
	}
	if fi, err := os.Stat(s.path(manifestName)); err == nil {
		st.Bytes += fi.Size()
	}
	for _, k := range g.man.keys {
		for _, r := range k.runs {
			st.Entries += r.e
		}
	}
	return st
}

// Thresholds of NeedsCompaction.
const (
	maxOverlays      = 4   // overlay segment files
	overlayShareDiv  = 200 // overlay records above 1/200 of base records
	maxRunsPerKeyCap = 5   // runs a lookup of one list reads
)

// NeedsCompaction reports whether Compact is worth running: four or more
// overlay files, a list with five runs or more, or overlays holding more
// than 0.5 % of the records. A daily 1 % delta is thus merged the same day
// (a tablet keeps one copy of its lists), small deltas accumulate first.
func (s *Store) NeedsCompaction() bool {
	g, err := s.current()
	if err != nil {
		return false
	}
	defer s.release(g)
	m := g.man
	segs := 0
	for _, fi := range m.files {
		if fi.kind == kindSegment {
			segs++
		}
	}
	var base, over int64
	for i := range m.keys {
		k := &m.keys[i]
		if len(k.runs) >= maxRunsPerKeyCap {
			return true
		}
		for _, r := range k.runs {
			if m.files[r.file].kind == kindSegment {
				over += r.n
			} else {
				base += r.n
			}
		}
	}
	return segs >= maxOverlays || over*overlayShareDiv > base
}
