package stop

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/width"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// Stop is one roadside stop: up to one licence of each kind (the latest scan
// of a kind replaces the earlier one) and the plate the officer observed.
// A Stop is not safe for concurrent use; the UI owns it on its goroutine.
type Stop struct {
	// ID identifies the stop in check records.
	ID string
	// Started is when the stop began (from the caller's clock).
	Started time.Time
	// Plate is the plate read off the vehicle by the officer ("" = not entered).
	Plate string

	slots [credential.KindVehicle + 1]*verify.Result
	scans int
}

// New returns an empty stop.
func New(id string, started time.Time) *Stop { return &Stop{ID: id, Started: started} }

// Add puts a verified licence into the slot of its kind, replacing any
// earlier one, and returns that kind. A result without claims (verification
// stopped before the schema step) gives ErrNoLicence and changes nothing.
func (s *Stop) Add(res *verify.Result) (credential.Kind, error) {
	if res == nil || res.Claims == nil {
		return 0, ErrNoLicence
	}
	k := res.Claims.Credential.Kind
	if !k.Valid() {
		return 0, fmt.Errorf("%w: %d", ErrUnknownKind, uint8(k))
	}
	s.slots[k] = res
	s.scans++
	return k, nil
}

// Slot returns the licence held for kind k, or nil.
func (s *Stop) Slot(k credential.Kind) *verify.Result {
	if !k.Valid() {
		return nil
	}
	return s.slots[k]
}

// Scans is the number of licences added so far (replacements included).
func (s *Stop) Scans() int { return s.scans }

// Complete reports whether all three slots are filled.
func (s *Stop) Complete() bool {
	return s.slots[credential.KindPractitioner] != nil && s.slots[credential.KindPermit] != nil && s.slots[credential.KindVehicle] != nil
}

// Check runs every cross-check whose inputs are present and returns the
// findings in Warning order (nil when everything present agrees). Checks
// whose slots are empty are not reported: an incomplete stop is not a
// mismatch.
func (s *Stop) Check() []Finding {
	var out []Finding
	for k := credential.KindPractitioner; k <= credential.KindVehicle; k++ {
		if r := s.slots[k]; r != nil && r.Verdict == verify.Invalid {
			out = append(out, Finding{Warning: InvalidLicence, Kind: k})
		}
	}
	driver, permit, vehicle := s.cred(credential.KindPractitioner), s.cred(credential.KindPermit), s.cred(credential.KindVehicle)
	if vehicle == nil {
		return out
	}
	v := vehicle.Vehicle
	if s.Plate != "" && normPlate(v.Plate) != normPlate(s.Plate) {
		out = append(out, Finding{Warning: PlateMismatch, Have: v.Plate, Want: s.Plate})
	}
	if permit != nil {
		op := v.Operator
		if op == "" {
			op = vehicle.Holder
		}
		if norm(op) != norm(permit.Holder) {
			out = append(out, Finding{Warning: OperatorMismatch, Have: op, Want: permit.Holder})
		}
		if v.OperatorLicence != "" && norm(v.OperatorLicence) != norm(permit.Number) {
			out = append(out, Finding{Warning: PermitNumberMismatch, Have: v.OperatorLicence, Want: permit.Number})
		}
		for _, c := range Classes(v.Scope) {
			if !c.in(permit.Permit.Scope) {
				out = append(out, Finding{Warning: ScopeNotPermitted, Have: permit.Permit.Scope, Want: c.Name})
			}
		}
	}
	if driver != nil {
		for _, c := range Classes(v.Scope) {
			if !c.qualified(driver.Practitioner.Categories) {
				out = append(out, Finding{Warning: DriverNotQualified, Have: strings.Join(driver.Practitioner.Categories, "、"), Want: c.Driver})
			}
		}
	}
	return out
}

func (s *Stop) cred(k credential.Kind) *credential.Credential {
	r := s.slots[k]
	if r == nil || r.Claims == nil {
		return nil
	}
	c := &r.Claims.Credential
	switch {
	case k == credential.KindPractitioner && c.Practitioner == nil,
		k == credential.KindPermit && c.Permit == nil,
		k == credential.KindVehicle && c.Vehicle == nil:
		return nil
	}
	return c
}

// Class is a transport class named in a 经营范围 and the driver qualification
// (从业资格类别) it needs.
type Class struct {
	// Name is the class as the scope names it (e.g. 危险货物).
	Name string
	// Driver is the qualification a driver needs (e.g. 道路危险货物运输驾驶员).
	Driver string
	// match finds the class in a scope (any of the words); need finds the
	// qualification in a category (the JT/T names vary: 经营性道路旅客运输驾驶员,
	// 道路旅客运输驾驶员).
	match []string
	need  string
	// mask is removed from a scope before matching (普通货物 must not match
	// inside 危险货物, 客运 not inside 出租汽车客运).
	mask []string
}

// classes are the transport classes the cross-check knows, most specific first.
var classes = []Class{
	{Name: "危险货物", Driver: "道路危险货物运输驾驶员", match: []string{"危险货物"}, need: "危险货物运输驾驶员"},
	// 班车客运, 包车客运, 旅游客运 are passenger transport; 出租汽车客运 is not.
	{Name: "旅客", Driver: "道路旅客运输驾驶员", match: []string{"旅客", "客运"}, need: "旅客运输驾驶员", mask: []string{"出租汽车客运"}},
	// A 危险货物 driver's category also contains 货物运输驾驶员: it covers
	// ordinary freight too.
	{Name: "普通货物", Driver: "道路货物运输驾驶员", match: []string{"货物"}, need: "货物运输驾驶员", mask: []string{"危险货物"}},
	{Name: "网络预约出租汽车", Driver: "网络预约出租汽车驾驶员", match: []string{"网络预约出租汽车"}, need: "网络预约出租汽车驾驶员"},
	{Name: "巡游出租汽车", Driver: "巡游出租汽车驾驶员", match: []string{"巡游出租汽车"}, need: "巡游出租汽车驾驶员"},
}

// Classes returns the transport classes a 经营范围 text names, in a fixed order.
func Classes(scope string) []Class {
	var out []Class
	for _, c := range classes {
		if c.in(scope) {
			out = append(out, c)
		}
	}
	return out
}

func (c Class) in(scope string) bool {
	scope = norm(scope)
	for _, m := range c.mask {
		scope = strings.ReplaceAll(scope, m, "")
	}
	for _, m := range c.match {
		if strings.Contains(scope, m) {
			return true
		}
	}
	return false
}

func (c Class) qualified(categories []string) bool {
	for _, cat := range categories {
		if strings.Contains(norm(cat), c.need) {
			return true
		}
	}
	return false
}

// norm folds full-width letters, digits and brackets to their narrow forms,
// drops white space and upper-cases ASCII, so that "深圳市 Ａ运输（集团）" and
// "深圳市A运输(集团)" compare equal.
func norm(s string) string {
	s = width.Fold.String(s)
	return strings.ToUpper(strings.Join(strings.Fields(s), ""))
}

// normPlate is norm without the separators plates are written with (粤B·12345).
func normPlate(s string) string {
	return strings.NewReplacer("·", "", "•", "", ".", "", "-", "", "_", "").Replace(norm(s))
}
