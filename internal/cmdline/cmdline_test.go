package cmdline

import (
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"", "abc", 3},
		{"serve", "serve", 0},
		{"serv", "serve", 1},
		{"lsit", "list", 2},
		{"retension", "retention", 1},
		{"核验", "核验x", 1},
		{"kitten", "sitting", 3},
	}
	for _, tt := range tests {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestNearest(t *testing.T) {
	known := []string{"verify", "sync", "record", "record add", "record list", "trust", "trust anchor", "trust anchor add", "token", "token list"}
	tests := []struct {
		typed  string
		want   string
		wantOK bool
	}{
		{"verfy", "verify", true},
		{"record lst", "record list", true},
		{"recrod list", "record list", true},
		{"tokn list", "token list", true},
		{"trust anchr add", "trust anchor add", true},
		{"snyc --hub x", "sync", true},
		{"recor", "record", true},
		{"frobnicate", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := Nearest(strings.Fields(tt.typed), known)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Nearest(%q) = %q, %v; want %q, %v", tt.typed, got, ok, tt.want, tt.wantOK)
		}
	}
	if s := DidYouMean("rcctl", []string{"verfy"}, known); s != `: did you mean "rcctl verify"?` {
		t.Errorf("DidYouMean = %q", s)
	}
	if s := DidYouMean("rcctl", []string{"frobnicate"}, known); s != "" {
		t.Errorf("DidYouMean of nothing near = %q", s)
	}
}

func TestIsHelpFlag(t *testing.T) {
	for arg, want := range map[string]bool{"-h": true, "-help": true, "--help": true, "help": false, "--hub": false, "": false} {
		if IsHelpFlag(arg) != want {
			t.Errorf("IsHelpFlag(%q) = %v", arg, !want)
		}
	}
}
