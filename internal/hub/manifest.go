package hub

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/roadcheck/roadcheck/internal/trust"
)

// PublishReport says what became of a published bundle.
type PublishReport struct {
	Import *trust.Report // the hub trust store's verdict on every block
	// Manifest is the feed's manifest afterwards.
	Manifest Manifest
	// Added is how many objects the manifest names now that it did not
	// before (0: nothing new was published).
	Added int
	// Pruned is how many objects retired for longer than ObjectGrace were
	// deleted.
	Pruned int
}

// Publish validates bundle against the hub's anchors (importing it into the
// hub's trust store) and places every block that verified — stored now or
// already held — in the trust feed's manifest, keeping only the current
// state: every certificate but anchors, the newest CRL of each CA, and per
// status list the latest full list and the deltas after it (older full
// lists and the deltas before the latest full one leave the manifest).
// Blocks that do not verify are
// reported and left out. A bundle of which no block verifies gives
// ErrNothingValid (ErrNoAnchors when the hub has no anchors). Objects the
// manifest stopped naming more than ObjectGrace before at are deleted.
//
// The hub cannot sign anything: objects are the blocks exactly as issued.
func Publish(ctx context.Context, st Store, ts *trust.Store, bundle []byte, at time.Time) (*PublishReport, error) {
	rep, err := ts.Import(ctx, bundle)
	if err != nil {
		return nil, err
	}
	sum := ts.Summary(at, 0)
	anchors := map[string]bool{}
	for _, a := range sum.Anchors {
		anchors[a.Hash] = true
	}
	var certs []ObjectRef
	crls := map[trust.Hash]ObjectRef{}
	var lists []placedList
	valid := 0
	for _, b := range rep.Blocks {
		if b.Outcome == trust.Skipped {
			continue
		}
		valid++
		switch {
		case b.Block.Type == trust.BlockCertificate:
			if anchors[trust.HashOf(b.Block.Bytes).String()] {
				continue // nothing from the network adds an anchor
			}
			ref, err := st.PutObject(ctx, b.Block.Type, b.Block.Bytes, at)
			if err != nil {
				return nil, err
			}
			certs = append(certs, ref)
		case b.Block.Type == trust.BlockCRL && b.CRLOf != nil:
			ref, err := st.PutObject(ctx, b.Block.Type, b.Block.Bytes, at)
			if err != nil {
				return nil, err
			}
			crls[*b.CRLOf] = ref // the trust store keeps only the newest: so does the feed
		case b.Block.Type == trust.BlockStatusList && b.List != nil:
			ref, err := st.PutObject(ctx, b.Block.Type, b.Block.Bytes, at)
			if err != nil {
				return nil, err
			}
			lists = append(lists, placedList{info: *b.List, ref: ref})
		}
	}
	if valid == 0 {
		if len(sum.Anchors) == 0 {
			return &PublishReport{Import: rep}, ErrNoAnchors
		}
		return &PublishReport{Import: rep}, ErrNothingValid
	}
	out := &PublishReport{Import: rep}
	out.Manifest, err = st.UpdateManifest(ctx, at, func(m *Manifest) (bool, error) {
		before := map[trust.Hash]bool{}
		for _, r := range m.Refs() {
			before[r.Digest] = true
		}
		changed := placeAll(m, certs, crls, lists)
		for _, r := range m.Refs() {
			if !before[r.Digest] {
				out.Added++
			}
		}
		return changed, nil
	})
	if err != nil {
		return nil, err
	}
	if out.Pruned, err = st.PruneObjects(ctx, at.Add(-ObjectGrace)); err != nil {
		return nil, err
	}
	return out, nil
}

// placedList is a verified status-list block to place in the manifest.
type placedList struct {
	info trust.ListInfoRef
	ref  ObjectRef
}

// placeAll places certificates, CRLs and status lists in m and reports
// whether m changed. It keeps m sorted (certificates by digest, CRLs by
// CA, lists by name) so equal states give equal manifests.
func placeAll(m *Manifest, certs []ObjectRef, crls map[trust.Hash]ObjectRef, lists []placedList) bool {
	changed := false
	for _, c := range certs {
		if !slices.ContainsFunc(m.Certs, func(o ObjectRef) bool { return o.Digest == c.Digest }) {
			m.Certs = append(m.Certs, c)
			changed = true
		}
	}
	for ca, ref := range crls {
		i := slices.IndexFunc(m.CRLs, func(c ManifestCRL) bool { return c.CA == ca })
		switch {
		case i < 0:
			m.CRLs = append(m.CRLs, ManifestCRL{CA: ca, ObjectRef: ref})
			changed = true
		case m.CRLs[i].Digest != ref.Digest:
			m.CRLs[i].ObjectRef = ref
			changed = true
		}
	}
	// Per list in ascending sequence, a full list before a delta of the
	// same sequence.
	slices.SortStableFunc(lists, func(a, b placedList) int {
		if c := cmp.Compare(a.info.Ref.String(), b.info.Ref.String()); c != 0 {
			return c
		}
		if c := cmp.Compare(a.info.Sequence, b.info.Sequence); c != 0 {
			return c
		}
		return cmp.Compare(a.info.Base, b.info.Base)
	})
	for _, pl := range lists {
		if placeList(m, pl) {
			changed = true
		}
	}
	slices.SortFunc(m.Certs, func(a, b ObjectRef) int { return cmpHash(a.Digest, b.Digest) })
	slices.SortFunc(m.CRLs, func(a, b ManifestCRL) int { return cmpHash(a.CA, b.CA) })
	slices.SortFunc(m.Lists, func(a, b ManifestList) int { return cmp.Compare(a.List.String(), b.List.String()) })
	return changed
}

func cmpHash(a, b trust.Hash) int {
	for i := range a {
		if c := cmp.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

// placeList places one status-list block and reports whether m changed:
//   - a full list newer than what the manifest has for the list (or at
//     the sequence of one of its deltas) becomes its full list, and the
//     deltas it covers go;
//   - a delta based on the newest sequence the list reaches is appended;
//   - anything else (already there, older, not fitting) changes nothing:
//     the hub's trust store accepted it, so the terminals' stores reach
//     the same state through what the manifest offers.
//
// The chain from the full list to the tip stays whole: the hub cannot make
// a newer full list, so a terminal far behind needs the full list and
// every delta after it, while one that holds a sequence of the chain needs
// only the deltas after it.
func placeList(m *Manifest, pl placedList) bool {
	i := slices.IndexFunc(m.Lists, func(l ManifestList) bool { return l.List == pl.info.Ref })
	full := pl.info.Base == 0
	if i < 0 {
		if !full {
			return false // no full list to base it on
		}
		m.Lists = append(m.Lists, ManifestList{List: pl.info.Ref, Full: ManifestFull{Seq: pl.info.Sequence, ObjectRef: pl.ref}})
		return true
	}
	l := &m.Lists[i]
	if l.Full.Digest == pl.ref.Digest || slices.ContainsFunc(l.Deltas, func(d ManifestDelta) bool { return d.Digest == pl.ref.Digest }) {
		return false
	}
	switch {
	case full && pl.info.Sequence > l.Full.Seq && pl.info.Sequence >= l.Tip():
		l.Full, l.Deltas = ManifestFull{Seq: pl.info.Sequence, ObjectRef: pl.ref}, nil
	case full && pl.info.Sequence > l.Full.Seq:
		// A full list at the sequence of one of the deltas: it replaces
		// the full list and the deltas up to it.
		l.Full = ManifestFull{Seq: pl.info.Sequence, ObjectRef: pl.ref}
		l.Deltas = slices.DeleteFunc(l.Deltas, func(d ManifestDelta) bool { return d.Seq <= pl.info.Sequence })
	case !full && pl.info.Base == l.Tip() && pl.info.Sequence > pl.info.Base:
		l.Deltas = append(l.Deltas, ManifestDelta{Seq: pl.info.Sequence, Base: pl.info.Base, ObjectRef: pl.ref})
	default:
		return false
	}
	return true
}
