package credential

import (
	"fmt"
	"time"
)

// Kind is the licence kind (credential key 1).
type Kind uint8

// The three licence kinds of RTC1.
const (
	KindPractitioner Kind = 1 // 从业资格证, JT/T 1290
	KindPermit       Kind = 2 // 经营许可证, JT/T 1291
	KindVehicle      Kind = 3 // 道路运输证, JT/T 1292
)

// Valid reports whether k is one of the three kinds.
func (k Kind) Valid() bool { return k >= KindPractitioner && k <= KindVehicle }

// ChineseName is the kind's name as printed on the licence.
func (k Kind) ChineseName() string {
	switch k {
	case KindPractitioner:
		return "从业资格证"
	case KindPermit:
		return "经营许可证"
	case KindVehicle:
		return "道路运输证"
	}
	return fmt.Sprintf("未知证照种类(%d)", uint8(k))
}

// String is the English name.
func (k Kind) String() string {
	switch k {
	case KindPractitioner:
		return "practitioner qualification"
	case KindPermit:
		return "operating permit"
	case KindVehicle:
		return "vehicle transport certificate"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// HolderIDType is credential key 6.
type HolderIDType uint8

// Holder code types.
const (
	HolderIDResident    HolderIDType = 1 // 居民身份证号码
	HolderIDCreditCode  HolderIDType = 2 // 统一社会信用代码
	HolderIDOther       HolderIDType = 9 // other
	holderIDTypeInvalid HolderIDType = 0
)

// Valid reports whether t is 1, 2 or 9.
func (t HolderIDType) Valid() bool {
	return t == HolderIDResident || t == HolderIDCreditCode || t == HolderIDOther
}

// ChineseName is the type's name in Chinese.
func (t HolderIDType) ChineseName() string {
	switch t {
	case HolderIDResident:
		return "居民身份证号码"
	case HolderIDCreditCode:
		return "统一社会信用代码"
	case HolderIDOther:
		return "其他"
	}
	return "未知"
}

// China Standard Time, in which all RTC1 dates are expressed.
var cst = time.FixedZone("CST", 8*3600)

// CST returns the UTC+8 zone of RTC1 dates.
func CST() *time.Location { return cst }

// Date is a calendar date in China Standard Time. The zero Date means absent.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses "YYYY-MM-DD" strictly: ten characters, ASCII digits, a
// real calendar day of the proleptic Gregorian calendar from year 1 (what
// time.Parse with layout "2006-01-02" accepts, year 0 excluded).
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, fmt.Errorf("%w: date %q is not YYYY-MM-DD", ErrMalformed, s)
	}
	y, yok := decimal(s[0:4])
	m, mok := decimal(s[5:7])
	d, dok := decimal(s[8:10])
	if !yok || !mok || !dok || y < 1 || m < 1 || m > 12 || d < 1 || d > daysIn(time.Month(m), y) {
		return Date{}, fmt.Errorf("%w: date %q is not a calendar day", ErrMalformed, s)
	}
	return Date{Year: y, Month: time.Month(m), Day: d}, nil
}

// decimal parses s, ASCII digits only.
func decimal(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// daysIn is the number of days of month m of year y.
func daysIn(m time.Month, y int) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// DateOf returns the date of t in China Standard Time.
func DateOf(t time.Time) Date {
	t = t.In(cst)
	return Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}
}

// IsZero reports whether d is absent.
func (d Date) IsZero() bool { return d == Date{} }

// String formats d as YYYY-MM-DD (empty for the zero Date).
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// Start is 00:00:00 of d in UTC+8.
func (d Date) Start() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, cst) }

// End is the first instant after d in UTC+8: a licence "valid until d" is
// valid at every T < d.End().
func (d Date) End() time.Time { return d.Start().AddDate(0, 0, 1) }

// Before reports whether d is an earlier day than o.
func (d Date) Before(o Date) bool { return d.Start().Before(o.Start()) }

// Credential is the credential claims map (CWT key -70000).
type Credential struct {
	Version       uint64
	Kind          Kind
	Title         string // optional
	Number        string
	ID            string
	Holder        string
	HolderIDType  HolderIDType
	HolderID      string
	Authority     string
	AuthorityCode string
	Issued        Date // optional
	ValidFrom     Date
	ValidUntil    Date

	// Exactly one of these is set, matching Kind.
	Practitioner *Practitioner
	Permit       *Permit
	Vehicle      *Vehicle
}

// Practitioner holds the kind-1 fields (从业资格证).
type Practitioner struct {
	Categories     []string // at least one
	Sex            string
	BirthDate      Date
	VehicleClass   string
	IntegrityGrade string
	IntegrityDate  Date
}

// Permit holds the kind-2 fields (经营许可证).
type Permit struct {
	Scope        string
	Address      string
	EconomicType string
}

// Vehicle holds the kind-3 fields (道路运输证).
type Vehicle struct {
	Plate           string
	PlateColour     string
	Operator        string
	OperatorLicence string
	VehicleType     string
	Capacity        string
	Dimensions      string
	Scope           string
	ReviewUntil     Date
}

// PlateColours are the values RTC1 allows for the plate colour (key 41).
var PlateColours = []string{"蓝", "黄", "黑", "白", "绿", "黄绿"}

// Claims is the CWT claims set of one code.
type Claims struct {
	Issuer     string // iss (key 1), equals Credential.AuthorityCode
	IssuedAt   int64  // iat (key 6), epoch seconds
	Expires    int64  // exp (key 4), epoch seconds; meaningful only when HasExpiry
	HasExpiry  bool
	CTI        []byte // cti (key 7), optional, 1–64 bytes
	Credential Credential
}

// IssuedAtTime returns iat as a time.
func (c *Claims) IssuedAtTime() time.Time { return time.Unix(c.IssuedAt, 0) }

// IDHashSize is the length of a status-list idHash.
const IDHashSize = 16
