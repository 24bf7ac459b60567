package hub

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/trust"
	bolt "go.etcd.io/bbolt"
)

// Keys of BucketHubFeedState, and the marker file in the objects directory.
var (
	keyEpoch    = []byte("epoch")
	keyManifest = []byte("manifest")
)

// markerName is the file in the objects directory that records the feed
// state (hub id, generation, sequence) after every change: a database
// restored from a backup holds an older state than its objects directory.
const markerName = "FEED"

type boltEpoch struct {
	Hub        string `cbor:"1,keyasint"`
	Generation uint64 `cbor:"2,keyasint"`
}

type boltRef struct {
	Digest []byte `cbor:"1,keyasint"`
	Size   int64  `cbor:"2,keyasint"`
}

type boltCRL struct {
	CA  []byte  `cbor:"1,keyasint"`
	Ref boltRef `cbor:"2,keyasint"`
}

type boltDelta struct {
	Seq  uint64  `cbor:"1,keyasint"`
	Base uint64  `cbor:"2,keyasint"`
	Ref  boltRef `cbor:"3,keyasint"`
}

type boltList struct {
	CA      []byte      `cbor:"1,keyasint"`
	Issuer  string      `cbor:"2,keyasint"`
	FullSeq uint64      `cbor:"3,keyasint"`
	Full    boltRef     `cbor:"4,keyasint"`
	Deltas  []boltDelta `cbor:"5,keyasint,omitempty"`
}

type boltManifest struct {
	Seq   uint64     `cbor:"1,keyasint"`
	At    int64      `cbor:"2,keyasint,omitempty"`
	Certs []boltRef  `cbor:"3,keyasint,omitempty"`
	CRLs  []boltCRL  `cbor:"4,keyasint,omitempty"`
	Lists []boltList `cbor:"5,keyasint,omitempty"`
	// Policy is the published check policy (absent: none).
	Policy *boltPolicy `cbor:"6,keyasint,omitempty"`
}

type boltPolicy struct {
	Seq uint64  `cbor:"1,keyasint"`
	Ref boltRef `cbor:"2,keyasint"`
}

// boltObject is an object's metadata in BucketHubFeedObjects.
type boltObject struct {
	Type    string `cbor:"1,keyasint"`
	Size    int64  `cbor:"2,keyasint"`
	Stored  int64  `cbor:"3,keyasint"`
	Retired int64  `cbor:"4,keyasint,omitempty"` // ms; 0: the manifest names it
}

func toBoltRef(r ObjectRef) boltRef { return boltRef{Digest: bytes.Clone(r.Digest[:]), Size: r.Size} }

func hashOf(b []byte, what string) (trust.Hash, error) {
	if len(b) != gm.SM3Size {
		return trust.Hash{}, damaged(what, fmt.Errorf("digest of %d bytes", len(b)))
	}
	return trust.Hash(b), nil
}

func fromBoltRef(r boltRef) (ObjectRef, error) {
	d, err := hashOf(r.Digest, "feed manifest")
	return ObjectRef{Digest: d, Size: r.Size}, err
}

func encodeManifest(m *Manifest) ([]byte, error) {
	bm := boltManifest{Seq: m.Seq, At: msOf(m.At)}
	for _, c := range m.Certs {
		bm.Certs = append(bm.Certs, toBoltRef(c))
	}
	for _, c := range m.CRLs {
		bm.CRLs = append(bm.CRLs, boltCRL{CA: bytes.Clone(c.CA[:]), Ref: toBoltRef(c.ObjectRef)})
	}
	for _, l := range m.Lists {
		bl := boltList{CA: bytes.Clone(l.List.CA[:]), Issuer: l.List.Issuer, FullSeq: l.Full.Seq, Full: toBoltRef(l.Full.ObjectRef)}
		for _, d := range l.Deltas {
			bl.Deltas = append(bl.Deltas, boltDelta{Seq: d.Seq, Base: d.Base, Ref: toBoltRef(d.ObjectRef)})
		}
		bm.Lists = append(bm.Lists, bl)
	}
	if p := m.Policy; p != nil {
		bm.Policy = &boltPolicy{Seq: p.Seq, Ref: toBoltRef(p.ObjectRef)}
	}
	return cbor.Marshal(bm)
}

// readFeed reads the epoch and the manifest inside tx (copying all).
func readFeed(tx *bolt.Tx) (Manifest, error) {
	var m Manifest
	b := tx.Bucket(storage.BucketHubFeedState)
	if b == nil {
		return m, nil
	}
	if v := b.Get(keyEpoch); v != nil {
		var be boltEpoch
		if err := cbor.Unmarshal(v, &be); err != nil {
			return m, damaged("feed epoch", err)
		}
		m.Epoch = Epoch{Hub: be.Hub, Generation: be.Generation}
	}
	v := b.Get(keyManifest)
	if v == nil {
		return m, nil
	}
	dm, err := DecodeManifest(v)
	if err != nil {
		return m, err
	}
	dm.Epoch = m.Epoch
	return dm, nil
}

func putEpoch(tx *bolt.Tx, e Epoch) error {
	v, err := cbor.Marshal(boltEpoch{Hub: e.Hub, Generation: e.Generation})
	if err != nil {
		return err
	}
	return tx.Bucket(storage.BucketHubFeedState).Put(keyEpoch, v)
}

func putManifest(tx *bolt.Tx, m *Manifest) error {
	v, err := encodeManifest(m)
	if err != nil {
		return err
	}
	return tx.Bucket(storage.BucketHubFeedState).Put(keyManifest, v)
}

// marker is the content of the marker file.
type marker struct {
	Epoch
	Seq uint64
}

func (s *BoltStore) readMarker() (marker, bool) {
	b, err := os.ReadFile(filepath.Join(s.objDir, markerName))
	if err != nil {
		return marker{}, false
	}
	f := strings.Fields(string(b))
	if len(f) != 3 {
		return marker{}, false
	}
	gen, err1 := strconv.ParseUint(f[1], 10, 64)
	seq, err2 := strconv.ParseUint(f[2], 10, 64)
	if err1 != nil || err2 != nil {
		return marker{}, false
	}
	return marker{Epoch: Epoch{Hub: f[0], Generation: gen}, Seq: seq}, true
}

// writeMarker records m's state in the marker file (atomically).
func (s *BoltStore) writeMarker(m Manifest) error {
	s.objMu.Lock() // PruneObjects' sweep must not take its temporary file
	defer s.objMu.Unlock()
	data := fmt.Sprintf("%s %d %d\n", m.Epoch.Hub, m.Epoch.Generation, m.Seq)
	return writeFileAtomic(s.objDir, markerName, []byte(data))
}

// initFeed creates the epoch when missing and starts a new generation when
// the marker shows the database was restored from a backup.
func (s *BoltStore) initFeed(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.db.ReadOnly() {
		return nil
	}
	if err := os.MkdirAll(s.objDir, 0o700); err != nil {
		return fmt.Errorf("hub: objects directory: %w", err)
	}
	mk, haveMarker := s.readMarker()
	var cur Manifest
	err := s.db.Update(func(tx *bolt.Tx) error {
		m, err := readFeed(tx)
		if err != nil {
			return err
		}
		if m.Epoch.Hub == "" {
			id := make([]byte, 16)
			if _, err := rand.Read(id); err != nil {
				return fmt.Errorf("hub: feed id: %w", err)
			}
			m.Epoch = Epoch{Hub: hex.EncodeToString(id)}
			if err := putEpoch(tx, m.Epoch); err != nil {
				return err
			}
		}
		restored := haveMarker && mk.Hub == m.Epoch.Hub &&
			(mk.Generation > m.Epoch.Generation || mk.Generation == m.Epoch.Generation && mk.Seq > m.Seq)
		if restored {
			m.Epoch.Generation = max(mk.Generation, m.Epoch.Generation) + 1
			m.Seq = 1
			if err := putEpoch(tx, m.Epoch); err != nil {
				return err
			}
			if err := putManifest(tx, &m); err != nil {
				return err
			}
		}
		cur = m
		return nil
	})
	if err != nil {
		return fmt.Errorf("hub: init feed: %w", err)
	}
	if !haveMarker || mk != (marker{Epoch: cur.Epoch, Seq: cur.Seq}) {
		return s.writeMarker(cur)
	}
	return nil
}

func (s *BoltStore) objectPath(d trust.Hash) string { return filepath.Join(s.objDir, d.String()) }

// writeFileAtomic writes data to dir/name through a temporary file,
// fsynced and renamed, then fsyncs dir.
func writeFileAtomic(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("hub: write %s: %w", name, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// PutObject implements FeedStore: the bytes go to a file named by their
// digest (written beside, fsynced and renamed), the metadata to the
// database.
func (s *BoltStore) PutObject(ctx context.Context, typ string, data []byte, at time.Time) (ObjectRef, error) {
	if err := ctx.Err(); err != nil {
		return ObjectRef{}, err
	}
	ref := ObjectRef{Digest: gm.SM3(data), Size: int64(len(data))}
	s.objMu.Lock()
	defer s.objMu.Unlock()
	if fi, err := os.Stat(s.objectPath(ref.Digest)); err != nil || fi.Size() != ref.Size {
		if err := writeFileAtomic(s.objDir, ref.Digest.String(), data); err != nil {
			return ObjectRef{}, err
		}
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(storage.BucketHubFeedObjects)
		if b.Get(ref.Digest[:]) != nil {
			return nil
		}
		v, err := cbor.Marshal(boltObject{Type: typ, Size: ref.Size, Stored: msOf(at), Retired: max(msOf(at), 1)})
		if err != nil {
			return err
		}
		return b.Put(ref.Digest[:], v)
	})
	return ref, err
}

func decodeObject(v []byte) (boltObject, error) {
	var bo boltObject
	if err := cbor.Unmarshal(v, &bo); err != nil {
		return bo, damaged("feed object", err)
	}
	return bo, nil
}

// Object implements FeedStore.
func (s *BoltStore) Object(ctx context.Context, digest trust.Hash) (*FeedObject, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var bo boltObject
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(storage.BucketHubFeedObjects).Get(digest[:])
		if v == nil {
			return fmt.Errorf("%w: object %s", ErrNotFound, digest)
		}
		var err error
		bo, err = decodeObject(v)
		return err
	})
	if err != nil {
		return nil, err
	}
	f, err := os.Open(s.objectPath(digest))
	if err != nil {
		return nil, fmt.Errorf("%w: feed object %s: %v", storage.ErrDamaged, digest, err)
	}
	fi, err := f.Stat()
	if err != nil || fi.Size() != bo.Size {
		f.Close()
		return nil, fmt.Errorf("%w: feed object %s: size %d on disk, %d stored (%v)", storage.ErrDamaged, digest, sizeOf(fi), bo.Size, err)
	}
	return &FeedObject{ReadSeekCloser: f, Ref: ObjectRef{Digest: digest, Size: bo.Size}, Type: bo.Type, ModTime: timeOf(bo.Stored)}, nil
}

func sizeOf(fi fs.FileInfo) int64 {
	if fi == nil {
		return -1
	}
	return fi.Size()
}

// Manifest implements FeedStore.
func (s *BoltStore) Manifest(ctx context.Context) (Manifest, error) {
	if err := ctx.Err(); err != nil {
		return Manifest{}, err
	}
	var m Manifest
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		m, err = readFeed(tx)
		return err
	})
	return m, err
}

// UpdateManifest implements FeedStore.
func (s *BoltStore) UpdateManifest(ctx context.Context, at time.Time, fn func(m *Manifest) (bool, error)) (Manifest, error) {
	if err := ctx.Err(); err != nil {
		return Manifest{}, err
	}
	var (
		out     Manifest
		changed bool
	)
	err := s.db.Update(func(tx *bolt.Tx) error {
		cur, err := readFeed(tx)
		if err != nil {
			return err
		}
		m := cur.Clone()
		changed, err = fn(&m)
		if err != nil {
			return err
		}
		if !changed {
			out = cur
			return nil
		}
		m.Epoch = cur.Epoch // not fn's to change
		objs := tx.Bucket(storage.BucketHubFeedObjects)
		named := map[trust.Hash]bool{}
		for _, r := range m.Refs() {
			named[r.Digest] = true
			v := objs.Get(r.Digest[:])
			if v == nil {
				return fmt.Errorf("%w: the manifest names object %s, which is not stored", ErrNotFound, r.Digest)
			}
			bo, err := decodeObject(v)
			if err != nil {
				return err
			}
			if bo.Size != r.Size {
				return fmt.Errorf("%w: object %s has %d bytes, not %d", ErrBadInput, r.Digest, bo.Size, r.Size)
			}
			if bo.Retired != 0 {
				bo.Retired = 0
				if err := putObjectMeta(objs, r.Digest, bo); err != nil {
					return err
				}
			}
		}
		for _, r := range cur.Refs() {
			if named[r.Digest] {
				continue
			}
			if v := objs.Get(r.Digest[:]); v != nil {
				bo, err := decodeObject(v)
				if err != nil {
					return err
				}
				bo.Retired = max(msOf(at), 1)
				if err := putObjectMeta(objs, r.Digest, bo); err != nil {
					return err
				}
			}
		}
		if cur.Seq == math.MaxUint64 {
			m.Epoch.Generation++
			m.Seq = 1
			if err := putEpoch(tx, m.Epoch); err != nil {
				return err
			}
		} else {
			m.Seq = cur.Seq + 1
		}
		m.At = timeOf(msOf(at)) // as stored: milliseconds, local time
		out = m
		return putManifest(tx, &m)
	})
	if err != nil {
		return Manifest{}, err
	}
	if changed {
		if err := s.writeMarker(out); err != nil {
			return out, err
		}
	}
	return out, nil
}

func putObjectMeta(b *bolt.Bucket, d trust.Hash, bo boltObject) error {
	v, err := cbor.Marshal(bo)
	if err != nil {
		return err
	}
	return b.Put(d[:], v)
}

// PruneObjects implements FeedStore. Files in the objects directory that
// no metadata names (a write interrupted by a crash) and last modified at
// or before `before` go too.
func (s *BoltStore) PruneObjects(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.objMu.Lock()
	defer s.objMu.Unlock()
	var gone []trust.Hash
	known := map[string]bool{}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(storage.BucketHubFeedObjects)
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			bo, err := decodeObject(v)
			if err != nil {
				return err
			}
			d, err := hashOf(k, "feed object key")
			if err != nil {
				return err
			}
			if bo.Retired != 0 && bo.Retired <= before.UnixMilli() {
				gone = append(gone, d)
				continue
			}
			known[d.String()] = true
		}
		for _, d := range gone {
			if err := b.Delete(d[:]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, d := range gone {
		if err := os.Remove(s.objectPath(d)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return len(gone), fmt.Errorf("hub: prune object: %w", err)
		}
	}
	entries, err := os.ReadDir(s.objDir)
	if err != nil {
		return len(gone), fmt.Errorf("hub: objects directory: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if name == markerName || known[name] || e.IsDir() {
			continue
		}
		if fi, err := e.Info(); err == nil && !fi.ModTime().After(before) {
			os.Remove(filepath.Join(s.objDir, name))
		}
	}
	return len(gone), nil
}

// NewGeneration implements FeedStore.
func (s *BoltStore) NewGeneration(ctx context.Context) (Epoch, error) {
	if err := ctx.Err(); err != nil {
		return Epoch{}, err
	}
	var m Manifest
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		if m, err = readFeed(tx); err != nil {
			return err
		}
		m.Epoch.Generation++
		m.Seq = 1
		if err := putEpoch(tx, m.Epoch); err != nil {
			return err
		}
		return putManifest(tx, &m)
	})
	if err != nil {
		return Epoch{}, err
	}
	return m.Epoch, s.writeMarker(m)
}
