package ui

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// The GUI's own file dialogs: fyne's are English inside a Chinese GUI and
// cannot be translated. These browse the local file system (home, the
// removable media under /media and /mnt), folders first, and are in the
// GUI's language, with touch-sized rows.

// fileDialog is an open or save dialog on screen.
type fileDialog struct {
	a       *App
	save    bool
	exts    []string // open: the extensions shown (lower case, with dot)
	dir     string
	popup   *widget.PopUp
	path    *widget.Label
	list    *fyne.Container
	name    *wedgeEntry
	ok      *widget.Button
	message *widget.Label
	confirm string // save: the existing file a second tap overwrites
	done    func(path string)
}

// startDir is the directory dialogs open in: the last one used, else the
// home directory.
func (a *App) startDir() string {
	if a.lastDir != "" {
		return a.lastDir
	}
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	return "/"
}

// saveFileDialog asks where to save data (proposing name) and writes it
// there (mode 0600: exports hold personal data); done gets the path or the
// error. A cancelled dialog calls nothing.
func (a *App) saveFileDialog(name string, data []byte, done func(path string, err error)) {
	d := &fileDialog{a: a, save: true, dir: a.startDir()}
	d.done = func(path string) {
		err := os.WriteFile(path, data, 0o600)
		if err != nil {
			a.logErr("save file", err)
			err = &UserError{Key: "file.writeFailed", Msg: "ui: save: " + err.Error(), Err: err}
		}
		done(path, err)
	}
	d.show(name)
}

// saveFileStream is saveFileDialog for data written as it arrives (the
// hub's export): write runs off fyne's goroutine into a temporary file
// beside the chosen one (mode 0600), which is renamed to it once complete
// and removed otherwise, so a cut stream never leaves a partial export
// under the chosen name. done gets the path or the error (write's own, or
// a UserError for the file) on fyne's goroutine.
func (a *App) saveFileStream(name string, write func(ctx context.Context, w io.Writer) error, done func(path string, err error)) {
	d := &fileDialog{a: a, save: true, dir: a.startDir()}
	ctx := a.ctx
	d.done = func(path string) {
		a.async(func() {
			err := writeFileStream(ctx, path, write)
			fyne.Do(func() { done(path, err) })
		})
	}
	d.show(name)
}

// writeFileStream writes path through a temporary file (see
// saveFileStream).
func writeFileStream(ctx context.Context, path string, write func(ctx context.Context, w io.Writer) error) error {
	fileErr := func(err error) error {
		return &UserError{Key: "file.writeFailed", Msg: "ui: save: " + err.Error(), Err: err}
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.part") // mode 0600
	if err != nil {
		return fileErr(err)
	}
	tmp := f.Name()
	err = write(ctx, f)
	if err == nil {
		if err = f.Sync(); err != nil {
			err = fileErr(err)
		}
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fileErr(cerr)
	}
	if err == nil {
		if err = os.Rename(tmp, path); err != nil {
			err = fileErr(err)
		}
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// openFileDialog asks for a file with one of exts and hands its bytes
// (at most 64 MiB) to done.
func (a *App) openFileDialog(exts []string, done func(data []byte, err error)) {
	d := &fileDialog{a: a, exts: exts, dir: a.startDir()}
	d.done = func(path string) {
		f, err := os.Open(path)
		if err != nil {
			done(nil, err)
			return
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, 64<<20))
		done(data, err)
	}
	d.show("")
}

func (d *fileDialog) show(name string) {
	a := d.a
	d.path = widget.NewLabel("")
	d.path.Truncation = fyne.TextTruncateEllipsis
	d.list = container.NewVBox()
	d.message = widget.NewLabel("")
	d.message.Importance = widget.DangerImportance
	d.message.Wrapping = fyne.TextWrapWord
	title := a.tr("file.openTitle")
	okText := a.tr("file.open")
	if d.save {
		title, okText = a.tr("file.saveTitle"), a.tr("file.save")
	}
	d.name = newWedgeEntry(a.keys)
	d.name.SetText(name)
	d.name.SetPlaceHolder(a.tr("file.name"))
	d.ok = widget.NewButtonWithIcon(okText, theme.ConfirmIcon(), d.accept)
	d.ok.Importance = widget.HighImportance
	cancel := widget.NewButtonWithIcon(a.tr("file.cancel"), theme.CancelIcon(), func() { d.popup.Hide() })
	up := widget.NewButtonWithIcon(a.tr("file.up"), theme.MoveUpIcon(), func() { d.enter(filepath.Dir(d.dir)) })
	places := container.NewHBox(up)
	if h, err := os.UserHomeDir(); err == nil {
		places.Add(widget.NewButtonWithIcon(a.tr("file.home"), theme.HomeIcon(), func() { d.enter(h) }))
	}
	for _, m := range []string{"/media", "/mnt"} {
		if fi, err := os.Stat(m); err == nil && fi.IsDir() {
			places.Add(widget.NewButtonWithIcon(a.tr("file.media")+" "+m, theme.StorageIcon(), func() { d.enter(m) }))
		}
	}
	bottom := container.NewVBox(d.message, container.NewGridWithColumns(2, cancel, d.ok))
	if d.save {
		bottom = container.NewVBox(d.name, d.message, container.NewGridWithColumns(2, cancel, d.ok))
	}
	content := container.NewBorder(container.NewVBox(heading(title), container.NewHScroll(places), d.path), bottom, nil, nil,
		container.NewVScroll(d.list))
	c := a.win.Canvas()
	d.popup = widget.NewModalPopUp(content, c)
	sz := c.Size()
	d.popup.Resize(fyne.NewSize(min(760, sz.Width*0.95), min(720, sz.Height*0.92)))
	d.enter(d.dir)
	d.popup.Show()
}

// enter lists dir: folders first, then (for open) the matching files.
func (d *fileDialog) enter(dir string) {
	d.a.touch()
	entries, err := os.ReadDir(dir)
	if err != nil {
		d.message.SetText(d.a.tr("file.cannotRead"))
		return
	}
	d.dir = dir
	d.a.lastDir = dir
	d.confirm = ""
	d.message.SetText("")
	d.path.SetText(dir)
	d.list.RemoveAll()
	slices.SortFunc(entries, func(x, y os.DirEntry) int {
		if x.IsDir() != y.IsDir() {
			if x.IsDir() {
				return -1
			}
			return 1
		}
		return strings.Compare(strings.ToLower(x.Name()), strings.ToLower(y.Name()))
	})
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		full := filepath.Join(dir, e.Name())
		var b *widget.Button
		switch {
		case e.IsDir():
			b = widget.NewButtonWithIcon(e.Name(), theme.FolderIcon(), func() { d.enter(full) })
		case d.save || slices.Contains(d.exts, strings.ToLower(filepath.Ext(e.Name()))):
			name := e.Name()
			b = widget.NewButtonWithIcon(name, theme.FileIcon(), func() {
				if d.save {
					d.name.SetText(name)
					return
				}
				d.popup.Hide()
				d.done(full)
			})
		default:
			continue
		}
		b.Alignment = widget.ButtonAlignLeading
		d.list.Add(b)
		n++
	}
	if n == 0 {
		d.list.Add(widget.NewLabel(d.a.tr("file.empty")))
	}
}

// accept saves to the typed name (a second tap overwrites an existing
// file) or, for open, says to pick a file.
func (d *fileDialog) accept() {
	d.a.touch()
	if !d.save {
		d.message.SetText(d.a.tr("file.pick"))
		return
	}
	d.a.keys.settle()
	name := strings.TrimSpace(d.name.Text)
	if name == "" || strings.ContainsRune(name, os.PathSeparator) {
		d.message.SetText(d.a.tr("file.badName"))
		return
	}
	path := filepath.Join(d.dir, name)
	if _, err := os.Stat(path); err == nil && d.confirm != path {
		d.confirm = path
		d.message.SetText(d.a.tr("file.exists"))
		return
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		d.message.SetText(d.a.tr("file.cannotRead"))
		return
	}
	d.popup.Hide()
	d.done(path)
}
