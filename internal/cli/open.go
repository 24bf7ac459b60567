package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/trust"
)

// errNoDatabase is reported when a read-only command finds no trust store.
var errNoDatabase = errors.New("no terminal database (add anchors first: rcctl trust anchor add FILE.pem)")

// openTrust opens the terminal's trust store: the directory beside the
// database (trust.DirFor), without the database itself, so verifying and
// importing never wait for the records database another process holds.
// Read-only opens never create anything. A database that still holds trust
// data of an earlier version is opened once, read-write, to move it out.
// The returned closer closes the store.
func openTrust(ctx context.Context, env *Env, readOnly bool) (io.Closer, *trust.Store, error) {
	dir := trust.DirFor(env.DBPath)
	_, dirErr := os.Stat(dir)
	_, dbErr := os.Stat(env.DBPath)
	switch {
	case dirErr == nil:
	case !errors.Is(dirErr, os.ErrNotExist):
		return nil, nil, dirErr
	case dbErr == nil:
		if err := migrateTrust(ctx, env); err != nil {
			return nil, nil, err
		}
	case readOnly:
		return nil, nil, fmt.Errorf("%s: %w", env.DBPath, errNoDatabase)
	}
	st, err := trust.Open(ctx, dir, trust.Options{ReadOnly: readOnly})
	if err != nil {
		return nil, nil, err
	}
	return st, st, nil
}

// migrateTrust opens the database read-write once so that trust.New moves
// an earlier version's trust data out of it.
func migrateTrust(ctx context.Context, env *Env) error {
	db, err := storage.Open(ctx, env.DBPath, storage.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := trust.New(ctx, db)
	if err != nil {
		return err
	}
	return st.Close()
}
