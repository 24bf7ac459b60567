package verify_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/demo"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/issuer"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/trust"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// TestLongRunningProcessImportsNewCA is the GUI's life in one process:
// checks are recorded (the database file grows and is re-mapped), then a
// bundle brings a new provincial CA under the national root, again and
// again. An earlier version parsed certificates straight from the
// database's memory map, which was valid only inside its transaction: a
// later import crashed (SIGSEGV in issuedBy) or refused every new CA as an
// unknown signer.
func TestLongRunningProcessImportsNewCA(t *testing.T) {
	ctx := context.Background()
	w, err := demo.Build(demo.DefaultSeed, demo.ReferenceTime)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "terminal.db")
	db, err := storage.Open(ctx, path, storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ts, err := trust.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	if _, err := ts.AddAnchors(ctx, w.AnchorsPEM); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Import(ctx, w.BundlePEM); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(w.At)
	recs, err := records.Open(ctx, db, records.KeyFile(records.KeyFilePath(path)), records.Options{Clock: clk, DeviceID: "T-LONGRUN"})
	if err != nil {
		t.Fatal(err)
	}
	v := verify.New(ts, clk, verify.DefaultPolicy())
	sample := w.Samples[0]
	provinces := []string{"32", "33", "35", "37", "41"}
	for round, prefix := range provinces {
		// Record enough checks to grow the file past a re-map.
		for i := 0; i < 400; i++ {
			res := v.Verify(ctx, sample.Text, w.At)
			c := records.CheckFromResult(res)
			c.Officer, c.Action, c.Notes = "1001", records.ActionRelease, fmt.Sprintf("round %d check %d %0512d", round, i, i)
			if _, err := recs.Append(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		code := newProvince(t, w, ts, prefix)
		res := v.Verify(ctx, code, w.At)
		if res.Err != nil {
			t.Fatalf("round %d: %v", round, res.Err)
		}
		if slices.Contains(res.Reasons, verify.UnknownSigner) || res.Verdict == verify.Invalid {
			t.Fatalf("round %d: code of the new CA %s: %s %v", round, prefix, res.Verdict, res.Reasons)
		}
		if got := v.Verify(ctx, sample.Text, w.At); got.Verdict.String() != sample.Verdict {
			t.Fatalf("round %d: sample %s is %s, want %s", round, sample.Name, got.Verdict, sample.Verdict)
		}
	}
}

// newProvince issues a CA for prefix under the world's root and a signer
// under it, imports both, and returns a code that signer signed.
func newProvince(t *testing.T, w *demo.World, ts *trust.Store, prefix string) string {
	t.Helper()
	rnd := func(l string) *gm.PrivateKey {
		k, err := gm.ScalarFromSeed([]byte("longrun/" + prefix + "/" + l))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	from, until := w.At.AddDate(-1, 0, 0), w.At.AddDate(3, 0, 0)
	ca, err := w.Root.IssueCA(gm.DeterministicReader([]byte("longrun-ca"+prefix)), issuer.CertRequest{
		Subject: issuer.Name{CommonName: "省级CA " + prefix}, Prefix: prefix, Serial: 9000, NotBefore: from, NotAfter: until, Key: rnd("ca")})
	if err != nil {
		t.Fatal(err)
	}
	s, err := ca.IssueSigner(gm.DeterministicReader([]byte("longrun-signer"+prefix)), issuer.CertRequest{
		Subject: issuer.Name{CommonName: "签名 " + prefix}, Serial: 9001, NotBefore: from, NotAfter: until, Key: rnd("signer")})
	if err != nil {
		t.Fatal(err)
	}
	var b issuer.Bundle
	b.AddCert(ca.DER)
	b.AddCert(s.DER)
	rep, err := ts.Import(context.Background(), b.PEM())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Count(trust.Stored) != 2 {
		for _, r := range rep.Blocks {
			t.Logf("%s: %s %v", r.Label, r.Outcome, r.Err)
		}
		t.Fatalf("new CA %s: %d of 2 stored", prefix, rep.Count(trust.Stored))
	}
	code := prefix + "0100"
	cr := credential.Credential{
		Version: 1, Kind: credential.KindPermit, Number: "许可" + prefix, ID: "longrun-" + prefix,
		Holder: "测试运输有限公司", HolderIDType: credential.HolderIDCreditCode, HolderID: "91" + code + "MA5T0000X",
		Authority: "测试交通运输局", AuthorityCode: code,
		ValidFrom: credential.DateOf(from), ValidUntil: credential.DateOf(until),
		Permit: &credential.Permit{Scope: "道路普通货物运输"},
	}
	text, err := s.SignStatic(gm.DeterministicReader([]byte("longrun-code"+prefix)), cr, w.At)
	if err != nil {
		t.Fatal(err)
	}
	return text
}
