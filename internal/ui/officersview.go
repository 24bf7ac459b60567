package ui

import (
	"context"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/roadcheck/roadcheck/internal/credential"
)

// OfficerKeys gives an officer's PIN its way to the device data key (its
// key slot), working on the record store the signed-in supervisor
// unlocked. A vault-backed OfficerDirectory does this itself (SealedSlots);
// nil Deps.OfficerKeys means the directory is all there is to manage.
type OfficerKeys interface {
	// SetOfficerPIN adds or replaces officerID's slot for pin.
	SetOfficerPIN(ctx context.Context, rs RecordStore, officerID, pin string) error
	// RemoveOfficer deletes officerID's slot (no error when there is none).
	RemoveOfficer(ctx context.Context, rs RecordStore, officerID string) error
}

// officerKeys is the OfficerKeys in use.
func (a *App) officerKeys() OfficerKeys {
	if a.deps.OfficerKeys != nil {
		return a.deps.OfficerKeys
	}
	return SealedSlots{}
}

// officersScreen is the supervisors' officer management: the officers
// with their role and lock-out, an add form, PIN reset and removal.
type officersScreen struct {
	root    fyne.CanvasObject
	list    *fyne.Container
	rows    map[string]*officerRow
	id      *wedgeEntry
	name    *wedgeEntry
	role    *widget.Select
	roles   []Role
	pin     *wedgeEntry
	pin2    *wedgeEntry
	add     *widget.Button
	message *widget.Label
}

// officerRow is one officer's line and its actions.
type officerRow struct {
	label  *widget.Label
	reset  *widget.Button
	remove *widget.Button
}

func buildOfficersScreen(a *App) *officersScreen {
	s := &officersScreen{rows: map[string]*officerRow{}, list: container.NewVBox(), message: widget.NewLabel("")}
	s.message.Wrapping = fyne.TextWrapWord
	s.id, s.name = newWedgeEntry(a.keys), newWedgeEntry(a.keys)
	s.id.SetPlaceHolder(a.tr("signin.id"))
	s.name.SetPlaceHolder(a.tr("setup.name"))
	s.pin, s.pin2 = newWedgePasswordEntry(a.keys), newWedgePasswordEntry(a.keys)
	s.pin.SetPlaceHolder(a.tr("setup.pin"))
	s.pin2.SetPlaceHolder(a.tr("setup.pin2"))
	s.roles = []Role{RoleInspector, RoleStation, RoleSupervisor}
	var names []string
	for _, r := range s.roles {
		names = append(names, a.tr("role."+r.String()))
	}
	s.role = widget.NewSelect(names, nil)
	s.role.SetSelectedIndex(0)
	s.add = widget.NewButtonWithIcon(a.tr("officers.add"), theme.ContentAddIcon(), func() { s.doAdd(a) })
	s.add.Importance = widget.HighImportance
	form := widget.NewForm(
		widget.NewFormItem(a.tr("signin.id"), s.id),
		widget.NewFormItem(a.tr("setup.name"), s.name),
		widget.NewFormItem(a.tr("officers.role"), s.role),
		widget.NewFormItem(a.tr("signin.pin"), s.pin),
		widget.NewFormItem(a.tr("setup.pin2"), s.pin2),
	)
	body := container.NewVBox(heading(a.tr("officers.title")), s.list, widget.NewSeparator(),
		heading(a.tr("officers.addTitle")), form, s.add, container.New(&reserveLayout{lines: 2}, s.message))
	s.root = container.NewVScroll(container.NewPadded(body))
	s.reload(a)
	return s
}

// reload lists the officers.
func (s *officersScreen) reload(a *App) {
	m, ok := a.deps.Officers.(officerManager)
	if !ok {
		return
	}
	infos, err := m.Officers(a.ctx)
	if err != nil {
		s.fail(a, err)
		return
	}
	s.list.RemoveAll()
	s.rows = map[string]*officerRow{}
	for _, o := range infos {
		text := a.tr("officers.line", o.Name, o.ID, a.tr("role."+o.Role.String()))
		if !o.LockedUntil.IsZero() {
			text += " · " + a.tr("officers.lockedUntil", o.LockedUntil.In(credential.CST()).Format("15:04"))
		}
		row := &officerRow{label: widget.NewLabel(text)}
		row.label.Wrapping = fyne.TextWrapWord
		row.reset = widget.NewButtonWithIcon(a.tr("officers.reset"), theme.ViewRefreshIcon(), func() { s.doReset(a, o.Officer) })
		row.remove = widget.NewButtonWithIcon(a.tr("officers.remove"), theme.DeleteIcon(), func() { s.doRemove(a, o.Officer) })
		if a.officer != nil && o.ID == a.officer.ID {
			row.remove.Disable()
		}
		s.rows[o.ID] = row
		s.list.Add(container.NewBorder(nil, nil, nil, container.NewHBox(row.reset, row.remove), row.label))
	}
}

func (s *officersScreen) fail(a *App, err error) {
	a.logErr("officers", err)
	s.message.Importance = widget.DangerImportance
	s.message.SetText(userMessage(a.tr, err))
}

func (s *officersScreen) ok(text string) {
	s.message.Importance = widget.SuccessImportance
	s.message.SetText(text)
}

// doAdd adds the officer of the form, with their PIN's key slot.
func (s *officersScreen) doAdd(a *App) {
	a.touch()
	a.keys.settle()
	m, ok := a.deps.Officers.(officerManager)
	if !ok || a.officer == nil || a.officer.Role != RoleSupervisor {
		s.fail(a, ErrNotAllowed)
		return
	}
	if s.pin.Text != s.pin2.Text {
		s.fail(a, ErrPINMismatch)
		return
	}
	o := Officer{ID: strings.TrimSpace(s.id.Text), Name: strings.TrimSpace(s.name.Text), Role: s.roles[max(0, s.role.SelectedIndex())]}
	pin := s.pin.Text
	if err := m.Add(a.ctx, o, pin); err != nil {
		s.fail(a, err)
		return
	}
	if a.records != nil {
		if err := a.officerKeys().SetOfficerPIN(a.ctx, a.records, o.ID, pin); err != nil {
			s.fail(a, &UserError{Key: "officers.keyFailed", Msg: "ui: officer key slot: " + err.Error(), Err: err})
			s.reload(a)
			return
		}
	}
	for _, e := range []*wedgeEntry{s.id, s.name, s.pin, s.pin2} {
		e.SetText("")
	}
	s.ok(a.tr("officers.added", o.Name, o.ID))
	s.reload(a)
}

// doReset gives o the PIN typed in the form's PIN fields.
func (s *officersScreen) doReset(a *App, o Officer) {
	a.touch()
	a.keys.settle()
	m, ok := a.deps.Officers.(officerManager)
	if !ok || a.officer == nil || a.officer.Role != RoleSupervisor {
		s.fail(a, ErrNotAllowed)
		return
	}
	if s.pin.Text == "" || s.pin.Text != s.pin2.Text {
		s.fail(a, errResetNeedsPIN)
		return
	}
	pin := s.pin.Text
	if err := m.ResetPIN(a.ctx, o.ID, pin); err != nil {
		s.fail(a, err)
		return
	}
	if a.records != nil {
		if err := a.officerKeys().SetOfficerPIN(a.ctx, a.records, o.ID, pin); err != nil {
			s.fail(a, &UserError{Key: "officers.keyFailed", Msg: "ui: officer key slot: " + err.Error(), Err: err})
			return
		}
	}
	s.pin.SetText("")
	s.pin2.SetText("")
	s.ok(a.tr("officers.resetDone", o.Name, o.ID))
	s.reload(a)
}

// doRemove takes o out of the directory and removes their key slot.
func (s *officersScreen) doRemove(a *App, o Officer) {
	a.touch()
	m, ok := a.deps.Officers.(officerManager)
	if !ok || a.officer == nil || a.officer.Role != RoleSupervisor {
		s.fail(a, ErrNotAllowed)
		return
	}
	if err := m.Remove(a.ctx, o.ID, a.officer.ID); err != nil {
		s.fail(a, err)
		return
	}
	if a.records != nil {
		if err := a.officerKeys().RemoveOfficer(a.ctx, a.records, o.ID); err != nil {
			a.logErr("remove officer key slot", err)
		}
	}
	s.ok(a.tr("officers.removed", o.Name, o.ID))
	s.reload(a)
}

var errResetNeedsPIN = &UserError{Key: "officers.resetNeedsPIN", Msg: "ui: type the new PIN twice to reset"}
