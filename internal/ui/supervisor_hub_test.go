package ui

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/syncclient"
	"github.com/roadcheck/roadcheck/internal/trust"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// testHub is a real hub (bbolt store, the demo world's trust data
// published) served on loopback.
type testHub struct {
	http  *httptest.Server
	store *hub.BoltStore
	clk   clock.Clock
}

func startTestHub(t *testing.T, clk clock.Clock) *testHub {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hub.db")
	db, err := storage.Open(ctx, path, storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := hub.NewBoltStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := trust.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })
	keys, err := hub.LoadKeys(hub.KeyFilePath(path), true)
	if err != nil {
		t.Fatal(err)
	}
	w := demoWorld(t)
	if _, err := ts.AddAnchors(ctx, w.AnchorsPEM); err != nil {
		t.Fatal(err)
	}
	if _, err := hub.Publish(ctx, store, ts, w.BundlePEM, w.At); err != nil {
		t.Fatal(err)
	}
	srv, err := hub.New(hub.Config{Store: store, Trust: ts, Keys: keys, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	h := &testHub{http: httptest.NewServer(srv), store: store, clk: clk}
	t.Cleanup(h.http.Close)
	return h
}

func (h *testHub) token(t *testing.T, role hub.Role) string {
	t.Helper()
	tok, err := hub.CreateToken(context.Background(), h.store, role, "ui test", 0, h.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// saveThroughDialog taps button, which opens the GUI's save dialog in dir,
// and taps 保存 there (the proposed name kept); it returns the file's path.
func saveThroughDialog(t *testing.T, e *env, button *widget.Button, dir string) string {
	t.Helper()
	e.app.lastDir = dir
	test.Tap(button)
	top := e.app.win.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("no save dialog")
	}
	var name *wedgeEntry
	var save *widget.Button
	for _, o := range test.LaidOutObjects(top) {
		switch x := o.(type) {
		case *wedgeEntry:
			name = x
		case *widget.Button:
			if x.Text == e.app.tr("file.save") {
				save = x
			}
		}
	}
	if name == nil || save == nil {
		t.Fatal("save dialog without name or 保存")
	}
	test.Tap(save)
	return filepath.Join(dir, name.Text)
}

// readCSV reads an exported CSV file (byte-order mark first).
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\uFEFF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestSupervisorFiguresFromHub: with a hub reachable the supervisor
// screen's counters are the hub's counters of every record it holds in
// the range (not the device's, not a page of rows), the screen says
// "中心统计", and the export is the hub's streamed export; with the hub
// gone the screen falls back to every record on the device, counted, says
// "本机记录", and exports them.
func TestSupervisorFiguresFromHub(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	h := startTestHub(t, e.clk)
	if err := syncclient.Enroll(ctx, e.recs, syncclient.EnrollOptions{HubURL: h.http.URL, Token: h.token(t, hub.RoleDevice), Clock: e.clk}); err != nil {
		t.Fatal(err)
	}
	c, err := syncclient.New(ctx, syncclient.Config{Records: e.recs, Trust: e.trust, Clock: e.clk,
		RetryMax: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: 10 * time.Millisecond, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e.app.deps.HubRecords = c
	sup := h.token(t, hub.RoleSupervisor)

	// Three checks by 1001 on two days, delivered to the hub; then one
	// by 9001 that stays on the device.
	record := func(name string, action records.Action, notes string) {
		t.Helper()
		e.app.newStop()
		e.tapSample(t, name)
		if notes != "" {
			e.typeHuman(e.app.check.shown.notes, notes)
		}
		test.Tap(e.app.check.shown.actions[action])
		if e.app.check != nil {
			t.Fatalf("%s: verdict still shown after the outcome", name)
		}
	}
	e.signIn(t, "1001", "1234")
	record("valid-vehicle", records.ActionRelease, "")
	record("valid-permit", records.ActionWarning, "=SUM(A1)")
	e.clk.Advance(24 * time.Hour)
	record("invalid-licence-expired", records.ActionDetain, "")
	for range 10 {
		if rep, err := c.Sync(ctx); err == nil && rep.Push.Remaining == 0 {
			break
		}
	}
	if n, _ := e.recs.PendingCount(ctx); n != 0 {
		t.Fatalf("%d records not delivered", n)
	}
	e.app.signOut()
	e.signIn(t, "9001", "9999")
	record("valid-practitioner", records.ActionRelease, "")

	sv := buildSupervisorScreen(e.app)
	const device = "统计来源：本机记录（本机上全部符合条件的记录）"
	if sv.figures.Text != device || len(sv.current) != 4 || !strings.Contains(sv.perOfficer.Text, "（9001）：共 1") {
		t.Fatalf("device: figures %q, %d rows, per officer %q", sv.figures.Text, len(sv.current), sv.perOfficer.Text)
	}

	// The hub: its counters (three records, two days), whatever the list.
	sv.token.SetText(sup)
	sv.source.SetSelected("中心")
	if sv.figures.Text != "统计来源：中心统计（最近 400 天的全部记录）" || len(sv.current) != 3 {
		t.Fatalf("hub: figures %q, %d rows (message %q)", sv.figures.Text, len(sv.current), sv.message.Text)
	}
	if !strings.Contains(sv.perOfficer.Text, "（1001）：共 3 · 有效 2 · 有限 0 · 无效 1") || strings.Contains(sv.perOfficer.Text, "9001") {
		t.Errorf("hub per officer: %q", sv.perOfficer.Text)
	}
	if lines := strings.Split(sv.perDay.Text, "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "2026-11-27：共 2") || !strings.HasPrefix(lines[1], "2026-11-28：共 1") {
		t.Errorf("hub per day: %q", sv.perDay.Text)
	}
	// A date range and one verdict: the hub counts them; a plate cannot
	// be counted by the hub, and the screen says so.
	sv.from.entry.SetText("2026-11-28")
	sv.to.entry.SetText("2026-11-28")
	sv.verdicts[verify.Valid].SetChecked(false)
	test.Tap(sv.query)
	if sv.figures.Text != "统计来源：中心统计（中心的全部记录）" || sv.perDay.Text != "2026-11-28：共 1 · 有效 0 · 有限 0 · 无效 1" {
		t.Errorf("hub, 11-28, not valid: figures %q, per day %q", sv.figures.Text, sv.perDay.Text)
	}
	sv.from.entry.SetText("")
	sv.to.entry.SetText("")
	sv.verdicts[verify.Valid].SetChecked(true)
	sv.plate.SetText("粤Z00000")
	test.Tap(sv.query)
	if len(sv.current) != 0 || !strings.Contains(sv.figures.Text, "中心统计只按日期和结论筛选") || !strings.Contains(sv.perOfficer.Text, "共 3") {
		t.Errorf("hub, plate: %d rows, figures %q, per officer %q", len(sv.current), sv.figures.Text, sv.perOfficer.Text)
	}
	sv.plate.SetText("")
	test.Tap(sv.query)

	// The export is the hub's, streamed: its columns, its three records,
	// cells defused.
	dir := t.TempDir()
	rows := readCSV(t, saveThroughDialog(t, e, sv.csv, dir))
	if len(rows) != 4 || rows[0][0] != "id" {
		t.Fatalf("hub export: %d rows, header %q (message %q)", len(rows), rows[0], sv.message.Text)
	}
	notes := slices.Index(rows[0], "notes")
	if !slices.ContainsFunc(rows[1:], func(r []string) bool { return r[notes] == "'=SUM(A1)" }) {
		t.Errorf("hub export: the formula note is not defused: %q", rows)
	}
	if !strings.HasPrefix(sv.message.Text, "已从中心导出全部符合条件的记录到 ") {
		t.Errorf("hub export message %q", sv.message.Text)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*.part")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// The hub gone: every device record, counted on the device, said so;
	// the export is the device's.
	h.http.Close()
	test.Tap(sv.query)
	if sv.message.Text != "无法连接中心（离线）：以下为本机记录。" || len(sv.current) != 4 || sv.figures.Text != device ||
		!strings.Contains(sv.perOfficer.Text, "（9001）：共 1") {
		t.Fatalf("hub gone: message %q, %d rows, figures %q, per officer %q", sv.message.Text, len(sv.current), sv.figures.Text, sv.perOfficer.Text)
	}
	rows = readCSV(t, saveThroughDialog(t, e, sv.csv, t.TempDir()))
	if len(rows) != 5 || rows[0][0] != "时间" {
		t.Errorf("device export: %d rows, header %q", len(rows), rows[0])
	}
}
