package pgstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/roadcheck/roadcheck/internal/hub"
)

//go:embed migrations/*.sql
var embedded embed.FS

// Migrations are the embedded schema migrations (goose SQL files).
func Migrations() fs.FS {
	sub, err := fs.Sub(embedded, "migrations")
	if err != nil {
		panic(err) // the directory is embedded
	}
	return sub
}

// versionTable is goose's table of applied versions.
const versionTable = "goose_db_version"

// MigrateReport says what Migrate did.
type MigrateReport struct {
	From, To int64    // schema versions before and after
	Applied  []string // the migrations applied, in order
}

// Migrate brings the schema of the database at url up to date with the
// migrations in fsys (Migrations() for the real schema). Each migration
// runs in one transaction: one that fails leaves the schema as it was
// before it, and the error says which. Several Migrate at once wait for
// each other (an advisory lock). A database newer than fsys knows gives
// hub.ErrSchema and changes nothing.
func Migrate(ctx context.Context, url string, fsys fs.FS, log *slog.Logger) (MigrateReport, error) {
	pool, err := newPool(ctx, url, 2)
	if err != nil {
		return MigrateReport{}, err
	}
	defer pool.Close()
	return migratePool(ctx, pool, fsys, log)
}

func migratePool(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS, log *slog.Logger) (MigrateReport, error) {
	var rep MigrateReport
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return rep, err
	}
	opts := []goose.ProviderOption{goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true)}
	if log != nil {
		opts = append(opts, goose.WithSlog(log))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, opts...)
	if err != nil {
		return rep, fmt.Errorf("pgstore: migrations: %w", err)
	}
	defer p.Close()
	known := latest(p)
	if rep.From, err = currentVersion(ctx, db); err != nil {
		return rep, wrap(err)
	}
	if rep.From > known {
		return rep, fmt.Errorf("%w: the database is at version %d, this rchub knows up to %d: upgrade rchub", hub.ErrSchema, rep.From, known)
	}
	res, err := p.Up(ctx)
	for _, r := range res {
		if r.Error == nil {
			rep.Applied = append(rep.Applied, r.Source.Path)
		}
	}
	rep.To, _ = currentVersion(ctx, db)
	if err != nil {
		var pe *goose.PartialError
		if errors.As(err, &pe) && pe.Failed != nil {
			return rep, fmt.Errorf("pgstore: migration %s failed (the schema stays at version %d): %w", pe.Failed.Source.Path, rep.To, wrap(pe.Err))
		}
		return rep, fmt.Errorf("pgstore: migrate: %w", wrap(err))
	}
	return rep, nil
}

func latest(p *goose.Provider) int64 {
	src := p.ListSources()
	if len(src) == 0 {
		return 0
	}
	return src[len(src)-1].Version
}

// KnownVersion is the newest schema version this build knows.
func KnownVersion() int64 {
	var v int64
	entries, _ := fs.ReadDir(Migrations(), ".")
	for _, e := range entries {
		var n int64
		if _, err := fmt.Sscanf(e.Name(), "%d_", &n); err == nil && n > v {
			v = n
		}
	}
	return v
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// currentVersion is the newest applied version (0: none, or no table).
func currentVersion(ctx context.Context, db querier) (int64, error) {
	var v sql.NullInt64
	err := db.QueryRowContext(ctx, "SELECT max(version_id) FROM "+versionTable+" WHERE is_applied").Scan(&v)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P01" { // no table yet
		return 0, nil
	}
	return v.Int64, err
}

// SchemaVersion is the schema version of the database behind pool.
func schemaVersion(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	var v *int64
	err := pool.QueryRow(ctx, "SELECT max(version_id) FROM "+versionTable+" WHERE is_applied").Scan(&v)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P01" {
		return 0, nil
	}
	if err != nil || v == nil {
		return 0, wrap(err)
	}
	return *v, nil
}

// checkSchema refuses a schema that is not the one this build knows.
func checkSchema(ctx context.Context, pool *pgxpool.Pool) error {
	v, err := schemaVersion(ctx, pool)
	if err != nil {
		return err
	}
	switch known := KnownVersion(); {
	case v > known:
		return fmt.Errorf("%w: the database is at version %d, this rchub knows up to %d: upgrade rchub", hub.ErrSchema, v, known)
	case v < known:
		return fmt.Errorf("%w: the database is at version %d, this rchub needs %d: run `rchub migrate --store URL`", hub.ErrSchema, v, known)
	}
	return nil
}

var _ = pgx.Identifier{}
