package ui

import (
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/roadcheck/roadcheck/internal/records"
)

// queue makes e's App run its background work when the test says (run),
// in the order the test chooses, as goroutines would on a busy machine.
type queue struct{ jobs []func() }

func (q *queue) add(f func()) { q.jobs = append(q.jobs, f) }

// run runs job i (and removes it).
func (q *queue) run(i int) {
	f := q.jobs[i]
	q.jobs = append(q.jobs[:i], q.jobs[i+1:]...)
	f()
}

func (q *queue) drain() {
	for len(q.jobs) > 0 {
		q.run(0)
	}
}

// TestSameCodeTwiceInFlight: a scanner that sends the same code twice
// before the first verification is on screen (a double trigger) makes one
// check: one record when it is left, not a 未处置 for the first copy too.
func TestSameCodeTwiceInFlight(t *testing.T) {
	e := newEnv(t)
	e.signIn(t, "1001", "1234")
	q := &queue{}
	e.app.async = q.add
	code := sample(t, "valid-vehicle").Text
	e.app.submit(code)
	e.app.submit(code)
	q.drain()
	test.Tap(e.app.check.shown.next)
	q.drain()
	if es := e.records(t); len(es) != 1 {
		t.Fatalf("%d records of one scan, want 1", len(es))
	}
}

// TestStopOutcomeWhileLeaving: a check left by a new scan (its 未处置
// being written) and the stop's one outcome tapped before that write ends
// make one check each: the outcome corrects the 未处置 record.
func TestStopOutcomeWhileLeaving(t *testing.T) {
	e := newEnv(t)
	e.signIn(t, "1001", "1234")
	e.tapSample(t, "valid-vehicle")
	q := &queue{}
	e.app.async = q.add
	e.app.submitFrom(sample(t, "valid-practitioner").Text, sourceSample)
	q.run(0) // verified: the vehicle is left, its 未处置 queued
	if _, err := e.app.stopOutcome(records.ActionRelease, ""); err != nil {
		t.Fatal(err)
	}
	q.drain()
	rows := []Row{}
	for _, en := range e.records(t) {
		rows = append(rows, rowFromEntry(en))
	}
	if got := latestRows(rows); len(got) != 2 {
		t.Fatalf("%d checks counted (of %d records), want 2", len(got), len(rows))
	}
}
