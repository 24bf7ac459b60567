package hub

import (
	"context"
	"time"

	"github.com/roadcheck/roadcheck/internal/hub/limit"
)

// Optional interfaces a Store may implement; the server and rchub use them
// when it does.

// NonceStore keeps the replay nonces of device requests where every hub
// serving the store sees them (several replicas on one database). A
// server without one keeps them in its memory.
type NonceStore interface {
	// UseNonce records key until expires and reports true, or reports
	// false when key is recorded and has not expired at now (a replay).
	UseNonce(ctx context.Context, key string, now, expires time.Time) (bool, error)
}

// Admitter is a NonceStore that also keeps the shared quotas (a
// limit.Store) and takes a push's admission in one step (one statement on
// PostgreSQL): the request's nonce used, and the push's quota charges.
type Admitter interface {
	NonceStore
	limit.Store
	// Admit uses the nonce key as UseNonce does and, when it was fresh,
	// applies takes as TakeWindows does; when it was not, it applies none
	// and taken is nil.
	Admit(ctx context.Context, key string, now, expires time.Time, takes []limit.Take) (fresh bool, taken []limit.Taken, err error)
}

// AnchorStore keeps the hub's trust anchors in the store, for stores
// shared by several hubs: each installs them in its own trust store.
type AnchorStore interface {
	// PutAnchors stores the CERTIFICATE blocks of pemData (idempotent).
	PutAnchors(ctx context.Context, pemData []byte, at time.Time) error
	// Anchors returns every stored anchor as PEM.
	Anchors(ctx context.Context) ([]byte, error)
}

// Pinger reports whether the store answers (readiness).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Maintainer is implemented by stores with periodic work (PostgreSQL:
// partitions made ahead, expired nonces removed). The server's owner calls
// Maintain at start and then every hour or so; concurrent calls from
// several hubs are safe.
type Maintainer interface {
	Maintain(ctx context.Context, now time.Time) error
}

// PoolStats are a store's connection pool figures (for /metrics).
type PoolStats struct {
	Max, Total, Idle, InUse int32
	Acquires, EmptyWaits    int64
	WaitTime                time.Duration
}

// PoolStatter is implemented by stores with a connection pool.
type PoolStatter interface {
	PoolStats() PoolStats
}
