//go:build linux

package trust

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/demo/national"
)

// crashWorld is a small national world with three daily deltas, made once
// per test binary.
func crashWorld(t *testing.T) *national.World {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "roadcheck-trust-crash-world-v1")
	w, err := national.OpenOrGenerate(context.Background(), national.Config{Seed: 7, Provinces: 3, Issuers: 9, Signers: 18, Entries: 60000, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for d := len(w.Deltas()) + 1; d <= 3; d++ {
		if _, err := w.Delta(context.Background(), d, 0.05); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// worldObjects are the world's trust objects: certificates, CRLs and full
// lists, or the delta lists of one day.
func worldObjects(w *national.World, day int) []Object {
	var out []Object
	for _, o := range w.Manifest().Objects {
		typ := map[string]string{national.TypeCA: BlockCertificate, national.TypeSigner: BlockCertificate,
			national.TypeCRL: BlockCRL, national.TypeList: BlockStatusList}[o.Type]
		if typ == "" || (o.Type == national.TypeList && o.Day != day) || (day > 0 && o.Type != national.TypeList) {
			continue
		}
		d, _ := hex.DecodeString(o.SM3)
		path := w.Path(o)
		out = append(out, Object{Type: typ, Digest: Hash(d), Issuer: o.Issuer, Sequence: o.Sequence,
			Load: func() ([]byte, error) { return os.ReadFile(path) }})
	}
	return out
}

// importWorld brings the store at dir up to date with the whole world, as
// a sync would: the full set, then each day's deltas, then a merge.
func importWorld(ctx context.Context, dir string, w *national.World) error {
	st, err := Open(ctx, dir, Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	anchors, err := os.ReadFile(w.AnchorsPath())
	if err != nil {
		return err
	}
	if _, err := st.AddAnchors(ctx, anchors); err != nil {
		return err
	}
	for day := 0; day <= len(w.Deltas()); day++ {
		rep, err := st.ImportObjects(ctx, worldObjects(w, day))
		if err != nil {
			return err
		}
		for _, b := range rep.Blocks {
			if b.Outcome == Skipped {
				return fmt.Errorf("day %d: %s: %v", day, b.Label, b.Err)
			}
		}
	}
	return st.Compact(ctx)
}

// TestCrashChild is the process the crash test kills; it does nothing
// unless started by TestKilledImportsLeaveAUsableStore.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("RC_TRUST_CRASH_DIR")
	if dir == "" {
		return
	}
	w, err := national.Open(context.Background(), os.Getenv("RC_TRUST_CRASH_WORLD"))
	if err != nil {
		t.Fatal(err)
	}
	if err := importWorld(context.Background(), dir, w); err != nil {
		t.Fatal(err)
	}
}

// TestKilledImportsLeaveAUsableStore kills an importing process 30 times at
// random moments (during the full import, deltas and merges). After every
// kill the store opens, every file checks against its digest, and every
// list stands at a sequence that was published for it; finally a normal
// import finishes the job and every sampled licence has the world's status.
func TestKilledImportsLeaveAUsableStore(t *testing.T) {
	if testing.Short() {
		t.Log("short mode: 5 kills instead of 30")
	}
	w := crashWorld(t)
	published := map[string]map[uint64]bool{}
	for _, o := range w.Manifest().Objects {
		if o.Type == national.TypeList {
			if published[o.Issuer] == nil {
				published[o.Issuer] = map[uint64]bool{}
			}
			published[o.Issuer][o.Sequence] = true
		}
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "trust")
	// How long an undisturbed run takes bounds the kill times.
	start := time.Now()
	if err := importWorld(ctx, filepath.Join(t.TempDir(), "probe"), w); err != nil {
		t.Fatal(err)
	}
	full := time.Since(start)
	r := rand.New(rand.NewPCG(42, uint64(full)))
	kills := 30
	if testing.Short() {
		kills = 5
	}
	killed := 0
	for i := 0; i < kills; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "RC_TRUST_CRASH_DIR="+dir, "RC_TRUST_CRASH_WORLD="+w.Dir())
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(r.Int64N(int64(full) + int64(200*time.Millisecond))))
		if err := cmd.Process.Signal(syscall.SIGKILL); err == nil {
			killed++
		}
		cmd.Wait()
		st, err := Open(ctx, dir, Options{})
		if err != nil {
			t.Fatalf("kill %d: open after the kill: %v", i, err)
		}
		if bad, err := st.Check(ctx); err != nil || len(bad) > 0 {
			t.Fatalf("kill %d: check: damaged %v, err %v", i, bad, err)
		}
		for _, l := range st.Summary(w.CheckTime(), 365*24*time.Hour).Lists {
			if !published[l.Issuer][l.Sequence] {
				t.Fatalf("kill %d: list %s at sequence %d, never published", i, l.Issuer, l.Sequence)
			}
		}
		st.Close()
		// Some runs should get the whole way: restart from scratch now and
		// then so kills also land in the full import again.
		if r.IntN(4) == 0 {
			os.RemoveAll(dir)
		}
	}
	if err := importWorld(ctx, dir, w); err != nil {
		t.Fatalf("import after %d kills: %v", killed, err)
	}
	st, err := Open(ctx, dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sample := append(w.Revoked(40), w.Active(40)...)
	for _, l := range sample {
		text, err := w.Code(ctx, l.Issuer, l.Index, w.CheckTime())
		if err != nil {
			t.Fatal(err)
		}
		d, err := credential.Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		signers := st.Signers(d.Sign1.KID)
		if len(signers) == 0 {
			t.Fatalf("%s: no signer", l.ID())
		}
		ca := st.Chains(signers[0])[0].IssuingCA()
		e, found, err := st.LicenceStatus(ctx, ca, l.Issuer, credential.IDHash(l.ID()), w.CheckTime())
		if err != nil {
			t.Fatal(err)
		}
		got := credential.StatusActive
		if found {
			got = e.Status
		}
		if got != l.Status {
			t.Fatalf("%s: status %d, world says %d", l.ID(), got, l.Status)
		}
	}
	t.Logf("%d kills over a %v import; final state checked on %d licences", killed, full.Round(time.Millisecond), len(sample))
}
