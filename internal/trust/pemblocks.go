package trust

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"io"
)

// Block is one PEM block of a bundle, in file order.
type Block struct {
	Index int    // 1-based position in the file
	Type  string // PEM type, e.g. "CERTIFICATE"
	Line  int    // line of its BEGIN
	Bytes []byte // decoded content; nil when Err is set
	Err   error  // ErrPEM when the block is damaged
}

// MaxBlockSize is the most PEM text one block may span, from its BEGIN line
// to the end of its END line: 256 MiB, room for the base64 of the largest
// status list (credential.MaxStatusListSize). A longer block is reported
// damaged, so a damaged file never makes the scanner hold more than about
// this much of it.
const MaxBlockSize = 256 << 20

// maxBlockSize is MaxBlockSize; tests lower it.
var maxBlockSize = MaxBlockSize

// SplitPEM cuts data into PEM blocks. Unlike encoding/pem, which silently
// skips what it cannot decode, a damaged block (bad base64, missing END,
// mismatched END) is returned with Err set, so importers can report it and
// go on with the rest. It is ScanPEM over data, collected; it takes time
// linear in len(data).
func SplitPEM(data []byte) []Block {
	var out []Block
	s := &pemScanner{buf: data, eof: true}
	s.scan(func(b Block) error {
		out = append(out, b)
		return nil
	})
	return out
}

// ScanPEM reads PEM blocks from r one at a time and calls fn with each, in
// file order, exactly as SplitPEM would return them (same Index, Type,
// Line, Bytes and Err), holding in memory only the block being read (and a
// read buffer), never the whole input. It returns the first error of fn
// (which stops the scan) or of r; a damaged block is not an error but a
// Block with Err set. Time is linear in the input's length.
//
// The rules: a block starts at "-----BEGIN " and its BEGIN line must read
// "-----BEGIN TYPE-----" (trailing spaces, tabs and CR ignored), else it is
// reported with a malformed BEGIN line and the search resumes just after
// "-----BEGIN "; it ends at the first "-----END " before the next
// "-----BEGIN " (none: the block is truncated and the next BEGIN, if any,
// starts the next block); its END line must read "-----END TYPE-----";
// and its text must decode as one PEM block.
func ScanPEM(r io.Reader, fn func(Block) error) error {
	s := &pemScanner{r: r}
	if err := s.scan(fn); err != nil {
		return err
	}
	return s.rerr
}

const (
	pemBegin  = "-----BEGIN "
	pemEnd    = "-----END "
	pemDashes = "-----"
	pemChunk  = 64 << 10
)

// pemScanner holds a window of the input: buf is input[base:base+len(buf)].
// Offsets below are absolute positions in the input.
type pemScanner struct {
	r    io.Reader
	buf  []byte
	base int
	eof  bool  // nothing more to read
	rerr error // a read error (the scan stops as at EOF)
	nl   int   // newlines in input[:nlAt]
	nlAt int
	// keep is the first offset still needed; the window may drop what is
	// before it.
	keep int
}

// end is the offset just after the last byte read so far.
func (s *pemScanner) end() int { return s.base + len(s.buf) }

// fill reads more input; false when there is none.
func (s *pemScanner) fill() bool {
	if s.eof {
		return false
	}
	if cap(s.buf)-len(s.buf) < pemChunk/2 {
		// Drop what is no longer needed (counting its newlines first) when
		// that frees at least half the buffer, else grow it: either way
		// each byte is copied a bounded number of times.
		if drop := s.keep - s.base; drop > 0 && drop >= len(s.buf)/2 {
			s.countLines(s.keep)
			n := copy(s.buf, s.buf[drop:])
			s.buf = s.buf[:n]
			s.base = s.keep
		}
		if cap(s.buf)-len(s.buf) < pemChunk/2 {
			n := make([]byte, len(s.buf), max(2*len(s.buf), len(s.buf)+pemChunk))
			copy(n, s.buf)
			s.buf = n
		}
	}
	n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
	s.buf = s.buf[:len(s.buf)+n]
	if err != nil {
		s.eof = true
		if err != io.EOF {
			s.rerr = err
		}
	}
	return true
}

// countLines advances the newline count to offset k (k ≥ nlAt, within the
// window).
func (s *pemScanner) countLines(k int) {
	if k > s.nlAt {
		s.nl += bytes.Count(s.buf[s.nlAt-s.base:k-s.base], []byte{'\n'})
		s.nlAt = k
	}
}

// slice returns input[a:b], which must be in the window.
func (s *pemScanner) slice(a, b int) []byte { return s.buf[a-s.base : b-s.base] }

// index finds the earliest occurrence of any of pats at or after from
// (occurrences of different pats never overlap), reading as needed. It
// returns the offset and the index of the pattern found, or -1 when there
// is none. Each later pattern is only looked for before the match of an
// earlier one, so the search costs the distance to the first match of
// pats[0]. With slide, bytes before the search position are released as it
// advances. limit > 0 bounds the window from s.keep: a match beyond it, or
// no match in a longer input, returns -2.
func (s *pemScanner) index(from, limit int, slide bool, pats ...string) (int, int) {
	longest := 0
	for _, p := range pats {
		longest = max(longest, len(p))
	}
	for {
		best, which := -1, -1
		if from < s.end() {
			w := s.buf[from-s.base:]
			for k, p := range pats {
				if best >= 0 {
					w = w[:best-from]
				}
				if i := bytes.Index(w, []byte(p)); i >= 0 {
					best, which = from+i, k
				}
			}
		}
		if best >= 0 {
			if limit > 0 && best-s.keep > limit {
				return -2, -1
			}
			return best, which
		}
		// Not in the window: the next search starts where a match could
		// still begin.
		from = max(from, s.end()-longest+1)
		if limit > 0 && s.end()-s.keep > limit {
			return -2, -1
		}
		if slide {
			s.keep = max(s.keep, from)
		}
		if !s.fill() {
			return -1, -1
		}
	}
}

// scan runs the block state machine, calling fn for each block. After a
// read error it reports no more blocks.
func (s *pemScanner) scan(fn func(Block) error) error {
	pos, n := 0, 0
	for {
		s.keep = max(s.keep, pos)
		start, _ := s.index(pos, 0, true, pemBegin)
		if start < 0 {
			return nil
		}
		s.keep = start
		s.countLines(start)
		n++
		b := Block{Index: n, Line: 1 + s.nl}
		pos = s.block(&b, start)
		if s.rerr != nil {
			return nil
		}
		if err := fn(b); err != nil {
			return err
		}
	}
}

// block reads the block whose BEGIN is at start into b and returns where
// the search for the next one resumes.
func (s *pemScanner) block(b *Block, start int) int {
	tooBig := func(at int) int {
		b.Err = fmt.Errorf("%w: line %d: block longer than %d bytes", ErrPEM, b.Line, maxBlockSize)
		return at
	}
	lineEnd, _ := s.index(start, maxBlockSize, false, "\n")
	switch lineEnd {
	case -2:
		return tooBig(s.end())
	case -1:
		lineEnd = s.end()
	}
	header := bytes.TrimRight(s.slice(start, lineEnd), "\r \t")
	typ, ok := bytes.CutPrefix(header, []byte(pemBegin))
	if ok {
		typ, ok = bytes.CutSuffix(typ, []byte(pemDashes))
	}
	if !ok {
		b.Err = fmt.Errorf("%w: line %d: malformed BEGIN line", ErrPEM, b.Line)
		return start + len(pemBegin)
	}
	b.Type = string(typ)
	// The block ends at the first END line before the next BEGIN.
	e, which := s.index(start+len(pemBegin), maxBlockSize, false, pemBegin, pemEnd)
	switch {
	case e == -2:
		return tooBig(s.end())
	case e == -1 || which == 0:
		b.Err = fmt.Errorf("%w: line %d: %s block has no END line (truncated?)", ErrPEM, b.Line, b.Type)
		if e == -1 {
			return s.end()
		}
		return e
	}
	eol, _ := s.index(e, maxBlockSize, false, "\n")
	switch eol {
	case -2:
		return tooBig(s.end())
	case -1:
		eol = s.end()
	}
	want := pemEnd + b.Type + pemDashes
	if got := string(bytes.TrimRight(s.slice(e, eol), "\r \t")); got != want {
		b.Err = fmt.Errorf("%w: line %d: %s block ends with %q", ErrPEM, b.Line, b.Type, got)
		return eol
	}
	stop := eol
	if stop < s.end() {
		stop++ // include the END line's newline
	}
	blk, rest := pem.Decode(s.slice(start, stop))
	if blk == nil || len(bytes.TrimSpace(rest)) != 0 {
		b.Err = fmt.Errorf("%w: line %d: %s block does not decode (damaged base64?)", ErrPEM, b.Line, b.Type)
	} else {
		b.Bytes = blk.Bytes
	}
	return eol
}
