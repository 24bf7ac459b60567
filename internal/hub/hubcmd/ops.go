package hubcmd

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/pgstore"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/trust"
	bolt "go.etcd.io/bbolt"
)

// parseKeep reads a retention period: Nd (days) or a Go duration (720h).
func parseKeep(s string) (time.Duration, error) {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is neither days (180d) nor a duration (4320h)", s)
		}
	}
	if d < 24*time.Hour {
		return 0, fmt.Errorf("%q: keep at least one day", s)
	}
	return d, nil
}

func migrate(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "migrate")
	ref := f.storeFlag()
	pos, code, done := f.parse(args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return failf(env, "migrate: no arguments expected")
	}
	if !isPG(*ref) {
		if *ref == "" {
			return failf(env, "migrate: --store postgres://… is required")
		}
		return failf(env, "migrate: %s is a bbolt file: it needs no migration (only PostgreSQL databases do)", *ref)
	}
	rep, err := pgstore.Migrate(ctx, *ref, pgstore.Migrations(), slog.New(slog.NewTextHandler(env.Stderr, nil)))
	for _, a := range rep.Applied {
		fmt.Fprintf(env.Stdout, "applied %s\n", a)
	}
	if err != nil {
		return failf(env, "%v", err)
	}
	if len(rep.Applied) == 0 {
		fmt.Fprintf(env.Stdout, "schema up to date (version %d)\n", rep.To)
	} else {
		fmt.Fprintf(env.Stdout, "schema at version %d (was %d)\n", rep.To, rep.From)
	}
	return ExitOK
}

func retention(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "retention")
	ref := f.storeFlag()
	keep := f.String("keep", "", "keep `DURATION` of records (e.g. 180d); older ones go, by whole UTC days")
	pos, code, done := f.parse(args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return failf(env, "retention: no arguments expected")
	}
	if *keep == "" {
		return failf(env, "retention: --keep DURATION is required (e.g. --keep 180d)")
	}
	d, err := parseKeep(*keep)
	if err != nil {
		return failf(env, "--keep: %v", err)
	}
	return withStore(ctx, env, *ref, func(o *opened) int {
		cut := hub.RetentionCutoff(env.Clock.Now(), d)
		rep, err := o.store.Retain(ctx, cut)
		if err != nil {
			return failf(env, "%v", err)
		}
		fmt.Fprintf(env.Stdout, "deleted %d records and %d flags from before %s", rep.Records, rep.Flags, cut.Format(time.DateOnly))
		if rep.Partitions > 0 {
			fmt.Fprintf(env.Stdout, " (%d day partitions dropped)", rep.Partitions)
		}
		fmt.Fprintln(env.Stdout)
		return ExitOK
	})
}

// Names in a backup archive.
const (
	tarDB      = "hub.db"
	tarObjects = "objects/"
	tarTrust   = "trust/"
)

func backup(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "backup")
	ref := f.storeFlag()
	out := f.String("out", "", "the archive `file` to write (tar; - for standard output)")
	pos, code, done := f.parse(args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return failf(env, "backup: no arguments expected")
	}
	if isPG(*ref) {
		return failf(env, "backup: a PostgreSQL hub is backed up with pg_dump (see the README, Running a provincial hub); the key file apart")
	}
	if *out == "" {
		return failf(env, "backup: --out FILE is required")
	}
	return withStore(ctx, env, *ref, func(o *opened) int {
		var w io.Writer = env.Stdout
		var tmp *os.File
		if *out != "-" {
			var err error
			if tmp, err = os.CreateTemp(filepath.Dir(*out), ".rchub-backup-*"); err != nil {
				return failf(env, "%v", err)
			}
			defer os.Remove(tmp.Name())
			w = tmp
		}
		n, err := writeBackup(ctx, o, w)
		if err == nil && tmp != nil {
			if err = tmp.Sync(); err == nil {
				err = tmp.Close()
			}
			if err == nil {
				err = os.Rename(tmp.Name(), *out)
			}
		}
		if err != nil {
			return failf(env, "backup: %v", err)
		}
		fmt.Fprintf(env.Stderr, "backup: %d files; the key file %s is not in it: back it up apart\n", n, hub.KeyFilePath(o.ref))
		return ExitOK
	})
}

// writeBackup writes a tar of the database (one consistent snapshot,
// taken in a read transaction while the hub may go on writing), the feed's
// objects and the trust store's files.
func writeBackup(ctx context.Context, o *opened, w io.Writer) (int, error) {
	tw := tar.NewWriter(w)
	n := 0
	err := o.db.View(func(tx *bolt.Tx) error {
		if err := tw.WriteHeader(&tar.Header{Name: tarDB, Mode: 0o600, Size: tx.Size(), ModTime: time.Now()}); err != nil {
			return err
		}
		_, err := tx.WriteTo(tw)
		return err
	})
	if err != nil {
		return 0, err
	}
	n++
	// Objects are named by their digest and never change; the trust
	// store's files are immutable but its manifest: copy the manifest
	// first, then the files it can name.
	for _, d := range []struct{ dir, prefix string }{{hub.ObjectsDirFor(o.ref), tarObjects}, {trust.DirFor(o.ref), tarTrust}} {
		err := filepath.WalkDir(d.dir, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".tmp") {
				return nil
			}
			rel, err := filepath.Rel(d.dir, p)
			if err != nil {
				return err
			}
			f, err := os.Open(p)
			if errors.Is(err, fs.ErrNotExist) {
				return nil // pruned or compacted meanwhile
			}
			if err != nil {
				return err
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				return err
			}
			if err := tw.WriteHeader(&tar.Header{Name: d.prefix + filepath.ToSlash(rel), Mode: 0o600, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
				return err
			}
			if _, err := io.CopyN(tw, f, fi.Size()); err != nil {
				return err
			}
			n++
			return nil
		})
		if err != nil {
			return n, err
		}
	}
	return n, tw.Close()
}

func restore(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "restore")
	ref := f.storeFlag()
	from := f.String("from", "", "the archive `file` written by rchub backup")
	pos, code, done := f.parse(args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return failf(env, "restore: no arguments expected")
	}
	if isPG(*ref) {
		return failf(env, "restore: a PostgreSQL hub is restored with pg_restore (see the README)")
	}
	if *ref == "" || *from == "" {
		return failf(env, "restore: --store PATH and --from FILE are required")
	}
	path := *ref
	for _, p := range []string{path, hub.ObjectsDirFor(path), trust.DirFor(path)} {
		if _, err := os.Stat(p); err == nil {
			return failf(env, "restore: %s exists: restore into a new path (or move it away first)", p)
		}
	}
	in, err := os.Open(*from)
	if err != nil {
		return failf(env, "%v", err)
	}
	defer in.Close()
	tr := tar.NewReader(in)
	files := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return failf(env, "restore: %s: %v", *from, err)
		}
		var dst string
		switch {
		case h.Name == tarDB:
			dst = path
		case strings.HasPrefix(h.Name, tarObjects):
			dst = filepath.Join(hub.ObjectsDirFor(path), filepath.FromSlash(strings.TrimPrefix(h.Name, tarObjects)))
		case strings.HasPrefix(h.Name, tarTrust):
			dst = filepath.Join(trust.DirFor(path), filepath.FromSlash(strings.TrimPrefix(h.Name, tarTrust)))
		default:
			return failf(env, "restore: %s: unexpected entry %q: not an rchub backup", *from, h.Name)
		}
		if strings.Contains(h.Name, "..") {
			return failf(env, "restore: %s: unsafe entry %q", *from, h.Name)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return failf(env, "%v", err)
		}
		out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return failf(env, "%v", err)
		}
		_, err = io.Copy(out, tr)
		if err == nil {
			err = out.Sync()
		}
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return failf(env, "restore: %v", err)
		}
		files++
	}
	// Terminals may have followed the feed past the backup: a new
	// generation makes them start over from what they hold.
	db, err := storage.Open(ctx, path, storage.Options{})
	if err != nil {
		return failf(env, "restore: %v", err)
	}
	defer db.Close()
	st, err := hub.NewBoltStore(ctx, db)
	if err != nil {
		return failf(env, "restore: %v", err)
	}
	e, err := st.NewGeneration(ctx)
	if err != nil {
		return failf(env, "restore: %v", err)
	}
	fmt.Fprintf(env.Stdout, "restored %d files into %s; the trust feed is now generation %d\n", files, path, e.Generation)
	if _, err := os.Stat(hub.KeyFilePath(path)); err != nil {
		fmt.Fprintf(env.Stdout, "put the hub's key file back at %s before serving: without it no record can be read\n", hub.KeyFilePath(path))
	}
	return ExitOK
}
