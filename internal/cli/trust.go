package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/roadcheck/roadcheck/internal/trust"
)

func init() {
	register(command{name: "trust anchor add", synopsis: "FILE.pem", summary: "add self-signed SM2 root certificates (PEM) as trust anchors",
		help: "One report line per PEM block. Exit 0 when every block was stored or unchanged, 1 when some were skipped (the rest stored), 3 on an error.",
		run:  trustFileCmd("trust anchor add", (*trust.Store).AddAnchors)})
	register(command{name: "trust import", synopsis: "FILE.pem", summary: "import a trust bundle (certificates, CRLs, status lists)",
		help: "One report line per PEM block (stored, unchanged, or skipped: reason). Exit 0 when every block was stored or unchanged, 1 when some were skipped (the rest stored), 3 on an error.",
		run:  trustFileCmd("trust import", (*trust.Store).Import)})
	register(command{name: "trust status", synopsis: "[--json] [--at RFC3339] [--max-age D] [--check]", summary: "show anchors, CAs, signers, CRLs and status lists", run: cmdTrustStatus})
}

// trustFileCmd is a command that applies one PEM file to the trust store
// (apply is (*trust.Store).AddAnchors or Import): one report line per block;
// exit 0 when every block was stored or unchanged, 1 when some were
// skipped (the rest stored), 3 on an error.
func trustFileCmd(name string, apply func(*trust.Store, context.Context, []byte) (*trust.Report, error)) func(context.Context, *Env, []string) int {
	return func(ctx context.Context, env *Env, args []string) int {
		fs := newFlagSet(env, name)
		if code, done := flagsDone(env, fs, fs.Parse(args)); done {
			return code
		}
		if fs.NArg() != 1 {
			fmt.Fprintf(env.Stderr, "rcctl: %s: give one PEM file\n", name)
			commandUsage(env.Stderr, fs)
			return ExitError
		}
		data, err := readLimited(fs.Arg(0))
		if err != nil {
			return failf(env, "%v", err)
		}
		db, st, err := openTrust(ctx, env, false)
		if err != nil {
			return failf(env, "%v", err)
		}
		defer db.Close()
		rep, err := apply(st, ctx, data)
		if rep != nil && len(rep.Blocks) > 0 {
			printReport(env, rep)
		}
		switch {
		case err != nil:
			return failf(env, "%v", err)
		case len(rep.Blocks) == 0:
			return failf(env, "%s: no PEM blocks", fs.Arg(0))
		case rep.Count(trust.Skipped) > 0:
			return ExitPartial
		}
		return ExitOK
	}
}

// maxTrustFile caps anchor and bundle files (a national bundle with
// millions of status entries is far smaller).
const maxTrustFile = 512 << 20

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > maxTrustFile {
		return nil, fmt.Errorf("%s: %d bytes is larger than the %d MiB a trust file may have", path, fi.Size(), maxTrustFile>>20)
	}
	return io.ReadAll(io.LimitReader(f, maxTrustFile+1))
}

// printReport prints one line per block: "block N TYPE LABEL: stored" or
// "...: skipped: reason".
func printReport(env *Env, rep *trust.Report) {
	for _, b := range rep.Blocks {
		what := b.Block.Type
		if b.Label != "" {
			what += " " + b.Label
		}
		line := fmt.Sprintf("block %d (line %d) %s: %s", b.Block.Index, b.Block.Line, what, b.Outcome)
		if b.Err != nil {
			line += ": " + b.Err.Error()
		}
		fmt.Fprintln(env.Stdout, line)
	}
	fmt.Fprintf(env.Stdout, "%d stored, %d unchanged, %d skipped\n", rep.Count(trust.Stored), rep.Count(trust.Unchanged), rep.Count(trust.Skipped))
}

func cmdTrustStatus(ctx context.Context, env *Env, args []string) int {
	fs := newFlagSet(env, "trust status")
	asJSON := fs.Bool("json", false, "print JSON")
	at := fs.String("at", "", "judge staleness at this RFC 3339 `time` (default: now)")
	maxAge := fs.Duration("max-age", 7*24*time.Hour, "maximum age of a status list before it is stale")
	check := fs.Bool("check", false, "verify every trust file against its SM3 digest; damaged lists are dropped so the next sync fetches them again (exit 1 when any is damaged)")
	if code, done := flagsDone(env, fs, fs.Parse(args)); done {
		return code
	}
	if fs.NArg() != 0 {
		return failf(env, "trust status: unexpected argument %q", fs.Arg(0))
	}
	t, err := parseAt(env, *at)
	if err != nil {
		return failf(env, "%v", err)
	}
	db, st, err := openTrust(ctx, env, !*check)
	if err != nil {
		return failf(env, "%v", err)
	}
	defer db.Close()
	var damaged []trust.ListRef
	if *check {
		if damaged, err = st.Check(ctx); err != nil {
			return failf(env, "%v", err)
		}
	}
	sum := st.Summary(t, *maxAge)
	if *check {
		defer func() {
			for _, d := range damaged {
				fmt.Fprintf(env.Stderr, "damaged: status list %s: dropped, the next sync fetches it again\n", d.Issuer)
			}
		}()
	}
	exit := ExitOK
	if len(damaged) > 0 {
		exit = 1
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			return failf(env, "%v", err)
		}
		return exit
	}
	printSummary(env, sum)
	fmt.Fprintf(env.Stdout, "\nKEYS\n  %s\n", keyProtection(ctx, env))
	return exit
}

func parseAt(env *Env, s string) (time.Time, error) {
	if s == "" {
		return env.Clock.Now(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errors.New("--at: want an RFC 3339 time such as 2026-11-27T10:00:00+08:00")
	}
	return t, nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(cstZone).Format("2006-01-02 15:04:05")
}

var cstZone = time.FixedZone("CST", 8*3600)

func printSummary(env *Env, s *trust.Summary) {
	w := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(w, "trust data at %s (UTC+8)\n", fmtTime(s.At))
	fmt.Fprintf(w, "\nANCHORS (%d)\tSM3\tNOT AFTER\n", len(s.Anchors))
	for _, a := range s.Anchors {
		fmt.Fprintf(w, "  %s\t%s\t%s\n", a.Name, a.Hash[:16], fmtTime(a.NotAfter))
	}
	fmt.Fprintf(w, "\nCAS (%d)\tPREFIX\tISSUER\tNOT AFTER\n", len(s.CAs))
	for _, c := range s.CAs {
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", c.Name, c.Prefix, c.Issuer, fmtTime(c.NotAfter))
	}
	fmt.Fprintf(w, "\nSIGNERS (%d)\tKID\tISSUER\tVALIDITY\n", len(s.Signers))
	for _, c := range s.Signers {
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s – %s\n", c.Name, c.KID, c.Issuer, fmtTime(c.NotBefore), fmtTime(c.NotAfter))
	}
	fmt.Fprintf(w, "\nCRLS (%d)\tNUMBER\tTHIS UPDATE\tNEXT UPDATE\tREVOKED\tSTATE\n", len(s.CRLs))
	for _, c := range s.CRLs {
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%d\t%s\n", c.CA, c.Number, fmtTime(c.ThisUpdate), fmtTime(c.NextUpdate), c.Revoked, staleWord(c.Stale))
	}
	fmt.Fprintf(w, "\nSTATUS LISTS (%d)\tCA\tSEQUENCE\tTHIS UPDATE\tNEXT UPDATE\tENTRIES\tSTATE\n", len(s.Lists))
	for _, l := range s.Lists {
		state := staleWord(l.Stale)
		if l.Damaged {
			state = "DAMAGED"
		}
		fmt.Fprintf(w, "  %s\t%s\t%d\t%s\t%s\t%d\t%s\n", l.Issuer, l.CA, l.Sequence, fmtTime(l.ThisUpdate), fmtTime(l.NextUpdate), l.Entries, state)
	}
	w.Flush()
}

func staleWord(stale bool) string {
	if stale {
		return "STALE"
	}
	return "fresh"
}
