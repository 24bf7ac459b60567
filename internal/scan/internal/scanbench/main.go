// Command scanbench measures the scan decoder against zbar on a corpus
// written by corpusgen: decode rate per condition and overall for both, and
// the decoder's median and p95 time per frame for each frame size. It prints
// a table and, with -json, writes the full summary.
//
// Usage:
//
//	go run ./internal/scan/internal/scanbench -dir DIR [-zbar zbarimg] [-json out.json] [-budget 35ms]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/scan"
)

type entry struct {
	File      string `json:"file"`
	Condition string `json:"condition"`
	Size      string `json:"size"`
	Text      string `json:"text"`
	Params    string `json:"params"`
}

type outcome struct {
	File      string  `json:"file"`
	Condition string  `json:"condition"`
	Size      string  `json:"size"`
	OK        bool    `json:"ok"`
	Attempt   string  `json:"attempt,omitempty"`
	MS        float64 `json:"ms"`
	Zbar      *bool   `json:"zbar,omitempty"`
	Params    string  `json:"params"`
}

type rate struct {
	Frames int `json:"frames"`
	Ours   int `json:"ours"`
	Zbar   int `json:"zbar"`
}

type timing struct {
	Frames   int     `json:"frames"`
	MedianMS float64 `json:"median_ms"`
	P95MS    float64 `json:"p95_ms"`
	MaxMS    float64 `json:"max_ms"`
}

type summary struct {
	Budget     string             `json:"budget"`
	Conditions map[string]*rate   `json:"conditions"`
	Overall    rate               `json:"overall"`
	Timing     map[string]*timing `json:"timing"`
	Frames     []outcome          `json:"frames"`
}

func main() {
	dir := flag.String("dir", "", "corpus `dir` with manifest.json")
	zbar := flag.String("zbar", "", "zbarimg `binary` to compare with (empty: skip)")
	jsonOut := flag.String("json", "", "write the summary to this `file`")
	budget := flag.Duration("budget", scan.DefaultBudget, "per-frame time budget")
	verbose := flag.Bool("v", false, "print every frame")
	naive := flag.Bool("naive", false, "measure plain gozxing (QRCodeReader on a HybridBinarizer) instead of the pipeline")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "scanbench: -dir is required")
		os.Exit(2)
	}
	s, err := run(*dir, *zbar, *budget, *verbose, *naive)
	if err != nil {
		fmt.Fprintln(os.Stderr, "scanbench:", err)
		os.Exit(1)
	}
	print(s, *zbar != "")
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(s, "", " ")
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "scanbench:", err)
			os.Exit(1)
		}
	}
}

func run(dir, zbar string, budget time.Duration, verbose, naive bool) (*summary, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	var man []entry
	if err := json.Unmarshal(b, &man); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	ctx := context.Background()
	dec := scan.NewDecoder(scan.Options{Budget: budget, Clock: clock.Real{}})
	s := &summary{Budget: budget.String(), Conditions: map[string]*rate{}, Timing: map[string]*timing{}}
	times := map[string][]float64{}
	for _, e := range man {
		path := filepath.Join(dir, e.File)
		img, err := scan.LoadFile(ctx, path)
		if err != nil {
			return nil, err
		}
		var res scan.Result
		var derr error
		if naive {
			res, derr = naiveDecode(img)
		} else {
			res, derr = dec.Decode(ctx, img)
		}
		o := outcome{File: e.File, Condition: e.Condition, Size: e.Size, Params: e.Params,
			OK: derr == nil && res.Text == e.Text, Attempt: res.Attempt, MS: float64(res.Duration.Microseconds()) / 1000}
		if zbar != "" {
			z := zbarDecodes(ctx, zbar, path, e.Text)
			o.Zbar = &z
		}
		r := s.Conditions[e.Condition]
		if r == nil {
			r = &rate{}
			s.Conditions[e.Condition] = r
		}
		r.Frames++
		s.Overall.Frames++
		if o.OK {
			r.Ours++
			s.Overall.Ours++
		}
		if o.Zbar != nil && *o.Zbar {
			r.Zbar++
			s.Overall.Zbar++
		}
		times[e.Size] = append(times[e.Size], o.MS)
		s.Frames = append(s.Frames, o)
		if verbose {
			z := ""
			if o.Zbar != nil {
				z = fmt.Sprintf(" zbar=%v", *o.Zbar)
			}
			fmt.Printf("%-50s ok=%-5v %-22s %6.1fms%s  %s\n", e.File, o.OK, o.Attempt, o.MS, z, e.Params)
		}
	}
	for size, ts := range times {
		slices.Sort(ts)
		s.Timing[size] = &timing{Frames: len(ts), MedianMS: pct(ts, 0.5), P95MS: pct(ts, 0.95), MaxMS: ts[len(ts)-1]}
	}
	return s, nil
}

// naiveDecode is gozxing used the simple way, the baseline of the notes.
func naiveDecode(img image.Image) (scan.Result, error) {
	start := time.Now()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return scan.Result{}, err
	}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	r, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
	d := time.Since(start)
	if err != nil {
		return scan.Result{Duration: d}, err
	}
	return scan.Result{Text: r.GetText(), Attempt: "naive", Duration: d}, nil
}

// pct is the nearest-rank percentile of sorted ts.
func pct(ts []float64, p float64) float64 {
	i := int(p*float64(len(ts))+0.999999) - 1
	return ts[min(max(i, 0), len(ts)-1)]
}

// zbarDecodes runs zbarimg --quiet --raw (QR only, inverted retry) on path and reports whether any
// decoded line equals want.
func zbarDecodes(ctx context.Context, zbar, path, want string) bool {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	// QR only, and retry inverted (dark-mode) images: zbar at its best.
	cmd := exec.CommandContext(ctx, zbar, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", "-Stest-inverted", path)
	cmd.Stdout = &out
	_ = cmd.Run() // exit 4 means nothing found
	for _, line := range strings.Split(out.String(), "\n") {
		if line == want {
			return true
		}
	}
	return false
}

func print(s *summary, withZbar bool) {
	names := make([]string, 0, len(s.Conditions))
	for n := range s.Conditions {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Printf("%-12s %6s %8s %8s\n", "condition", "frames", "ours", "zbar")
	line := func(n string, r rate) {
		z := "-"
		if withZbar {
			z = fmt.Sprintf("%5.1f%%", 100*float64(r.Zbar)/float64(r.Frames))
		}
		fmt.Printf("%-12s %6d %7.1f%% %8s\n", n, r.Frames, 100*float64(r.Ours)/float64(r.Frames), z)
	}
	for _, n := range names {
		line(n, *s.Conditions[n])
	}
	line("overall", s.Overall)
	fmt.Printf("\nper-frame decode time (budget %s):\n", s.Budget)
	sizes := make([]string, 0, len(s.Timing))
	for k := range s.Timing {
		sizes = append(sizes, k)
	}
	sort.Strings(sizes)
	for _, k := range sizes {
		t := s.Timing[k]
		fmt.Printf("  %-10s frames %4d  median %6.1f ms  p95 %6.1f ms  max %6.1f ms\n", k, t.Frames, t.MedianMS, t.P95MS, t.MaxMS)
	}
	if !withZbar {
		return
	}
	yes := func(b bool) string {
		if b {
			return "met"
		}
		return "NOT met"
	}
	fmt.Printf("\ngoals: decode rate ≥ zbar's: %s (%d vs %d of %d)", yes(s.Overall.Ours >= s.Overall.Zbar), s.Overall.Ours, s.Overall.Zbar, s.Overall.Frames)
	if t := s.Timing["640x480"]; t != nil {
		fmt.Printf("; 640x480 median ≤ 15 ms: %s; p95 ≤ 40 ms: %s", yes(t.MedianMS <= 15), yes(t.P95MS <= 40))
	}
	fmt.Println()
}
