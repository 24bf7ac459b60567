package verify_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/demo"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/trust"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// newStore opens a real trust store in a temporary directory with the
// given anchors and bundle imported.
func newStore(t testing.TB, anchors, bundle []byte) *trust.Store {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "terminal.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := trust.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if anchors != nil {
		if _, err := st.AddAnchors(ctx, anchors); err != nil {
			t.Fatal(err)
		}
	}
	if bundle != nil {
		rep, err := st.Import(ctx, bundle)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range rep.Blocks {
			if b.Err != nil { // refused
				t.Fatalf("bundle block %d (%s %s) skipped: %v", b.Block.Index, b.Block.Type, b.Label, b.Err)
			}
		}
	}
	return st
}

func reasonCodes(rs []verify.Reason) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.String())
	}
	return out
}

// TestDemoWorld verifies every demo sample at the world's time and checks
// the verdict and reasons the world promises.
func TestDemoWorld(t *testing.T) {
	for _, at := range []time.Time{demo.ReferenceTime, time.Date(2031, 3, 9, 17, 30, 0, 0, time.UTC)} {
		w, err := demo.Build(demo.DefaultSeed, at)
		if err != nil {
			t.Fatal(err)
		}
		st := newStore(t, w.AnchorsPEM, w.BundlePEM)
		v := verify.New(st, nil, verify.DefaultPolicy())
		kinds := map[string]bool{}
		for _, s := range w.Samples {
			t.Run(at.Format("2006")+"/"+s.Name, func(t *testing.T) {
				res := v.Verify(context.Background(), s.Text, w.At)
				if res.Err != nil {
					t.Fatal(res.Err)
				}
				if res.Verdict.String() != s.Verdict || !slices.Equal(reasonCodes(res.Reasons), s.Reasons) {
					t.Fatalf("got %s %v, want %s %v (detail: %v)", res.Verdict, reasonCodes(res.Reasons), s.Verdict, s.Reasons, res.Detail)
				}
				for _, r := range res.Reasons {
					kinds[r.String()] = true
				}
				if res.Verdict != verify.Invalid && res.Claims == nil {
					t.Fatal("no claims on a VALID or LIMITED result")
				}
			})
		}
		for _, r := range verify.AllReasons() {
			if !kinds[r.String()] {
				t.Errorf("no demo sample shows %s", r)
			}
		}
	}
}

func TestDemoWorldDeterministic(t *testing.T) {
	a, err := demo.Build(7, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := demo.Build(7, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if string(a.BundlePEM) != string(b.BundlePEM) || string(a.AnchorsPEM) != string(b.AnchorsPEM) {
		t.Fatal("same seed, different trust material")
	}
	for i := range a.Samples {
		if a.Samples[i].Text != b.Samples[i].Text {
			t.Fatalf("sample %s differs between builds", a.Samples[i].Name)
		}
	}
	c, _ := demo.Build(8, time.Time{})
	if string(c.AnchorsPEM) == string(a.AnchorsPEM) {
		t.Fatal("different seeds, same root")
	}
}

// TestLaterDemoWorldSupersedes imports the world of one day and then the
// world of the next into the same store: nothing is refused, and the later
// world's samples verify as promised.
func TestLaterDemoWorldSupersedes(t *testing.T) {
	w1, err := demo.Build(demo.DefaultSeed, demo.ReferenceTime)
	if err != nil {
		t.Fatal(err)
	}
	w2, err := demo.Build(demo.DefaultSeed, demo.ReferenceTime.Add(26*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	st := newStore(t, w1.AnchorsPEM, w1.BundlePEM)
	rep, err := st.Import(context.Background(), w2.BundlePEM)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range rep.Blocks {
		if b.Err != nil { // refused
			t.Fatalf("block %d %s refused: %v", b.Block.Index, b.Label, b.Err)
		}
	}
	v := verify.New(st, nil, verify.DefaultPolicy())
	for _, s := range w2.Samples {
		res := v.Verify(context.Background(), s.Text, w2.At)
		if res.Verdict.String() != s.Verdict {
			t.Errorf("%s: %s %v, want %s", s.Name, res.Verdict, reasonCodes(res.Reasons), s.Verdict)
		}
	}
}
