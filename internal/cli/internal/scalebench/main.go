// Command scalebench measures the trust store on the national world (issue
// 8): import, deltas, disk, lookups, and record appends while trust data is
// imported. build/bench-trust-scale.sh runs it step by step, one process a
// step, so each step's peak RSS is its own, and prints the README's table.
//
// Every step prints one line "figure<TAB>value<TAB>unit" per figure.
package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/demo/national"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/trust"
	"github.com/roadcheck/roadcheck/internal/verify"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: scalebench gen|import|delta|disk|lookup|code|appends [flags]")
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	world := fs.String("world", "", "national world directory (generated when missing)")
	entries := fs.Int("entries", national.DefaultEntries, "status entries of the world")
	deltas := fs.Int("deltas", 10, "daily 1 % deltas the world carries")
	db := fs.String("db", "", "terminal database path (trust files beside it)")
	day := fs.Int("day", 1, "delta day (delta)")
	n := fs.Int("n", 200000, "lookups (lookup); terminals (hub-many)")
	hubURL := fs.String("hub", "", "hub URL (hub-sync, hub-many)")
	token := fs.String("token", "", "enrolment token (hub-sync: enrol first)")
	tokens := fs.String("tokens", "", "file of enrolment tokens (hub-many)")
	pid := fs.Int("pid", 0, "the hub's process id (hub-many)")
	prefix := fs.String("prefix", "fresh", "figure name prefix (hub-sync)")
	upto := fs.Int("upto", 0, "bundle: also the deltas of days 1..upto (with -day 0)")
	check := fs.Bool("check", false, "hub-sync: licences revoked in the newest lists must verify INVALID afterwards")
	prof := fs.String("cpuprofile", "", "write a CPU profile")
	fs.Parse(args)
	if *prof != "" {
		f, err := os.Create(*prof)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	ctx := context.Background()
	var err error
	switch cmd {
	case "gen":
		err = gen(ctx, *world, *entries, *deltas)
	case "import":
		err = importFull(ctx, *world, *db)
	case "delta":
		err = importDelta(ctx, *world, *db, *day)
	case "disk":
		err = disk(ctx, *db)
	case "lookup":
		err = lookup(ctx, *world, *db, *n)
	case "code":
		err = code(ctx, *world)
	case "appends":
		err = appends(ctx, *world, *db)
	case "bundle":
		err = bundle(ctx, *world, *db, *day, *upto)
	case "hub-sync":
		err = hubSync(ctx, *world, *db, *hubURL, *token, *prefix, *check)
	case "hub-many":
		err = hubMany(ctx, *world, *db, *hubURL, *tokens, *pid, *n)
	default:
		err = fmt.Errorf("unknown step %q", cmd)
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "scalebench:", err)
		os.Exit(1)
	}
}

func figure(name string, v float64, unit string) { fmt.Printf("%s\t%.3f\t%s\n", name, v, unit) }

func peakRSS() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) / 1024 // KiB → MiB
}

func openWorld(ctx context.Context, dir string) (*national.World, error) {
	return national.Open(ctx, dir)
}

// now is the world's check time: after its newest delta.
func now(w *national.World) time.Time { return w.CheckTime() }

// gen makes the world with its deltas (once; a second call finds it).
func gen(ctx context.Context, dir string, entries, deltas int) error {
	start := time.Now()
	w, err := national.OpenOrGenerate(ctx, national.Config{Seed: 1, Entries: entries, Dir: dir})
	if err != nil {
		return err
	}
	for d := len(w.Deltas()) + 1; d <= deltas; d++ {
		if _, err := w.Delta(ctx, d, 0.01); err != nil {
			return err
		}
	}
	figure("generate", time.Since(start).Seconds(), "s")
	return nil
}

// objects returns the trust objects of the world: certificates, CRLs and
// full lists (deltas false), or the delta lists of day.
func objects(w *national.World, dir string, delta bool, day int) []trust.Object {
	var out []trust.Object
	for _, o := range w.Manifest().Objects {
		var typ string
		switch o.Type {
		case national.TypeCA, national.TypeSigner:
			typ = trust.BlockCertificate
		case national.TypeCRL:
			typ = trust.BlockCRL
		case national.TypeList:
			typ = trust.BlockStatusList
		default:
			continue
		}
		isDelta := o.Type == national.TypeList && o.Base != 0
		if delta != isDelta || (delta && o.Day != day) {
			continue
		}
		if delta && o.Type != national.TypeList {
			continue
		}
		d, _ := hex.DecodeString(o.SM3)
		path := filepath.Join(dir, filepath.FromSlash(o.Path))
		out = append(out, trust.Object{Type: typ, Digest: trust.Hash(d), Issuer: o.Issuer, Sequence: o.Sequence, Size: o.Size,
			Load: func() ([]byte, error) { return os.ReadFile(path) }})
	}
	return out
}

func openStore(ctx context.Context, db string) (*trust.Store, error) {
	return trust.Open(ctx, trust.DirFor(db), trust.Options{})
}

// importFull imports the whole world into a fresh trust store.
func importFull(ctx context.Context, dir, db string) error {
	w, err := openWorld(ctx, dir)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, db)
	if err != nil {
		return err
	}
	anchors, err := os.ReadFile(filepath.Join(dir, w.Manifest().Anchors))
	if err != nil {
		return err
	}
	if _, err := st.AddAnchors(ctx, anchors); err != nil {
		return err
	}
	objs := objects(w, dir, false, 0)
	start := time.Now()
	rep, err := st.ImportObjects(ctx, objs)
	if err != nil {
		return err
	}
	el := time.Since(start)
	if sk := rep.Count(trust.Skipped); sk > 0 {
		for _, b := range rep.Blocks {
			if b.Err != nil {
				return fmt.Errorf("%d objects skipped, e.g. %s: %v", sk, b.Label, b.Err)
			}
		}
	}
	st.Close() // waits for a background merge
	figure("full_import_time", el.Seconds(), "s")
	figure("full_import_peak_rss", peakRSS(), "MiB")
	figure("full_import_objects", float64(len(objs)), "")
	return nil
}

// importDelta applies the delta lists of one day.
func importDelta(ctx context.Context, dir, db string, day int) error {
	w, err := openWorld(ctx, dir)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, db)
	if err != nil {
		return err
	}
	objs := objects(w, dir, true, day)
	if len(objs) == 0 {
		return fmt.Errorf("the world has no delta of day %d", day)
	}
	start := time.Now()
	rep, err := st.ImportObjects(ctx, objs)
	if err != nil {
		return err
	}
	el := time.Since(start)
	rss := peakRSS()
	if sk := rep.Count(trust.Skipped); sk > 0 {
		return fmt.Errorf("%d delta lists skipped: %v", sk, rep.Blocks[0].Err)
	}
	st.Close()
	figure("delta_import_time", el.Seconds(), "s")
	figure("delta_import_peak_rss", rss, "MiB")
	return nil
}

// disk reports the trust files' size after merging what is pending.
func disk(ctx context.Context, db string) error {
	st, err := openStore(ctx, db)
	if err != nil {
		return err
	}
	if err := st.Compact(ctx); err != nil {
		return err
	}
	st.Close()
	var total int64
	err = filepath.Walk(trust.DirFor(db), func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			total += fi.Size()
		}
		return err
	})
	figure("trust_files", float64(total)/1e6, "MB")
	return err
}

// lookup measures the first status lookup after opening the store, then
// warm lookups of revoked and active licences.
func lookup(ctx context.Context, dir, db string, n int) error {
	w, err := openWorld(ctx, dir)
	if err != nil {
		return err
	}
	sample := append(w.Revoked(500), w.Active(500)...)
	st, err := trust.Open(ctx, trust.DirFor(db), trust.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer st.Close()
	type target struct {
		ca     *trust.Cert
		issuer string
		h      [credential.IDHashSize]byte
	}
	// Resolve each licence's CA through a code's signer, as verify does.
	byIssuer := map[string]*trust.Cert{}
	resolve := func(l national.Licence) (*trust.Cert, error) {
		if ca := byIssuer[l.Issuer]; ca != nil {
			return ca, nil
		}
		text, err := w.Code(ctx, l.Issuer, l.Index, now(w))
		if err != nil {
			return nil, err
		}
		d, err := credential.Parse(text)
		if err != nil {
			return nil, err
		}
		signers := st.Signers(d.Sign1.KID)
		if len(signers) == 0 {
			return nil, fmt.Errorf("no signer for %s", l.Issuer)
		}
		ca := st.Chains(signers[0])[0].IssuingCA()
		byIssuer[l.Issuer] = ca
		return ca, nil
	}
	// The first lookup in a list's file after open (its file opened and
	// mapped, header and leaves verified): in 25 lists of distinct
	// issuers, resolved beforehand as a verification would.
	var firsts []time.Duration
	seen := map[string]bool{}
	for _, l := range sample {
		if seen[l.Issuer] || len(firsts) == 25 {
			continue
		}
		seen[l.Issuer] = true
		ca, err := resolve(l)
		if err != nil {
			return err
		}
		t0 := time.Now()
		if _, _, err := st.LicenceStatus(ctx, ca, l.Issuer, credential.IDHash(l.ID()), now(w)); err != nil {
			return err
		}
		firsts = append(firsts, time.Since(t0))
	}
	slices.Sort(firsts)
	var ts []target
	for _, l := range sample {
		ca, err := resolve(l)
		if err != nil {
			return err
		}
		ts = append(ts, target{ca, l.Issuer, credential.IDHash(l.ID())})
	}
	// Check correctness on the way: revoked ones are found.
	for i, t := range ts[:500] {
		if _, found, err := st.LicenceStatus(ctx, t.ca, t.issuer, t.h, now(w)); err != nil || !found {
			return fmt.Errorf("revoked licence %d: found %v err %v", i, found, err)
		}
	}
	// Warm: every target's block read (and its digest checked) once.
	for _, t := range ts {
		st.LicenceStatus(ctx, t.ca, t.issuer, t.h, now(w))
	}
	r := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, n)
	at := now(w)
	for i := range lat {
		t := ts[r.IntN(len(ts))]
		s := time.Now()
		st.LicenceStatus(ctx, t.ca, t.issuer, t.h, at)
		lat[i] = time.Since(s)
	}
	slices.Sort(lat)
	figure("lookup_first_after_open", float64(firsts[len(firsts)/2].Nanoseconds())/1000, "µs")
	figure("lookup_first_after_open_max", float64(firsts[len(firsts)-1].Nanoseconds())/1000, "µs")
	figure("lookup_p50_warm", float64(lat[len(lat)/2].Nanoseconds())/1000, "µs")
	figure("lookup_p99_warm", float64(lat[len(lat)*99/100].Nanoseconds())/1000, "µs")
	return nil
}

// code prints an RTC1 code of a licence revoked in the newest lists, and
// the time to check it at, for timing `rcctl verify` as a process.
func code(ctx context.Context, dir string) error {
	w, err := openWorld(ctx, dir)
	if err != nil {
		return err
	}
	l := w.Revoked(1)[0]
	text, err := w.Code(ctx, l.Issuer, l.Index, now(w))
	if err != nil {
		return err
	}
	fmt.Println(now(w).Format(time.RFC3339))
	fmt.Println(text)
	return nil
}

// appends measures record appends in the terminal database while another
// process imports the national world's full set, and on their own.
func appends(ctx context.Context, dir, db string) error {
	rdb, err := storage.Open(ctx, db, storage.Options{})
	if err != nil {
		return err
	}
	defer rdb.Close()
	w, err := openWorld(ctx, dir)
	if err != nil {
		return err
	}
	clk := clock.NewFake(now(w))
	recs, err := records.Open(ctx, rdb, records.KeyFile(records.KeyFilePath(db)), records.Options{Clock: clk})
	if err != nil {
		return err
	}
	check := records.Check{Verdict: verify.Valid, Officer: "1001", Action: records.ActionRelease, Notes: "scalebench"}
	measure := func(stop func() bool, max int) []time.Duration {
		var lat []time.Duration
		for i := 0; i < max && !stop(); i++ {
			s := time.Now()
			if _, err := recs.Append(ctx, check); err != nil {
				fmt.Fprintln(os.Stderr, "append:", err)
				os.Exit(1)
			}
			lat = append(lat, time.Since(s))
			time.Sleep(20 * time.Millisecond)
		}
		slices.Sort(lat)
		return lat
	}
	base := measure(func() bool { return false }, 100)
	// A full import in another process, into a second trust store beside a
	// second database path, so this database's trust files stay as they are.
	self, _ := os.Executable()
	child := exec.CommandContext(ctx, self, "import", "-world", dir, "-db", db+".import")
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- child.Wait() }()
	var childErr error
	finished := false
	during := measure(func() bool {
		select {
		case childErr = <-done:
			finished = true
			return true
		default:
			return false
		}
	}, 1<<30)
	if !finished {
		childErr = <-done
	}
	if childErr != nil {
		return fmt.Errorf("import process: %w", childErr)
	}
	p50 := func(l []time.Duration) float64 {
		if len(l) == 0 {
			return 0
		}
		return float64(l[len(l)/2].Microseconds()) / 1000
	}
	figure("append_p50_alone", p50(base), "ms")
	figure("append_p50_during_full_import", p50(during), "ms")
	figure("append_max_during_full_import", float64(during[len(during)-1].Microseconds())/1000, "ms")
	figure("appends_during_full_import", float64(len(during)), "")
	_ = strconv.Itoa
	return nil
}
