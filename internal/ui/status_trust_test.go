package ui

import (
	"testing"

	"github.com/roadcheck/roadcheck/internal/syncclient"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// TestStatusBarTrustIncomplete: a sync that could not receive or apply all
// the trust data the hub lists says so in the status bar, in both
// languages.
func TestStatusBarTrustIncomplete(t *testing.T) {
	for _, tt := range []struct {
		lang Lang
		want string
	}{{LangZH, "信任数据不完整"}, {LangEN, "Trust data incomplete"}} {
		c := newCatalog(t, tt.lang)
		s := newStatusBar(&App{cat: c})
		s.update(c, statusState{SyncWired: true, Enrolled: true, Policy: verify.DefaultPolicy(),
			Sync: syncclient.State{LastError: "syncclient: trust data incomplete: …", LastErrorKind: syncclient.KindTrustIncomplete}})
		if !s.syncErr.Visible() || s.syncErr.Text != tt.want {
			t.Fatalf("%v: sync error %q (shown %v), want %q", tt.lang, s.syncErr.Text, s.syncErr.Visible(), tt.want)
		}
	}
}
