package ui

import (
	"context"
	"errors"
	"log"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/policy"
)

// The check policy (clock skew, maximum trust age, auto-lock) is not the
// officer's: it comes signed from the hub, or on a terminal without a hub
// from a supervisor signing it on the device (package policy). Settings
// shows it read-only to everyone; only a supervisor of a terminal without
// a hub gets the form that signs a new one.

// policyKeyHolder is a record store that knows the device's key: the
// policy a supervisor signs on the device is verified with it.
// *records.Store satisfies it.
type policyKeyHolder interface {
	PublicKey() *gm.PublicKey
	DeviceID() string
}

// policySigner is a record store that can sign with the device key.
// *records.Store satisfies it (SignRequest signs only "RC-REQ-" strings,
// which a policy's signing string is).
type policySigner interface {
	policyKeyHolder
	SignRequest(msg []byte) ([]byte, error)
}

// initialPolicy is the policy before any file is read: Deps.Policy and
// Deps.AutoLock over the default.
func initialPolicy(d Deps) policy.Policy {
	p := policy.Default()
	if d.Policy.ClockSkew > 0 {
		p.ClockSkew = d.Policy.ClockSkew
	}
	if d.Policy.MaxTrustAge > 0 {
		p.MaxTrustAge = d.Policy.MaxTrustAge
	}
	if d.AutoLock > 0 {
		p.AutoLock = d.AutoLock
	}
	return p
}

// policyRecords is a record store that keeps the hub's pinned policy key
// and the highest policy sequences applied (*records.Store).
type policyRecords interface {
	PolicyKeys(ctx context.Context) (policy.Keys, error)
	NotePolicy(ctx context.Context, p policy.Policy) error
}

// policyKeys are the keys policies are verified with now: the record
// store's (the device key, the hub policy key pinned at enrolment, the
// highest sequences applied), Deps.HubPolicyKey when the store has none.
func (a *App) policyKeys() policy.Keys {
	var k policy.Keys
	if pr, ok := a.records.(policyRecords); ok {
		if pk, err := pr.PolicyKeys(a.ctx); err == nil {
			k = pk
		} else {
			log.Printf("ui: policy keys: %v", err)
		}
	}
	if h, ok := a.records.(policyKeyHolder); ok && k.Device == nil {
		k.Device, k.DeviceID = h.PublicKey(), h.DeviceID()
	}
	if a.deps.HubPolicyKey != nil && k.Hub == nil {
		k.Hub = a.deps.HubPolicyKey()
	}
	return k
}

// loadPolicy reads and verifies the policy file (when one is wired) and
// puts the policy in force. A refused file leaves the default policy in
// force and says so in Settings. It runs on fyne's goroutine (the file is
// a few hundred bytes).
func (a *App) loadPolicy() {
	a.polErr = nil
	if a.deps.PolicyFile == "" {
		a.pol = initialPolicy(a.deps)
		a.applyPolicy()
		return
	}
	p, err := policy.Load(a.ctx, a.deps.PolicyFile, a.policyKeys())
	if err != nil {
		if errors.Is(err, policy.ErrNoKey) && a.records == nil {
			err = nil // a device policy waits for the records (the device key) to be unlocked
		} else {
			log.Printf("ui: %v", err)
			a.polErr = err
		}
	}
	a.pol = p
	a.applyPolicy()
}

// applyPolicy builds the verifier for the policy in force and takes its
// auto-lock.
func (a *App) applyPolicy() {
	a.set.Policy = a.pol.Verify()
	a.set.AutoLock = a.pol.AutoLock
	if a.deps.Verifier != nil {
		a.ver = a.deps.Verifier(a.pol.Verify())
	}
}

// PolicyInForce is the check policy the GUI verifies with now; each check
// record is made under it (policy.Ref).
func (a *App) PolicyInForce() policy.Policy { return a.pol }

// policySource describes who set the policy in force.
func (a *App) policySource() string {
	p := a.pol
	switch p.Source {
	case policy.SourceHub:
		return a.tr("policy.byHub", p.Seq, p.Issued.In(credential.CST()).Format("2006-01-02 15:04"))
	case policy.SourceDevice:
		return a.tr("policy.byDevice", p.Supervisor, p.Seq, p.Issued.In(credential.CST()).Format("2006-01-02 15:04"))
	}
	return a.tr("policy.default")
}

// policySection is the settings' policy section: read-only lines, and for
// a supervisor of a terminal without a hub (enrolled reports it) the form
// signing a new policy.
type policySection struct {
	root    *fyne.Container
	values  *widget.Label
	source  *widget.Label
	refused *widget.Label
	form    *fyne.Container
	skew    *wedgeEntry
	maxAge  *wedgeEntry
	lock    *wedgeEntry
	sign    *widget.Button
	message *widget.Label
}

func (a *App) buildPolicySection() *policySection {
	s := &policySection{values: widget.NewLabel(""), source: widget.NewLabel(""), refused: widget.NewLabel(""), message: widget.NewLabel("")}
	for _, l := range []*widget.Label{s.values, s.source, s.refused, s.message} {
		l.Wrapping = fyne.TextWrapWord
	}
	s.refused.Importance = widget.DangerImportance
	s.skew, s.maxAge, s.lock = newWedgeEntry(a.keys), newWedgeEntry(a.keys), newWedgeEntry(a.keys)
	s.sign = widget.NewButtonWithIcon(a.tr("policy.sign"), theme.ConfirmIcon(), func() { s.doSign(a) })
	s.sign.Importance = widget.HighImportance
	s.form = container.NewVBox(widget.NewLabel(a.tr("policy.formIntro")), widget.NewForm(
		widget.NewFormItem(a.tr("settings.skew"), s.skew),
		widget.NewFormItem(a.tr("settings.maxAge"), s.maxAge),
		widget.NewFormItem(a.tr("settings.autoLock"), s.lock),
	), s.sign, container.New(&reserveLayout{lines: 2}, s.message))
	s.form.Hide()
	s.root = container.NewVBox(heading(a.tr("policy.title")), s.values, s.source, s.refused, s.form)
	s.show(a)
	return s
}

// show fills the read-only lines.
func (s *policySection) show(a *App) {
	p := a.pol
	s.values.SetText(a.tr("policy.values", int(p.ClockSkew/time.Second), int(p.MaxTrustAge/time.Hour)/24, int(p.MaxTrustAge/time.Hour)%24, int(p.AutoLock/time.Minute),
		int(p.KeepRecords()/(24*time.Hour))))
	s.source.SetText(a.policySource())
	if a.polErr != nil {
		s.refused.SetText(a.tr("policy.refused"))
		s.refused.Show()
	} else {
		s.refused.Hide()
	}
	s.skew.SetText(strconv.Itoa(int(p.ClockSkew / time.Second)))
	s.maxAge.SetText(strconv.Itoa(int(p.MaxTrustAge / (24 * time.Hour))))
	s.lock.SetText(strconv.Itoa(int(p.AutoLock / time.Minute)))
}

// setEditable shows the signing form to a supervisor of a terminal
// without a hub whose records (the device key) are open; never while a
// hub's policy is in force.
func (s *policySection) setEditable(a *App, noHub bool) {
	_, canSign := a.records.(policySigner)
	if noHub && a.pol.Source != policy.SourceHub && canSign && a.officer != nil && a.officer.Role == RoleSupervisor && a.deps.PolicyFile != "" {
		s.form.Show()
	} else {
		s.form.Hide()
	}
}

// Policy form errors (user-visible).
var (
	errPolicyValues = &UserError{Key: "policy.badValues", Msg: "ui: policy values out of bounds"}
)

// doSign signs the form's values as a device policy, saves and applies it.
func (s *policySection) doSign(a *App) {
	a.touch()
	a.keys.settle()
	signer, ok := a.records.(policySigner)
	if !ok || a.officer == nil || a.officer.Role != RoleSupervisor {
		s.fail(a, ErrNotAllowed)
		return
	}
	num := func(e *wedgeEntry) (int, bool) {
		n, err := strconv.Atoi(strings.TrimSpace(e.Text))
		return n, err == nil && n >= 0
	}
	skew, ok1 := num(s.skew)
	days, ok2 := num(s.maxAge)
	mins, ok3 := num(s.lock)
	if !ok1 || !ok2 || !ok3 {
		s.fail(a, errPolicyValues)
		return
	}
	// After the highest this terminal applied (a refused file leaves the
	// default in force, but its successor still needs a higher sequence).
	seq := a.policyKeys().DeviceSeq + 1
	if a.pol.Source == policy.SourceDevice {
		seq = max(seq, a.pol.Seq+1)
	}
	p := policy.Policy{Source: policy.SourceDevice, Seq: seq, Issued: a.deps.Clock.Now().Truncate(time.Second),
		Device: signer.DeviceID(), Supervisor: a.officer.ID, ClockSkew: time.Duration(skew) * time.Second,
		MaxTrustAge: time.Duration(days) * 24 * time.Hour, AutoLock: time.Duration(mins) * time.Minute}
	data, err := policy.Sign(p, signer.SignRequest)
	if err == nil {
		err = policy.Save(a.ctx, a.deps.PolicyFile, data)
	}
	if pr, ok := a.records.(policyRecords); ok && err == nil {
		err = pr.NotePolicy(a.ctx, p) // an older device policy put back is refused
	}
	if err != nil {
		a.logErr("sign policy", err)
		if errors.Is(err, policy.ErrOutOfBounds) {
			err = errPolicyValues
		}
		s.fail(a, err)
		return
	}
	a.loadPolicy()
	s.show(a)
	s.message.Importance = widget.SuccessImportance
	key := "policy.signed"
	if a.pol.Wide() {
		key = "policy.signedWide"
	}
	s.message.SetText(a.tr(key, a.officer.ID))
	a.refreshStatus()
}

func (s *policySection) fail(a *App, err error) {
	s.message.Importance = widget.DangerImportance
	s.message.SetText(userMessage(a.tr, err))
}

// ReloadPolicy re-reads and verifies the policy file and puts it in force
// (the wiring calls it when a sync delivered a new hub policy). Safe from
// any goroutine: the work runs on fyne's.
func (a *App) ReloadPolicy() {
	fyne.Do(func() {
		a.loadPolicy()
		if a.settingsScr != nil {
			a.settingsScr.policy.show(a)
		}
		a.refreshStatus()
	})
}
