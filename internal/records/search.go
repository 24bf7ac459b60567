package records

import (
	"bytes"
	"context"
	"strings"
	"unicode"

	"github.com/roadcheck/roadcheck/internal/storage"
	bolt "go.etcd.io/bbolt"
)

// SearchField is a sealed field the terminal can search without
// unsealing every record: through a blind index (HMAC-SM3 under a key
// derived from the data key) of the normalised value.
type SearchField string

// Searchable fields.
const (
	SearchPlate    SearchField = "plate"
	SearchNumber   SearchField = "number"
	SearchHolderID SearchField = "holder_id"
)

// NormalizeSearch is the form a value is indexed and searched in: fullwidth
// ASCII folded to ASCII, letters upper-cased, spaces, '·', '-' and other
// separators removed (粤B 12345, 粤B·12345 and ｙｕｅB12345-like typings
// of one plate match).
func NormalizeSearch(v string) string {
	var b strings.Builder
	for _, r := range v {
		if r >= 0xFF01 && r <= 0xFF5E {
			r -= 0xFF01 - 0x21
		}
		switch {
		case unicode.IsSpace(r), r == '·', r == '•', r == '-', r == '_', r == '.', r == 0x200B, r == 0xFEFF:
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

func (s *Store) searchKeys(r *Record) [][]byte {
	var out [][]byte
	for f, v := range map[SearchField]string{SearchPlate: r.Plate, SearchNumber: r.Number, SearchHolderID: r.HolderID} {
		if n := NormalizeSearch(v); n != "" {
			out = append(out, append(s.kr.Index(string(f), n), seqKey(r.Seq)...))
		}
	}
	return out
}

// putSearch adds (or, put false, removes) r's index entries.
func (s *Store) putSearch(tx *bolt.Tx, r *Record, put bool) error {
	b := tx.Bucket(storage.BucketRecordSearch)
	for _, k := range s.searchKeys(r) {
		var err error
		if put {
			err = b.Put(k, []byte{})
		} else {
			err = b.Delete(k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Search returns the records whose field equals value (normalised), in
// chain order, without unsealing the other records. Purged records are no
// longer found.
func (s *Store) Search(ctx context.Context, field SearchField, value string) ([]*Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n := NormalizeSearch(value)
	if n == "" {
		return nil, nil
	}
	prefix := s.kr.Index(string(field), n)
	var out []*Entry
	err := s.db.View(func(tx *bolt.Tx) error {
		recs := tx.Bucket(storage.BucketRecords)
		c := tx.Bucket(storage.BucketRecordSearch).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			seq := k[len(prefix):]
			if v := recs.Get(seq); v != nil && len(seq) == 8 {
				out = append(out, s.entry(tx, seq, v))
			}
		}
		return nil
	})
	return out, err
}
