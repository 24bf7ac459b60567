package ui

import (
	"context"
	"fmt"
	"image"
	"strings"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/keys"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/scan"
	"github.com/roadcheck/roadcheck/internal/syncclient"
	"github.com/roadcheck/roadcheck/internal/trust"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// Verifier checks one QR text at a time (a zero at means the verifier's
// clock). *verify.Verifier satisfies it.
type Verifier interface {
	Verify(ctx context.Context, text string, at time.Time) *verify.Result
}

// Decoder finds a QR code in an image. *scan.Decoder satisfies it; it
// returns an error wrapping scan.ErrNoCode when there is none.
type Decoder interface {
	Decode(ctx context.Context, img image.Image) (scan.Result, error)
}

// Wedge recognises a USB barcode scanner (keyboard-wedge mode) among
// typed keys: the scanner types a whole code and Enter far faster than a
// person. *scan.Wedge satisfies it. The GUI feeds it every key typed —
// with no field focused, or in any of its text fields (sign-in and set-up
// included) — stamped with the injected clock, and calls Flush from a
// timer while keys are held back. Items that are codes are verified while
// an officer is signed in (on the sign-in screen they are dropped with a
// hint); typed items go to the field the keys were typed in (the scan
// field when none was focused), so no character is lost either way.
type Wedge interface {
	Feed(ev scan.KeyEvent) []scan.WedgeItem
	Flush(now time.Time) []scan.WedgeItem
	Pending() int
}

// Camera is a live frame source (V4L2 on Linux, the device camera on Android).
type Camera interface {
	// Devices lists the cameras present ("" entries are not allowed); an
	// empty list means no camera.
	Devices() []string
	// Stream delivers frames from device to frame, on a goroutine of the
	// camera's, until ctx ends (it then returns ctx.Err()) or the camera
	// fails (an error wrapping scan.ErrNoCamera or scan.ErrCameraGone).
	Stream(ctx context.Context, device string, frame func(image.Image)) error
	// Torch switches the device's torch (light) on or off; an error when it
	// has none.
	Torch(device string, on bool) error
}

// RecordStore keeps the check records. *records.Store satisfies it.
type RecordStore interface {
	// Append stores one check; it returns once the record is durable.
	Append(ctx context.Context, c records.Check) (*records.Record, error)
	// List returns stored records in chain order.
	List(ctx context.Context, o records.ListOptions) ([]*records.Entry, error)
	// PendingCount is the number of records the hub has not acknowledged.
	PendingCount(ctx context.Context) (int, error)
}

// Sync is the background sync with the hub. *syncclient.Client satisfies
// it; so does the terminal's sync service, which exists before enrolment.
type Sync interface {
	// State is a snapshot; it never blocks on the network.
	State() syncclient.State
	// Subscribe returns a channel receiving the state after every change
	// (only the newest when the reader is slow) and a function ending the
	// subscription. The GUI forwards what arrives through fyne.Do.
	Subscribe() (<-chan syncclient.State, func())
	// Trigger asks for a sync now; it never blocks.
	Trigger()
}

// Hub is the terminal's enrolment with a hub, for Settings (optional).
// *terminal.SyncService satisfies it.
type Hub interface {
	// SyncState is what the terminal remembers of its hub; a zero HubURL
	// means it is not enrolled. (*records.Store has the same method.)
	SyncState(ctx context.Context) (records.SyncState, error)
	// Enroll registers the terminal with a hub using a one-time token and
	// then starts syncing (see syncclient.Enroll).
	Enroll(ctx context.Context, o syncclient.EnrollOptions) error
}

// TrustInfo describes the trust store, read-only, for the status bar and
// the settings screen. *trust.Store satisfies it: Summary lists anchors,
// CAs, signers, CRLs and status lists with their staleness judged at at
// against maxAge (the policy's MaxTrustAge).
type TrustInfo interface {
	Summary(at time.Time, maxAge time.Duration) *trust.Summary
}

// KeyProtection says what protects the terminal's keys (a TPM, only the
// officers' PINs, or nothing kept in demo mode), for the status bar and
// the trust summary. *terminal.Terminal and *OfficerDirectory satisfy it;
// KeyStatus must not block.
type KeyProtection interface {
	KeyStatus() keys.Status
}

// Officers signs officers in.
type Officers interface {
	// SignIn returns the officer whose ID and PIN these are, or ErrSignIn.
	SignIn(ctx context.Context, id, pin string) (Officer, error)
}

// OfficerAdmin manages the terminal's own officer directory: the first-run
// set-up screen creates the first supervisor with it, and supervisors add
// officers. *OfficerDirectory satisfies it. The GUI uses it when
// Deps.Officers also implements it.
type OfficerAdmin interface {
	// Count is the number of officers in the directory.
	Count(ctx context.Context) (int, error)
	// Add stores a new officer with pin; ErrOfficerExists when the ID is
	// taken, ErrWeakPIN for a PIN that is not 6–12 digits.
	Add(ctx context.Context, o Officer, pin string) error
}

// Officer is a signed-in user.
type Officer struct {
	ID   string
	Name string
	Role Role
}

// Role decides which screens an officer sees.
type Role uint8

// Roles. Supervisors see the supervisor screen; the others do not.
const (
	RoleInspector  Role = iota + 1 // roadside inspector on a tablet
	RoleStation                    // station staff with a USB scanner
	RoleSupervisor                 // audits checks, exports
)

// String is the role's stable code.
func (r Role) String() string {
	switch r {
	case RoleInspector:
		return "inspector"
	case RoleStation:
		return "station"
	case RoleSupervisor:
		return "supervisor"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// Sample is a demo code offered on the scan screen.
type Sample struct {
	Name string // its description (Chinese)
	// Key is its code name (valid-vehicle …), shown in English.
	Key  string
	Text string
}

// label is the sample's button text in language l.
func (s Sample) label(l Lang) string {
	if l != LangEN || s.Key == "" {
		return s.Name
	}
	k := strings.ReplaceAll(s.Key, "-", " ")
	return strings.ToUpper(k[:1]) + k[1:]
}

// OpenRecords unlocks the record store with the PIN of an officer the
// officer directory has just accepted (see Deps.OpenRecords). The store it
// returns is closed (io.Closer, when it implements it) and forgotten at lock
// and sign-out.
type OpenRecords func(ctx context.Context, officerID, pin string) (RecordStore, error)

// Deps are what the GUI is built from. Clock, Verifier, Officers and
// Records or OpenRecords are required; the rest may be nil (the feature is
// then shown as absent).
type Deps struct {
	Clock clock.Clock
	// Verifier builds the verifier for a check policy; the GUI calls it
	// again when the policy in force changes.
	Verifier func(verify.Policy) Verifier
	// Policy is the check policy when no PolicyFile is wired (zero fields:
	// the default). Officers cannot change it.
	Policy verify.Policy
	// PolicyFile is the signed check policy's file (policy.FileFor the
	// database path); "": Policy and AutoLock apply. The file is verified
	// when read (package policy); a refused file leaves the default in force.
	PolicyFile string
	// HubPolicyKey returns the hub's policy key (nil: none known, e.g. not
	// enrolled); hub policies are verified with it.
	HubPolicyKey func() *gm.PublicKey
	// Decoder reads camera frames: its budget fits a live stream.
	Decoder Decoder
	// FileDecoder reads still images (opened, pasted or dropped files),
	// which may take longer; nil means Decoder.
	FileDecoder Decoder
	Wedge       Wedge
	Camera      Camera
	// Records is a record store open for the GUI's whole run (demo mode,
	// tests). Ignored when OpenRecords is set.
	Records RecordStore
	// OpenRecords opens the record store at each sign-in with the officer's
	// PIN: the PIN unlocks the device data key. Until then, and after lock
	// or sign-out, the GUI has no record store (the status bar shows "—").
	OpenRecords OpenRecords
	Sync        Sync
	Hub         Hub
	// Online confirms every verification that reached the status step
	// with the hub (verify.Confirm, within verify.OnlineBudget): the
	// offline verdict is shown at once and updated when the answer
	// arrives. *terminal.SyncService satisfies it (no hub to ask before
	// enrolment or while locked; a HasHub() bool method, when present,
	// spares the GUI asking then). nil: offline only.
	Online verify.StatusChecker
	// HubRecords lets the supervisor screen show the hub's records
	// (source 中心); nil: device records only.
	HubRecords HubRecords
	Trust      TrustInfo
	Officers   Officers
	// SignedIn, when set, is the officer signed in at start without a PIN
	// (demo mode: a newcomer verifies a code at once); signing out shows
	// the sign-in screen as usual.
	SignedIn *Officer
	// Measure, when set, makes the GUI time its start and a verdict after a
	// decode, print the figures and quit (roadcheck --measure).
	Measure *Measure
	// Samples are offered on the scan screen (demo mode).
	Samples []Sample
	// Demo shows the 演示 banner.
	Demo bool
	// Device identifies this terminal in records.
	Device string
	// AutoLock is the inactivity after which the GUI locks when no
	// PolicyFile is wired (zero: 5 minutes); otherwise the policy's.
	AutoLock time.Duration
	// SettingsChanged is called after the officer saves Settings (may be nil).
	SettingsChanged func(Settings)
	// ScanEvents keeps the scans that established nothing about a licence
	// (read failures, codes that are not RTC codes, newer formats); nil:
	// kept in memory for the session only.
	ScanEvents *ScanEventLog
	// Alerter sounds each verdict; nil: silent. Settings has its off
	// switch.
	Alerter Alerter
	// OfficerKeys gives officers added or reset on the 人员 screen their
	// PIN key slot (nil: the directory does it, see SealedSlots).
	OfficerKeys OfficerKeys
	// Keys says what protects the terminal's keys: the status bar and the
	// trust summary show it ("密钥受 TPM 保护" / "无 TPM：密钥仅由 PIN
	// 保护"). nil: not shown.
	Keys KeyProtection
	// Vibrator vibrates each verdict where the device has one (Settings
	// has its off switch); nil: none (desktop; see Vibrator).
	Vibrator Vibrator
}
