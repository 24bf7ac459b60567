package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/roadcheck/roadcheck/internal/hub"
)

// Sentinel errors of the package.
var (
	// ErrURL: the store URL is not a postgres:// or postgresql:// URL.
	ErrURL = errors.New("pgstore: not a PostgreSQL URL (postgres://USER@HOST/DB or postgres:///DB?host=/run/postgresql)")
)

// unavailable reports whether err means the database cannot answer now,
// and a later try may succeed.
func unavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "53"),                           // insufficient resources (disk full, too many connections)
			strings.HasPrefix(pe.Code, "57P"),                          // shutdown, cannot connect now
			pe.Code == "25006",                                         // read-only transaction (a standby, default_transaction_read_only)
			pe.Code == "55P03", pe.Code == "40001", pe.Code == "40P01": // lock timeout, serialization failure, deadlock
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "closed pool")
}

// wrap marks errors that mean the database is unavailable with
// hub.ErrUnavailable.
func wrap(err error) error {
	if err != nil && unavailable(err) && !errors.Is(err, hub.ErrUnavailable) {
		return fmt.Errorf("%w: %w", hub.ErrUnavailable, err)
	}
	return err
}

func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
