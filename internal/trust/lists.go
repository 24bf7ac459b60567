package trust

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/trust/statusfile"
)

func importList(idx *index, w *writes, pl parsedList) {
	r, l := pl.res, pl.list
	if !pl.sig.AlgOK {
		r.Err = fmt.Errorf("%w: alg %v", ErrStatusList, pl.sig.Alg)
		return
	}
	at := time.Unix(l.ThisUpdate, 0)
	var ca *Cert
	lastErr := fmt.Errorf("%w: kid %x", ErrUnknownIssuer, pl.sig.KID)
	for _, signer := range idx.byKID[[credential.KIDSize]byte(pl.sig.KID)] {
		ch, err := idx.usableChain(signer, at)
		if err != nil {
			lastErr = err
			continue
		}
		if !pl.verify(signer) {
			lastErr = ErrBadSignature
			continue
		}
		if !Covers(ch.IssuingCA().Prefix, l.Issuer) {
			lastErr = fmt.Errorf("%w: list for %s signed under %s", ErrJurisdiction, l.Issuer, ch.IssuingCA().Prefix)
			continue
		}
		ca = ch.IssuingCA()
		break
	}
	if ca == nil {
		r.Err = lastErr
		return
	}
	// Lists are stored per CA identity (subject and key, RTC1
	// clarification 12): a renewed or cross-certified CA's lists apply
	// whichever of its certificates a chain passes through.
	key := listKey{ca.Identity(), l.Issuer}
	cur := idx.lists[key]
	r.List = &ListInfoRef{Ref: ListRef{CA: key.ca, Issuer: l.Issuer}, Sequence: l.Sequence, Base: l.Base}
	switch {
	case cur != nil && cur.Damaged:
		// The stored entries were lost to damage: a full list at or above
		// the full list they were built from replaces them; the list then
		// stays Incomplete until it is back at the sequence held before.
		if !l.Full() {
			r.Err = fmt.Errorf("%w: base %d, stored list %d is damaged and needs its full list", ErrDeltaBase, l.Base, cur.Sequence)
			return
		}
		if l.Sequence < cur.FullSequence {
			r.Err = fmt.Errorf("%w: %d, stored full list %d", ErrRollback, l.Sequence, cur.FullSequence)
			return
		}
	case cur != nil && cur.appliedBefore(pl.digestOf()):
		r.Outcome = Unchanged
		return
	case cur != nil && l.Sequence <= cur.Sequence:
		r.Err = fmt.Errorf("%w: %d, stored %d", ErrRollback, l.Sequence, cur.Sequence)
		return
	case !l.Full() && (cur == nil || cur.Sequence != l.Base):
		stored := "none"
		if cur != nil {
			stored = fmt.Sprint(cur.Sequence)
		}
		r.Err = fmt.Errorf("%w: base %d, stored %s", ErrDeltaBase, l.Base, stored)
		return
	}
	digest := pl.digestOf()
	var applied [][]byte
	if !l.Full() && cur != nil {
		applied = append(slices.Clone(cur.applied), slices.Clone(cur.Digest[:]))
		if len(applied) > maxApplied {
			applied = applied[len(applied)-maxApplied:]
		}
	}
	if err := w.list(key, l, pl.each); err != nil {
		r.Err = err
		return
	}
	info := &ListInfo{CA: ca, Issuer: l.Issuer, Sequence: l.Sequence, ThisUpdate: at, NextUpdate: time.Unix(l.NextUpdate, 0), Digest: digest, FullSequence: l.Sequence, applied: applied}
	if cur != nil {
		if !l.Full() {
			info.FullSequence = cur.FullSequence
		}
		info.Floor = cur.Floor
		if cur.Damaged {
			info.Floor = max(info.Floor, cur.Sequence)
		}
		if info.Sequence >= info.Floor {
			info.Floor = 0
		}
	}
	idx.lists[key] = info
	r.Outcome = Stored
}

// writes collects what one Import changes. Status-list entries go to the
// trust files' transaction at once (streamed to disk, committed or dropped
// with the whole import); certificates, CRLs and list headers are in the
// index that the commit writes as metadata.
type writes struct {
	tx       *statusfile.Tx
	changed  bool
	err      error     // a storage failure: the whole import fails
	replaced []listKey // lists a full list replaced (damage repaired)
}

func (w *writes) empty() bool { return !w.changed }

// errStopEntries ends a streamed list early when its consumer stops.
var errStopEntries = errors.New("trust: stop")

// list writes the entries of a verified list — l.Entries, or those each
// streams — : a full list replaces the stored state of key, a delta is
// applied on top of it.
func (w *writes) list(key listKey, l *credential.StatusList, each func(func(credential.StatusEntry) error) error) error {
	if each == nil {
		es := l.Entries
		each = func(y func(credential.StatusEntry) error) error {
			for _, e := range es {
				if err := y(e); err != nil {
					return err
				}
			}
			return nil
		}
	}
	var err error
	if l.Full() {
		w.replaced = append(w.replaced, key)
		err = w.tx.Replace(key.file(), func(yield func(statusfile.Entry, error) bool) {
			err := each(func(e credential.StatusEntry) error {
				if !yield(statusfile.Entry{IDHash: e.IDHash, Status: uint8(e.Status), Since: e.Since}, nil) {
					return errStopEntries
				}
				return nil
			})
			if err != nil && !errors.Is(err, errStopEntries) {
				yield(statusfile.Entry{}, err)
			}
		})
	} else {
		var es []statusfile.Entry
		if err = each(func(e credential.StatusEntry) error {
			es = append(es, statusfile.Entry{IDHash: e.IDHash, Status: uint8(e.Status), Since: e.Since})
			return nil
		}); err == nil {
			err = w.tx.Append(key.file(), es)
		}
	}
	if err != nil {
		w.err = fmt.Errorf("trust: store status list %s #%d: %w", l.Issuer, l.Sequence, err)
		return w.err
	}
	w.changed = true
	return nil
}
