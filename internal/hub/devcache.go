package hub

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/roadcheck/roadcheck/internal/gm"
)

// deviceCache keeps the devices that record pushes authenticate against,
// with their parsed keys, so that a push does not read its device twice:
// its ingestion transaction reads the device anyway, locked, and confirms
// what the cache said (Server.Ingest) — a device revoked since is refused
// there with ErrDeviceRevoked, one whose key is not the one cached with
// errStaleDevice (and forgotten). An entry is read again after
// deviceCacheTTL, so that a revoked device is also refused before its
// body is read within that time.
type deviceCache struct {
	mu sync.Mutex
	m  map[string]cachedDevice
}

type cachedDevice struct {
	dev Device
	pub *gm.PublicKey
	at  time.Time
}

const (
	deviceCacheTTL = time.Minute
	deviceCacheMax = 200_000 // entries before the cache starts over
)

// cachedDevice returns the device id and its key, from the cache when read
// less than deviceCacheTTL before now, else from the store.
func (s *Server) cachedDevice(ctx context.Context, id string, now time.Time) (Device, *gm.PublicKey, error) {
	c := &s.devCache
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < deviceCacheTTL && now.Sub(e.at) >= 0 {
		return e.dev, e.pub, nil
	}
	dev, err := s.store.Device(ctx, id)
	if err != nil {
		return Device{}, nil, err
	}
	pub, err := gm.ParsePKIX(dev.PublicKey)
	if err != nil {
		return Device{}, nil, err
	}
	if dev.Revoked.IsZero() {
		c.mu.Lock()
		if c.m == nil || len(c.m) >= deviceCacheMax {
			c.m = map[string]cachedDevice{}
		}
		c.m[id] = cachedDevice{dev: dev, pub: pub, at: now}
		c.mu.Unlock()
	}
	return dev, pub, nil
}

// forgetDevice drops id from the cache.
func (s *Server) forgetDevice(id string) {
	s.devCache.mu.Lock()
	delete(s.devCache.m, id)
	s.devCache.mu.Unlock()
}

// sameKey reports whether the device of an ingestion transaction has the
// key its push was authenticated with.
func sameKey(locked, authed Device) bool { return bytes.Equal(locked.PublicKey, authed.PublicKey) }
