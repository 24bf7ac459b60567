package trust

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// scanAll collects ScanPEM's blocks over r.
func scanAll(r io.Reader) ([]Block, error) {
	var out []Block
	err := ScanPEM(r, func(b Block) error {
		out = append(out, b)
		return nil
	})
	return out, err
}

// sameBlocks reports how a and b differ ("" when they agree).
func sameBlocks(a, b []Block) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d blocks / %d blocks", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Index != y.Index || x.Type != y.Type || x.Line != y.Line || !bytes.Equal(x.Bytes, y.Bytes) ||
			(x.Err == nil) != (y.Err == nil) || (x.Err != nil && x.Err.Error() != y.Err.Error()) {
			return fmt.Sprintf("block %d: %+v / %+v", i, x, y)
		}
	}
	return ""
}

// checkPEMForms checks that SplitPEM, ScanPEM over the whole input, ScanPEM
// one byte at a time and the quadratic implementation SplitPEM replaced all
// give the same blocks.
func checkPEMForms(t *testing.T, in []byte) {
	t.Helper()
	split := SplitPEM(in)
	if d := sameBlocks(split, splitPEMReference(in)); d != "" {
		t.Fatalf("SplitPEM differs from the reference: %s", d)
	}
	for name, r := range map[string]io.Reader{
		"whole":    bytes.NewReader(in),
		"one byte": iotest.OneByteReader(bytes.NewReader(in)),
		"halves":   iotest.HalfReader(bytes.NewReader(in)),
	} {
		got, err := scanAll(r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d := sameBlocks(split, got); d != "" {
			t.Fatalf("ScanPEM (%s) differs from SplitPEM: %s", name, d)
		}
	}
	for _, b := range split {
		if (b.Err == nil) == (b.Bytes == nil && b.Type != "") && b.Err == nil && len(b.Bytes) != 0 {
			t.Fatalf("block %d inconsistent", b.Index)
		}
		if b.Err != nil && !errors.Is(b.Err, ErrPEM) {
			t.Fatalf("block %d: error %v is not ErrPEM", b.Index, b.Err)
		}
	}
}

func pemSeeds(t testing.TB) [][]byte {
	good := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("hello certificate")}))
	seeds := [][]byte{
		[]byte(good),
		[]byte("junk\n" + good + "more junk\n" + good),
		[]byte(strings.Replace(good, "aGVs", "a!Vs", 1) + good),
		[]byte(good + good[:40]),
		[]byte(strings.Replace(good, "END CERTIFICATE", "END X509 CRL", 1)),
		[]byte(good[:len(good)-26] + good),
		[]byte(strings.ReplaceAll(good, "\n", "\r\n")),
		[]byte("-----BEGIN X-----\n-----END X-----\n"),
		[]byte("-----BEGIN X----\n" + good),
		[]byte("-----BEGIN X-----"),
		[]byte("-----BEGIN -----\n-----END -----"),
		[]byte("xx-----BEGIN A-----\nAAAA\nxx-----END A-----\n"),
		[]byte("-----BEGIN A-----\nAAAA\n-----END A----------BEGIN B-----\nAAAA\n-----END B-----\n"),
		[]byte("-----BEGIN A-----\n-----BEGIN A-----\n-----BEGIN A-----\nAAAA\n-----END A-----"),
		[]byte(good + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" + good),
		[]byte("-----BEGIN A-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END A-----\n"),
		{},
	}
	files, _ := filepath.Glob(filepath.Join("..", "verify", "testdata", "vectors", "contexts", "*", "*.pem"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b, b[:len(b)/3])
	}
	return seeds
}

// TestPEMForms: SplitPEM, ScanPEM (whatever the read sizes) and the
// reference agree on every seed.
func TestPEMForms(t *testing.T) {
	for i, in := range pemSeeds(t) {
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkPEMForms(t, in) })
	}
}

// FuzzScanPEM checks on arbitrary input that ScanPEM agrees with SplitPEM
// whatever the read sizes, and that both agree with the quadratic splitter
// they replaced.
func FuzzScanPEM(f *testing.F) {
	for _, s := range pemSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkPEMForms(t, in) })
}

// TestScanPEMErrors: an error from fn stops the scan and is returned; a
// read error is returned and no block read across it is reported.
func TestScanPEMErrors(t *testing.T) {
	good := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("x")})
	stop := errors.New("stop")
	n := 0
	err := ScanPEM(bytes.NewReader(bytes.Repeat(good, 3)), func(Block) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("fn error: %v after %d blocks", err, n)
	}
	broken := errors.New("disk")
	blocks, err := scanAll(io.MultiReader(bytes.NewReader(good), bytes.NewReader(good[:20]), iotest.ErrReader(broken)))
	if !errors.Is(err, broken) {
		t.Fatalf("read error: %v", err)
	}
	for _, b := range blocks {
		if b.Err != nil {
			t.Fatalf("a block cut by the read error was reported: %+v", b)
		}
	}
}

// TestScanPEMMemory: ScanPEM holds one block at a time, not the input.
func TestScanPEMMemory(t *testing.T) {
	block := pem.EncodeToMemory(&pem.Block{Type: "RTC STATUS LIST", Bytes: bytes.Repeat([]byte{7}, 3000)})
	const n = 2000
	r := &countingReader{r: io.MultiReader(repeatReader(block, n)...)}
	var s pemScanner
	s.r = r
	maxWindow, blocks := 0, 0
	err := s.scan(func(b Block) error {
		if b.Err != nil {
			t.Fatal(b.Err)
		}
		blocks++
		maxWindow = max(maxWindow, cap(s.buf))
		return nil
	})
	if err != nil || blocks != n {
		t.Fatalf("%d blocks, %v", blocks, err)
	}
	if maxWindow > 4*pemChunk {
		t.Fatalf("window grew to %d bytes for %d-byte blocks", maxWindow, len(block))
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func repeatReader(b []byte, n int) []io.Reader {
	out := make([]io.Reader, n)
	for i := range out {
		out[i] = bytes.NewReader(b)
	}
	return out
}

// TestPEMBlockTooLarge: a block longer than MaxBlockSize (lowered here to
// 1 MiB) is reported damaged, the scanner's window stays near that size,
// and the scan goes on with the next block — wherever the block runs long:
// in its BEGIN line, its body or its END line.
func TestPEMBlockTooLarge(t *testing.T) {
	defer func(n int) { maxBlockSize = n }(maxBlockSize)
	maxBlockSize = 1 << 20
	good := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("x")})
	for name, parts := range map[string][]string{
		"body":       {"-----BEGIN HUGE-----\n", "", "\n-----END HUGE-----\n"},
		"BEGIN line": {"-----BEGIN HUGE", "", "-----\nAAAA\n-----END HUGE-----\n"},
		"END line":   {"-----BEGIN HUGE-----\nAAAA\n-----END HUGE-----", "", "\n"},
	} {
		t.Run(name, func(t *testing.T) {
			in := io.MultiReader(bytes.NewReader(good), strings.NewReader(parts[0]), &patternReader{n: maxBlockSize + 1},
				strings.NewReader(parts[2]), bytes.NewReader(good))
			var s pemScanner
			s.r = in
			var blocks []Block
			err := s.scan(func(b Block) error {
				blocks = append(blocks, b)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(blocks) != 3 || blocks[0].Err != nil || !errors.Is(blocks[1].Err, ErrPEM) || blocks[2].Err != nil || blocks[2].Index != 3 {
				t.Fatalf("blocks: %+v", blocks)
			}
			if cap(s.buf) > 3*maxBlockSize {
				t.Fatalf("window grew to %d bytes", cap(s.buf))
			}
		})
	}
}

// patternReader yields n bytes of base64-looking text without newlines.
type patternReader struct{ n int }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.n == 0 {
		return 0, io.EOF
	}
	k := min(len(b), p.n)
	for i := range b[:k] {
		b[i] = 'A'
	}
	p.n -= k
	return k, nil
}

// BenchmarkSplitPEM splits a bundle of 20,000 blocks (about 30 MB): the
// time must grow linearly with the size (it was quadratic).
func BenchmarkSplitPEM(b *testing.B) {
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: bytes.Repeat([]byte{7}, 1100)})
	data := bytes.Repeat(block, 20_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if n := len(SplitPEM(data)); n != 20_000 {
			b.Fatal(n)
		}
	}
}

// splitPEMReference is the SplitPEM that ScanPEM replaced, kept verbatim
// (it is quadratic: it counts lines from the start of the input for every
// block) as the reference the property tests compare against.
func splitPEMReference(data []byte) []Block {
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
