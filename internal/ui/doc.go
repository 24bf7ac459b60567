// Package ui owns RoadCheck's GUI: the fyne screens an inspector, a station
// clerk or a supervisor works with (sign-in, scan, verdict, roadside stop,
// history, supervisor counters and export, settings) and the theme they are
// drawn with (bundled CJK font, outdoor light and dark palettes, 48 dp touch
// targets, verdict colours).
//
// Every screen is a thin skin over the domain. The package talks to the
// domain only through the small interfaces declared in deps.go (Verifier,
// Decoder, Wedge, Camera, RecordStore, Sync, Hub, TrustInfo, Officers,
// OfficerAdmin), most of which a domain type satisfies directly
// (*verify.Verifier, *scan.Decoder, *scan.Wedge, *records.Store,
// *syncclient.Client, *trust.Store). The adapters that need logic live here
// too: ScanCameras (scan's V4L2 cameras as a Camera), OfficerDirectory (the
// terminal's own officer file, PBKDF2-HMAC-SM3 PIN hashes, lock-out), and
// the keyRouter that feeds typed keys through the Wedge. Package
// ui/terminal opens the terminal's stores, the demo world and the sync
// service without fyne. app/roadcheck wires them into Deps and calls New. It
// never imports bbolt or gmsm. Each screen is built by a newXScreen (or
// buildXScreen) function.
//
// A scan has one of four outcomes (outcome.go): green, amber or red for a
// code that was read, and a neutral screen for a scan that established
// nothing about a licence (read failure, not an RTC code, a newer format,
// a cut scanner burst), which becomes a scan event (ScanEventLog), never a
// red verdict. Every check on screen becomes a record (check.go): one tap
// on an outcome saves it, with undo; leaving it records 未处置. Scanner
// bursts are assembled (burst.go) so a code is never split or typed into a
// field. The check policy is signed (package policy) and only shown here;
// a supervisor of a terminal without a hub signs one (policyview.go).
//
// Threading: fyne runs every callback on one goroutine. Work that may take
// time (decoding an image, verifying, reading records) runs on a background
// goroutine and hands its result back with fyne.Do. Time comes from the
// injected clock.Clock (auto-lock, status bar, record timestamps), never from
// time.Now.
//
// Language: Simplified Chinese by default, English on request. The texts are
// the JSON files of assets/i18n (the go-i18n format fyne's lang package
// reads); the package keeps its own catalog so the language can be switched
// at run time and tests do not depend on the host's locale.
package ui
