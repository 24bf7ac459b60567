package verify

import "fmt"

// Reason is one finding of verification. The values are ordered by the step
// that reports them, so sorting Reasons sorts them in step order.
type Reason uint8

// The reason codes of the format, in step order.
const (
	Malformed          Reason = iota + 1 // step 1 or 6
	UnsupportedVersion                   // step 1
	UnsupportedAlg                       // step 2
	UnknownSigner                        // step 3
	ChainInvalid                         // step 4
	SignerRevoked                        // step 4
	BadSignature                         // step 5
	IssuerMismatch                       // step 6
	CodeNotYetValid                      // step 7
	CodeExpired                          // step 7
	LicenceNotYetValid                   // step 8
	LicenceExpired                       // step 8
	LicenceRevoked                       // step 9
	LicenceSuspended                     // step 9
	StatusUnknown                        // step 10 (warning)
	TrustStale                           // step 10 (warning)
	ReviewOverdue                        // step 10 (warning)
	maxReason
)

var reasonCodes = [...]string{
	Malformed:          "MALFORMED",
	UnsupportedVersion: "UNSUPPORTED_VERSION",
	UnsupportedAlg:     "UNSUPPORTED_ALG",
	UnknownSigner:      "UNKNOWN_SIGNER",
	ChainInvalid:       "CHAIN_INVALID",
	SignerRevoked:      "SIGNER_REVOKED",
	BadSignature:       "BAD_SIGNATURE",
	IssuerMismatch:     "ISSUER_MISMATCH",
	CodeNotYetValid:    "CODE_NOT_YET_VALID",
	CodeExpired:        "CODE_EXPIRED",
	LicenceNotYetValid: "LICENCE_NOT_YET_VALID",
	LicenceExpired:     "LICENCE_EXPIRED",
	LicenceRevoked:     "LICENCE_REVOKED",
	LicenceSuspended:   "LICENCE_SUSPENDED",
	StatusUnknown:      "STATUS_UNKNOWN",
	TrustStale:         "TRUST_STALE",
	ReviewOverdue:      "REVIEW_OVERDUE",
}

var reasonChinese = [...]string{
	Malformed:          "二维码内容格式错误，无法识别为有效的电子证照。",
	UnsupportedVersion: "二维码使用了本终端不支持的版本，请升级终端软件。",
	UnsupportedAlg:     "二维码使用了不被认可的签名算法。",
	UnknownSigner:      "签发该证照的签名证书不在本终端的信任列表中，请同步信任数据后重试。",
	ChainInvalid:       "签名证书在签发时未能链接到受信任的根证书，或证书已不在有效期内。",
	SignerRevoked:      "签名证书已被发证机构吊销，证照不可信。",
	BadSignature:       "数字签名校验失败，证照内容可能被篡改或伪造。",
	IssuerMismatch:     "发证机关不在签名证书所属机构的管辖范围内。",
	CodeNotYetValid:    "二维码的生成时间晚于当前时间，请核对终端时间或持证人手机时间。",
	CodeExpired:        "动态二维码已过期，请持证人刷新后重新出示。",
	LicenceNotYetValid: "证照尚未到有效期起始日。",
	LicenceExpired:     "证照已超过有效期。",
	LicenceRevoked:     "证照已被注销或吊销。",
	LicenceSuspended:   "证照已被暂扣或停业，暂停使用。",
	StatusUnknown:      "本终端没有该发证机关的证照状态清单，无法确认是否被注销或暂扣。",
	TrustStale:         "本终端的信任数据已过期，请尽快联网同步后再核验。",
	ReviewOverdue:      "车辆未按期审验，审验有效期已过。",
}

var reasonEnglish = [...]string{
	Malformed:          "The code is not a well-formed RTC1 licence.",
	UnsupportedVersion: "The code uses a format version this terminal does not support.",
	UnsupportedAlg:     "The code uses a signature algorithm that is not accepted.",
	UnknownSigner:      "The signing certificate is not in this terminal's trust store; sync trust data and retry.",
	ChainInvalid:       "The signing certificate does not chain to a trusted root, or was not valid when the code was signed.",
	SignerRevoked:      "The signing certificate has been revoked by its authority.",
	BadSignature:       "The digital signature does not verify: the code was altered or forged.",
	IssuerMismatch:     "The issuing authority is outside the jurisdiction of the signing certificate's authority.",
	CodeNotYetValid:    "The code claims to be signed in the future; check the terminal's and the phone's clocks.",
	CodeExpired:        "The dynamic code has expired; ask the holder to refresh it.",
	LicenceNotYetValid: "The licence is not yet valid.",
	LicenceExpired:     "The licence has expired.",
	LicenceRevoked:     "The licence has been cancelled or revoked.",
	LicenceSuspended:   "The licence is suspended.",
	StatusUnknown:      "No status list is held for this authority: revocation or suspension cannot be ruled out.",
	TrustStale:         "This terminal's trust data is out of date; sync soon.",
	ReviewOverdue:      "The vehicle's annual review is overdue.",
}

// String returns the reason code exactly as the format spells it.
func (r Reason) String() string {
	if r == 0 || r >= maxReason {
		return fmt.Sprintf("Reason(%d)", uint8(r))
	}
	return reasonCodes[r]
}

// Chinese explains r in one plain Chinese sentence, for inspectors.
func (r Reason) Chinese() string {
	if r == 0 || r >= maxReason {
		return "未知原因。"
	}
	return reasonChinese[r]
}

// English explains r in one plain English sentence.
func (r Reason) English() string {
	if r == 0 || r >= maxReason {
		return "Unknown reason."
	}
	return reasonEnglish[r]
}

// IsWarning reports whether r is a step-10 warning (verdict LIMITED, not INVALID).
func (r Reason) IsWarning() bool { return r >= StatusUnknown && r < maxReason }

// ParseReason returns the Reason whose code is s.
func ParseReason(s string) (Reason, error) {
	for r := Malformed; r < maxReason; r++ {
		if reasonCodes[r] == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("verify: unknown reason code %q", s)
}

// AllReasons lists every reason in step order.
func AllReasons() []Reason {
	out := make([]Reason, 0, maxReason-1)
	for r := Malformed; r < maxReason; r++ {
		out = append(out, r)
	}
	return out
}

// MarshalText implements encoding.TextMarshaler with the format's code.
func (r Reason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Reason) UnmarshalText(b []byte) error {
	v, err := ParseReason(string(b))
	*r = v
	return err
}

// Verdict is the outcome of verification.
type Verdict uint8

// Verdicts.
const (
	Invalid Verdict = iota // zero value: the safe default
	Limited
	Valid
)

// String returns VALID, LIMITED or INVALID.
func (v Verdict) String() string {
	switch v {
	case Valid:
		return "VALID"
	case Limited:
		return "LIMITED"
	}
	return "INVALID"
}

// Chinese is the verdict word shown to inspectors.
func (v Verdict) Chinese() string {
	switch v {
	case Valid:
		return "有效"
	case Limited:
		return "有限有效"
	}
	return "无效"
}

// MarshalText implements encoding.TextMarshaler.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (v *Verdict) UnmarshalText(b []byte) error {
	switch string(b) {
	case "VALID":
		*v = Valid
	case "LIMITED":
		*v = Limited
	case "INVALID":
		*v = Invalid
	default:
		return fmt.Errorf("verify: unknown verdict %q", b)
	}
	return nil
}
