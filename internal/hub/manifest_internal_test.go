package hub

import (
	"fmt"
	"slices"
	"testing"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/trust"
)

func obj(name string, size int64) ObjectRef {
	return ObjectRef{Digest: gm.SM3([]byte(name)), Size: size}
}

var testList = trust.ListRef{CA: gm.SM3([]byte("CA")), Issuer: "440300"}

// chain describes a list in the manifest as "F3 D4 D5": full #3, deltas to
// #4 and #5.
func chain(m *Manifest) string {
	i := slices.IndexFunc(m.Lists, func(l ManifestList) bool { return l.List == testList })
	if i < 0 {
		return ""
	}
	l := m.Lists[i]
	s := fmt.Sprintf("F%d", l.Full.Seq)
	for _, d := range l.Deltas {
		s += fmt.Sprintf(" D%d", d.Seq)
	}
	return s
}

func full(seq uint64) placedList {
	return placedList{info: trust.ListInfoRef{Ref: testList, Sequence: seq}, ref: obj(fmt.Sprint("full ", seq), 1000)}
}

func delta(base, seq uint64) placedList {
	return placedList{info: trust.ListInfoRef{Ref: testList, Sequence: seq, Base: base}, ref: obj(fmt.Sprint("delta ", base, "→", seq), 10)}
}

func TestPlaceList(t *testing.T) {
	tests := []struct {
		name        string
		start       []placedList // placed first
		place       []placedList
		want        string
		wantChanged bool
	}{
		{name: "first full", place: []placedList{full(3)}, want: "F3", wantChanged: true},
		{name: "a delta without a full list", place: []placedList{delta(2, 3)}, want: ""},
		{name: "deltas append", start: []placedList{full(3)}, place: []placedList{delta(3, 4), delta(4, 5)}, want: "F3 D4 D5", wantChanged: true},
		{name: "deltas in any order", start: []placedList{full(3)}, place: []placedList{delta(4, 5), delta(3, 4)}, want: "F3 D4 D5", wantChanged: true},
		{name: "a delta that does not follow", start: []placedList{full(3)}, place: []placedList{delta(4, 5)}, want: "F3"},
		{name: "a newer full list compacts", start: []placedList{full(3), delta(3, 4), delta(4, 5)}, place: []placedList{full(7)}, want: "F7", wantChanged: true},
		{name: "a full list at a delta's sequence", start: []placedList{full(3), delta(3, 4), delta(4, 5)}, place: []placedList{full(4)}, want: "F4 D5", wantChanged: true},
		{name: "a full list at the tip", start: []placedList{full(3), delta(3, 4)}, place: []placedList{full(4)}, want: "F4", wantChanged: true},
		{name: "an older full list", start: []placedList{full(3), delta(3, 4)}, place: []placedList{full(2)}, want: "F3 D4"},
		{name: "the same full list again", start: []placedList{full(3), delta(3, 4)}, place: []placedList{full(3), delta(3, 4)}, want: "F3 D4"},
		{name: "full and its delta at once", place: []placedList{delta(3, 4), full(3)}, want: "F3 D4", wantChanged: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Manifest{}
			placeAll(m, nil, nil, tt.start)
			changed := placeAll(m, nil, nil, tt.place)
			if got := chain(m); got != tt.want || changed != tt.wantChanged {
				t.Fatalf("list %q changed %v, want %q %v", got, changed, tt.want, tt.wantChanged)
			}
		})
	}
}

func TestPlaceCertsAndCRLs(t *testing.T) {
	m := &Manifest{}
	ca := gm.SM3([]byte("CA"))
	if !placeAll(m, []ObjectRef{obj("b", 1), obj("a", 1)}, map[trust.Hash]ObjectRef{ca: obj("crl 1", 1)}, nil) {
		t.Fatal("nothing placed")
	}
	if placeAll(m, []ObjectRef{obj("a", 1)}, map[trust.Hash]ObjectRef{ca: obj("crl 1", 1)}, nil) {
		t.Fatal("the same objects again changed the manifest")
	}
	if !placeAll(m, nil, map[trust.Hash]ObjectRef{ca: obj("crl 2", 1)}, nil) || len(m.CRLs) != 1 || m.CRLs[0].Digest != obj("crl 2", 1).Digest {
		t.Fatalf("newer CRL: %+v", m.CRLs)
	}
	if len(m.Certs) != 2 || cmpHash(m.Certs[0].Digest, m.Certs[1].Digest) >= 0 {
		t.Fatalf("certificates not sorted or not kept: %+v", m.Certs)
	}
}
