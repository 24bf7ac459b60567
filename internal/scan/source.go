package scan

import (
	"context"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
)

// Frame is one image delivered by a FrameSource.
type Frame struct {
	// Image is the frame's pixels.
	Image image.Image
	// Name identifies the frame: a file path, or "DEVICE#SEQ" for a camera.
	Name string
	// Seq counts the frames the source captured, from 1; gaps are frames
	// dropped because the consumer was busy.
	Seq uint64
	// Time is when the source captured the frame, read from its clock.
	Time time.Time
}

// FrameSource delivers frames one at a time.
type FrameSource interface {
	// Next blocks until the next frame is available and returns it. It
	// returns io.EOF after the last frame of a finite source, an error
	// wrapping ErrCameraGone when a camera stops delivering, ErrClosed
	// after Close, or ctx.Err() when ctx ends first. A live source returns
	// the newest frame and drops older ones rather than queueing them.
	Next(ctx context.Context) (Frame, error)
	// Close releases the source (device, goroutines). It is safe to call
	// more than once and concurrently with Next, which then returns.
	Close() error
}

// imageExts are the file extensions DirSource picks up.
var imageExts = []string{".png", ".jpg", ".jpeg"}

// FileSource plays a list of image files in order, then io.EOF. A file that
// cannot be loaded ends Next with its error (wrapping those of LoadImage),
// and the following call moves on to the next file.
type FileSource struct {
	mu     sync.Mutex
	paths  []string
	i      int
	closed bool
	clock  clock.Clock
}

// NewFileSource returns a FileSource over paths. clk stamps the frames
// (nil means clock.Real).
func NewFileSource(paths []string, clk clock.Clock) *FileSource {
	if clk == nil {
		clk = clock.Real{}
	}
	return &FileSource{paths: slices.Clone(paths), clock: clk}
}

// NewDirSource returns a FileSource over the PNG and JPEG files of dir, in
// name order (the folder is listed once, now).
func NewDirSource(ctx context.Context, dir string, clk clock.Clock) (*FileSource, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("frame folder: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("frame folder: %w", err)
	}
	var paths []string
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		if slices.Contains(imageExts, strings.ToLower(filepath.Ext(e.Name()))) {
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	return NewFileSource(paths, clk), nil
}

// Next implements FrameSource.
func (s *FileSource) Next(ctx context.Context) (Frame, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Frame{}, ErrClosed
	}
	if s.i >= len(s.paths) {
		s.mu.Unlock()
		return Frame{}, io.EOF
	}
	path := s.paths[s.i]
	s.i++
	seq := uint64(s.i)
	s.mu.Unlock()
	img, err := LoadFile(ctx, path)
	if err != nil {
		return Frame{Name: path, Seq: seq}, err
	}
	return Frame{Image: img, Name: path, Seq: seq, Time: s.clock.Now()}, nil
}

// Close implements FrameSource.
func (s *FileSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// rawDevice is what a live source reads frames from: the V4L2 camera, or
// the fake in tests.
type rawDevice interface {
	// readRaw blocks until a frame arrives or stop is closed, and returns a
	// copy of the frame's bytes. A nil slice with a nil error means stop was
	// closed. Any error means the device is gone.
	readRaw(stop <-chan struct{}) ([]byte, error)
	// close releases the device; called once.
	close() error
}

// liveSource runs a capture goroutine over a rawDevice and keeps only the
// newest frame: a consumer slower than the camera sees fresh frames and the
// rest are dropped, never queued.
type liveSource struct {
	name   string
	format PixelFormat
	w, h   int
	clock  clock.Clock

	mu       sync.Mutex
	latest   []byte
	latestAt time.Time
	seq      uint64
	dropped  uint64
	err      error // terminal capture error (wraps ErrCameraGone)
	closed   bool

	notify    chan struct{} // capacity 1: a frame or an error arrived
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	devOnce   sync.Once
	dev       rawDevice
	devErr    error
}

func newLiveSource(dev rawDevice, name string, format PixelFormat, w, h int, clk clock.Clock) *liveSource {
	if clk == nil {
		clk = clock.Real{}
	}
	s := &liveSource{
		name: name, format: format, w: w, h: h, clock: clk, dev: dev,
		notify: make(chan struct{}, 1),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	go s.capture()
	return s
}

func (s *liveSource) closeDev() error {
	s.devOnce.Do(func() { s.devErr = s.dev.close() })
	return s.devErr
}

func (s *liveSource) capture() {
	defer close(s.done)
	for {
		raw, err := s.dev.readRaw(s.stop)
		if err != nil {
			// Release the device at once: the fd must not outlive the
			// camera, whatever the consumer does next.
			_ = s.closeDev()
			s.mu.Lock()
			s.err = fmt.Errorf("%s: %v: %w", s.name, err, ErrCameraGone)
			s.mu.Unlock()
			s.wake()
			return
		}
		if raw == nil {
			return
		}
		now := s.clock.Now()
		s.mu.Lock()
		if s.latest != nil {
			s.dropped++
		}
		s.latest, s.latestAt = raw, now
		s.seq++
		s.mu.Unlock()
		s.wake()
	}
}

func (s *liveSource) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Next implements FrameSource: it waits for a frame newer than the last one
// returned and decodes it (frames are decoded only when consumed).
func (s *liveSource) Next(ctx context.Context) (Frame, error) {
	for {
		s.mu.Lock()
		switch {
		case s.closed:
			s.mu.Unlock()
			return Frame{}, ErrClosed
		case s.latest != nil:
			raw, at, seq := s.latest, s.latestAt, s.seq
			s.latest = nil
			s.mu.Unlock()
			img, err := s.decode(raw)
			name := fmt.Sprintf("%s#%d", s.name, seq)
			if err != nil {
				return Frame{Name: name, Seq: seq, Time: at}, err
			}
			return Frame{Image: img, Name: name, Seq: seq, Time: at}, nil
		case s.err != nil:
			err := s.err
			s.mu.Unlock()
			return Frame{}, err
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return Frame{}, ctx.Err()
		case <-s.notify:
		case <-s.done:
			// The capture goroutine ended: loop once more to report why.
			s.mu.Lock()
			if s.err == nil && !s.closed {
				s.err = fmt.Errorf("%s: capture ended: %w", s.name, ErrCameraGone)
			}
			s.mu.Unlock()
		}
	}
}

func (s *liveSource) decode(raw []byte) (image.Image, error) {
	switch s.format {
	case FormatYUYV:
		return YUYVToGray(raw, s.w, s.h)
	case FormatMJPEG:
		return DecodeMJPEG(raw)
	}
	return nil, fmt.Errorf("%s: %v: %w", s.name, s.format, ErrFormat)
}

// Dropped returns how many captured frames were replaced by newer ones
// before anyone consumed them.
func (s *liveSource) Dropped() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Close implements FrameSource: it stops the capture goroutine, waits for
// it, and closes the device.
func (s *liveSource) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.stop)
		<-s.done
		s.wake()
	})
	return s.closeDev()
}
