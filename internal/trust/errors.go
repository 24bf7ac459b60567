package trust

import "errors"

// Errors reported for bundle blocks and anchors. Import wraps them with the
// block's details; callers test them with errors.Is.
var (
	ErrNotSM2           = errors.New("trust: not an SM2 key or not signed with SM2-with-SM3")
	ErrNotSelfSigned    = errors.New("trust: anchor is not a valid self-signed certificate")
	ErrNotCA            = errors.New("trust: certificate is not a CA (basicConstraints CA=true and keyCertSign required)")
	ErrSignerUsage      = errors.New("trust: signer certificate lacks digitalSignature")
	ErrUnknownIssuer    = errors.New("trust: unknown signer") // no stored CA or anchor issued or signed it
	ErrBadSignature     = errors.New("trust: signature does not verify")
	ErrJurisdiction     = errors.New("trust: outside the issuing CA's jurisdiction")
	ErrNoPrefix         = errors.New("trust: CA certificate lacks exactly one 2, 4 or 6 digit serialNumber prefix")
	ErrAnchorInBundle   = errors.New("trust: self-signed certificate in a bundle (anchors are added only locally)")
	ErrNotNewer         = errors.New("trust: CRL is not newer than the stored one")
	ErrRollback         = errors.New("trust: status list sequence is not above the stored one")
	ErrDeltaBase        = errors.New("trust: delta status list does not apply to the stored sequence")
	ErrStatusList       = errors.New("trust: malformed status list")
	ErrSignerInvalid    = errors.New("trust: status list signer was not valid at thisUpdate")
	ErrSignerRevoked    = errors.New("trust: signer or a CA on its chain is revoked")
	ErrUnknownBlockType = errors.New("trust: unknown PEM block type")
	ErrPEM              = errors.New("trust: damaged PEM block")
	ErrParse            = errors.New("trust: cannot parse block")
	ErrNoAnchors        = errors.New("trust: no trust anchors in input")
)
