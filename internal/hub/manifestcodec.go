package hub

import (
	"github.com/fxamacker/cbor/v2"
	"github.com/roadcheck/roadcheck/internal/trust"
)

// EncodeManifest is the stored form of a manifest (CBOR, without its
// epoch), for stores other than BoltStore.
func EncodeManifest(m *Manifest) ([]byte, error) { return encodeManifest(m) }

// DecodeManifest reads what EncodeManifest wrote (the epoch is left zero).
// Damage gives storage.ErrDamaged.
func DecodeManifest(v []byte) (Manifest, error) {
	var m Manifest
	var bm boltManifest
	if err := cbor.Unmarshal(v, &bm); err != nil {
		return m, damaged("feed manifest", err)
	}
	m.Seq, m.At = bm.Seq, timeOf(bm.At)
	for _, c := range bm.Certs {
		r, err := fromBoltRef(c)
		if err != nil {
			return m, err
		}
		m.Certs = append(m.Certs, r)
	}
	for _, c := range bm.CRLs {
		ca, err := hashOf(c.CA, "feed manifest CRL")
		if err != nil {
			return m, err
		}
		r, err := fromBoltRef(c.Ref)
		if err != nil {
			return m, err
		}
		m.CRLs = append(m.CRLs, ManifestCRL{CA: ca, ObjectRef: r})
	}
	for _, bl := range bm.Lists {
		ca, err := hashOf(bl.CA, "feed manifest list")
		if err != nil {
			return m, err
		}
		full, err := fromBoltRef(bl.Full)
		if err != nil {
			return m, err
		}
		l := ManifestList{List: trust.ListRef{CA: ca, Issuer: bl.Issuer}, Full: ManifestFull{Seq: bl.FullSeq, ObjectRef: full}}
		for _, d := range bl.Deltas {
			r, err := fromBoltRef(d.Ref)
			if err != nil {
				return m, err
			}
			l.Deltas = append(l.Deltas, ManifestDelta{Seq: d.Seq, Base: d.Base, ObjectRef: r})
		}
		m.Lists = append(m.Lists, l)
	}
	if bp := bm.Policy; bp != nil {
		r, err := fromBoltRef(bp.Ref)
		if err != nil {
			return m, err
		}
		m.Policy = &ManifestPolicy{Seq: bp.Seq, ObjectRef: r}
	}
	return m, nil
}
