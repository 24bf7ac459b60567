package stop

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/verify"
)

var t0 = time.Date(2026, 11, 27, 9, 30, 0, 0, credential.CST())

func result(v verify.Verdict, c credential.Credential) *verify.Result {
	return &verify.Result{Verdict: v, Claims: &credential.Claims{Issuer: c.AuthorityCode, Credential: c}, CheckedAt: t0}
}

func driver(cats ...string) *verify.Result {
	return result(verify.Valid, credential.Credential{Kind: credential.KindPractitioner, Number: "440300199001011234", Holder: "张三",
		Practitioner: &credential.Practitioner{Categories: cats}})
}

func permit(holder, number, scope string) *verify.Result {
	return result(verify.Valid, credential.Credential{Kind: credential.KindPermit, Number: number, Holder: holder,
		Permit: &credential.Permit{Scope: scope}})
}

func vehicle(plate, operator, licence, scope string) *verify.Result {
	return result(verify.Valid, credential.Credential{Kind: credential.KindVehicle, Number: "粤交运管深字440300000001号", Holder: "深圳市顺达运输有限公司",
		Vehicle: &credential.Vehicle{Plate: plate, Operator: operator, OperatorLicence: licence, Scope: scope}})
}

const (
	company = "深圳市顺达运输有限公司"
	permNo  = "粤交运管许可深字440300001234号"
)

func TestAdd(t *testing.T) {
	tests := []struct {
		name     string
		res      *verify.Result
		wantKind credential.Kind
		wantErr  error
	}{
		{name: "vehicle", res: vehicle("粤B12345", company, permNo, "道路普通货物运输"), wantKind: credential.KindVehicle},
		{name: "driver", res: driver("道路货物运输驾驶员"), wantKind: credential.KindPractitioner},
		{name: "nil result", res: nil, wantErr: ErrNoLicence},
		{name: "no claims (invalid before schema)", res: &verify.Result{Verdict: verify.Invalid, Reasons: []verify.Reason{verify.BadSignature}}, wantErr: ErrNoLicence},
		{name: "unknown kind", res: result(verify.Valid, credential.Credential{Kind: 7}), wantErr: ErrUnknownKind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New("stop-1", t0)
			k, err := s.Add(tt.res)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Add error = %v, want %v", err, tt.wantErr)
			}
			if k != tt.wantKind {
				t.Errorf("Add kind = %v, want %v", k, tt.wantKind)
			}
			if tt.wantErr != nil {
				if s.Scans() != 0 {
					t.Errorf("Scans = %d after a refused Add, want 0", s.Scans())
				}
				return
			}
			if s.Slot(k) != tt.res {
				t.Errorf("Slot(%v) is not the added result", k)
			}
		})
	}
}

func TestAddReplacesSlot(t *testing.T) {
	s := New("stop-1", t0)
	first, second := driver("道路旅客运输驾驶员"), driver("道路货物运输驾驶员")
	for _, r := range []*verify.Result{first, second} {
		if _, err := s.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if s.Slot(credential.KindPractitioner) != second || s.Scans() != 2 || s.Complete() {
		t.Errorf("slot=%p (want %p) scans=%d complete=%v", s.Slot(credential.KindPractitioner), second, s.Scans(), s.Complete())
	}
}

func TestCheck(t *testing.T) {
	invalidPermit := permit(company, permNo, "道路普通货物运输")
	invalidPermit.Verdict = verify.Invalid
	tests := []struct {
		name  string
		plate string
		add   []*verify.Result
		want  []Finding
	}{
		{name: "all agree, ordinary freight",
			add: []*verify.Result{driver("道路货物运输驾驶员"), permit(company, permNo, "道路普通货物运输"), vehicle("粤B12345", company, permNo, "道路普通货物运输")}},
		{name: "full-width and spaces still agree", plate: "粤B·12345",
			add: []*verify.Result{permit("深圳市 顺达运输有限公司", "粤交运管许可深字４４０３００００１２３４号", "道路普通货物运输"), vehicle("粤B12345", company, permNo, "普通货物")}},
		{name: "empty stop", add: nil},
		{name: "vehicle only: nothing to compare", add: []*verify.Result{vehicle("粤B12345", company, permNo, "道路危险货物运输")}},
		{name: "plate differs from observed", plate: "粤B54321",
			add:  []*verify.Result{vehicle("粤B12345", company, permNo, "")},
			want: []Finding{{Warning: PlateMismatch, Have: "粤B12345", Want: "粤B54321"}}},
		{name: "operator and permit number differ",
			add: []*verify.Result{permit("深圳市别家物流有限公司", "粤交运管许可深字440300009999号", "道路普通货物运输"), vehicle("粤B12345", company, permNo, "道路普通货物运输")},
			want: []Finding{
				{Warning: OperatorMismatch, Have: company, Want: "深圳市别家物流有限公司"},
				{Warning: PermitNumberMismatch, Have: permNo, Want: "粤交运管许可深字440300009999号"},
			}},
		{name: "vehicle without operator field uses holder",
			add: []*verify.Result{permit(company, permNo, "道路普通货物运输"), vehicle("粤B12345", "", "", "道路普通货物运输")}},
		{name: "dangerous goods scope needs dangerous goods driver",
			add:  []*verify.Result{driver("道路货物运输驾驶员"), vehicle("粤B12345", company, permNo, "道路危险货物运输（2类1项）")},
			want: []Finding{{Warning: DriverNotQualified, Have: "道路货物运输驾驶员", Want: "道路危险货物运输驾驶员"}}},
		{name: "dangerous goods driver also covers ordinary freight",
			add: []*verify.Result{driver("道路危险货物运输驾驶员"), vehicle("粤B12345", company, permNo, "道路普通货物运输；道路危险货物运输")}},
		{name: "passenger scope needs passenger driver",
			add:  []*verify.Result{driver("道路货物运输驾驶员", "道路危险货物运输驾驶员"), vehicle("粤B12345", company, permNo, "省际班车客运（旅客）")},
			want: []Finding{{Warning: DriverNotQualified, Have: "道路货物运输驾驶员、道路危险货物运输驾驶员", Want: "道路旅客运输驾驶员"}}},
		{name: "coach scope without the word 旅客 still needs a passenger driver",
			add:  []*verify.Result{driver("道路危险货物运输驾驶员"), vehicle("粤A0K127", company, permNo, "省际班车客运")},
			want: []Finding{{Warning: DriverNotQualified, Have: "道路危险货物运输驾驶员", Want: "道路旅客运输驾驶员"}}},
		{name: "JT/T long category name is accepted",
			add: []*verify.Result{driver("经营性道路旅客运输驾驶员"), vehicle("粤B12345", company, permNo, "旅客运输")}},
		{name: "permit scope lacks the vehicle's class",
			add:  []*verify.Result{permit(company, permNo, "道路普通货物运输"), vehicle("粤B12345", company, permNo, "道路危险货物运输")},
			want: []Finding{{Warning: ScopeNotPermitted, Have: "道路普通货物运输", Want: "危险货物"}}},
		{name: "invalid licence is reported first",
			add:  []*verify.Result{invalidPermit, vehicle("粤B12345", company, permNo, "道路普通货物运输")},
			want: []Finding{{Warning: InvalidLicence, Kind: credential.KindPermit}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New("stop-1", t0)
			s.Plate = tt.plate
			for _, r := range tt.add {
				if _, err := s.Add(r); err != nil {
					t.Fatal(err)
				}
			}
			got := s.Check()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Check() =\n%#v\nwant\n%#v", got, tt.want)
			}
			for _, f := range got {
				if f.Chinese() == "未知的交叉核对结果。" || f.English() == "Unknown cross-check finding." {
					t.Errorf("finding %v has no sentence", f.Warning)
				}
			}
		})
	}
}

func TestWarningCodes(t *testing.T) {
	for w := InvalidLicence; w < maxWarning; w++ {
		got, err := ParseWarning(w.String())
		if err != nil || got != w {
			t.Errorf("ParseWarning(%q) = %v, %v", w.String(), got, err)
		}
	}
	tests := []struct {
		name    string
		code    string
		wantErr bool
	}{
		{name: "known", code: "PLATE_MISMATCH"},
		{name: "unknown", code: "NOPE", wantErr: true},
		{name: "empty", code: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseWarning(tt.code); (err != nil) != tt.wantErr {
				t.Errorf("ParseWarning(%q) error = %v, wantErr %v", tt.code, err, tt.wantErr)
			}
		})
	}
}

func TestClasses(t *testing.T) {
	tests := []struct {
		name  string
		scope string
		want  []string
	}{
		{name: "ordinary freight", scope: "道路普通货物运输", want: []string{"普通货物"}},
		{name: "dangerous only does not imply ordinary", scope: "道路危险货物运输（3类）", want: []string{"危险货物"}},
		{name: "both", scope: "普通货物运输、危险货物运输", want: []string{"危险货物", "普通货物"}},
		{name: "ride hailing is not bus transport", scope: "网络预约出租汽车客运", want: []string{"网络预约出租汽车"}},
		{name: "scheduled coach", scope: "省际班车客运", want: []string{"旅客"}},
		{name: "none", scope: "机动车维修", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, c := range Classes(tt.scope) {
				got = append(got, c.Name)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Classes(%q) = %v, want %v", tt.scope, got, tt.want)
			}
		})
	}
}
