package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// The GUI's side of the online confirmation: the line on the verdict
// screen, and the verdict shown at once and updated when the hub answers.
// The hub's answers are scripted here (answerFunc); the real hub behind
// the terminal's adapter is tested in internal/ui/terminal and rcctl's in
// internal/cli.

// answerFunc is a verify.StatusChecker answering with a function.
type answerFunc func(ctx context.Context, kid []byte, issuer string, idHash [credential.IDHashSize]byte) (verify.OnlineStatus, error)

func (f answerFunc) CheckStatus(ctx context.Context, kid []byte, issuer string, idHash [credential.IDHashSize]byte) (verify.OnlineStatus, error) {
	return f(ctx, kid, issuer, idHash)
}

// hubNoon is 2026-12-01 10:00 in China.
var hubNoon = time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)

func TestVerdictOnlineLine(t *testing.T) {
	revokedOnline := func() *verify.Result {
		r := vehicleResult()
		r.Verdict, r.Reasons = verify.Invalid, []verify.Reason{verify.LicenceRevoked}
		r.Online = &verify.OnlineCheck{Asked: true, At: hubNoon, Status: verify.OnlineRevoked, Changed: true}
		return r
	}
	withOnline := func(r *verify.Result, o verify.OnlineCheck) *verify.Result {
		r.Online = &o
		return r
	}
	tests := []struct {
		name       string
		lang       Lang
		res        *verify.Result
		wantWord   string
		wantLine   string // "": no online line
		wantImp    widget.Importance
		wantReason string // the first reason's sentence
	}{
		{name: "status normal", lang: LangZH, res: withOnline(vehicleResult(), verify.OnlineCheck{Asked: true, At: hubNoon, Status: verify.OnlineActive}),
			wantWord: "有效", wantLine: "在线核验：状态正常（中心时间 2026-12-01 10:00）", wantImp: widget.SuccessImportance, wantReason: "所有检查均已通过。"},
		{name: "revoked online", lang: LangZH, res: revokedOnline(), wantWord: "无效", wantLine: "在线核验：已吊销（中心记录）",
			wantImp: widget.DangerImportance, wantReason: verify.LicenceRevoked.Chinese() + "（在线核验发现，本机清单尚未收录）"},
		{name: "no answer", lang: LangZH, res: withOnline(driverResult(), verify.OnlineCheck{Asked: true, Err: "online status check: unreachable"}),
			wantWord: "有限有效", wantLine: "在线核验：未能连接中心，按离线结果", wantImp: widget.WarningImportance, wantReason: verify.StatusUnknown.Chinese()},
		{name: "no hub to ask", lang: LangZH, res: withOnline(vehicleResult(), verify.OnlineCheck{}), wantWord: "有效", wantReason: "所有检查均已通过。"},
		{name: "offline", lang: LangZH, res: vehicleResult(), wantWord: "有效", wantReason: "所有检查均已通过。"},
		{name: "english, status normal", lang: LangEN, res: withOnline(vehicleResult(), verify.OnlineCheck{Asked: true, At: hubNoon, Status: verify.OnlineActive}),
			wantWord: "VALID", wantLine: "Online check: status normal (hub time 2026-12-01 10:00)", wantImp: widget.SuccessImportance},
		{name: "english, revoked online", lang: LangEN, res: revokedOnline(), wantWord: "INVALID", wantLine: "Online check: revoked (hub record)",
			wantImp: widget.DangerImportance, wantReason: verify.LicenceRevoked.English() + " (found online; not yet on this terminal's lists)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			test.NewTempApp(t)
			c := newCatalog(t, tt.lang)
			v := buildVerdictScreen(c, tt.res, nil, verdictActions{})
			if v.word.Text != tt.wantWord {
				t.Errorf("word = %q, want %q", v.word.Text, tt.wantWord)
			}
			if tt.wantReason != "" && v.reasons[0].Text != tt.wantReason {
				t.Errorf("first reason = %q, want %q", v.reasons[0].Text, tt.wantReason)
			}
			line := onlineLine(v.root)
			switch {
			case tt.wantLine == "" && line != nil:
				t.Fatalf("online line %q shown", line.Text)
			case tt.wantLine == "":
			case line == nil:
				t.Fatalf("no online line, want %q", tt.wantLine)
			case line.Text != tt.wantLine || line.Importance != tt.wantImp:
				t.Fatalf("online line %q (importance %v), want %q (%v)", line.Text, line.Importance, tt.wantLine, tt.wantImp)
			}
			if missing := c.missingKeys(); len(missing) > 0 {
				t.Fatalf("missing translations: %v", missing)
			}
		})
	}
}

// onlineLine finds the visible label of the online check under o.
func onlineLine(o fyne.CanvasObject) *widget.Label {
	for _, x := range test.LaidOutObjects(o) {
		if l, ok := x.(*widget.Label); ok && l.Visible() && (strings.HasPrefix(l.Text, "在线核验：") || strings.HasPrefix(l.Text, "Online check: ")) {
			return l
		}
	}
	return nil
}

// screenSeen is what the verdict screen showed while the hub was asked.
type screenSeen struct {
	word, line   string
	saveDisabled bool
	asked        int
}

// TestOnlineUpdatesVerdict: the offline verdict is on screen before the hub
// is asked (with "asking the hub", 保存 waiting), and the hub's finding
// turns it INVALID in place: the action picked stays, the record carries
// the online check, the roadside stop sees the new verdict.
func TestOnlineUpdatesVerdict(t *testing.T) {
	var e *env
	var seen screenSeen
	e = newEnv(t, func(d *Deps) {
		d.Online = answerFunc(func(ctx context.Context, kid []byte, issuer string, idHash [credential.IDHashSize]byte) (verify.OnlineStatus, error) {
			seen.asked++
			v := e.app.check.shown
			seen.word, seen.line = v.word.Text, v.online.Text
			test.Tap(v.actions[records.ActionDetain]) // the officer is quick: not saved yet
			seen.saveDisabled = v.actions[records.ActionDetain].Disabled() && e.app.check.recordID.IsZero()
			if _, ok := ctx.Deadline(); !ok {
				t.Error("the hub is asked without a deadline")
			}
			return verify.OnlineStatus{Status: verify.OnlineRevoked, HubTime: hubNoon, ListSequence: 1 << 40}, nil
		})
	})
	e.signIn(t, "1001", "1234")
	e.tapSample(t, "valid-vehicle")
	if seen.asked != 1 || seen.word != "有效" || seen.line != "在线核验：正在查询中心…" || !seen.saveDisabled {
		t.Fatalf("while asking the hub the screen showed %+v; want the offline 有效, the pending line and the outcomes disabled", seen)
	}
	v := e.app.check.shown
	if v.word.Text != "无效" || v.band.FillColor != verdictBand(verify.Invalid) {
		t.Fatalf("after the hub's answer: %q", v.word.Text)
	}
	if len(v.reasons) != 1 || v.reasons[0].Text != verify.LicenceRevoked.Chinese()+"（在线核验发现，本机清单尚未收录）" {
		t.Fatalf("reasons after the answer: %q", v.reasons[0].Text)
	}
	if line := onlineLine(e.app.verdictBox); line == nil || line.Text != "在线核验：已吊销（中心记录）" {
		t.Fatalf("online line after the answer: %v", line)
	}
	if slot := e.app.stop.Slot(credential.KindVehicle); slot == nil || slot.Verdict != verify.Invalid {
		t.Fatalf("the stop still holds %v", slot)
	}
	if v.actions[records.ActionDetain].Disabled() {
		t.Fatal("after the answer: the outcomes are still disabled")
	}
	test.Tap(v.actions[records.ActionDetain])
	list, err := e.recs.List(context.Background(), records.ListOptions{})
	if err != nil || len(list) != 1 {
		t.Fatalf("records: %d, %v", len(list), err)
	}
	r := list[0].Record
	want := records.Online{At: hubNoon, Status: verify.OnlineRevoked, ListSequence: 1 << 40, Changed: true}
	if r.Verdict != verify.Invalid || !slices.Equal(r.Reasons, []verify.Reason{verify.LicenceRevoked}) || r.Online == nil || !r.Online.At.Equal(want.At) ||
		r.Online.Status != want.Status || r.Online.ListSequence != want.ListSequence || !r.Online.Changed || r.Action != records.ActionDetain {
		t.Fatalf("record: %s %v %+v %v", r.Verdict, r.Reasons, r.Online, r.Action)
	}
}

// TestOnlineNoAnswer: without an answer the offline verdict stands, says
// so, and an outcome saves; the record says the hub was asked in vain.
func TestOnlineNoAnswer(t *testing.T) {
	e := newEnv(t, func(d *Deps) {
		d.Online = answerFunc(func(ctx context.Context, _ []byte, _ string, _ [credential.IDHashSize]byte) (verify.OnlineStatus, error) {
			<-ctx.Done() // a hub slower than the budget
			return verify.OnlineStatus{}, ctx.Err()
		})
	})
	e.signIn(t, "1001", "1234")
	e.tapSample(t, "limited-review-overdue")
	v := e.app.check.shown
	if line := onlineLine(e.app.verdictBox); v.word.Text != "有限有效" || line == nil || line.Text != "在线核验：未能连接中心，按离线结果" {
		t.Fatalf("no answer: %q %v", v.word.Text, line)
	}
	test.Tap(v.actions[records.ActionWarning])
	list, err := e.recs.List(context.Background(), records.ListOptions{})
	if err != nil || len(list) != 1 {
		t.Fatalf("records: %d, %v", len(list), err)
	}
	if o := list[0].Record.Online; o == nil || o.Status != "" || o.Err != "timeout: no answer within 800ms" {
		t.Fatalf("record's online check: %+v", o)
	}
}

// TestOnlineNotAsked: codes that did not reach the status step, and a
// terminal without a hub, show no online line; an answer for a check the
// officer left is dropped.
func TestOnlineNotAsked(t *testing.T) {
	asked := 0
	noHub := fmt.Errorf("terminal: %w", verify.ErrNoHub)
	e := newEnv(t, func(d *Deps) {
		d.Online = answerFunc(func(context.Context, []byte, string, [credential.IDHashSize]byte) (verify.OnlineStatus, error) {
			asked++
			return verify.OnlineStatus{}, noHub
		})
	})
	e.signIn(t, "1001", "1234")
	e.tapSample(t, "invalid-unknown-signer")
	if asked != 0 || onlineLine(e.app.verdictBox) != nil {
		t.Fatalf("a code that failed step 3 was confirmed online (%d) or shows a line", asked)
	}
	e.tapSample(t, "valid-permit")
	if asked != 1 || onlineLine(e.app.verdictBox) != nil || e.app.check.shown.pending {
		t.Fatalf("no hub: asked %d, line %v", asked, onlineLine(e.app.verdictBox))
	}

	// A checker that knows it has no hub is not even asked.
	e3 := newEnv(t, func(d *Deps) { d.Online = noHubChecker{&asked} })
	e3.signIn(t, "1001", "1234")
	e3.tapSample(t, "valid-permit")
	if asked != 1 || onlineLine(e3.app.verdictBox) != nil || e3.app.check.shown.pending {
		t.Fatalf("without a hub: asked %d more, line %v", asked-1, onlineLine(e3.app.verdictBox))
	}

	// The officer moves on while the hub is asked.
	var left *checkState
	e2 := (*env)(nil)
	e2 = newEnv(t, func(d *Deps) {
		d.Online = answerFunc(func(context.Context, []byte, string, [credential.IDHashSize]byte) (verify.OnlineStatus, error) {
			left = e2.app.check
			e2.app.next()
			return verify.OnlineStatus{Status: verify.OnlineRevoked, HubTime: hubNoon}, nil
		})
	})
	e2.signIn(t, "1001", "1234")
	e2.tapSample(t, "valid-vehicle")
	if e2.app.check != nil || left == nil || left.res.Verdict != verify.Valid || left.res.Online != nil {
		t.Fatalf("an answer for a check left behind was applied: %+v", left)
	}
}

// noHubChecker says it has no hub (as terminal.SyncService before
// enrolment) and counts the questions it gets anyway.
type noHubChecker struct{ asked *int }

func (n noHubChecker) HasHub() bool { return false }

func (n noHubChecker) CheckStatus(context.Context, []byte, string, [credential.IDHashSize]byte) (verify.OnlineStatus, error) {
	*n.asked++
	return verify.OnlineStatus{}, verify.ErrNoHub
}
