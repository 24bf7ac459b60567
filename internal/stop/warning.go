package stop

import (
	"fmt"

	"github.com/roadcheck/roadcheck/internal/credential"
)

// Warning is the kind of one cross-check finding.
type Warning uint8

// The cross-check warnings, in the order Check reports them.
const (
	// InvalidLicence: a licence of the stop was verified INVALID.
	InvalidLicence Warning = iota + 1
	// PlateMismatch: the vehicle certificate's plate is not the observed plate.
	PlateMismatch
	// OperatorMismatch: the vehicle certificate's operator is not the permit holder.
	OperatorMismatch
	// PermitNumberMismatch: the vehicle certificate's 经营许可证号 is not the permit's number.
	PermitNumberMismatch
	// ScopeNotPermitted: the vehicle's scope has a transport class the permit's scope lacks.
	ScopeNotPermitted
	// DriverNotQualified: the driver lacks the qualification the vehicle's scope needs.
	DriverNotQualified
	maxWarning
)

var warningCodes = [...]string{
	InvalidLicence:       "INVALID_LICENCE",
	PlateMismatch:        "PLATE_MISMATCH",
	OperatorMismatch:     "OPERATOR_MISMATCH",
	PermitNumberMismatch: "PERMIT_NUMBER_MISMATCH",
	ScopeNotPermitted:    "SCOPE_NOT_PERMITTED",
	DriverNotQualified:   "DRIVER_NOT_QUALIFIED",
}

// String is the warning's stable code (e.g. OPERATOR_MISMATCH), for records.
func (w Warning) String() string {
	if w == 0 || w >= maxWarning {
		return fmt.Sprintf("Warning(%d)", uint8(w))
	}
	return warningCodes[w]
}

// ParseWarning returns the Warning whose code is s.
func ParseWarning(s string) (Warning, error) {
	for w := InvalidLicence; w < maxWarning; w++ {
		if warningCodes[w] == s {
			return w, nil
		}
	}
	return 0, fmt.Errorf("stop: unknown warning code %q", s)
}

// Finding is one cross-check result: what disagrees, and the two values.
type Finding struct {
	Warning Warning
	// Kind is the licence concerned (InvalidLicence), zero otherwise.
	Kind credential.Kind
	// Have is the value found on the vehicle certificate (or the driver's
	// categories); Want is the value it should match (the permit's, the
	// observed plate, or the needed qualification / transport class).
	Have, Want string
}

// Chinese explains f in one plain sentence for inspectors.
func (f Finding) Chinese() string {
	switch f.Warning {
	case InvalidLicence:
		return fmt.Sprintf("%s核验结果为无效。", f.Kind.ChineseName())
	case PlateMismatch:
		return fmt.Sprintf("道路运输证车牌号码为“%s”，与现场车辆号牌“%s”不符。", f.Have, f.Want)
	case OperatorMismatch:
		return fmt.Sprintf("道路运输证业户名称为“%s”，与经营许可证持证主体“%s”不符。", f.Have, f.Want)
	case PermitNumberMismatch:
		return fmt.Sprintf("道路运输证所载经营许可证号为“%s”，与经营许可证编号“%s”不符。", f.Have, f.Want)
	case ScopeNotPermitted:
		return fmt.Sprintf("车辆经营范围含“%s”，但经营许可证经营范围（%s）不含此项。", f.Want, f.Have)
	case DriverNotQualified:
		return fmt.Sprintf("车辆经营范围需要驾驶员具备“%s”资格，驾驶员从业资格类别为：%s。", f.Want, f.Have)
	}
	return "未知的交叉核对结果。"
}

// English explains f in one plain sentence.
func (f Finding) English() string {
	switch f.Warning {
	case InvalidLicence:
		return fmt.Sprintf("The %s was verified INVALID.", f.Kind)
	case PlateMismatch:
		return fmt.Sprintf("The vehicle certificate's plate %q is not the vehicle's plate %q.", f.Have, f.Want)
	case OperatorMismatch:
		return fmt.Sprintf("The vehicle certificate's operator %q is not the permit holder %q.", f.Have, f.Want)
	case PermitNumberMismatch:
		return fmt.Sprintf("The vehicle certificate names permit %q, but the permit shown is %q.", f.Have, f.Want)
	case ScopeNotPermitted:
		return fmt.Sprintf("The vehicle's scope includes %q, which the permit's scope (%s) does not.", f.Want, f.Have)
	case DriverNotQualified:
		return fmt.Sprintf("The vehicle's scope needs a %q qualification; the driver holds: %s.", f.Want, f.Have)
	}
	return "Unknown cross-check finding."
}
