package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/scan"
)

func init() {
	register(command{name: "scan", synopsis: "[--json] [--budget D] --image FILE [FILE...]\n[--json] --dir FOLDER\n[--json] [--torch] --camera /dev/videoN\n--list-cameras",
		summary: "decode QR codes from images or a camera",
		help:    "Exit 0 when every image decoded, 1 when some did not, 3 on bad usage or an unusable camera. Images whose decoded pixels would take more than 64 MiB are refused from their header.",
		run:     cmdScan})
}

// openCamera opens a live frame source; tests replace it with a fake camera.
var openCamera = func(ctx context.Context, device string, clk clock.Clock) (scan.FrameSource, error) {
	return scan.OpenCamera(ctx, scan.CameraOptions{Device: device, Clock: clk})
}

// listCameras lists capture devices; tests may replace it.
var listCameras = scan.ListCameras

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// scanLine is one --json output line for an image file.
type scanLine struct {
	File  string  `json:"file"`
	OK    bool    `json:"ok"`
	Text  string  `json:"text"`
	MS    float64 `json:"ms"`
	Error string  `json:"error"`
}

// cameraLine is one --json output line for a code seen by the camera.
type cameraLine struct {
	Camera string  `json:"camera"`
	Frame  uint64  `json:"frame"`
	Text   string  `json:"text"`
	MS     float64 `json:"ms"`
}

// cmdScan implements `rcctl scan`: decode QR codes from image files (exit 0
// when all decoded, 1 when some did not, 3 on bad usage) or live from a
// camera until ctx is cancelled (exit 0; 3 when the camera cannot be opened
// or disappears).
func cmdScan(ctx context.Context, env *Env, args []string) int {
	fs := newFlagSet(env, "scan")
	jsonOut := fs.Bool("json", false, "print one JSON object per line")
	var images stringList
	fs.Var(&images, "image", "image `file` to decode (repeatable; further files may follow as arguments)")
	dir := fs.String("dir", "", "decode every PNG and JPEG file in this `folder`")
	camera := fs.String("camera", "", "scan live from this V4L2 `device` (e.g. /dev/video0) until interrupted")
	torch := fs.Bool("torch", false, "with --camera: switch the torch on while scanning")
	list := fs.Bool("list-cameras", false, "list the V4L2 cameras and exit")
	budget := fs.Duration("budget", 0, "time budget per image (default: "+scan.FileBudget.String()+" for files, "+scan.DefaultBudget.String()+" per camera frame)")
	if code, done := flagsDone(env, fs, fs.Parse(args)); done {
		return code
	}
	files := append([]string(images), fs.Args()...)
	if *budget < 0 {
		return failf(env, "scan: --budget must be positive")
	}
	if *budget == 0 {
		*budget = scan.FileBudget
		if *camera != "" {
			*budget = scan.DefaultBudget
		}
	}
	dec := scan.NewDecoder(scan.Options{Budget: *budget, Clock: env.Clock})
	switch {
	case *list:
		if len(files) > 0 || *dir != "" || *camera != "" {
			return failf(env, "scan: --list-cameras takes no other input")
		}
		return scanListCameras(ctx, env, *jsonOut)
	case *camera != "":
		if len(files) > 0 || *dir != "" {
			return failf(env, "scan: --camera cannot be combined with files or --dir")
		}
		return scanCamera(ctx, env, dec, *camera, *torch, *jsonOut)
	case *torch:
		return failf(env, "scan: --torch needs --camera")
	}
	var src *scan.FileSource
	switch {
	case *dir != "" && len(files) > 0:
		return failf(env, "scan: give files or --dir, not both")
	case *dir != "":
		s, err := scan.NewDirSource(ctx, *dir, env.Clock)
		if err != nil {
			return failf(env, "scan: %v", err)
		}
		src = s
	case len(files) > 0:
		src = scan.NewFileSource(files, env.Clock)
	default:
		fmt.Fprintln(env.Stderr, "rcctl: scan: no images given")
		fs.Usage()
		return ExitError
	}
	defer src.Close()
	return scanFiles(ctx, env, dec, src, *jsonOut)
}

func scanFiles(ctx context.Context, env *Env, dec *scan.Decoder, src *scan.FileSource, jsonOut bool) int {
	total, failed := 0, 0
	enc := json.NewEncoder(env.Stdout)
	enc.SetEscapeHTML(false)
	for {
		f, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if ctx.Err() != nil {
			return failf(env, "scan: %v", ctx.Err())
		}
		line := scanLine{File: f.Name}
		if err == nil {
			var res scan.Result
			res, err = dec.Decode(ctx, f.Image)
			line.MS = millis(res.Duration.Seconds())
			if err == nil {
				line.OK, line.Text = true, res.Text
			}
		}
		total++
		if err != nil {
			failed++
			line.Error = err.Error()
		}
		if jsonOut {
			if err := enc.Encode(line); err != nil {
				return failf(env, "scan: write: %v", err)
			}
			continue
		}
		if line.OK {
			fmt.Fprintf(env.Stdout, "%s: %s (%.1f ms)\n", line.File, line.Text, line.MS)
		} else {
			fmt.Fprintf(env.Stdout, "%s: FAILED: %s\n", line.File, line.Error)
		}
	}
	switch {
	case total == 0:
		return failf(env, "scan: no image files found")
	case failed > 0:
		if !jsonOut {
			fmt.Fprintf(env.Stderr, "rcctl: scan: %d of %d images had no readable code\n", failed, total)
		}
		return ExitPartial
	}
	return ExitOK
}

func scanCamera(ctx context.Context, env *Env, dec *scan.Decoder, device string, torch, jsonOut bool) int {
	src, err := openCamera(ctx, device, env.Clock)
	if err != nil {
		if errors.Is(err, scan.ErrNoCamera) {
			return failf(env, "scan: no camera at %s: %v", device, err)
		}
		return failf(env, "scan: %v", err)
	}
	defer src.Close()
	if torch {
		t, ok := src.(scan.Torch)
		if !ok {
			fmt.Fprintf(env.Stderr, "rcctl: scan: %s has no torch; scanning without\n", device)
		} else if err := t.SetTorch(ctx, true); err != nil {
			fmt.Fprintf(env.Stderr, "rcctl: scan: %v; scanning without\n", err)
		} else {
			// Switch off even when ctx has ended.
			defer t.SetTorch(context.WithoutCancel(ctx), false)
		}
	}
	enc := json.NewEncoder(env.Stdout)
	enc.SetEscapeHTML(false)
	err = scan.Stream(ctx, src, dec, scan.StreamOptions{}, func(f scan.Frame, r scan.Result) error {
		if jsonOut {
			return enc.Encode(cameraLine{Camera: device, Frame: f.Seq, Text: r.Text, MS: millis(r.Duration.Seconds())})
		}
		_, err := fmt.Fprintln(env.Stdout, r.Text)
		return err
	})
	switch {
	case err == nil, ctx.Err() != nil:
		return ExitOK
	case errors.Is(err, scan.ErrCameraGone):
		return failf(env, "scan: camera lost: %v", err)
	}
	return failf(env, "scan: %v", err)
}

func scanListCameras(ctx context.Context, env *Env, jsonOut bool) int {
	cams, err := listCameras(ctx)
	if err != nil {
		return failf(env, "scan: %v", err)
	}
	for _, c := range cams {
		if jsonOut {
			formats := map[string][]string{}
			for f, sizes := range c.Formats {
				for _, s := range sizes {
					formats[f.String()] = append(formats[f.String()], fmt.Sprintf("%dx%d", s.X, s.Y))
				}
			}
			b, _ := json.Marshal(map[string]any{"device": c.Device, "name": c.Name, "formats": formats})
			fmt.Fprintln(env.Stdout, string(b))
			continue
		}
		var parts []string
		for f, sizes := range c.Formats {
			parts = append(parts, fmt.Sprintf("%s %d sizes", f, len(sizes)))
		}
		fmt.Fprintf(env.Stdout, "%s\t%s\t%s\n", c.Device, c.Name, strings.Join(parts, ", "))
	}
	return ExitOK
}

// millis rounds seconds to milliseconds with 0.1 ms resolution.
func millis(s float64) float64 { return math.Round(s*10000) / 10 }
