package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/trust"
)

// errNoDatabase is reported when a read-only command finds no database.
var errNoDatabase = errors.New("no terminal database (add anchors first: rcctl trust anchor add FILE.pem)")

// openTrust opens the terminal database and its trust store. Read-only
// opens share the file with other readers and never create it.
func openTrust(ctx context.Context, env *Env, readOnly bool) (*storage.DB, *trust.Store, error) {
	if readOnly {
		if _, err := os.Stat(env.DBPath); errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("%s: %w", env.DBPath, errNoDatabase)
		}
	}
	db, err := storage.Open(ctx, env.DBPath, storage.Options{ReadOnly: readOnly})
	if err != nil {
		return nil, nil, err
	}
	st, err := trust.New(ctx, db)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, st, nil
}
