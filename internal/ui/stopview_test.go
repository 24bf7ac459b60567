package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/stop"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// permitResult is a VALID 经营许可证 of another company than the vehicle's.
func permitResult() *verify.Result {
	return &verify.Result{Verdict: verify.Valid, CheckedAt: checkedAt, Claims: &credential.Claims{Issuer: "440300",
		Credential: credential.Credential{Version: 1, Kind: credential.KindPermit, Number: "粤交运管许可深字440300009999号", ID: "44030012912025009999",
			Holder: "深圳市别家物流有限公司", HolderIDType: credential.HolderIDCreditCode, HolderID: "91440300MA5DOTHER9",
			Authority: "深圳市交通运输局", AuthorityCode: "440300", ValidFrom: date("2025-01-01"), ValidUntil: date("2029-12-31"),
			Permit: &credential.Permit{Scope: "道路普通货物运输"}}}}
}

func TestStopViewMismatch(t *testing.T) {
	fa := test.NewTempApp(t)
	fa.Settings().SetTheme(newTheme(PaletteLight))
	c := newCatalog(t, LangZH)
	st := stop.New("S1", checkedAt)
	for _, r := range []*verify.Result{driverResult(), permitResult(), vehicleResult()} {
		if _, err := st.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	plates := 0
	s := buildStopScreen(c, st, stopActions{OnPlate: func(string) { plates++ }})
	for k, want := range map[credential.Kind]string{
		credential.KindPractitioner: "张伟\n**************1234",
		credential.KindPermit:       "深圳市别家物流有限公司\n粤交运管许可深字440300009999号",
		credential.KindVehicle:      "粤B·D1234\n深圳市顺达危险品运输有限公司",
	} {
		if got := s.slots[k].Text; got != want {
			t.Errorf("slot %v shows %q, want %q", k, got, want)
		}
	}
	var got []string
	for _, l := range s.lines {
		got = append(got, l.Text)
	}
	var want []string
	for _, f := range st.Check() {
		want = append(want, f.Chinese())
	}
	if len(want) != 4 || len(got) != len(want) {
		t.Fatalf("warnings shown %q, want the 4 findings %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("warning %d = %q, want %q", i, got[i], want[i])
		}
	}
	if !s.summary.Visible() || s.summaryText.Text != "发现 4 项不一致，请逐项核查" || s.summaryBg.FillColor != verdictBand(verify.Limited) {
		t.Errorf("summary band %v %q %v", s.summary.Visible(), s.summaryText.Text, s.summaryBg.FillColor)
	}
	s.root.Resize(fyne.NewSize(900, 1000))
	assertMarkup(t, "stop_mismatch.xml", s.root)

	// Typing the observed plate adds the plate finding at once.
	test.Type(s.plate, "粤B99999")
	if st.Plate != "粤B99999" || plates == 0 {
		t.Errorf("plate on stop = %q, callbacks %d", st.Plate, plates)
	}
	if s.summaryText.Text != "发现 5 项不一致，请逐项核查" {
		t.Errorf("summary after the plate: %q", s.summaryText.Text)
	}
	if len(s.lines) != 5 || s.lines[0].Text != (stop.Finding{Warning: stop.PlateMismatch, Have: "粤B·D1234", Want: "粤B99999"}).Chinese() {
		t.Errorf("after typing the plate, warnings = %d, first %q", len(s.lines), s.lines[0].Text)
	}
}

func TestStopViewEmptyAndNew(t *testing.T) {
	test.NewTempApp(t)
	c := newCatalog(t, LangEN)
	st := stop.New("S1", checkedAt)
	started := 0
	s := buildStopScreen(c, st, stopActions{OnNew: func() { started++ }})
	for _, k := range []credential.Kind{credential.KindPractitioner, credential.KindPermit, credential.KindVehicle} {
		if s.slots[k].Text != "Not scanned" {
			t.Errorf("empty slot %v shows %q", k, s.slots[k].Text)
		}
	}
	if len(s.lines) != 1 || s.lines[0].Text != c.T("stop.incomplete") || s.summary.Visible() {
		t.Errorf("empty stop message = %v, summary shown %v", s.lines, s.summary.Visible())
	}
	test.Tap(s.newStop)
	if started != 1 {
		t.Errorf("new stop callbacks = %d", started)
	}
}
