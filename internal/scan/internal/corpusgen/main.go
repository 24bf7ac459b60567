// Command corpusgen writes a deterministic corpus of synthetic camera frames
// of RTC1 QR codes for the scan benchmark: one PNG per frame (JPEG for the
// families whose artefacts are the point) and manifest.json listing file,
// family, group (classic or hard), size, expected text, QR version, drawn
// parameters and, for the hard families, the readability oracle's verdict.
//
// Usage:
//
//	go run ./internal/scan/internal/corpusgen -out DIR [-seed N] [-per N] [-sizes 640x480,1280x720] [-conds all|classic|hard|blur,curved,...]
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/roadcheck/roadcheck/internal/scan/internal/scene"
)

// Entry is one line of the manifest.
type Entry struct {
	File      string `json:"file"`
	Condition string `json:"condition"`
	Size      string `json:"size"`
	Text      string `json:"text"`
	Version   int    `json:"version"`
	Params    string `json:"params"`
	// Group is "classic" or "hard" (scene.Hard).
	Group string `json:"group"`
	// Load is the oracle's error-correction load under the true geometry
	// (hard families; see scene.Oracle), Finders the finder patterns it
	// found legible.
	Load    float64 `json:"load,omitempty"`
	Finders int     `json:"finders,omitempty"`
}

func main() {
	out := flag.String("out", "", "output `dir` (created)")
	seed := flag.Uint64("seed", 1, "corpus seed")
	per := flag.Int("per", 10, "frames per condition and size")
	sizes := flag.String("sizes", "640x480,1280x720,1920x1080", "comma-separated frame sizes")
	conds := flag.String("conds", "all", "comma-separated families, or all, classic, hard ("+scene.Describe()+")")
	sample := flag.Bool("sample", true, "use the worked-example text for the first frame of each condition and size")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "corpusgen: -out is required")
		os.Exit(2)
	}
	if err := run(*out, *seed, *per, *sizes, *conds, *sample); err != nil {
		fmt.Fprintln(os.Stderr, "corpusgen:", err)
		os.Exit(1)
	}
}

func run(out string, seed uint64, per int, sizesFlag, condsFlag string, sample bool) error {
	var sizes []scene.Size
	for _, s := range strings.Split(sizesFlag, ",") {
		var sz scene.Size
		if _, err := fmt.Sscanf(strings.TrimSpace(s), "%dx%d", &sz.W, &sz.H); err != nil {
			return fmt.Errorf("bad size %q", s)
		}
		sizes = append(sizes, sz)
	}
	var conds []scene.Condition
	switch condsFlag {
	case "all":
		conds = scene.All
	case "classic":
		conds = scene.Conditions
	case "hard":
		conds = scene.Hard
	default:
		for _, c := range strings.Split(condsFlag, ",") {
			conds = append(conds, scene.Condition(strings.TrimSpace(c)))
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	specs := scene.Specs(seed, per, sizes, conds)
	for i := range specs {
		// The first frame of each family and size (Specs lists them in
		// runs of per) shows the worked example.
		if sample && i%per == 0 {
			specs[i].Text = scene.Sample
		}
	}
	// Render on every core; the manifest keeps the spec order.
	manifest := make([]Entry, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				manifest[i], errs[i] = write(out, specs[i])
			}
		}()
	}
	for i := range specs {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	b, err := json.MarshalIndent(manifest, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "manifest.json"), b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "corpusgen: %d frames in %s\n", len(manifest), out)
	return nil
}

// write renders one spec into out and returns its manifest entry.
func write(out string, sp scene.Spec) (Entry, error) {
	f, err := scene.Render(sp)
	if err != nil {
		return Entry{}, fmt.Errorf("%s: %w", sp.Name(), err)
	}
	name := sp.Name() + ".png"
	if f.Encoded != nil {
		name = sp.Name() + ".jpg"
		if err := os.WriteFile(filepath.Join(out, name), f.Encoded, 0o644); err != nil {
			return Entry{}, err
		}
	} else {
		w, err := os.Create(filepath.Join(out, name))
		if err != nil {
			return Entry{}, err
		}
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		if err := enc.Encode(w, f.Image); err != nil {
			w.Close()
			return Entry{}, err
		}
		if err := w.Close(); err != nil {
			return Entry{}, err
		}
	}
	e := Entry{File: name, Condition: string(sp.Condition), Size: sp.Size.String(), Text: f.Text, Version: f.Version, Params: f.Params, Group: "classic"}
	if sp.Condition.IsHard() {
		e.Group, e.Load, e.Finders = "hard", f.Oracle.Load, f.Oracle.Legible()
	}
	return e, nil
}
