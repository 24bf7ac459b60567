package trust

import (
	"cmp"
	"encoding/hex"
	"slices"
	"time"
)

// Summary describes the whole trust store for people (rcctl trust status,
// the GUI's settings screen). Staleness is judged at At.
type Summary struct {
	At      time.Time     `json:"at"`
	Anchors []CertSummary `json:"anchors"`
	CAs     []CertSummary `json:"cas"`
	Signers []CertSummary `json:"signers"`
	CRLs    []CRLSummary  `json:"crls"`
	Lists   []ListSummary `json:"statusLists"`
	// Stale is true when any CRL or status list is stale at At.
	Stale bool `json:"stale"`
	// Oldest is the oldest thisUpdate among the status lists (zero if none):
	// the age of the trust data shown in the status bar.
	Oldest time.Time `json:"oldestStatusList"`
}

// CertSummary is one certificate.
type CertSummary struct {
	Name      string    `json:"name"`
	Subject   string    `json:"subject"`
	Hash      string    `json:"sm3"`
	KID       string    `json:"kid,omitempty"`
	Prefix    string    `json:"prefix,omitempty"`
	Issuer    string    `json:"issuer,omitempty"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
}

// CRLSummary is the newest CRL of one CA.
type CRLSummary struct {
	CA         string    `json:"ca"`
	Number     string    `json:"number"`
	ThisUpdate time.Time `json:"thisUpdate"`
	NextUpdate time.Time `json:"nextUpdate"`
	Revoked    int       `json:"revoked"`
	Stale      bool      `json:"stale"`
}

// ListSummary is the status list of one (CA, issuer).
type ListSummary struct {
	Issuer     string    `json:"issuer"`
	CA         string    `json:"ca"`
	Sequence   uint64    `json:"sequence"`
	ThisUpdate time.Time `json:"thisUpdate"`
	NextUpdate time.Time `json:"nextUpdate"`
	Entries    int       `json:"entries"`
	Stale      bool      `json:"stale"`
	// Damaged: the list's entry file was found damaged; it gives no status
	// until the next sync fetches its full list again.
	Damaged bool `json:"damaged,omitempty"`
}

// Summary returns the store's contents, sorted by name, with staleness at
// at: a CRL is stale after its nextUpdate; a status list after its
// nextUpdate or when older than maxAge.
func (s *Store) Summary(at time.Time, maxAge time.Duration) *Summary {
	idx := s.snapshot()
	sum := &Summary{At: at}
	for _, c := range idx.certs {
		cs := CertSummary{Name: c.Label(), Subject: c.Subject(), Hash: c.Hash.String(),
			NotBefore: c.Cert.NotBefore, NotAfter: c.Cert.NotAfter}
		if len(c.Parents) > 0 {
			cs.Issuer = c.Parents[0].Label()
		}
		switch {
		case c.Anchor:
			sum.Anchors = append(sum.Anchors, cs)
		case c.CA:
			cs.Prefix = c.Prefix
			sum.CAs = append(sum.CAs, cs)
		default:
			cs.KID = hex.EncodeToString(c.KID[:])
			sum.Signers = append(sum.Signers, cs)
		}
	}
	for _, c := range idx.crls {
		n := "-"
		if c.Number != nil {
			n = c.Number.String()
		}
		stale := c.NextUpdate.IsZero() || c.NextUpdate.Before(at) // no nextUpdate: always stale (clarification 14)
		sum.Stale = sum.Stale || stale
		sum.CRLs = append(sum.CRLs, CRLSummary{CA: c.CA.Label(), Number: n, ThisUpdate: c.ThisUpdate, NextUpdate: c.NextUpdate, Revoked: c.Count(), Stale: stale})
	}
	for k, l := range idx.lists {
		damaged := l.Damaged || s.isDamaged(k)
		stale := damaged || l.Incomplete() || l.NextUpdate.Before(at) || at.Sub(l.ThisUpdate) > maxAge
		sum.Stale = sum.Stale || stale
		ca := ""
		if l.CA != nil {
			ca = l.CA.Label()
		}
		if sum.Oldest.IsZero() || l.ThisUpdate.Before(sum.Oldest) {
			sum.Oldest = l.ThisUpdate
		}
		sum.Lists = append(sum.Lists, ListSummary{Issuer: l.Issuer, CA: ca, Sequence: l.Sequence, ThisUpdate: l.ThisUpdate, NextUpdate: l.NextUpdate, Entries: l.Entries, Stale: stale, Damaged: damaged})
	}
	byName := func(a, b CertSummary) int { return cmp.Compare(a.Name+a.Hash, b.Name+b.Hash) }
	slices.SortFunc(sum.Anchors, byName)
	slices.SortFunc(sum.CAs, byName)
	slices.SortFunc(sum.Signers, byName)
	slices.SortFunc(sum.CRLs, func(a, b CRLSummary) int { return cmp.Compare(a.CA, b.CA) })
	slices.SortFunc(sum.Lists, func(a, b ListSummary) int { return cmp.Compare(a.Issuer+a.CA, b.Issuer+b.CA) })
	return sum
}
