package ui

import (
	"errors"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/stop"
	"github.com/roadcheck/roadcheck/internal/verify"
)

var checkedAt = time.Date(2026, 11, 27, 10, 0, 0, 0, credential.CST())

func date(s string) credential.Date {
	d, err := credential.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// vehicleResult is a VALID 道路运输证 as the verifier returns it.
func vehicleResult() *verify.Result {
	return &verify.Result{Verdict: verify.Valid, CheckedAt: checkedAt, Claims: &credential.Claims{Issuer: "440300", IssuedAt: checkedAt.Add(-24 * time.Hour).Unix(),
		Credential: credential.Credential{Version: 1, Kind: credential.KindVehicle, Number: "粤交运管深字440300000417号", ID: "44030012922025004417",
			Holder: "深圳市顺达危险品运输有限公司", HolderIDType: credential.HolderIDCreditCode, HolderID: "91440300MA5DTEST42",
			Authority: "深圳市交通运输局", AuthorityCode: "440300", ValidFrom: date("2025-01-01"), ValidUntil: date("2028-12-31"),
			Vehicle: &credential.Vehicle{Plate: "粤B·D1234", PlateColour: "黄", Operator: "深圳市顺达危险品运输有限公司",
				OperatorLicence: "粤交运管许可深字440300001234号", VehicleType: "重型罐式货车", Capacity: "18吨", Dimensions: "9980×2500×3600",
				Scope: "道路危险货物运输（2类1项）", ReviewUntil: date("2027-06-30")}}}}
}

// driverResult is a LIMITED 从业资格证 (no status list) whose number is the ID card number.
func driverResult() *verify.Result {
	return &verify.Result{Verdict: verify.Limited, Reasons: []verify.Reason{verify.StatusUnknown}, CheckedAt: checkedAt,
		Claims: &credential.Claims{Issuer: "440600", IssuedAt: checkedAt.Add(-48 * time.Hour).Unix(),
			Credential: credential.Credential{Version: 1, Kind: credential.KindPractitioner, Number: "440304198803151234", ID: "44060019882025000001",
				Holder: "张伟", HolderIDType: credential.HolderIDResident, HolderID: "440304198803151234",
				Authority: "佛山市交通运输局", AuthorityCode: "440600", ValidFrom: date("2024-03-01"), ValidUntil: date("2030-02-28"),
				Practitioner: &credential.Practitioner{Categories: []string{"道路货物运输驾驶员"}, Sex: "男", BirthDate: date("1988-03-15"),
					VehicleClass: "A2", IntegrityGrade: "AAA", IntegrityDate: date("2025-12-31")}}}}
}

// forgedResult is INVALID before the schema step: no claims.
func forgedResult() *verify.Result {
	return &verify.Result{Verdict: verify.Invalid, Reasons: []verify.Reason{verify.BadSignature}, CheckedAt: checkedAt,
		Signer: &verify.SignerInfo{KID: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Known: true}}
}

func TestVerdictScreen(t *testing.T) {
	tests := []struct {
		name        string
		res         *verify.Result
		golden      string
		wantWord    string
		wantReasons []string
		wantFields  bool
		wantMasked  string // holder ID shown before reveal
	}{
		{name: "valid vehicle", res: vehicleResult(), golden: "verdict_valid.xml", wantWord: "有效",
			wantReasons: []string{"所有检查均已通过。"}, wantFields: true, wantMasked: "**************ST42"},
		{name: "limited practitioner", res: driverResult(), golden: "verdict_limited.xml", wantWord: "有限有效",
			wantReasons: []string{verify.StatusUnknown.Chinese()}, wantFields: true, wantMasked: "**************1234"},
		{name: "invalid without claims", res: forgedResult(), golden: "verdict_invalid.xml", wantWord: "无效",
			wantReasons: []string{verify.BadSignature.Chinese()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fa := test.NewTempApp(t)
			fa.Settings().SetTheme(newTheme(PaletteLight))
			c := newCatalog(t, LangZH)
			v := buildVerdictScreen(c, tt.res, nil, verdictActions{})
			if v.word.Text != tt.wantWord {
				t.Errorf("verdict word = %q, want %q", v.word.Text, tt.wantWord)
			}
			if v.band.FillColor != verdictBand(tt.res.Verdict) {
				t.Errorf("band colour = %v, want %v", v.band.FillColor, verdictBand(tt.res.Verdict))
			}
			var got []string
			for _, l := range v.reasons {
				got = append(got, l.Text)
			}
			if len(got) != len(tt.wantReasons) || got[0] != tt.wantReasons[0] {
				t.Errorf("reasons = %q, want %q", got, tt.wantReasons)
			}
			if (len(v.fields) > 0) != tt.wantFields || (v.reveal != nil) != tt.wantFields {
				t.Errorf("licence fields shown = %d, reveal button = %v; want fields %v", len(v.fields), v.reveal != nil, tt.wantFields)
			}
			if tt.wantFields && v.fields["field.holderId"].Text != tt.wantMasked {
				t.Errorf("holder ID shown as %q, want %q", v.fields["field.holderId"].Text, tt.wantMasked)
			}
			v.root.Resize(fyne.NewSize(720, 1100))
			assertMarkup(t, tt.golden, v.root)
		})
	}
}

func TestVerdictRevealAndOutcome(t *testing.T) {
	test.NewTempApp(t)
	c := newCatalog(t, LangZH)
	res := driverResult()
	reveals := 0
	var saved []records.Action
	var notes string
	v := buildVerdictScreen(c, res, nil, verdictActions{
		OnReveal: func() { reveals++ },
		OnAction: func(a records.Action, n string) error {
			saved = append(saved, a)
			notes = n
			return nil
		},
	})
	// The practitioner's number is the ID card number: masked too.
	if got := v.fields["field.number"].Text; got != "**************1234" {
		t.Errorf("number before reveal = %q", got)
	}
	test.Tap(v.reveal)
	if reveals != 1 || v.fields["field.holderId"].Text != "440304198803151234" || v.fields["field.number"].Text != "440304198803151234" || v.reveal.Visible() {
		t.Errorf("after reveal: reveals=%d id=%q number=%q button visible=%v", reveals, v.fields["field.holderId"].Text, v.fields["field.number"].Text, v.reveal.Visible())
	}
	test.Type(v.notes, "驾驶员证件齐全")
	// One tap on the outcome saves it.
	test.Tap(v.actions[records.ActionWarning])
	if len(saved) != 1 || saved[0] != records.ActionWarning || notes != "驾驶员证件齐全" {
		t.Errorf("saved %v with notes %q, want [warning] with the typed notes", saved, notes)
	}
}

func TestVerdictSaveErrorShown(t *testing.T) {
	test.NewTempApp(t)
	c := newCatalog(t, LangZH)
	v := buildVerdictScreen(c, vehicleResult(), nil, verdictActions{OnAction: func(records.Action, string) error { return errOtherNeedsText }})
	test.Tap(v.actions[records.ActionOther])
	if !v.errLabel.Visible() || v.errLabel.Text != c.T("verdict.otherNeedsText") {
		t.Errorf("error label visible=%v text=%q", v.errLabel.Visible(), v.errLabel.Text)
	}
	// A non-user error is not shown verbatim.
	v = buildVerdictScreen(c, vehicleResult(), nil, verdictActions{OnAction: func(records.Action, string) error { return errors.New("bbolt: disk I/O") }})
	test.Tap(v.actions[records.ActionRelease])
	if v.errLabel.Text != c.T("error.generic") {
		t.Errorf("internal error shown as %q", v.errLabel.Text)
	}
}

func TestVerdictEnglish(t *testing.T) {
	test.NewTempApp(t)
	c := newCatalog(t, LangEN)
	v := buildVerdictScreen(c, driverResult(), nil, verdictActions{})
	if v.word.Text != "LIMITED" || v.reasons[0].Text != verify.StatusUnknown.English() {
		t.Errorf("English verdict %q, reason %q", v.word.Text, v.reasons[0].Text)
	}
	if got := v.actions[records.ActionDetain].Text; got != "Detain" {
		t.Errorf("detain button = %q", got)
	}
	if miss := c.missingKeys(); len(miss) > 0 {
		t.Errorf("missing translations: %v", miss)
	}
}

func TestVerdictStopLink(t *testing.T) {
	test.NewTempApp(t)
	c := newCatalog(t, LangZH)
	st := stop.New("S1", checkedAt)
	for _, r := range []*verify.Result{vehicleResult(), driverResult()} {
		if _, err := st.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	opened := 0
	v := buildVerdictScreen(c, driverResult(), st, verdictActions{OnStop: func() { opened++ }})
	// The driver (普通货物) lacks the 危险货物 qualification the vehicle needs.
	if want := c.T("verdict.stopSummary", 2, 1); v.stopLink.Text != want {
		t.Errorf("stop link = %q, want %q", v.stopLink.Text, want)
	}
	test.Tap(v.stopLink)
	if opened != 1 {
		t.Errorf("stop view opened %d times", opened)
	}
}
