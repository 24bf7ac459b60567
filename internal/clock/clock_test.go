package clock

import (
	"testing"
	"time"
)

func TestOr(t *testing.T) {
	pinned := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	f := NewFake(pinned)
	tests := []struct {
		name string
		c    Clock
		t    time.Time
		want time.Time
	}{
		{name: "explicit time wins", c: f, t: pinned.Add(time.Hour), want: pinned.Add(time.Hour)},
		{name: "zero time asks clock", c: f, want: pinned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Or(tt.c, tt.t); !got.Equal(tt.want) {
				t.Fatalf("Or = %v, want %v", got, tt.want)
			}
		})
	}
	if got := Or(nil, time.Time{}); got.IsZero() {
		t.Fatal("Or(nil, zero) returned zero time")
	}
}

func TestFakeAdvanceAndSet(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(start)
	f.Advance(90 * time.Second)
	if got := f.Now(); !got.Equal(start.Add(90 * time.Second)) {
		t.Fatalf("after Advance: %v", got)
	}
	f.Set(start.Add(-time.Hour))
	if got := f.Now(); !got.Equal(start.Add(-time.Hour)) {
		t.Fatalf("after Set backwards: %v", got)
	}
}
