package statusfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/roadcheck/roadcheck/internal/gm"
)

// goldenFiles returns the data files of testdata/store with what the
// manifest says about them.
func goldenFiles(t testing.TB) (*manifest, map[uint64][]byte) {
	b, err := os.ReadFile(filepath.Join(goldenStore, manifestName))
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	files := map[uint64][]byte{}
	for id := range m.files {
		if files[id], err = os.ReadFile(filepath.Join(goldenStore, fileName(id))); err != nil {
			t.Fatal(err)
		}
	}
	return m, files
}

// FuzzManifest: any bytes give a manifest or an ErrDamaged error, never a
// panic; what parses encodes back to the same manifest.
func FuzzManifest(f *testing.F) {
	b, err := os.ReadFile(filepath.Join(goldenStore, manifestName))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(emptyManifest().encode())
	f.Add(b[:len(b)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseManifest(b)
		if err != nil {
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("error %v does not wrap ErrDamaged", err)
			}
			return
		}
		m2, err := parseManifest(m.encode())
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, m, m2)
		}
	})
}

// sealedFile returns fileInfo for data taken as a whole file whose header
// is its last hdrLen bytes (the fuzzer controls the digest tree too).
func sealedFile(data []byte, hdrLen int64, kind fileKind) fileInfo {
	fi := fileInfo{id: 1, kind: kind, size: int64(len(data)), hdrLen: hdrLen}
	if hdrLen >= 0 && hdrLen <= int64(len(data)) {
		fi.hdrDigest = gm.SM3(data[int64(len(data))-hdrLen:])
	}
	return fi
}

// FuzzFile: a data file of any content, with a manifest entry that
// matches its header, gives data or ErrDamaged through every reader:
// mapped lookups, the writer's reader, the cursor and Check, never a
// panic.
func FuzzFile(f *testing.F) {
	m, files := goldenFiles(f)
	for id, data := range files {
		f.Add(data, uint16(m.files[id].hdrLen), uint8(m.files[id].kind), int64(8))
	}
	f.Fuzz(func(t *testing.T, data []byte, hdrLen uint16, kind uint8, off int64) {
		if len(data) == 0 {
			return
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, fileName(1)), data, 0o644); err != nil {
			t.Fatal(err)
		}
		fi := sealedFile(data, int64(hdrLen), fileKind(kind%3+1))
		ok := func(err error) {
			if err != nil && !errors.Is(err, ErrDamaged) {
				t.Fatalf("error %v does not wrap ErrDamaged", err)
			}
		}
		if fi.kind == kindMeta {
			_, err := readMeta(dir, fi)
			ok(err)
			return
		}
		for _, mapped := range []bool{true, false} {
			vf, err := openVFile(dir, fi, mapped)
			ok(err)
			if err != nil {
				continue
			}
			exerciseRun(t, vf, off, ok)
			ok(vf.verifyAll(nil))
			vf.close()
		}
	})
}

// exerciseRun reads a run at off of vf every way the store does.
func exerciseRun(t *testing.T, vf *vfile, off int64, ok func(error)) {
	hb, err := vf.read(off, runHdrLen, true, nil)
	ok(err)
	if err != nil {
		return
	}
	ri, err := parseRunHeader(vf.name, hb, off, vf.lay.dataLen)
	ok(err)
	if err != nil {
		return
	}
	k := testKey(0)
	ri.tag = keyTag(k)
	read := func(o, n int64) ([]byte, error) { return vf.read(o, n, true, nil) }
	for i := 0; i < 4; i++ {
		h := hashN(i)
		if vf.mm != nil && ri.n > 0 {
			// A hash of the run itself, so lookups get past the directory.
			if rec, err := vf.read(ri.recOff, ri.recW, true, nil); err == nil && i == 3 {
				hi, lo := ri.getRem(rec)
				putBE(&h, hi, lo)
			}
		}
		_, err := ri.mayHold(beHi(&h), beLo(&h), read)
		ok(err)
		lo, hi, err := ri.bucketRange(vf.name, ri.bucket(&h), read)
		ok(err)
		if err != nil {
			continue
		}
		recs, err := vf.read(ri.recOff+lo*ri.recW, (hi-lo)*ri.recW, true, nil)
		ok(err)
		if err != nil {
			continue
		}
		rc, found, err := ri.find(vf.name, recs, beHi(&h), beLo(&h))
		ok(err)
		if found && rc.st == stMulti {
			hist, err := vf.read(ri.histOff+rc.p*ri.hw, rc.m*ri.hw, true, nil)
			ok(err)
			if err == nil {
				_, _, _, err = ri.pick(vf.name, hist, 0, false)
				ok(err)
			}
		}
	}
	c, err := cursorFor(vf, ri)
	ok(err)
	for err == nil {
		err = c.next()
		ok(err)
		if !c.ok {
			break
		}
	}
	if vf.f != nil {
		p := newPriorReader("")
		p.files[1] = vf
		pr := &priorRun{vf: vf, ri: ri}
		var err error
		if pr.filter, err = vf.read(ri.filterOff, ri.fBlocks*filterBlk, true, nil); err == nil {
			pr.dir, err = vf.read(ri.dirOff, ri.recOff-ri.dirOff, true, nil)
		}
		if err == nil {
			if pr.hist, err = vf.read(ri.histOff, ri.end-ri.histOff, true, nil); err == nil {
				p.cur = []*priorRun{pr}
				pr.dense = true
				_, _, err = p.latest(beHi(&[16]byte{}), 0)
			}
		}
		ok(err)
	}
}

func beHi(h *[16]byte) uint64 { return recOf(h, 0, 0, 0).hi }
func beLo(h *[16]byte) uint64 { return recOf(h, 0, 0, 0).lo }

func putBE(h *[16]byte, hi, lo uint64) {
	for i := 0; i < 8; i++ {
		h[i] = byte(hi >> (56 - 8*i))
		h[8+i] = byte(lo >> (56 - 8*i))
	}
}

// FuzzRun: any run bytes, taken as verified (the digest tree bypassed),
// give entries or ErrDamaged through lookups and the cursor, never a
// panic.
func FuzzRun(f *testing.F) {
	m, files := goldenFiles(f)
	for id, data := range files {
		if m.files[id].kind != kindMeta {
			kind, lay, _, err := parseHeader("seed", data[int64(len(data))-m.files[id].hdrLen:], int64(len(data)))
			if err != nil || kind == kindMeta {
				f.Fatal(err)
			}
			f.Add(data[:lay.dataLen])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < len(dataMagic) {
			return
		}
		lay := newLayout(int64(len(data)), defaultLeafShift, defaultFanout)
		vf := &vfile{name: "fuzz", lay: lay, mm: data, bits: make([][]atomicBits, len(lay.counts))}
		for k, c := range lay.counts {
			vf.bits[k] = make([]atomicBits, (c+63)/64)
			for i := range vf.bits[k] {
				vf.bits[k][i].Store(^uint64(0))
			}
		}
		exerciseRun(t, vf, int64(len(dataMagic)), func(err error) {
			if err != nil && !errors.Is(err, ErrDamaged) {
				t.Fatalf("error %v does not wrap ErrDamaged", err)
			}
		})
	})
}

// TestFuzzSeedsWork keeps the fuzz seeds meaningful: the golden files
// parse and their runs read without error.
func TestFuzzSeedsWork(t *testing.T) {
	m, files := goldenFiles(t)
	dir := t.TempDir()
	for id, data := range files {
		os.WriteFile(filepath.Join(dir, fileName(id)), data, 0o644)
	}
	for _, k := range m.keys {
		for _, r := range k.runs {
			vf, err := openVFile(dir, m.files[r.file], true)
			if err != nil {
				t.Fatal(err)
			}
			if err := walkRun(vf, k.key, r); err != nil {
				t.Fatal(err)
			}
			vf.close()
		}
	}
	_ = context.Background
}
