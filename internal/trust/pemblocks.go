package trust

import (
	"bytes"
	"encoding/pem"
	"fmt"
)

// Block is one PEM block of a bundle, in file order.
type Block struct {
	Index int    // 1-based position in the file
	Type  string // PEM type, e.g. "CERTIFICATE"
	Line  int    // line of its BEGIN
	Bytes []byte // decoded content; nil when Err is set
	Err   error  // ErrPEM when the block is damaged
}

// SplitPEM cuts data into PEM blocks. Unlike encoding/pem, which silently
// skips what it cannot decode, a damaged block (bad base64, missing END,
// mismatched END) is returned with Err set, so importers can report it and
// go on with the rest.
func SplitPEM(data []byte) []Block {
	const begin, end, dashes = "-----BEGIN ", "-----END ", "-----"
	var out []Block
	pos := 0
	for {
		i := bytes.Index(data[pos:], []byte(begin))
		if i < 0 {
			return out
		}
		start := pos + i
		b := Block{Index: len(out) + 1, Line: 1 + bytes.Count(data[:start], []byte("\n"))}
		lineEnd := bytes.IndexByte(data[start:], '\n')
		if lineEnd < 0 {
			lineEnd = len(data) - start
		}
		header := bytes.TrimRight(data[start:start+lineEnd], "\r \t")
		typ, ok := bytes.CutPrefix(header, []byte(begin))
		if ok {
			typ, ok = bytes.CutSuffix(typ, []byte(dashes))
		}
		if !ok {
			b.Err = fmt.Errorf("%w: line %d: malformed BEGIN line", ErrPEM, b.Line)
			out = append(out, b)
			pos = start + len(begin)
			continue
		}
		b.Type = string(typ)
		// The block ends at the next END line or before the next BEGIN.
		next := bytes.Index(data[start+len(begin):], []byte(begin))
		limit := len(data)
		if next >= 0 {
			limit = start + len(begin) + next
		}
		e := bytes.Index(data[start:limit], []byte(end))
		if e < 0 {
			b.Err = fmt.Errorf("%w: line %d: %s block has no END line (truncated?)", ErrPEM, b.Line, b.Type)
			out = append(out, b)
			pos = limit
			continue
		}
		endLine := start + e
		eol := bytes.IndexByte(data[endLine:], '\n')
		if eol < 0 {
			eol = len(data) - endLine
		}
		want := end + b.Type + dashes
		if got := string(bytes.TrimRight(data[endLine:endLine+eol], "\r \t")); got != want {
			b.Err = fmt.Errorf("%w: line %d: %s block ends with %q", ErrPEM, b.Line, b.Type, got)
			out = append(out, b)
			pos = endLine + eol
			continue
		}
		stop := endLine + eol
		if stop < len(data) {
			stop++ // include the END line's newline
		}
		blk, rest := pem.Decode(data[start:stop])
		if blk == nil || len(bytes.TrimSpace(rest)) != 0 {
			b.Err = fmt.Errorf("%w: line %d: %s block does not decode (damaged base64?)", ErrPEM, b.Line, b.Type)
		} else {
			b.Bytes = blk.Bytes
		}
		out = append(out, b)
		pos = endLine + eol
	}
}
