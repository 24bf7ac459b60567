//go:build linux

package scan

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/blackjack/webcam"
)

// V4L2 constants (linux/videodev2.h, linux/v4l2-controls.h).
const (
	fourccYUYV = webcam.PixelFormat('Y' | 'U'<<8 | 'Y'<<16 | 'V'<<24)
	fourccMJPG = webcam.PixelFormat('M' | 'J'<<8 | 'P'<<16 | 'G'<<24)
	// cidFlashLEDMode is V4L2_CID_FLASH_LED_MODE: 0 none, 1 flash, 2 torch.
	cidFlashLEDMode = webcam.ControlID(0x009c0901)
	ledModeNone     = 0
	ledModeTorch    = 2
	// waitMillis is one poll for a frame; stallPolls of them without a
	// frame mean the camera is gone.
	waitMillis = 100
	stallPolls = 30
)

// Camera is a V4L2 camera streaming frames; it implements FrameSource and
// Torch.
type Camera struct {
	*liveSource
	cam      *webcam.Webcam
	hasTorch bool
}

// ListCameras returns the V4L2 capture devices (/dev/video*) that offer
// YUYV or MJPEG frames. Errors wrap ErrNoCamera when there is none.
func ListCameras(ctx context.Context) ([]CameraInfo, error) {
	paths, _ := filepath.Glob("/dev/video*")
	sort.Slice(paths, func(i, j int) bool { return devIndex(paths[i]) < devIndex(paths[j]) })
	var out []CameraInfo
	for _, p := range paths {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		cam, err := webcam.Open(p)
		if err != nil {
			continue // metadata nodes, busy or foreign devices
		}
		info := CameraInfo{Device: p, Formats: map[PixelFormat][]image.Point{}}
		info.Name, _ = cam.GetName()
		for f := range cam.GetSupportedFormats() {
			pf, ok := pixelFormatOf(f)
			if !ok {
				continue
			}
			info.Formats[pf] = frameSizes(cam, f)
		}
		_ = cam.Close()
		if len(info.Formats) > 0 {
			out = append(out, info)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("list cameras: no V4L2 capture device with YUYV or MJPEG: %w", ErrNoCamera)
	}
	return out, nil
}

func devIndex(p string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(p), "video"))
	if err != nil {
		return 1 << 30
	}
	return n
}

func pixelFormatOf(f webcam.PixelFormat) (PixelFormat, bool) {
	switch f {
	case fourccYUYV:
		return FormatYUYV, true
	case fourccMJPG:
		return FormatMJPEG, true
	}
	return 0, false
}

// frameSizes lists the discrete sizes of f (stepwise ranges contribute
// their minimum and maximum).
func frameSizes(cam *webcam.Webcam, f webcam.PixelFormat) []image.Point {
	var out []image.Point
	for _, s := range cam.GetSupportedFrameSizes(f) {
		out = append(out, image.Pt(int(s.MaxWidth), int(s.MaxHeight)))
		if s.MinWidth != s.MaxWidth || s.MinHeight != s.MaxHeight {
			out = append(out, image.Pt(int(s.MinWidth), int(s.MinHeight)))
		}
	}
	return out
}

// OpenCamera opens a V4L2 camera, picks the resolution nearest the wanted
// one (YUYV up to 640×480, where USB bandwidth allows 30 fps; MJPEG above,
// else whichever exists) and starts streaming at up to 30 fps. Errors wrap
// ErrNoCamera (no such device, not a capture device) or ErrFormat (neither
// YUYV nor MJPEG).
func OpenCamera(ctx context.Context, opts CameraOptions) (*Camera, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dev := opts.Device
	if dev == "" {
		cams, err := ListCameras(ctx)
		if err != nil {
			return nil, fmt.Errorf("open camera: %w", err)
		}
		dev = cams[0].Device
	}
	if _, err := os.Stat(dev); err != nil {
		return nil, fmt.Errorf("open camera %s: %v: %w", dev, err, ErrNoCamera)
	}
	cam, err := webcam.Open(dev)
	if err != nil {
		return nil, fmt.Errorf("open camera %s: %v: %w", dev, err, ErrNoCamera)
	}
	ok := false
	defer func() {
		if !ok {
			_ = cam.Close()
		}
	}()
	want := image.Pt(opts.Width, opts.Height)
	if want.X <= 0 || want.Y <= 0 {
		want = image.Pt(1280, 720)
	}
	formats := cam.GetSupportedFormats()
	order := []webcam.PixelFormat{fourccMJPG, fourccYUYV}
	if want.X*want.Y <= 640*480 {
		order = []webcam.PixelFormat{fourccYUYV, fourccMJPG}
	}
	var chosen webcam.PixelFormat
	for _, f := range order {
		if _, has := formats[f]; has {
			chosen = f
			break
		}
	}
	if chosen == 0 {
		return nil, fmt.Errorf("open camera %s: offers neither YUYV nor MJPEG: %w", dev, ErrFormat)
	}
	size, found := nearestSize(frameSizes(cam, chosen), want)
	if !found {
		size = want
	}
	got, w, h, err := cam.SetImageFormat(chosen, uint32(size.X), uint32(size.Y))
	if err != nil {
		return nil, fmt.Errorf("open camera %s: set format: %v: %w", dev, err, ErrFormat)
	}
	pf, known := pixelFormatOf(got)
	if !known {
		return nil, fmt.Errorf("open camera %s: driver chose format %#x: %w", dev, uint32(got), ErrFormat)
	}
	_ = cam.SetBufferCount(4)
	_ = cam.SetFramerate(30) // best effort: not every driver supports it
	if err := cam.StartStreaming(); err != nil {
		return nil, fmt.Errorf("open camera %s: start streaming: %v: %w", dev, err, ErrNoCamera)
	}
	_, hasTorch := cam.GetControls()[cidFlashLEDMode]
	ok = true
	c := &Camera{cam: cam, hasTorch: hasTorch}
	c.liveSource = newLiveSource(&v4l2Device{cam: cam}, dev, pf, int(w), int(h), opts.Clock)
	return c, nil
}

// SetTorch switches the camera's flash LED to torch mode or off through
// V4L2_CID_FLASH_LED_MODE. Errors wrap ErrNoTorch when the camera has no
// such control.
func (c *Camera) SetTorch(ctx context.Context, on bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !c.hasTorch {
		return fmt.Errorf("%s: %w", c.name, ErrNoTorch)
	}
	v := int32(ledModeNone)
	if on {
		v = ledModeTorch
	}
	if err := c.cam.SetControl(cidFlashLEDMode, v); err != nil {
		return fmt.Errorf("%s: set torch: %v: %w", c.name, err, ErrNoTorch)
	}
	return nil
}

// v4l2Device adapts webcam.Webcam to rawDevice.
type v4l2Device struct {
	cam *webcam.Webcam
}

func (d *v4l2Device) readRaw(stop <-chan struct{}) ([]byte, error) {
	stalls := 0
	for {
		select {
		case <-stop:
			return nil, nil
		default:
		}
		err := d.cam.WaitForFrame(waitMillis)
		var timeout *webcam.Timeout
		if errors.As(err, &timeout) {
			stalls++
			if stalls >= stallPolls {
				return nil, fmt.Errorf("no frame for %d ms", stalls*waitMillis)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		buf, index, err := d.cam.GetFrame()
		if errors.Is(err, syscall.EAGAIN) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(buf) == 0 {
			_ = d.cam.ReleaseFrame(index)
			continue
		}
		frame := append([]byte(nil), buf...)
		if err := d.cam.ReleaseFrame(index); err != nil {
			return nil, err
		}
		return frame, nil
	}
}

func (d *v4l2Device) close() error { return d.cam.Close() }
