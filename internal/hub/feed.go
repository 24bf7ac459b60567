package hub

import (
	"context"
	"io"
	"slices"
	"time"

	"github.com/roadcheck/roadcheck/internal/trust"
)

// Epoch names one continuous history of the trust feed: the hub's id
// (random, made once with its store) and a generation, bumped whenever the
// feed state is rebuilt or restored. Manifest sequence numbers compare only
// within one epoch; a terminal that meets a new epoch starts over from the
// trust data it holds.
type Epoch struct {
	Hub        string // 32 lower-case hex digits
	Generation uint64
}

// ObjectRef names a feed object by the SM3 digest of its bytes, with its
// size in bytes.
type ObjectRef struct {
	Digest trust.Hash
	Size   int64
}

// ManifestCRL is the newest CRL of one CA.
type ManifestCRL struct {
	CA trust.Hash // SM3 of the issuing CA's certificate DER
	ObjectRef
}

// ManifestFull is the latest full status list of a (CA, issuer).
type ManifestFull struct {
	Seq uint64
	ObjectRef
}

// ManifestDelta is a status-list delta from Base to Seq.
type ManifestDelta struct {
	Seq, Base uint64
	ObjectRef
}

// ManifestList is what the feed offers for one status list: the latest
// full list and the deltas published after it, in order, each based on
// the one before (the first on Full).
type ManifestList struct {
	List   trust.ListRef
	Full   ManifestFull
	Deltas []ManifestDelta
}

// Tip is the newest sequence the list reaches.
func (l *ManifestList) Tip() uint64 {
	if n := len(l.Deltas); n > 0 {
		return l.Deltas[n-1].Seq
	}
	return l.Full.Seq
}

// ManifestPolicy is the check policy the hub publishes: a signed policy
// text (package policy) stored as a feed object.
type ManifestPolicy struct {
	Seq uint64 // the policy's sequence
	ObjectRef
}

// Manifest is the current state of the trust feed: every certificate
// (anchors excepted: nothing from a network adds an anchor), the newest CRL
// of each CA, per status list its latest full list and the deltas after
// it, and the hub's signed check policy. Seq grows by one with every
// change within an Epoch.
type Manifest struct {
	Epoch  Epoch
	Seq    uint64
	At     time.Time // when it last changed (zero: never)
	Certs  []ObjectRef
	CRLs   []ManifestCRL
	Lists  []ManifestList
	Policy *ManifestPolicy // nil: no policy published
}

// Refs returns every object the manifest names, each once.
func (m *Manifest) Refs() []ObjectRef {
	seen := map[trust.Hash]bool{}
	var out []ObjectRef
	add := func(r ObjectRef) {
		if !seen[r.Digest] {
			seen[r.Digest] = true
			out = append(out, r)
		}
	}
	for _, c := range m.Certs {
		add(c)
	}
	for _, c := range m.CRLs {
		add(c.ObjectRef)
	}
	for _, l := range m.Lists {
		add(l.Full.ObjectRef)
		for _, d := range l.Deltas {
			add(d.ObjectRef)
		}
	}
	if m.Policy != nil {
		add(m.Policy.ObjectRef)
	}
	return out
}

// Clone returns a deep copy of m.
func (m Manifest) Clone() Manifest {
	m.Certs = slices.Clone(m.Certs)
	m.CRLs = slices.Clone(m.CRLs)
	m.Lists = slices.Clone(m.Lists)
	for i := range m.Lists {
		m.Lists[i].Deltas = slices.Clone(m.Lists[i].Deltas)
	}
	if m.Policy != nil {
		p := *m.Policy
		m.Policy = &p
	}
	return m
}

// FeedObject is a stored feed object opened for reading: the block's bytes
// as issued, streamed from storage (never buffered whole). The caller
// closes it.
type FeedObject struct {
	io.ReadSeekCloser
	Ref     ObjectRef
	Type    string    // trust.BlockCertificate, trust.BlockCRL, trust.BlockStatusList or wire.ObjectPolicy
	ModTime time.Time // when it was stored (for HTTP caching)
}

// ObjectGrace is how long an object stays downloadable after the manifest
// stopped naming it, so that downloads started from the previous manifest
// can finish.
const ObjectGrace = time.Hour

// FeedStore is the persistence of the trust feed: content-addressed
// objects and the manifest. All methods are safe for concurrent use.
type FeedStore interface {
	// PutObject stores a feed object — one signed block as issued: the DER
	// of a CERTIFICATE or X509 CRL, the COSE bytes of an RTC STATUS LIST —
	// under the SM3 digest of data, and returns its reference. Storing
	// bytes already held changes nothing. An object no manifest names yet
	// counts as retired at `at` (PruneObjects removes it after the grace
	// period unless UpdateManifest names it meanwhile).
	PutObject(ctx context.Context, typ string, data []byte, at time.Time) (ObjectRef, error)
	// Object opens the object with digest for streaming: ErrNotFound when
	// it is not stored (never was, or was pruned). Retired objects stay
	// readable until pruned.
	Object(ctx context.Context, digest trust.Hash) (*FeedObject, error)
	// Manifest returns the current manifest: Seq 0 and nothing listed
	// before the first change; its Epoch is always set.
	Manifest(ctx context.Context) (Manifest, error)
	// UpdateManifest atomically replaces the manifest by fn's edit of a
	// copy of the current one. When fn reports a change, the stored
	// manifest gets the next Seq of its epoch (a new generation, Seq 1, if
	// the sequence would overflow) and At = at; every object it names must
	// have been stored with PutObject (else ErrNotFound and nothing
	// changes); objects it no longer names are retired at `at`. An error of
	// fn changes nothing. It returns the manifest now current. fn runs
	// inside the store's transaction: it must not call the store.
	UpdateManifest(ctx context.Context, at time.Time, fn func(m *Manifest) (changed bool, err error)) (Manifest, error)
	// PruneObjects deletes the objects retired at or before `before` (and,
	// for stores that keep bytes apart from metadata, leftovers of
	// interrupted writes older than that); objects the manifest names are
	// never deleted. It returns how many it deleted.
	PruneObjects(ctx context.Context, before time.Time) (int, error)
	// NewGeneration starts a new epoch of the feed (same hub id, next
	// generation, Seq 1, the same content) — after the feed state was
	// rebuilt or restored from a backup — and returns it. Terminals then
	// start over from what they hold.
	NewGeneration(ctx context.Context) (Epoch, error)
}
