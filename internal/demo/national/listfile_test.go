package national

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/issuer"
)

// TestListWriterMatchesIssuer holds the streaming list writer to the bytes
// issuer.Signer.SignStatusList produces for the same list and randomness,
// across every CBOR head width.
func TestListWriterMatchesIssuer(t *testing.T) {
	key, err := gm.ScalarFromSeed([]byte("listwriter-root"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := issuer.NewRoot(gm.DeterministicReader([]byte("root")), issuer.CertRequest{
		Subject: issuer.Name{CommonName: "root"}, Serial: 1, NotBefore: DefaultAt.AddDate(-1, 0, 0), NotAfter: DefaultAt.AddDate(1, 0, 0), Key: key,
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := root.IssueSigner(gm.DeterministicReader([]byte("signer")), issuer.CertRequest{
		Subject: issuer.Name{CommonName: "signer"}, Serial: 2, NotBefore: DefaultAt.AddDate(-1, 0, 0), NotAfter: DefaultAt.AddDate(1, 0, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	sinces := []int64{0, 1, 23, 24, 255, 256, 65535, 65536, 1<<32 - 1, 1 << 32, -1, -24, -25, -1 << 40, DefaultAt.Unix()}
	tests := []struct {
		name string
		head listHead
		n    int
	}{
		{"empty full", listHead{issuer: "440100", seq: 1, this: 0, next: 23}, 0},
		{"small delta", listHead{issuer: "440300", seq: 24, base: 23, this: -5, next: 1 << 33}, 5},
		{"24 entries", listHead{issuer: "110100", seq: 1 << 40, base: 255, this: DefaultAt.Unix(), next: DefaultAt.Unix() + 1}, 24},
		{"300 entries", listHead{issuer: "650100", seq: 70000, base: 65536, this: 100, next: 200}, 300},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := &credential.StatusList{Issuer: tc.head.issuer, Sequence: tc.head.seq, Base: tc.head.base, ThisUpdate: tc.head.this, NextUpdate: tc.head.next}
			var lw listWriter
			lw.begin(tc.head, tc.n)
			for i := 0; i < tc.n; i++ {
				e := credential.StatusEntry{IDHash: idHash(tc.head.issuer, i), Status: credential.Status(i % 3), Since: sinces[i%len(sinces)]}
				l.Entries = append(l.Entries, e)
				lw.add(&e.IDHash, e.Status, e.Since)
			}
			want, err := s.SignStatusList(gm.DeterministicReader([]byte(tc.name)), l)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "list.cose")
			size, sum, err := lw.finish(path, s, gm.DeterministicReader([]byte(tc.name)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("streamed list differs from issuer's:\n got %x\nwant %x", got, want)
			}
			if size != int64(len(want)) || sum != gm.SM3(want) {
				t.Fatalf("size %d digest %x, want %d %x", size, sum, len(want), gm.SM3(want))
			}
			if _, parsed, err := credential.ParseStatusList(got); err != nil || len(parsed.Entries) != tc.n {
				t.Fatalf("ParseStatusList: %v", err)
			}
		})
	}
}

// TestListWriterCount refuses a list with fewer entries than announced.
func TestListWriterCount(t *testing.T) {
	var lw listWriter
	lw.begin(listHead{issuer: "440100", seq: 1}, 2)
	h := idHash("440100", 0)
	lw.add(&h, credential.StatusRevoked, 1)
	if _, _, err := lw.finish(filepath.Join(t.TempDir(), "x"), &issuer.Signer{}, nil); err == nil {
		t.Fatal("a list with a missing entry was written")
	}
}

// TestApportion checks exact totals, caps and proportions.
func TestApportion(t *testing.T) {
	tests := []struct {
		total int
		w     []float64
		limit int
		want  []int
	}{
		{10, []float64{1, 1}, 100, []int{5, 5}},
		{11, []float64{1, 1}, 100, []int{6, 5}},
		{100, []float64{97, 1, 1, 1}, 40, []int{40, 20, 20, 20}},
		{7, []float64{0, 0, 0}, 5, []int{3, 2, 2}},
		{0, []float64{3, 1}, 5, []int{0, 0}},
	}
	for _, tc := range tests {
		got := apportion(tc.total, tc.w, tc.limit)
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("apportion(%d, %v, %d) = %v, want %v", tc.total, tc.w, tc.limit, got, tc.want)
			}
		}
	}
}

// TestLicenceID checks the id layout and that idHash is credential.IDHash of it.
func TestLicenceID(t *testing.T) {
	for _, tc := range []struct {
		issuer string
		index  int
		want   string
	}{
		{"440100", 0, "44010012922016000000"},
		{"440100", 1, "44010012902016000001"},
		{"110100", 2_345_678, "11010012922018345678"},
		{"650100", MaxIndex - 1, "65010012902099999999"},
	} {
		if got := LicenceID(tc.issuer, tc.index); got != tc.want {
			t.Errorf("LicenceID(%s, %d) = %s, want %s", tc.issuer, tc.index, got, tc.want)
		}
		if idHash(tc.issuer, tc.index) != credential.IDHash(tc.want) {
			t.Errorf("idHash(%s, %d) is not IDHash of its id", tc.issuer, tc.index)
		}
	}
}
