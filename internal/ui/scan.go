package ui

import (
	"bytes"
	"context"
	"errors"
	"image"
	"io"
	"log"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/roadcheck/roadcheck/internal/scan"
)

// scanScreen is where codes come in: camera preview, text field (which also
// receives a USB scanner's keystrokes), image file, paste, demo samples.
type scanScreen struct {
	root   fyne.CanvasObject
	entry  *wedgeEntry
	verify *widget.Button
	open   *widget.Button
	paste  *widget.Button
	torch  *widget.Check
	// previewBox holds the preview; hidden while no camera streams (the
	// noCamera message then takes one line instead of the preview's area).
	previewBox *fyne.Container
	preview    *canvas.Image
	noCamera   *widget.Label
	message    *widget.Label
	samples    []*widget.Button
	// sampleLabels are the samples' texts (drawn over their buttons).
	sampleLabels []string
	newStop      *widget.Button
	// toast confirms the last one-tap save, with its undo; its row keeps
	// its height when empty, so nothing moves when it appears.
	toast     *widget.Label
	undo      *widget.Button
	toastSlot *fyne.Container
}

// newScanScreen builds the scan screen of a.
func newScanScreen(a *App) fyne.CanvasObject { return buildScanScreen(a).root }

func buildScanScreen(a *App) *scanScreen {
	s := &scanScreen{}
	s.preview = canvas.NewImageFromImage(nil)
	s.preview.FillMode = canvas.ImageFillContain
	s.preview.SetMinSize(fyne.NewSize(320, 200))
	s.noCamera = widget.NewLabel(a.tr("scan.noCamera"))
	s.noCamera.Alignment = fyne.TextAlignCenter
	s.noCamera.Wrapping = fyne.TextWrapWord
	previewBg := canvas.NewRectangle(theme.Color(theme.ColorNameButton))
	s.torch = widget.NewCheck(a.tr("scan.torch"), func(on bool) {
		a.touch()
		if err := a.setTorch(on); err != nil {
			a.setScanMessage(a.tr("scan.noTorch"))
		}
	})
	s.torch.Disable()
	s.torch.Hide()
	s.previewBox = container.NewStack(previewBg, s.preview)
	s.previewBox.Hide()

	s.entry = newWedgeEntry(a.keys)
	s.entry.SetPlaceHolder(a.tr("scan.placeholder"))
	s.entry.OnSubmitted = func(text string) {
		s.entry.SetText("")
		a.submitFrom(text, sourceTyped)
	}
	s.verify = widget.NewButtonWithIcon(a.tr("scan.verify"), theme.ConfirmIcon(), func() {
		a.keys.settle()
		text := s.entry.Text
		s.entry.SetText("")
		a.submitFrom(text, sourceTyped)
	})
	s.verify.Importance = widget.HighImportance
	s.open = widget.NewButtonWithIcon(a.tr("scan.open"), theme.FolderOpenIcon(), func() { a.touch(); a.openImageDialog() })
	s.paste = widget.NewButtonWithIcon(a.tr("scan.paste"), theme.ContentPasteIcon(), func() { a.touch(); a.pasteClipboard() })
	if a.deps.Decoder == nil {
		s.open.Disable()
	}
	s.message = widget.NewLabel(a.scanMsg)
	s.message.Wrapping = fyne.TextWrapWord
	s.message.Importance = widget.WarningImportance
	s.newStop = widget.NewButtonWithIcon(a.tr("scan.newStop"), theme.ContentAddIcon(), a.startNewStop)
	s.toast = widget.NewLabel("")
	s.toast.Importance = widget.SuccessImportance
	s.toast.TextStyle.Bold = true
	s.toast.Truncation = fyne.TextTruncateEllipsis
	s.undo = widget.NewButtonWithIcon(a.tr("scan.undo"), theme.ContentUndoIcon(), a.undoSave)
	s.undo.Hide()
	s.toastSlot = container.New(&reserveLayout{lines: 1}, container.NewBorder(nil, nil, nil, s.undo, s.toast))

	title := widget.NewLabelWithStyle(a.tr("scan.title"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	box := container.NewVBox(
		container.NewBorder(nil, nil, nil, s.newStop, title),
		s.toastSlot,
		s.previewBox, s.noCamera, s.torch,
		container.NewBorder(nil, nil, nil, s.verify, s.entry),
		container.NewGridWithColumns(2, s.open, s.paste),
		container.New(&reserveLayout{lines: 1}, s.message),
	)
	if len(a.deps.Samples) > 0 {
		box.Add(widget.NewSeparator())
		box.Add(heading(a.tr("scan.samples")))
		for _, smp := range a.deps.Samples {
			// A long description wraps inside its button instead of
			// widening the screen beyond a phone's width.
			label := smp.label(a.cat.current())
			b := widget.NewButton("", func() { a.submitFrom(smp.Text, sourceSample) })
			s.samples = append(s.samples, b)
			s.sampleLabels = append(s.sampleLabels, label)
			box.Add(container.NewStack(b, newWrapText(label, 0)))
		}
	}
	// The probe tells when the scan screen is first on screen (--measure's
	// scan-ready, and the start of the verdict screen's warm-up).
	s.root = container.NewStack(container.NewVScroll(container.NewPadded(box)), paintProbe(a.scanPainted))
	a.scanScr = s
	a.renderToast()
	return s
}

// renderToast shows the last save's confirmation and its undo (or an
// empty row of the same height).
func (a *App) renderToast() {
	s := a.scanScr
	if s == nil {
		return
	}
	if t := a.toast; t != nil {
		s.toast.SetText(a.tr("scan.saved", outcomeName(a.cat, t.check.action)))
		s.undo.Show()
	} else {
		s.toast.SetText("")
		s.undo.Hide()
	}
}

// burstCut reports a scanner burst that ended without its Enter.
func (a *App) burstCut(text string) {
	if a.officer == nil || a.locked {
		a.codeWhileSignedOut()
		return
	}
	a.leaveCheck()
	a.showNeutral(outcomeCut, text, sourceScanner, nil)
}

// openImageDialog lets the officer pick a PNG or JPEG file (the GUI's own
// dialog, in its language).
func (a *App) openImageDialog() {
	a.openFileDialog([]string{".png", ".jpg", ".jpeg"}, func(data []byte, err error) {
		if err != nil {
			a.showError(err)
			return
		}
		a.decodeImage(data)
	})
}

// decodeImage finds the QR code in an image file's bytes and verifies it.
func (a *App) decodeImage(data []byte) {
	dec, ctx := a.deps.FileDecoder, a.ctx
	if dec == nil {
		dec = a.deps.Decoder
	}
	if dec == nil {
		a.setScanMessage(a.tr("scan.noDecoder"))
		return
	}
	a.setScanMessage(a.tr("scan.decoding"))
	a.async(func() {
		text, err := decodeBytes(ctx, dec, data)
		fyne.Do(func() {
			if err != nil {
				a.setScanMessage(a.tr(scanErrorKey(err)))
				return
			}
			a.submitFrom(text, sourceImage)
		})
	})
}

func decodeBytes(ctx context.Context, dec Decoder, data []byte) (string, error) {
	img, err := scan.LoadImage(ctx, bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	r, err := dec.Decode(ctx, img)
	if err != nil {
		return "", err
	}
	return r.Text, nil
}

// scanErrorKey names the sentence for a scan error.
func scanErrorKey(err error) string {
	switch {
	case errors.Is(err, scan.ErrNoCode):
		return "scan.errNoCode"
	case errors.Is(err, scan.ErrNotImage):
		return "scan.errNotImage"
	case errors.Is(err, scan.ErrTruncated):
		return "scan.errTruncated"
	case errors.Is(err, scan.ErrTooLarge):
		return "scan.errTooLarge"
	}
	return "error.generic"
}

// pasteClipboard verifies the clipboard: a QR text directly, or an image
// file named by a path or file:// URI. (fyne's clipboard holds text only.)
func (a *App) pasteClipboard() {
	text := strings.TrimSpace(a.fa.Clipboard().Content())
	switch {
	case text == "":
		a.setScanMessage(a.tr("scan.clipboardEmpty"))
	case isRTCText(text):
		a.submitFrom(text, sourcePaste)
	default:
		path := strings.TrimPrefix(text, "file://")
		data, err := os.ReadFile(path)
		if err != nil {
			a.setScanMessage(a.tr("scan.clipboardNoCode"))
			return
		}
		a.decodeImage(data)
	}
}

// dropped verifies the first image file dropped on the window.
func (a *App) dropped(_ fyne.Position, uris []fyne.URI) {
	if len(uris) == 0 || a.officer == nil || a.locked {
		return
	}
	a.touch()
	rc, err := storage.Reader(uris[0])
	if err != nil {
		a.showError(err)
		return
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	if err != nil {
		a.showError(err)
		return
	}
	a.decodeImage(data)
}

// cameraRun is the live preview in progress.
type cameraRun struct {
	cancel context.CancelFunc
	device string // set on fyne's goroutine once the camera streams
	// decoding: a frame is being decoded; frames arriving meanwhile are
	// dropped, not queued (the preview still shows them).
	decoding atomic.Bool
	// previewing: a preview update is waiting for fyne's goroutine; newer
	// frames do not queue more.
	previewing atomic.Bool
	dropped    atomic.Uint64
}

// startCamera streams the chosen camera (Settings; else the first) into
// the preview and verifies what the decoder finds in its frames. Without a
// camera the preview keeps its "no camera" message.
func (a *App) startCamera() {
	a.stopCamera()
	s := a.scanScr
	if s == nil || a.deps.Camera == nil {
		return
	}
	ctx, cancel := context.WithCancel(a.ctx)
	run := &cameraRun{cancel: cancel}
	a.cam = run
	cam, dec, want := a.deps.Camera, a.deps.Decoder, a.set.Camera
	a.async(func() {
		devs := cam.Devices()
		if len(devs) == 0 || ctx.Err() != nil {
			return
		}
		dev := devs[0]
		for _, d := range devs {
			if d == want {
				dev = d
			}
		}
		fyne.Do(func() {
			if a.cam == run {
				run.device = dev
				s.noCamera.Hide()
				s.previewBox.Show()
				s.torch.Enable()
				s.torch.Show()
			}
		})
		err := cam.Stream(ctx, dev, func(img image.Image) { a.cameraFrame(ctx, run, s, dec, img) })
		if err != nil && ctx.Err() == nil {
			log.Printf("ui: camera %s: %v", dev, err)
			fyne.Do(func() {
				s.noCamera.SetText(a.tr(cameraErrorKey(err)))
				s.noCamera.Show()
				s.previewBox.Hide()
				s.torch.Disable()
				s.torch.Hide()
			})
		}
	})
}

// cameraFrame handles one frame, on the camera's goroutine: it shows it in
// the preview (at most one update waiting) and, unless the decoder is busy
// with an earlier frame, decodes it (off the camera's goroutine) and hands
// a code to submit through fyne.Do.
func (a *App) cameraFrame(ctx context.Context, run *cameraRun, s *scanScreen, dec Decoder, img image.Image) {
	if run.previewing.CompareAndSwap(false, true) {
		fyne.Do(func() {
			run.previewing.Store(false)
			if a.cam == run {
				s.preview.Image = img
				s.preview.Refresh()
			}
		})
	}
	if dec == nil {
		return
	}
	if !run.decoding.CompareAndSwap(false, true) {
		run.dropped.Add(1)
		return
	}
	a.async(func() {
		defer run.decoding.Store(false)
		r, err := dec.Decode(ctx, img)
		if err != nil || r.Text == "" || ctx.Err() != nil {
			return
		}
		fyne.Do(func() {
			if a.cam == run {
				a.cameraCode(r.Text)
			}
		})
	})
}

// cameraRepeat is how long a code must be out of the camera's sight before
// the camera verifies it again (after 下一个, the same code is usually still
// in front of the lens).
const cameraRepeat = 3 * time.Second

// cameraCode verifies a code the camera decoded, unless it is the code the
// camera saw last, less than cameraRepeat ago (injected clock).
func (a *App) cameraCode(text string) {
	now := a.deps.Clock.Now()
	seen := a.camText == text && now.Sub(a.camSeen) < cameraRepeat
	a.camText, a.camSeen = text, now
	if !seen {
		a.submitFrom(text, sourceCamera)
	}
}

func (a *App) stopCamera() {
	if a.cam != nil {
		a.cam.cancel()
		a.cam = nil
	}
}

func (a *App) setTorch(on bool) error {
	if a.cam == nil || a.cam.device == "" || a.deps.Camera == nil {
		return ErrNoCamera
	}
	return a.deps.Camera.Torch(a.cam.device, on)
}
