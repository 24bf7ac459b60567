package hub

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"

	"github.com/roadcheck/roadcheck/internal/trust"
)

// SyncTrustReport says what SyncTrust brought into the trust store.
type SyncTrustReport struct {
	Anchors bool // anchors were installed
	Objects int  // feed objects imported
}

// SyncTrust brings the hub's own trust store ts up to the state of the
// store st, which several hubs may share: the anchors st keeps (when it is
// an AnchorStore) and the objects its feed manifest names that ts does not
// hold yet (certificates, newer CRLs, the status lists past what ts holds),
// imported with the rules of trust.Store.ImportObjects and read from st
// one at a time. Every hub on a PostgreSQL database runs it at start and
// then periodically, so that each answers status checks from the same
// trust data it serves on the feed. It is idempotent.
func SyncTrust(ctx context.Context, st Store, ts *trust.Store) (SyncTrustReport, error) {
	var rep SyncTrustReport
	if as, ok := st.(AnchorStore); ok {
		pemData, err := as.Anchors(ctx)
		if err != nil {
			return rep, err
		}
		held := ts.Holdings().Certs
		missing := false
		for rest := pemData; ; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			if b.Type == "CERTIFICATE" && !held[trust.HashOf(b.Bytes)] {
				missing = true
			}
		}
		if missing {
			if _, err := ts.AddAnchors(ctx, pemData); err != nil {
				return rep, fmt.Errorf("hub: install anchors: %w", err)
			}
			rep.Anchors = true
		}
	}
	m, err := st.Manifest(ctx)
	if err != nil {
		return rep, err
	}
	h := ts.Holdings()
	var objs []trust.Object
	add := func(typ string, r ObjectRef, issuer string, seq uint64) {
		objs = append(objs, trust.Object{Type: typ, Digest: r.Digest, Issuer: issuer, Sequence: seq, Size: r.Size, Load: func() ([]byte, error) {
			o, err := st.Object(ctx, r.Digest)
			if err != nil {
				return nil, err
			}
			defer o.Close()
			return io.ReadAll(o)
		}})
	}
	for _, c := range m.Certs {
		if !h.Certs[c.Digest] {
			add(trust.BlockCertificate, c, "", 0)
		}
	}
	for _, c := range m.CRLs {
		if h.CRLs[c.CA] != c.Digest {
			add(trust.BlockCRL, c.ObjectRef, "", 0)
		}
	}
	for _, l := range m.Lists {
		held, ok := h.Lists[l.List]
		if ok && held.Sequence >= l.Tip() {
			continue
		}
		if !ok || held.Sequence < l.Full.Seq {
			add(trust.BlockStatusList, l.Full.ObjectRef, l.List.Issuer, l.Full.Seq)
		}
		for _, d := range l.Deltas {
			if !ok || d.Seq > held.Sequence {
				add(trust.BlockStatusList, d.ObjectRef, l.List.Issuer, d.Seq)
			}
		}
	}
	if len(objs) == 0 {
		return rep, nil
	}
	if _, err := ts.ImportObjects(ctx, objs); err != nil {
		return rep, err
	}
	rep.Objects = len(objs)
	return rep, nil
}
