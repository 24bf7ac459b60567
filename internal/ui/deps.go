package ui

import (
	"context"
	"fmt"
	"image"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/scan"
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

// Wedge recognises a USB barcode scanner among typed keys: the scanner types
// a whole code and Enter far faster than a person. The GUI feeds it every
// rune typed while no text field has the focus, and '\n' for Enter/Return.
// It returns a complete code when a burst ends.
type Wedge interface {
	Key(r rune, at time.Time) (code string, done bool)
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

// SyncStatus reports the sync client's state for the status bar.
type SyncStatus interface {
	SyncStatus(ctx context.Context) SyncState
}

// SyncState is a snapshot of the sync client.
type SyncState struct {
	// Online: the hub answered the last attempt.
	Online bool
	// LastSync is the end of the last successful sync (zero: never).
	LastSync time.Time
}

// TrustInfo describes the trust store, read-only, for the status bar and the
// settings screen.
type TrustInfo interface {
	TrustSummary(ctx context.Context) (TrustSummary, error)
}

// TrustSummary is what the GUI shows of the trust store.
type TrustSummary struct {
	// Items lists anchors, CAs, signers, CRLs and status lists.
	Items []TrustItem
	// OldestUpdate is the oldest thisUpdate among the stored status lists
	// (zero: no list stored): the trust data's age is now − OldestUpdate.
	OldestUpdate time.Time
	// NextUpdate is the earliest nextUpdate among the stored status lists
	// and CRLs (zero: none): after it the trust data is stale.
	NextUpdate time.Time
}

// TrustItem is one entry of the trust store view.
type TrustItem struct {
	Kind   TrustKind
	Label  string    // subject, or issuer code for a status list
	Detail string    // e.g. "seq 12, 3 entries" or the jurisdiction prefix
	Until  time.Time // notAfter of a certificate, nextUpdate of a list or CRL
}

// TrustKind is the kind of a TrustItem.
type TrustKind uint8

// Trust item kinds.
const (
	TrustAnchor TrustKind = iota + 1
	TrustCA
	TrustSigner
	TrustCRL
	TrustStatusList
)

// Officers signs officers in.
type Officers interface {
	// SignIn returns the officer whose ID and PIN these are, or ErrSignIn.
	SignIn(ctx context.Context, id, pin string) (Officer, error)
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
	Name string
	Text string
}

// Deps are what the GUI is built from. Clock, Verifier, Records and Officers
// are required; the rest may be nil (the feature is then shown as absent).
type Deps struct {
	Clock clock.Clock
	// Verifier builds the verifier for a check policy; the GUI calls it
	// again when the policy is changed in Settings.
	Verifier func(verify.Policy) Verifier
	// Policy is the initial check policy (zero: verify.DefaultPolicy()),
	// overridden by the one saved in Settings.
	Policy   verify.Policy
	Decoder  Decoder
	Wedge    Wedge
	Camera   Camera
	Records  RecordStore
	Sync     SyncStatus
	Trust    TrustInfo
	Officers Officers
	// Samples are offered on the scan screen (demo mode).
	Samples []Sample
	// Demo shows the 演示 banner.
	Demo bool
	// Device identifies this terminal in records.
	Device string
	// AutoLock is the inactivity after which the GUI locks (zero: 5 minutes).
	AutoLock time.Duration
	// SettingsChanged is called after the officer saves Settings (may be nil).
	SettingsChanged func(Settings)
}
