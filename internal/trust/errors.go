package trust

import (
	"errors"

	"github.com/roadcheck/roadcheck/internal/storage"
)

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
	ErrDigest           = errors.New("trust: object does not match its digest")
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

// ErrDamaged reports trust files or metadata that cannot be read as
// written. It is storage.ErrDamaged, so callers treat a damaged trust store
// like a damaged database.
var ErrDamaged = storage.ErrDamaged

// Certificate-profile and CRL refusals of the RTC1 clarifications 11 and 14.
var (
	ErrCriticalExtension = errors.New("trust: certificate has a critical extension other than basicConstraints and keyUsage")
	ErrPathLen           = errors.New("trust: CA certificate not allowed by the pathLenConstraint of a CA above it")
	ErrCRLSign           = errors.New("trust: CRL issuer's certificate has a keyUsage without cRLSign")
)
