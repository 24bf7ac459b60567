package audit

import (
	"context"
	"time"
)

// SeqAt returns the number of the first entry at or after t (by At), or
// the head's Seq+1 when there is none: a binary search over the stored
// entries, whose times grow with their numbers (entries are committed in
// time order by one writer at a time; a clock set back breaks that only
// around the jump).
func SeqAt(ctx context.Context, st Store, t time.Time) (uint64, error) {
	h, err := st.AuditHead(ctx)
	if err != nil {
		return 0, err
	}
	a, _, err := st.AuditAnchor(ctx)
	if err != nil {
		return 0, err
	}
	lo, hi := a.Seq+1, h.Seq+1 // the answer is in [lo, hi]
	for lo < hi {
		mid := lo + (hi-lo)/2
		es, _, err := st.AuditEntries(ctx, Query{After: mid - 1, Limit: 1})
		if err != nil {
			return 0, err
		}
		if len(es) == 0 {
			hi = mid
			continue
		}
		if es[0].At.Before(t) {
			lo = es[0].Seq + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}
