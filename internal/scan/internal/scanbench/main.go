// Command scanbench measures the scan decoder against zbar on a corpus
// written by corpusgen: decode rate per family and overall for both, the
// classic and the hard families (scene.Hard) apart, and the decoder's
// median and p95 time per frame for each frame size. It prints a table and
// the goals met or not and, with -json, writes the full summary.
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
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/scan"
	"github.com/roadcheck/roadcheck/internal/scan/internal/scene"
)

type entry struct {
	File      string `json:"file"`
	Condition string `json:"condition"`
	Group     string `json:"group"`
	Size      string `json:"size"`
	Text      string `json:"text"`
	Params    string `json:"params"`
}

type outcome struct {
	File      string  `json:"file"`
	Condition string  `json:"condition"`
	Group     string  `json:"group"`
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
	Budget     string           `json:"budget"`
	Conditions map[string]*rate `json:"conditions"`
	// Groups holds the overall rate of the classic and the hard families.
	Groups  map[string]*rate `json:"groups"`
	Overall rate             `json:"overall"`
	// Timing is per frame size, all frames; HardTiming the hard families'.
	Timing     map[string]*timing `json:"timing"`
	HardTiming map[string]*timing `json:"hard_timing"`
	Frames     []outcome          `json:"frames"`
}

func main() {
	dir := flag.String("dir", "", "corpus `dir` with manifest.json")
	zbar := flag.String("zbar", "", "zbarimg `binary` to compare with (empty: skip)")
	jsonOut := flag.String("json", "", "write the summary to this `file`")
	budget := flag.Duration("budget", scan.DefaultBudget, "per-frame time budget")
	verbose := flag.Bool("v", false, "print every frame")
	naive := flag.Bool("naive", false, "measure plain gozxing (QRCodeReader on a HybridBinarizer) instead of the pipeline")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the decoding to this `file`")
	only := flag.String("only", "", "decode only the frames of these comma-separated families")
	cpuTime := flag.Bool("cputime", false, "budget and time each frame by the CPU time of its decoding thread, not the wall clock (for loaded machines)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "scanbench: -dir is required")
		os.Exit(2)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "scanbench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	s, err := run(*dir, *zbar, *budget, *verbose, *naive, *only, *cpuTime)
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

func run(dir, zbar string, budget time.Duration, verbose, naive bool, only string, cpuTime bool) (*summary, error) {
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
	if cpuTime {
		// The budget is the context's (CPU time); the decoder's own wall
		// clock budget is off.
		dec = scan.NewDecoder(scan.Options{Budget: -1, Clock: cpuClock{}})
	}
	label := budget.String()
	if cpuTime {
		label += " of CPU time"
	}
	s := &summary{Budget: label, Conditions: map[string]*rate{}, Groups: map[string]*rate{},
		Timing: map[string]*timing{}, HardTiming: map[string]*timing{}}
	times := map[string][]float64{}
	hardTimes := map[string][]float64{}
	for _, e := range man {
		if e.Group == "" {
			e.Group = "classic"
		}
		if only != "" && !slices.Contains(strings.Split(only, ","), e.Condition) {
			continue
		}
		path := filepath.Join(dir, e.File)
		img, err := scan.LoadFile(ctx, path)
		if err != nil {
			return nil, err
		}
		var res scan.Result
		var derr error
		if naive {
			res, derr = naiveDecode(img)
		} else if cpuTime {
			onLockedThread(func() {
				res, derr = dec.Decode(&cpuBudget{Context: ctx, start: threadCPU(), budget: budget}, img)
			})
		} else {
			res, derr = dec.Decode(ctx, img)
		}
		o := outcome{File: e.File, Condition: e.Condition, Group: e.Group, Size: e.Size, Params: e.Params,
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
		g := s.Groups[e.Group]
		if g == nil {
			g = &rate{}
			s.Groups[e.Group] = g
		}
		for _, r := range []*rate{r, g, &s.Overall} {
			r.Frames++
			if o.OK {
				r.Ours++
			}
			if o.Zbar != nil && *o.Zbar {
				r.Zbar++
			}
		}
		times[e.Size] = append(times[e.Size], o.MS)
		if e.Group == "hard" {
			hardTimes[e.Size] = append(hardTimes[e.Size], o.MS)
		}
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
		s.Timing[size] = timingOf(ts)
	}
	for size, ts := range hardTimes {
		s.HardTiming[size] = timingOf(ts)
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

func timingOf(ts []float64) *timing {
	slices.Sort(ts)
	return &timing{Frames: len(ts), MedianMS: pct(ts, 0.5), P95MS: pct(ts, 0.95), MaxMS: ts[len(ts)-1]}
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
	pctOf := func(n, d int) string { return fmt.Sprintf("%5.1f%%", 100*float64(n)/float64(max(d, 1))) }
	line := func(n string, r rate) {
		z := "-"
		if withZbar {
			z = pctOf(r.Zbar, r.Frames)
		}
		fmt.Printf("  %-12s %6d %8s %8s\n", n, r.Frames, pctOf(r.Ours, r.Frames), z)
	}
	worse := []string{}
	for _, grp := range []struct {
		name, title string
		conds       []scene.Condition
	}{
		{"classic", "classic families", scene.Conditions},
		{"hard", "hard families (physically modelled, readable in principle)", scene.Hard},
	} {
		g := s.Groups[grp.name]
		if g == nil {
			continue
		}
		fmt.Printf("%s:\n  %-12s %6s %8s %8s\n", grp.title, "family", "frames", "ours", "zbar")
		for _, c := range grp.conds {
			if r := s.Conditions[string(c)]; r != nil {
				line(string(c), *r)
				if grp.name == "hard" && r.Ours < r.Zbar {
					worse = append(worse, string(c))
				}
			}
		}
		line("overall", *g)
		fmt.Println()
	}
	if len(s.Groups) > 1 {
		line("all frames", s.Overall)
		fmt.Println()
	}
	timings := func(title string, tm map[string]*timing) {
		if len(tm) == 0 {
			return
		}
		fmt.Printf("%s (budget %s):\n", title, s.Budget)
		sizes := make([]string, 0, len(tm))
		for k := range tm {
			sizes = append(sizes, k)
		}
		sort.Strings(sizes)
		for _, k := range sizes {
			t := tm[k]
			fmt.Printf("  %-10s frames %4d  median %6.1f ms  p95 %6.1f ms  max %6.1f ms\n", k, t.Frames, t.MedianMS, t.P95MS, t.MaxMS)
		}
	}
	timings("per-frame decode time, all frames", s.Timing)
	timings("per-frame decode time, hard families", s.HardTiming)
	if !withZbar {
		return
	}
	yes := func(b bool) string {
		if b {
			return "met"
		}
		return "NOT met"
	}
	fmt.Println("\ngoals:")
	if g := s.Groups["classic"]; g != nil {
		fmt.Printf("  classic families ≥ 99 %%: %s (%d of %d)\n", yes(100*g.Ours >= 99*g.Frames), g.Ours, g.Frames)
	}
	if g := s.Groups["hard"]; g != nil {
		fmt.Printf("  hard families ≥ 90 %%: %s (%d of %d; zbar %d)\n", yes(10*g.Ours >= 9*g.Frames), g.Ours, g.Frames, g.Zbar)
		fmt.Printf("  no hard family below zbar: %s%s\n", yes(len(worse) == 0), strings.TrimSuffix(" ("+strings.Join(worse, ", ")+")", " ()"))
	}
	if t := s.Timing["640x480"]; t != nil {
		fmt.Printf("  640x480 median ≤ 15 ms: %s; p95 ≤ 40 ms: %s\n", yes(t.MedianMS <= 15), yes(t.P95MS <= 40))
	}
}
