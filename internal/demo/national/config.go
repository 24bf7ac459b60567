package national

import (
	"fmt"
	"time"

	"github.com/roadcheck/roadcheck/internal/credential"
)

// Defaults of Config: the national world of issue 8.
const (
	DefaultProvinces = 32
	DefaultIssuers   = 300
	DefaultSigners   = 3000
	DefaultEntries   = 10_000_000
)

// MaxListEntries is the most entries one generated status list holds. It
// keeps every list under credential.MaxStatusListSize (24 bytes an entry).
const MaxListEntries = 2_600_000

// DefaultAt is the time a world is built for when Config.At is zero: the
// reference time of the small demo world, 2026-11-27T10:00:00+08:00.
var DefaultAt = time.Date(2026, 11, 27, 10, 0, 0, 0, credential.CST())

// Config describes a national world. Zero fields take the defaults.
type Config struct {
	// Seed makes every key, certificate, list and code of the world.
	Seed int64
	// At is the world's "now" (truncated to the second, taken in UTC+8):
	// full lists are published just before it, deltas on the days after it.
	At time.Time
	// Provinces (1–32) with one CA each, largest first.
	Provinces int
	// Issuers is the number of city-level authorities (6-digit codes),
	// spread over the provinces by their size; at least Provinces.
	Issuers int
	// Signers in total, spread evenly over the issuers; at least Issuers.
	Signers int
	// Entries is the total number of status entries in the full lists.
	Entries int
	// Dir is the output directory: it must not exist or be empty.
	Dir string
	// Bundle also writes bundle.pem (every certificate, CRL and full list
	// in one PEM trust bundle) and, for each delta, bundles/delta-DAY.pem.
	Bundle bool
}

// normalized returns c with defaults filled in, or an ErrConfig error.
func (c Config) normalized() (Config, error) {
	if c.At.IsZero() {
		c.At = DefaultAt
	}
	c.At = c.At.Truncate(time.Second).In(credential.CST())
	if c.Provinces == 0 {
		c.Provinces = DefaultProvinces
	}
	if c.Issuers == 0 {
		c.Issuers = DefaultIssuers
	}
	if c.Signers == 0 {
		c.Signers = DefaultSigners
	}
	if c.Entries == 0 {
		c.Entries = DefaultEntries
	}
	switch {
	case c.Provinces < 1 || c.Provinces > len(provinces):
		return c, fmt.Errorf("%w: %d provinces (1–%d)", ErrConfig, c.Provinces, len(provinces))
	case c.Issuers < c.Provinces || c.Issuers > c.Provinces*99:
		return c, fmt.Errorf("%w: %d issuers for %d provinces (one to 99 per province)", ErrConfig, c.Issuers, c.Provinces)
	case c.Signers < c.Issuers || c.Signers > c.Issuers*999:
		return c, fmt.Errorf("%w: %d signers for %d issuers (one to 999 per issuer)", ErrConfig, c.Signers, c.Issuers)
	case c.Entries < 0 || int64(c.Entries) > int64(c.Issuers)*MaxListEntries:
		return c, fmt.Errorf("%w: %d entries for %d issuers (at most %d per list)", ErrConfig, c.Entries, c.Issuers, MaxListEntries)
	case c.Dir == "":
		return c, fmt.Errorf("%w: no output directory", ErrConfig)
	case c.At.Year() < 1980 || c.At.Year() > 2090:
		return c, fmt.Errorf("%w: time %s outside 1980–2090", ErrConfig, c.At)
	}
	return c, nil
}
