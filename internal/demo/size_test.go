package demo

import (
	"testing"
	"time"
	"unicode/utf8"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/qrcode"
)

// TestTypicalVehicleCodeSize measures the QR version of a typical kind-3
// code with a 60-character scope: the fields of a printed 道路运输证.
func TestTypicalVehicleCodeSize(t *testing.T) {
	w, err := Build(DefaultSeed, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	s := w.Signers["shenzhen"]
	scope := "道路普通货物运输，货物专用运输（集装箱、冷藏保鲜），大型物件运输（一类、二类），道路危险货物运输（第3类易燃液体，8类）"
	if n := utf8.RuneCountInString(scope); n != 60 {
		t.Fatalf("scope has %d characters, want 60", n)
	}
	at := w.At
	b := &builder{w: w, seed: DefaultSeed}
	cr := b.vehicle("44030012922025004417", "粤B5D832", "深圳市鹏程危险品运输有限公司", "粤交运管许可深字440300100235号", shenzhenAuth, "440300",
		day(at, -300), day(at, 1100), day(at, 220))
	// What an inspector needs from a printed 道路运输证: the required
	// fields, plate, plate colour, vehicle type, capacity, scope and the
	// review date. The operator is the holder, so it is not repeated.
	cr.Title, cr.Issued = "", credential.Date{}
	cr.Vehicle.Scope = scope
	cr.Vehicle.Dimensions, cr.Vehicle.Operator, cr.Vehicle.OperatorLicence = "", "", ""
	text, err := s.SignCredential(gm.DeterministicReader([]byte("size")), &credential.Claims{IssuedAt: at.Unix(), Credential: cr})
	if err != nil {
		t.Fatal(err)
	}
	sym, err := qrcode.Encode(text, qrcode.LevelM)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("typical kind-3 code, 60-character scope: %d characters, QR version %d at ECC M", len(text), sym.Version)
	if sym.Version > 17 { // see README: v15 is out of reach for 60 CJK characters
		t.Fatalf("QR version %d", sym.Version)
	}
}
