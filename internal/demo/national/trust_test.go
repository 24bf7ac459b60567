package national_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/demo/national"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/trust"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// importBundle imports a bundle and fails on any refused block.
func importBundle(t *testing.T, st *trust.Store, bundle []byte) {
	t.Helper()
	rep, err := st.Import(context.Background(), bundle)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range rep.Blocks {
		if b.Err != nil {
			t.Fatalf("block %d (%s %s) refused: %v", b.Block.Index, b.Block.Type, b.Label, b.Err)
		}
	}
}

// TestTrustAndVerify imports the small world into a real trust store and
// verifies real codes: a licence revoked in the newest lists is INVALID
// LICENCE_REVOKED, a suspended one LICENCE_SUSPENDED, an active one VALID;
// a terminal one day behind misses the newest delta, and catches it once
// the delta is imported.
func TestTrustAndVerify(t *testing.T) {
	ctx := context.Background()
	w := generate(t, small(filepath.Join(t.TempDir(), "w")))
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "terminal.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := trust.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() }) // waits for the background merge of the delta
	anchors, err := os.ReadFile(w.AnchorsPath())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddAnchors(ctx, anchors); err != nil {
		t.Fatal(err)
	}
	var bundle bytes.Buffer
	if err := w.WriteBundle(ctx, &bundle); err != nil {
		t.Fatal(err)
	}
	importBundle(t, st, bundle.Bytes())
	v := verify.New(st, nil, verify.DefaultPolicy())

	check := func(what string, ls []national.Licence, at time.Time, verdict verify.Verdict, reasons ...string) {
		t.Helper()
		if len(ls) == 0 {
			t.Fatalf("%s: no licences", what)
		}
		for _, l := range ls {
			text, err := w.Code(ctx, l.Issuer, l.Index, at)
			if err != nil {
				t.Fatal(err)
			}
			res := v.Verify(ctx, text, at)
			var got []string
			for _, r := range res.Reasons {
				got = append(got, r.String())
			}
			if res.Err != nil || res.Verdict != verdict || !slices.Equal(got, reasons) {
				t.Fatalf("%s: licence %s/%d (%s): %s %v, want %s %v (%v %v)", what, l.Issuer, l.Index, l.ID(), res.Verdict, got, verdict, reasons, res.Detail, res.Err)
			}
			if res.Claims.Credential.Kind != national.KindOf(l.Index) || res.Claims.Credential.ID != l.ID() {
				t.Fatalf("%s: code of %s/%d carries %v %s", what, l.Issuer, l.Index, res.Claims.Credential.Kind, res.Claims.Credential.ID)
			}
		}
	}
	at := w.CheckTime()
	revoked := w.Revoked(6)
	check("revoked", revoked, at, verify.Invalid, "LICENCE_REVOKED")
	check("suspended", w.Sample(4, credential.StatusSuspended), at, verify.Invalid, "LICENCE_SUSPENDED")
	check("active", w.Active(6), at, verify.Valid)

	// The next day's delta: new revocations, lifted suspensions.
	ds, err := w.Delta(ctx, 1, 0.02)
	if err != nil {
		t.Fatal(err)
	}
	at = w.CheckTime()
	newRevoked, lifted := w.Revoked(6), w.Active(6)
	for _, l := range newRevoked {
		if l.Index < w.Issuers()[0].Entries && l.Issuer == w.Issuers()[0].Code {
			t.Fatalf("Revoked after a delta gave %+v, not one of the delta's", l)
		}
	}
	check("one day behind, revoked today", newRevoked, at, verify.Valid)
	check("one day behind, lifted today", lifted, at, verify.Invalid, "LICENCE_SUSPENDED")
	bundle.Reset()
	if err := w.WriteBundle(ctx, &bundle, ds.Lists...); err != nil {
		t.Fatal(err)
	}
	importBundle(t, st, bundle.Bytes())
	check("up to date, revoked today", newRevoked, at, verify.Invalid, "LICENCE_REVOKED")
	check("up to date, lifted today", lifted, at, verify.Valid)
	check("up to date, revoked before", revoked, at, verify.Invalid, "LICENCE_REVOKED")
}

// TestTrustTenDeltas applies ten days of deltas to a terminal one at a
// time, and the whole world in one bundle to a fresh one: both catch the
// newest revocations.
func TestTrustTenDeltas(t *testing.T) {
	ctx := context.Background()
	cfg := small(filepath.Join(t.TempDir(), "w"))
	cfg.Entries = 5_000
	cfg.Bundle = true
	w := generate(t, cfg)
	newStore := func() (*trust.Store, *verify.Verifier) {
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
		anchors, err := os.ReadFile(w.AnchorsPath())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.AddAnchors(ctx, anchors); err != nil {
			t.Fatal(err)
		}
		return st, verify.New(st, nil, verify.DefaultPolicy())
	}
	readFile := func(rel string) []byte {
		b, err := os.ReadFile(filepath.Join(w.Dir(), filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	daily, _ := newStore()
	importBundle(t, daily, readFile(w.Manifest().Bundle))
	for day := 1; day <= 10; day++ {
		ds, err := w.Delta(ctx, day, 0.01)
		if err != nil {
			t.Fatal(err)
		}
		if ds.Bundle == "" {
			t.Fatal("no delta bundle with Config.Bundle")
		}
		importBundle(t, daily, readFile(ds.Bundle))
	}
	fresh, _ := newStore()
	var all bytes.Buffer
	if err := w.WriteBundle(ctx, &all); err != nil {
		t.Fatal(err)
	}
	importBundle(t, fresh, all.Bytes())
	at := w.CheckTime()
	for name, st := range map[string]*trust.Store{"daily": daily, "fresh": fresh} {
		v := verify.New(st, nil, verify.DefaultPolicy())
		for _, l := range append(w.Revoked(5), w.Active(5)...) {
			text, err := w.Code(ctx, l.Issuer, l.Index, at)
			if err != nil {
				t.Fatal(err)
			}
			res := v.Verify(ctx, text, at)
			want := verify.Valid
			if l.Status != credential.StatusActive {
				want = verify.Invalid
			}
			if res.Verdict != want || (want == verify.Invalid && !res.Has(verify.LicenceRevoked)) {
				t.Fatalf("%s terminal: %+v verifies %s %v", name, l, res.Verdict, res.Reasons)
			}
		}
	}
}
