package ui

import (
	"strings"

	"github.com/roadcheck/roadcheck/internal/verify"
)

// outcome is what the verdict screen shows for one scan. Four kinds of
// screen exist: green, amber and red for a code that was read (its
// signature structure parsed, so something about the licence is known),
// and a neutral one for a scan that established nothing about any licence
// (a read failure, a code that is not an RTC code, a newer format, or the
// terminal's own failure). Only the first three take an officer's outcome
// and become check records; a neutral screen becomes a scan event.
type outcome uint8

const (
	outcomeValid       outcome = iota + 1 // 有效
	outcomeLimited                        // 有限有效
	outcomeInvalid                        // 无效: read, and not valid
	outcomeUnreadable                     // 未能识别，请重新扫描
	outcomeNotRTC                         // 该二维码不是道路运输电子证照
	outcomeNeedsUpdate                    // 本终端需要更新 (RTC2: and later)
	outcomeFault                          // the terminal failed (trust store error)
	outcomeCut                            // 扫描不完整，请重扫 (a scanner burst cut short)
)

// neutral reports whether o establishes nothing about a licence: no
// colour, no outcome buttons, a scan event instead of a check record.
func (o outcome) neutral() bool { return o >= outcomeUnreadable }

// String is the outcome's stable code (scan events, logs).
func (o outcome) String() string {
	switch o {
	case outcomeValid:
		return "valid"
	case outcomeLimited:
		return "limited"
	case outcomeInvalid:
		return "invalid"
	case outcomeUnreadable:
		return "unreadable"
	case outcomeNotRTC:
		return "not_rtc"
	case outcomeNeedsUpdate:
		return "needs_update"
	case outcomeFault:
		return "fault"
	case outcomeCut:
		return "cut"
	}
	return "unknown"
}

// isRTCText reports whether text claims to be an RTC code at all: it
// starts with "RTC" (any case, as scanners in caps-lock send it). Anything
// else — a product barcode, a URL, typed words — is not verified.
func isRTCText(text string) bool {
	return len(text) >= 3 && strings.EqualFold(text[:3], "RTC")
}

// classify decides the screen for res, the verification of a text that
// starts with "RTC". A code whose COSE structure could not be read
// (Malformed or UnsupportedVersion before a kid was found) is a read
// failure or a newer format, never a red verdict: nothing about a licence
// was established. A failure of the trust store is the terminal's fault.
func classify(res *verify.Result) outcome {
	switch {
	case res == nil || res.Err != nil:
		return outcomeFault
	case res.Claims == nil && res.Signer == nil && res.Has(verify.UnsupportedVersion):
		return outcomeNeedsUpdate
	case res.Claims == nil && res.Signer == nil:
		return outcomeUnreadable
	}
	switch res.Verdict {
	case verify.Valid:
		return outcomeValid
	case verify.Limited:
		return outcomeLimited
	}
	return outcomeInvalid
}

// established is the key of the sentence saying what a red verdict
// established, from its first reason (reasons are in step order, so the
// first is the one that stopped verification or the first licence
// finding). Valid and limited verdicts have none.
func established(res *verify.Result) string {
	if res == nil || res.Verdict != verify.Invalid || len(res.Reasons) == 0 {
		return ""
	}
	switch res.Reasons[0] {
	case verify.UnsupportedAlg:
		return "established.alg"
	case verify.UnknownSigner:
		return "established.unknownSigner"
	case verify.ChainInvalid, verify.SignerRevoked:
		return "established.signerInvalid"
	case verify.BadSignature:
		return "established.badSignature"
	case verify.Malformed:
		return "established.contentMalformed"
	case verify.IssuerMismatch:
		return "established.issuerMismatch"
	case verify.CodeNotYetValid:
		return "established.codeFuture"
	case verify.CodeExpired:
		return "established.codeExpired"
	case verify.LicenceNotYetValid:
		return "established.licenceNotYet"
	case verify.LicenceExpired:
		return "established.licenceExpired"
	case verify.LicenceRevoked:
		return "established.licenceRevoked"
	case verify.LicenceSuspended:
		return "established.licenceSuspended"
	}
	return "established.invalid"
}
