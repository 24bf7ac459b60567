package national_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/demo/national"
	"github.com/roadcheck/roadcheck/internal/gm"
)

var update = flag.Bool("update", false, "rewrite testdata goldens")

// small is the world most tests use: 2 provinces, 6 issuers (two under
// city CAs), 18 signers (some revoked), 20,000 entries.
func small(dir string) national.Config {
	return national.Config{Seed: 7, Provinces: 2, Issuers: 6, Signers: 18, Entries: 20_000, Dir: dir}
}

func generate(t testing.TB, cfg national.Config) *national.World {
	t.Helper()
	w, err := national.Generate(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestShape checks the world's structure: counts, codes under their
// province, city CAs, revoked signers, entries summing to the config, the
// skew towards the first issuer.
func TestShape(t *testing.T) {
	w := generate(t, small(filepath.Join(t.TempDir(), "w")))
	m := w.Manifest()
	if len(m.Issuers) != 6 {
		t.Fatalf("%d issuers", len(m.Issuers))
	}
	total, signers, revoked, cityCAs := 0, 0, 0, 0
	for _, is := range m.Issuers {
		if len(is.Code) != 6 || is.Code[:2] != is.Province || is.Code[:len(is.CA)] != is.CA {
			t.Errorf("issuer %s in province %s under CA %s", is.Code, is.Province, is.CA)
		}
		if len(is.CA) == 4 {
			cityCAs++
		}
		total += is.Entries
		signers += len(is.Signers)
		revoked += len(is.Revoked)
	}
	if total != 20_000 || signers+revoked != 18 || revoked == 0 || cityCAs == 0 {
		t.Fatalf("entries %d, signers %d+%d revoked, %d issuers under city CAs", total, signers, revoked, cityCAs)
	}
	if m.Issuers[0].Entries <= m.Issuers[1].Entries {
		t.Errorf("first issuer holds %d entries, second %d: no skew", m.Issuers[0].Entries, m.Issuers[1].Entries)
	}
	counts := map[string]int{}
	for _, o := range m.Objects {
		counts[o.Type]++
	}
	// 2 provincial + 4 city CAs, a CRL each and the root's.
	want := map[string]int{national.TypeAnchors: 1, national.TypeCA: 6, national.TypeSigner: 18, national.TypeCRL: 7, national.TypeList: 6}
	for typ, n := range want {
		if counts[typ] != n {
			t.Errorf("%d objects of type %s, want %d", counts[typ], typ, n)
		}
	}
	if err := w.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestListsVerify checks every list without the trust store: it parses,
// speaks for its issuer, is signed by an unrevoked signer of that issuer
// whose certificate was issued by the list's CA, which chains to the
// root; and every entry of the full list is the status Status reports.
func TestListsVerify(t *testing.T) {
	w := generate(t, small(filepath.Join(t.TempDir(), "w")))
	if _, err := w.Delta(context.Background(), 1, 0.02); err != nil {
		t.Fatal(err)
	}
	certs := map[[8]byte]*smx509.Certificate{}
	cas := map[string]*smx509.Certificate{}
	signerIssuer := map[[8]byte]string{}
	rootPEM, err := os.ReadFile(w.AnchorsPath())
	if err != nil {
		t.Fatal(err)
	}
	roots := smx509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
		t.Fatal("anchors.pem holds no certificate")
	}
	inter := smx509.NewCertPool()
	for _, o := range w.Objects(national.TypeCA, national.TypeSigner) {
		der, err := os.ReadFile(w.Path(o))
		if err != nil {
			t.Fatal(err)
		}
		c, err := smx509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		if o.Type == national.TypeCA {
			cas[o.CA] = c
			inter.AddCert(c)
			continue
		}
		certs[credential.KID(der)] = c
		signerIssuer[credential.KID(der)] = o.Issuer
	}
	revoked := map[string]bool{}
	for _, is := range w.Issuers() {
		for _, r := range is.Revoked {
			revoked[r] = true
		}
	}
	seqs := map[string]uint64{}
	for _, o := range w.Objects(national.TypeList) {
		b, err := os.ReadFile(w.Path(o))
		if err != nil {
			t.Fatal(err)
		}
		s1, l, err := credential.ParseStatusList(b)
		if err != nil {
			t.Fatalf("%s: %v", o.Path, err)
		}
		if l.Issuer != o.Issuer || l.Sequence != o.Sequence || l.Base != o.Base || len(l.Entries) != o.Entries {
			t.Fatalf("%s: list %s #%d base %d with %d entries, manifest says %+v", o.Path, l.Issuer, l.Sequence, l.Base, len(l.Entries), o)
		}
		if o.Base != 0 && o.Base != seqs[o.Issuer] {
			t.Fatalf("%s: base %d, the issuer's sequence is %d", o.Path, o.Base, seqs[o.Issuer])
		}
		seqs[o.Issuer] = o.Sequence
		kid := [8]byte(s1.KID)
		c, ok := certs[kid]
		if !ok || signerIssuer[kid] != o.Issuer {
			t.Fatalf("%s: signed by an unknown signer or another issuer's", o.Path)
		}
		if err := c.CheckSignatureFrom(cas[o.CA]); err != nil {
			t.Fatalf("%s: signer not issued by the list's CA %s: %v", o.Path, o.CA, err)
		}
		if _, err := c.Verify(smx509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: w.CheckTime(), KeyUsages: []smx509.ExtKeyUsage{smx509.ExtKeyUsageAny}}); err != nil {
			t.Fatalf("%s: signer does not chain to the root: %v", o.Path, err)
		}
		pub, err := gm.NewPublicKey(c.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := pub.Verify(s1.SigStructure(), s1.Signature); !ok || err != nil {
			t.Fatalf("%s: bad signature (%v)", o.Path, err)
		}
		if o.Base == 0 {
			for j, e := range l.Entries[:min(len(l.Entries), 500)] {
				if e.IDHash != credential.IDHash(national.LicenceID(o.Issuer, j)) || e.Since >= w.Config().At.Unix() {
					t.Fatalf("%s: entry %d is not licence %d's", o.Path, j, j)
				}
			}
		}
	}
	for name := range revoked {
		if _, err := os.Stat(filepath.Join(w.Dir(), "certs", "signer-"+name+".der")); err != nil {
			t.Fatalf("revoked signer %s not written: %v", name, err)
		}
	}
}

// TestDeterministic generates the same world twice, with a delta each,
// and compares every byte; another seed gives other bytes.
func TestDeterministic(t *testing.T) {
	var manifests [][]byte
	for i, seed := range []int64{7, 7, 8} {
		cfg := small(filepath.Join(t.TempDir(), "w"))
		cfg.Seed = seed
		cfg.Entries = 5_000
		w := generate(t, cfg)
		if _, err := w.Delta(context.Background(), 1, 0.1); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(w.Dir(), national.ManifestFile))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Check(context.Background()); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		manifests = append(manifests, b)
	}
	if !bytes.Equal(manifests[0], manifests[1]) {
		t.Fatal("two runs with the same seed differ")
	}
	if bytes.Equal(manifests[0], manifests[2]) {
		t.Fatal("another seed gives the same world")
	}
}

// TestGoldenManifest pins a tiny world's manifest (every digest in it):
// a change of the generator's output must be deliberate (-update).
func TestGoldenManifest(t *testing.T) {
	w := generate(t, national.Config{Seed: 1, Provinces: 1, Issuers: 2, Signers: 3, Entries: 40, Dir: filepath.Join(t.TempDir(), "w")})
	if _, err := w.Delta(context.Background(), 1, 0.25); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(w.Dir(), national.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "tiny-manifest.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("manifest differs from %s (run with -update if intended):\n%s", golden, got)
	}
}

// TestDeltasChain publishes ten deltas in a row and checks the sequences,
// the entry counts, and the statuses they leave.
func TestDeltasChain(t *testing.T) {
	cfg := small(filepath.Join(t.TempDir(), "w"))
	w := generate(t, cfg)
	ctx := context.Background()
	before := w.Issuers()
	for day := 1; day <= 10; day++ {
		ds, err := w.Delta(ctx, day, 0.01)
		if err != nil {
			t.Fatal(err)
		}
		if ds.Entries != 200 || len(ds.Lists) != 6 {
			t.Fatalf("day %d: %d entries in %d lists", day, ds.Entries, len(ds.Lists))
		}
		for _, o := range ds.Lists {
			if o.Sequence != o.Base+1 || o.Day != day {
				t.Fatalf("day %d: %+v", day, o)
			}
		}
		if got := w.CheckTime(); !got.Equal(w.Config().At.Add(time.Duration(day) * 24 * time.Hour)) {
			t.Fatalf("CheckTime %v on day %d", got, day)
		}
	}
	for i, is := range w.Issuers() {
		if is.Sequence != before[i].Sequence+10 {
			t.Fatalf("issuer %s at sequence %d, started at %d", is.Code, is.Sequence, before[i].Sequence)
		}
	}
	for _, l := range w.Revoked(20) {
		if st, err := w.Status(l.Issuer, l.Index); err != nil || st != credential.StatusRevoked {
			t.Fatalf("Revoked gave %+v, Status says %v (%v)", l, st, err)
		}
	}
	for _, l := range w.Active(20) {
		if st, err := w.Status(l.Issuer, l.Index); err != nil || st != credential.StatusActive {
			t.Fatalf("Active gave %+v, Status says %v (%v)", l, st, err)
		}
	}
	if n := len(w.Sample(20, credential.StatusSuspended)); n != 20 {
		t.Fatalf("%d suspended samples", n)
	}
}

// TestDeltaRules: days only move forward, a repeated day is served from
// the manifest, bad arguments are refused.
func TestDeltaRules(t *testing.T) {
	cfg := small(filepath.Join(t.TempDir(), "w"))
	cfg.Entries = 2_000
	w := generate(t, cfg)
	ctx := context.Background()
	first, err := w.Delta(ctx, 2, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	again, err := w.Delta(ctx, 2, 0.05)
	if err != nil || again.Entries != first.Entries || len(again.Lists) != len(first.Lists) || again.Lists[0].SM3 != first.Lists[0].SM3 {
		t.Fatalf("repeated delta: %+v, %v", again, err)
	}
	if got := len(w.Deltas()); got != 1 {
		t.Fatalf("%d delta sets after a repeat", got)
	}
	for _, tc := range []struct {
		day      int
		fraction float64
		wantErr  error
	}{
		{2, 0.1, national.ErrDayOrder},
		{1, 0.05, national.ErrDayOrder},
		{0, 0.05, national.ErrConfig},
		{3, -0.1, national.ErrConfig},
		{3, 1.5, national.ErrConfig},
	} {
		if _, err := w.Delta(ctx, tc.day, tc.fraction); !errors.Is(err, tc.wantErr) {
			t.Errorf("Delta(%d, %v) = %v, want %v", tc.day, tc.fraction, err, tc.wantErr)
		}
	}
}

// TestOpen reopens a world, gets the same codes and statuses, and detects
// damage.
func TestOpen(t *testing.T) {
	cfg := small(filepath.Join(t.TempDir(), "w"))
	cfg.Entries = 2_000
	w := generate(t, cfg)
	ctx := context.Background()
	if _, err := w.Delta(ctx, 1, 0.05); err != nil {
		t.Fatal(err)
	}
	r, err := national.Open(ctx, w.Dir())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range append(w.Revoked(3), w.Active(3)...) {
		a, err1 := w.Code(ctx, l.Issuer, l.Index, w.CheckTime())
		b, err2 := r.Code(ctx, l.Issuer, l.Index, r.CheckTime())
		if err1 != nil || err2 != nil || a != b {
			t.Fatalf("codes of %+v differ after Open (%v, %v)", l, err1, err2)
		}
		st, err := r.Status(l.Issuer, l.Index)
		if err != nil || st != l.Status {
			t.Fatalf("Status %v after Open, want %v", st, l.Status)
		}
	}
	// OpenOrGenerate reuses it, with its delta.
	again, err := national.OpenOrGenerate(ctx, cfg)
	if err != nil || len(again.Deltas()) != 1 {
		t.Fatalf("OpenOrGenerate: %v", err)
	}
	other := cfg
	other.Seed++
	if _, err := national.OpenOrGenerate(ctx, other); !errors.Is(err, national.ErrExists) {
		t.Fatalf("OpenOrGenerate of another world: %v", err)
	}
	if _, err := national.Generate(ctx, cfg); !errors.Is(err, national.ErrExists) {
		t.Fatalf("Generate into a full directory: %v", err)
	}

	// Damage: a flipped byte fails Check, a truncated file fails Open.
	list := w.Objects(national.TypeList)[0]
	b, err := os.ReadFile(w.Path(list))
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(w.Path(list), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Check(ctx); !errors.Is(err, national.ErrDamaged) {
		t.Fatalf("Check of a damaged world: %v", err)
	}
	if err := os.WriteFile(w.Path(list), b[:10], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := national.Open(ctx, w.Dir()); !errors.Is(err, national.ErrDamaged) {
		t.Fatalf("Open of a truncated world: %v", err)
	}
	if _, err := national.Open(ctx, t.TempDir()); !errors.Is(err, national.ErrManifest) {
		t.Fatalf("Open of an empty directory: %v", err)
	}
}

// TestCodeErrors: unknown issuers and bad indices are refused.
func TestCodeErrors(t *testing.T) {
	cfg := small(filepath.Join(t.TempDir(), "w"))
	cfg.Entries = 100
	w := generate(t, cfg)
	ctx := context.Background()
	for _, tc := range []struct {
		issuer  string
		index   int
		wantErr error
	}{
		{"999900", 1, national.ErrUnknownIssuer},
		{w.Issuers()[0].Code, -1, national.ErrIndex},
		{w.Issuers()[0].Code, national.MaxIndex, national.ErrIndex},
	} {
		if _, err := w.Code(ctx, tc.issuer, tc.index, w.CheckTime()); !errors.Is(err, tc.wantErr) {
			t.Errorf("Code(%s, %d) = %v, want %v", tc.issuer, tc.index, err, tc.wantErr)
		}
		if _, err := w.Status(tc.issuer, tc.index); !errors.Is(err, tc.wantErr) {
			t.Errorf("Status(%s, %d) = %v, want %v", tc.issuer, tc.index, err, tc.wantErr)
		}
	}
}

// TestConfig refuses configs the generator cannot honour.
func TestConfig(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "w")
	for _, tc := range []struct {
		name string
		cfg  national.Config
	}{
		{"no dir", national.Config{Provinces: 1, Issuers: 1, Signers: 1, Entries: 1}},
		{"33 provinces", national.Config{Provinces: 33, Dir: dir}},
		{"fewer issuers than provinces", national.Config{Provinces: 3, Issuers: 2, Dir: dir}},
		{"fewer signers than issuers", national.Config{Provinces: 1, Issuers: 4, Signers: 3, Dir: dir}},
		{"negative entries", national.Config{Provinces: 1, Issuers: 1, Signers: 1, Entries: -1, Dir: dir}},
		{"too many entries", national.Config{Provinces: 1, Issuers: 1, Signers: 1, Entries: national.MaxListEntries + 1, Dir: dir}},
		{"year 3000", national.Config{Provinces: 1, Issuers: 1, Signers: 1, Entries: 1, Dir: dir, At: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := national.Generate(context.Background(), tc.cfg); !errors.Is(err, national.ErrConfig) {
				t.Fatalf("got %v, want ErrConfig", err)
			}
		})
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused config left %s behind", dir)
	}
}

// TestCancel: a cancelled context stops Generate and leaves nothing.
func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := filepath.Join(t.TempDir(), "w")
	if _, err := national.Generate(ctx, small(dir)); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	for _, d := range []string{dir, dir + ".partial"} {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s left behind", d)
		}
	}
}
