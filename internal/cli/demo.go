package cli

import (
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"time"

	"github.com/roadcheck/roadcheck/internal/demo"
	"github.com/roadcheck/roadcheck/internal/qrcode"
)

func init() {
	register(command{name: "demo", synopsis: "--out DIR [--seed N] [--at RFC3339|now]",
		summary: "write a complete demo world (anchors, bundle, sample codes) to a directory", run: cmdDemo})
}

func cmdDemo(ctx context.Context, env *Env, args []string) int {
	fs := newFlagSet(env, "demo")
	out := fs.String("out", "", "output `directory` (created)")
	seed := fs.Int64("seed", demo.DefaultSeed, "seed; the same seed and --at give the same files")
	at := fs.String("at", "", "build the world for this RFC 3339 `time`, or \"now\" (default: the reference time "+demo.ReferenceTime.Format(time.RFC3339)+")")
	if code, done := flagsDone(env, fs, parseInterspersed(fs, args)); done {
		return code
	}
	if *out == "" || fs.NArg() != 0 {
		fmt.Fprintln(env.Stderr, "rcctl: demo: give --out DIR and no other argument")
		commandUsage(env.Stderr, fs)
		return ExitError
	}
	var when time.Time
	switch *at {
	case "":
	case "now":
		when = env.Clock.Now()
	default:
		t, err := parseAt(env, *at)
		if err != nil {
			return failf(env, "%v", err)
		}
		when = t
	}
	w, err := demo.Build(*seed, when)
	if err != nil {
		return failf(env, "%v", err)
	}
	versions, err := WriteWorld(ctx, w, *out)
	if err != nil {
		return failf(env, "%v", err)
	}
	fmt.Fprintf(env.Stdout, "demo world (seed %d, for %s) written to %s\n", w.Seed, w.At.Format(time.RFC3339), *out)
	fmt.Fprintf(env.Stdout, "  anchors.pem, bundle.pem, manifest.json, codes/*.txt and codes/*.png\n")
	for i, s := range w.Samples {
		fmt.Fprintf(env.Stdout, "  %-32s %-7s QR version %2d (ECC M), %4d chars  %s\n", s.Name, s.Verdict, versions[i], len(s.Text), s.Description)
	}
	return ExitOK
}

// WriteWorld writes w into dir: anchors.pem, bundle.pem, manifest.json and
// for each sample codes/NAME.txt and codes/NAME.png (ECC level M). It returns
// the QR version of each sample, in sample order.
func WriteWorld(ctx context.Context, w *demo.World, dir string) ([]int, error) {
	if err := os.MkdirAll(filepath.Join(dir, "codes"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "anchors.pem"), w.AnchorsPEM, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "bundle.pem"), w.BundlePEM, 0o644); err != nil {
		return nil, err
	}
	manifest, err := w.Manifest()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), manifest, 0o644); err != nil {
		return nil, err
	}
	versions := make([]int, len(w.Samples))
	for i, s := range w.Samples {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		base := filepath.Join(dir, "codes", s.Name)
		if err := os.WriteFile(base+".txt", []byte(s.Text), 0o644); err != nil {
			return nil, err
		}
		sym, err := qrcode.Encode(s.Text, qrcode.LevelM)
		if err != nil {
			return nil, fmt.Errorf("sample %s: %w", s.Name, err)
		}
		versions[i] = sym.Version
		f, err := os.Create(base + ".png")
		if err != nil {
			return nil, err
		}
		err = png.Encode(f, sym.Image(4))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
	}
	return versions, nil
}
