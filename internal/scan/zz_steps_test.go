package scan

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

type zzEntry struct {
	File, Condition, Size, Text string
}

func TestZZSteps(t *testing.T) {
	dir := os.Getenv("ZZ_CORPUS")
	if dir == "" {
		return
	}
	b, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	var man []zzEntry
	json.Unmarshal(b, &man)
	filter := os.Getenv("ZZ_FILTER")
	type item struct {
		e   zzEntry
		img image.Image
	}
	var items []item
	for _, e := range man {
		if filter != "" && !strings.Contains(e.File, filter) {
			continue
		}
		img, err := LoadFile(context.Background(), filepath.Join(dir, e.File))
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, item{e, img})
	}
	names := map[string]bool{}
	for _, st := range plan(640, 480) {
		names[st.name] = true
	}
	for _, st := range plan(1920, 1080) {
		names[st.name] = true
	}
	var keys []string
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	defer func() { planHook = nil }()
	for _, name := range keys {
		planHook = func(steps []step) []step {
			for _, s := range steps {
				if s.name == name {
					return []step{s}
				}
			}
			return nil
		}
		ok := 0
		var total time.Duration
		byCond := map[string]int{}
		for _, it := range items {
			start := time.Now()
			res, err := NewDecoder(Options{Budget: -1}).Decode(context.Background(), it.img)
			total += time.Since(start)
			if err == nil && res.Text == it.e.Text {
				ok++
				byCond[it.e.Condition]++
			}
		}
		fmt.Printf("%-20s %3d/%d  mean %5.1f ms  %v\n", name, ok, len(items), float64(total.Microseconds())/1000/float64(len(items)), byCond)
	}
}

func TestZZPlan(t *testing.T) {
	dir := os.Getenv("ZZ_CORPUS")
	if dir == "" {
		return
	}
	b, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	var man []zzEntry
	json.Unmarshal(b, &man)
	filter := os.Getenv("ZZ_FILTER")
	at := map[string]int{}
	fails := map[string]int{}
	n := 0
	var total time.Duration
	for _, e := range man {
		if filter != "" && !strings.Contains(e.File, filter) {
			continue
		}
		img, err := LoadFile(context.Background(), filepath.Join(dir, e.File))
		if err != nil {
			t.Fatal(err)
		}
		n++
		start := time.Now()
		res, err := NewDecoder(Options{Budget: -1}).Decode(context.Background(), img)
		total += time.Since(start)
		if err == nil && res.Text == e.Text {
			at[res.Attempt]++
		} else {
			fails[e.Condition]++
			fmt.Println("FAIL", e.File)
		}
	}
	fmt.Printf("mean %.1f ms; success by attempt %v; failures %v\n", float64(total.Microseconds())/1000/float64(n), at, fails)
}
