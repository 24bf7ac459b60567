// Package limit owns the hub's quotas and rate limits, so that one
// enrolled terminal (or anyone on the network) cannot flood the hub.
//
// Per device, token buckets (golang.org/x/time/rate, on the injected
// clock) bound requests, pushed records and the flags a device's pushes
// raise; a request over its quota gets a Decision with the time to wait,
// which the hub answers as 429 with Retry-After. Concurrency caps bound
// the request bodies read at once, per device and across the hub, and the
// requests handled before authentication (per source address and in all).
//
// Several hub processes on one PostgreSQL database share quotas through a
// Store (fixed windows counted in the database); one process alone keeps
// them in memory. A charge of several shared quotas at once (a push: its
// request, its records, a look at the flag budget) is a Plan: decided in
// memory first, then its takes applied in one call to the Store. Store
// implementations must pass the suite in package limittest. A Limiter is
// safe for concurrent use.
package limit
