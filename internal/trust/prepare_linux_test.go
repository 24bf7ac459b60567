package trust

import (
	"context"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// TestListsPreparedAhead imports the same world — its full set, then each
// day's deltas, one day with a list whose bytes do not match their digest
// and one whose signature was tampered with — into two stores: one with
// the objects' sizes announced (a small import: lists prepared ahead by
// workers) and one without (one list at a time). Both must report the
// same outcome for every object and end with the same holdings.
func TestListsPreparedAhead(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	ctx := context.Background()
	w := crashWorld(t)
	anchors, err := os.ReadFile(w.AnchorsPath())
	if err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		Label   string
		Outcome Outcome
		Err     string
	}
	run := func(sized bool) ([][]outcome, Holdings) {
		st, err := Open(ctx, t.TempDir(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.AddAnchors(ctx, anchors); err != nil {
			t.Fatal(err)
		}
		var days [][]outcome
		for day := 0; day <= len(w.Deltas()); day++ {
			objs := worldObjects(w, day)
			lists := 0
			for i := range objs {
				if objs[i].Type != BlockStatusList {
					continue
				}
				b, err := objs[i].Load()
				if err != nil {
					t.Fatal(err)
				}
				if sized {
					objs[i].Size = int64(len(b))
				}
				lists++
				switch {
				case day == 1 && lists == 3: // announced digest of other bytes
					objs[i].Digest[0] ^= 1
				case day == 2 && lists == 5: // signature tampered, digest of the tampered bytes
					bad := append([]byte(nil), b...)
					bad[len(bad)-5] ^= 0x40
					objs[i].Digest = HashOf(bad)
					objs[i].Load = func() ([]byte, error) { return bad, nil }
				}
			}
			if lists < 2 {
				t.Fatalf("day %d has %d lists: the world is too small for this test", day, lists)
			}
			rep, err := st.ImportObjects(ctx, objs)
			if err != nil {
				t.Fatal(err)
			}
			var out []outcome
			for _, b := range rep.Blocks {
				o := outcome{Label: b.Label, Outcome: b.Outcome}
				if b.Err != nil {
					o.Err = b.Err.Error()
				}
				out = append(out, o)
			}
			days = append(days, out)
		}
		return days, st.Holdings()
	}
	before := preparedAhead.Load()
	seqDays, seqHold := run(false)
	if n := preparedAhead.Load() - before; n != 0 {
		t.Fatalf("%d lists prepared ahead without announced sizes", n)
	}
	parDays, parHold := run(true)
	if n := preparedAhead.Load() - before; n == 0 {
		t.Fatal("no list was prepared ahead in the small import")
	}
	for d := range seqDays {
		if !reflect.DeepEqual(seqDays[d], parDays[d]) {
			t.Errorf("day %d: reports differ\n one at a time: %v\n prepared ahead: %v", d, seqDays[d], parDays[d])
		}
	}
	if !reflect.DeepEqual(seqHold, parHold) {
		t.Errorf("holdings differ: %d lists one at a time, %d prepared ahead", len(seqHold.Lists), len(parHold.Lists))
	}
	// The tampered objects were refused (and the later deltas of their
	// lists, whose base is missing), the rest applied.
	var digest, sig, base, stored int
	for _, day := range parDays[1:] {
		for _, o := range day {
			switch {
			case o.Outcome == Stored:
				stored++
			case o.Outcome != Skipped:
			case strings.Contains(o.Err, ErrDigest.Error()):
				digest++
			case strings.Contains(o.Err, ErrBadSignature.Error()):
				sig++
			case strings.Contains(o.Err, ErrDeltaBase.Error()):
				base++
			default:
				t.Errorf("unexpected refusal: %+v", o)
			}
		}
	}
	if digest != 1 || sig != 1 || stored == 0 {
		t.Fatalf("refused %d for their digest, %d for their signature, %d for a missing base; %d stored", digest, sig, base, stored)
	}
}
