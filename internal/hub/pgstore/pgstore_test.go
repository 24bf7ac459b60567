package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/limit"
	"github.com/roadcheck/roadcheck/internal/hub/limit/limittest"
	"github.com/roadcheck/roadcheck/internal/hub/pgstore"
	"github.com/roadcheck/roadcheck/internal/hub/pgstore/pgtest"
	"github.com/roadcheck/roadcheck/internal/hub/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// migrated is the template database with the schema, made once per binary.
const migrated = "hub_migrated"

// newURL returns the URL of a fresh, migrated database.
func newURL(t testing.TB) string {
	t.Helper()
	pgtest.Template(t, migrated, func(ctx context.Context, url string) error {
		if _, err := pgstore.Migrate(ctx, url, pgstore.Migrations(), nil); err != nil {
			return err
		}
		// Day partitions around the suite's times (2026-11-27), so that it
		// runs on partitions and on the default partition alike.
		s, err := pgstore.Open(ctx, url, pgstore.Options{})
		if err != nil {
			return err
		}
		defer s.Close()
		t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
		_, err = s.EnsurePartitions(ctx, t0.AddDate(0, 0, -3), t0.AddDate(0, 0, 12))
		return err
	})
	return pgtest.NewDB(t, migrated)
}

func open(t testing.TB) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), newURL(t), pgstore.Options{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) hub.Store { return open(t) })
}

func TestLimitStore(t *testing.T) {
	limittest.Run(t, func(t *testing.T) limit.Store { return open(t) })
}

// TestFailedMigration: a migration that fails leaves the schema as it was
// before it (one transaction), and says which one failed; the store then
// refuses the database (older schema), as it refuses a newer one.
func TestFailedMigration(t *testing.T) {
	ctx := context.Background()
	real := fstest.MapFS{}
	entries, err := fs.ReadDir(pgstore.Migrations(), ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := fs.ReadFile(pgstore.Migrations(), e.Name())
		if err != nil {
			t.Fatal(err)
		}
		real[e.Name()] = &fstest.MapFile{Data: data}
	}
	known := pgstore.KnownVersion()
	with := func(name, sql string) fstest.MapFS {
		m := maps.Clone(real)
		m[name] = &fstest.MapFile{Data: []byte(sql)}
		return m
	}
	broken := with(fmt.Sprintf("%05d_broken.sql", known+1), "-- +goose Up\nCREATE TABLE half_done (x int);\nALTER TABLE records ADD COLUMN extra int;\nSELECT 1/0;\n-- +goose Down\n")
	url := pgtest.NewDB(t, "")
	rep, err := pgstore.Migrate(ctx, url, broken, nil)
	if err == nil || !strings.Contains(err.Error(), "_broken.sql") || rep.To != known {
		t.Fatalf("migrate: %+v %v", rep, err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var half, extra bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('half_done') IS NOT NULL,
		EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'records' AND column_name = 'extra')`).Scan(&half, &extra); err != nil {
		t.Fatal(err)
	}
	if half || extra {
		t.Fatalf("the failed migration left changes: table %v, column %v", half, extra)
	}
	// The schema is the real one: the store opens it.
	s, err := pgstore.Open(ctx, url, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// A schema newer than this build knows is refused, by Open and Migrate.
	newer := with(fmt.Sprintf("%05d_more.sql", known+1), "-- +goose Up\nCREATE TABLE more (x int);\n-- +goose Down\nDROP TABLE more;\n")
	if _, err := pgstore.Migrate(ctx, url, newer, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pgstore.Open(ctx, url, pgstore.Options{}); !errors.Is(err, hub.ErrSchema) || !strings.Contains(err.Error(), "upgrade rchub") {
		t.Fatalf("open a newer schema: %v", err)
	}
	if _, err := pgstore.Migrate(ctx, url, pgstore.Migrations(), nil); !errors.Is(err, hub.ErrSchema) {
		t.Fatalf("migrate a newer schema: %v", err)
	}
	// An empty database: run migrate first.
	if _, err := pgstore.Open(ctx, pgtest.NewDB(t, ""), pgstore.Options{}); !errors.Is(err, hub.ErrSchema) || !strings.Contains(err.Error(), "rchub migrate") {
		t.Fatalf("open an empty database: %v", err)
	}
}
