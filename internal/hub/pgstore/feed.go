package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/trust"
)

// chunkSize is the size of the rows feed objects are stored in: a reader
// holds one chunk at a time.
const chunkSize = 256 << 10

// initFeed makes the feed's state row (a random hub id, generation 0,
// sequence 0) when the database has none.
func (s *Store) initFeed(ctx context.Context) error {
	id, err := randomHex(16)
	if err != nil {
		return err
	}
	empty, err := hub.EncodeManifest(&hub.Manifest{})
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, "INSERT INTO feed_state (hub, generation, manifest) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING", id, empty)
	if err != nil {
		return fmt.Errorf("pgstore: init feed: %w", wrap(err))
	}
	return nil
}

func readFeed(ctx context.Context, q pgx.Tx, lock bool) (hub.Manifest, error) {
	stmt := "SELECT hub, generation, manifest FROM feed_state"
	if lock {
		stmt += " FOR UPDATE"
	}
	var (
		hubID string
		gen   int64
		raw   []byte
	)
	if err := q.QueryRow(ctx, stmt).Scan(&hubID, &gen, &raw); err != nil {
		return hub.Manifest{}, err
	}
	m, err := hub.DecodeManifest(raw)
	if err != nil {
		return m, err
	}
	m.Epoch = hub.Epoch{Hub: hubID, Generation: uint64(gen)}
	return m, nil
}

// PutObject implements hub.FeedStore: metadata and bytes (in chunks) in one
// transaction; bytes already held change nothing.
func (s *Store) PutObject(ctx context.Context, typ string, data []byte, at time.Time) (hub.ObjectRef, error) {
	ref := hub.ObjectRef{Digest: gm.SM3(data), Size: int64(len(data))}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO feed_objects (digest, type, size, stored, retired) VALUES ($1,$2,$3,$4,$5)
			ON CONFLICT (digest) DO NOTHING`, ref.Digest[:], typ, ref.Size, ms(at), max(ms(at), 1))
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		chunks := max(1, (len(data)+chunkSize-1)/chunkSize) // an empty object has one empty chunk
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"feed_chunks"}, []string{"digest", "n", "data"}, pgx.CopyFromSlice(chunks, func(i int) ([]any, error) {
			return []any{ref.Digest[:], int32(i), data[i*chunkSize : min((i+1)*chunkSize, len(data))]}, nil
		}))
		return err
	})
	if err != nil {
		return hub.ObjectRef{}, wrap(err)
	}
	return ref, nil
}

// Object implements hub.FeedStore: the object is read chunk by chunk as
// the caller reads (one chunk in memory), within ctx.
func (s *Store) Object(ctx context.Context, digest trust.Hash) (*hub.FeedObject, error) {
	var (
		typ          string
		size, stored int64
	)
	err := s.pool.QueryRow(ctx, "SELECT type, size, stored FROM feed_objects WHERE digest = $1", digest[:]).Scan(&typ, &size, &stored)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: object %s", hub.ErrNotFound, digest)
	}
	if err != nil {
		return nil, wrap(err)
	}
	r := &objectReader{ctx: ctx, s: s, digest: digest, size: size, chunk: -1}
	return &hub.FeedObject{ReadSeekCloser: r, Ref: hub.ObjectRef{Digest: digest, Size: size}, Type: typ, ModTime: tm(stored)}, nil
}

type objectReader struct {
	ctx    context.Context
	s      *Store
	digest trust.Hash
	size   int64
	off    int64
	chunk  int64 // the chunk in buf (-1: none)
	buf    []byte
}

func (r *objectReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	n := r.off / chunkSize
	if n != r.chunk {
		r.buf = r.buf[:0]
		err := r.s.pool.QueryRow(r.ctx, "SELECT data FROM feed_chunks WHERE digest = $1 AND n = $2", r.digest[:], int32(n)).Scan(&r.buf)
		if err != nil {
			r.chunk = -1
			if errors.Is(err, pgx.ErrNoRows) {
				return 0, fmt.Errorf("%w: feed object %s lost chunk %d (pruned while read?)", hub.ErrNotFound, r.digest, n)
			}
			return 0, wrap(err)
		}
		r.chunk = n
	}
	k := copy(p, r.buf[r.off-n*chunkSize:])
	if k == 0 {
		return 0, fmt.Errorf("pgstore: feed object %s: chunk %d shorter than its size says", r.digest, n)
	}
	r.off += int64(k)
	return k, nil
}

func (r *objectReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	}
	if offset < 0 {
		return 0, fmt.Errorf("pgstore: seek to %d", offset)
	}
	r.off = offset
	return offset, nil
}

func (r *objectReader) Close() error {
	r.buf = nil
	return nil
}

// Manifest implements hub.FeedStore.
func (s *Store) Manifest(ctx context.Context) (hub.Manifest, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return hub.Manifest{}, wrap(err)
	}
	defer tx.Rollback(ctx)
	m, err := readFeed(ctx, tx, false)
	return m, wrap(err)
}

// UpdateManifest implements hub.FeedStore (the state row locked: updates
// from several hubs queue).
func (s *Store) UpdateManifest(ctx context.Context, at time.Time, fn func(m *hub.Manifest) (bool, error)) (hub.Manifest, error) {
	var out hub.Manifest
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		cur, err := readFeed(ctx, tx, true)
		if err != nil {
			return err
		}
		m := cur.Clone()
		changed, err := fn(&m)
		if err != nil {
			return err
		}
		if !changed {
			out = cur
			return nil
		}
		m.Epoch = cur.Epoch
		refs := m.Refs()
		named := map[trust.Hash]bool{}
		digests := make([][]byte, 0, len(refs))
		for _, r := range refs {
			named[r.Digest] = true
			digests = append(digests, r.Digest[:])
		}
		rows, err := tx.Query(ctx, "SELECT digest, size FROM feed_objects WHERE digest = ANY($1)", digests)
		if err != nil {
			return err
		}
		sizes := map[trust.Hash]int64{}
		for rows.Next() {
			var d []byte
			var size int64
			if err := rows.Scan(&d, &size); err != nil {
				rows.Close()
				return err
			}
			if len(d) == gm.SM3Size {
				sizes[trust.Hash(d)] = size
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range refs {
			size, ok := sizes[r.Digest]
			if !ok {
				return fmt.Errorf("%w: the manifest names object %s, which is not stored", hub.ErrNotFound, r.Digest)
			}
			if size != r.Size {
				return fmt.Errorf("%w: object %s has %d bytes, not %d", hub.ErrBadInput, r.Digest, size, r.Size)
			}
		}
		var gone [][]byte
		for _, r := range cur.Refs() {
			if !named[r.Digest] {
				gone = append(gone, r.Digest[:])
			}
		}
		b := &pgx.Batch{}
		b.Queue("UPDATE feed_objects SET retired = 0 WHERE digest = ANY($1) AND retired <> 0", digests)
		if len(gone) > 0 {
			b.Queue("UPDATE feed_objects SET retired = $2 WHERE digest = ANY($1)", gone, max(ms(at), 1))
		}
		if cur.Seq == math.MaxUint64 {
			m.Epoch.Generation++
			m.Seq = 1
		} else {
			m.Seq = cur.Seq + 1
		}
		m.At = tm(ms(at))
		raw, err := hub.EncodeManifest(&m)
		if err != nil {
			return err
		}
		b.Queue("UPDATE feed_state SET generation = $1, manifest = $2", int64(m.Epoch.Generation), raw)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		// What a reader decodes, exactly.
		out, err = hub.DecodeManifest(raw)
		out.Epoch = m.Epoch
		return err
	})
	if err != nil {
		return hub.Manifest{}, wrap(err)
	}
	return out, nil
}

// PruneObjects implements hub.FeedStore. Bytes and metadata go in one
// transaction, so no leftovers of interrupted writes exist.
func (s *Store) PruneObjects(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM feed_objects WHERE retired <> 0 AND retired <= $1", before.UnixMilli())
	if err != nil {
		return 0, wrap(err)
	}
	return int(tag.RowsAffected()), nil
}

// NewGeneration implements hub.FeedStore.
func (s *Store) NewGeneration(ctx context.Context) (hub.Epoch, error) {
	var e hub.Epoch
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		m, err := readFeed(ctx, tx, true)
		if err != nil {
			return err
		}
		m.Epoch.Generation++
		m.Seq = 1
		raw, err := hub.EncodeManifest(&m)
		if err != nil {
			return err
		}
		e = m.Epoch
		_, err = tx.Exec(ctx, "UPDATE feed_state SET generation = $1, manifest = $2", int64(m.Epoch.Generation), raw)
		return err
	})
	return e, wrap(err)
}
