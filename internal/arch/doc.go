// Package arch owns the project's dependency rules and enforces them in its
// test with `go list`: which packages may import fyne, bbolt, gmsm's
// sm2/sm3/sm4 and retryablehttp, and that imports point one way
// (app → ui → domain → credential/gm/clock). It has no code of its own.
package arch
