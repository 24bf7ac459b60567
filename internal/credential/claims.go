package credential

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/roadcheck/roadcheck/internal/gm"
)

// CWT claim keys used by RTC1.
const (
	claimISS = 1
	claimEXP = 4
	claimIAT = 6
	claimCTI = 7
	claimRTC = -70000
)

// Credential claim keys (section 4 of the format).
const (
	keyVersion       = 0
	keyKind          = 1
	keyTitle         = 2
	keyNumber        = 3
	keyID            = 4
	keyHolder        = 5
	keyHolderIDType  = 6
	keyHolderID      = 7
	keyAuthority     = 8
	keyAuthorityCode = 9
	keyIssued        = 10
	keyValidFrom     = 11
	keyValidUntil    = 12

	keyCategories     = 20
	keySex            = 21
	keyBirthDate      = 22
	keyVehicleClass   = 23
	keyIntegrityGrade = 24
	keyIntegrityDate  = 25

	keyPermitScope  = 30
	keyAddress      = 31
	keyEconomicType = 32

	keyPlate           = 40
	keyPlateColour     = 41
	keyOperator        = 42
	keyOperatorLicence = 43
	keyVehicleType     = 44
	keyCapacity        = 45
	keyDimensions      = 46
	keyVehicleScope    = 47
	keyReviewUntil     = 48
)

// MaxCTI is the longest cti RTC1 allows.
const MaxCTI = 64

// ReadIssuedAt decodes the payload far enough to read iat: the payload must be
// a CBOR map (within the section 1 limits) with an integer iat. It is step 1
// of verification, which needs iat before the chain check. It returns the
// generic decoding of the payload (see decoder.value); Parse decodes the
// same way into typed fields, without the tree.
func ReadIssuedAt(payload []byte) (map[any]any, int64, error) {
	m, err := decodeMap(payload, "payload")
	if err != nil {
		return nil, 0, err
	}
	iat, err := issuedAt(genericMap(m))
	if err != nil {
		return nil, 0, err
	}
	return m, iat, nil
}

// issuedAt reads the integer iat of a payload.
func issuedAt(m claimMap) (int64, error) {
	v, ok := m.get(claimIAT)
	if !ok {
		return 0, fmt.Errorf("%w: payload has no iat", ErrMalformed)
	}
	iat, err := asInt(v)
	if err != nil {
		return 0, fmt.Errorf("iat: %w", err)
	}
	return iat, nil
}

// AuthorityCode returns the credential's authorityCode (key 9 of the
// credential claims) when it is six ASCII digits, whatever else the claims
// hold: step 6 reports ISSUER_MISMATCH for it even when the claims are
// otherwise malformed.
func (d *Decoded) AuthorityCode() (string, bool) {
	rv, _ := d.claims().get(claimRTC)
	if rv.kind != kindMap || rv.m == nil {
		return "", false
	}
	v, _ := rv.m.get(keyAuthorityCode)
	if v.kind != kindText || !isDivisionCode(v.s) {
		return "", false
	}
	return v.s, true
}

// DecodeClaims decodes and validates a CWT claims set (the COSE payload)
// against the RTC1 schema: required claims and fields present with the right
// types and values, iss equal to authorityCode. Unknown keys, and keys that
// belong to another kind, are ignored. Errors wrap ErrMalformed.
func DecodeClaims(payload []byte) (*Claims, error) {
	if len(payload) > math.MaxUint32 {
		// Beyond what a fieldMap indexes (and any code).
		m, iat, err := ReadIssuedAt(payload)
		if err != nil {
			return nil, err
		}
		return claimsFrom(genericMap(m), iat)
	}
	p, iat, err := readPayload(payload)
	if err != nil {
		return nil, err
	}
	return claimsFrom(&p.top, iat)
}

func claimsFrom(m claimMap, iat int64) (*Claims, error) {
	c := &Claims{IssuedAt: iat}
	var err error
	if c.Issuer, err = reqText(m, claimISS, "iss"); err != nil {
		return nil, err
	}
	if v, ok := m.get(claimEXP); ok {
		if c.Expires, err = asInt(v); err != nil {
			return nil, fmt.Errorf("exp: %w", err)
		}
		c.HasExpiry = true
		if c.Expires < iat {
			return nil, fmt.Errorf("%w: exp %d is before iat %d", ErrMalformed, c.Expires, iat)
		}
	}
	if v, ok := m.get(claimCTI); ok {
		if v.kind != kindBytes || len(v.b) < 1 || len(v.b) > MaxCTI {
			return nil, fmt.Errorf("%w: cti is not a byte string of 1–%d bytes", ErrMalformed, MaxCTI)
		}
		c.CTI = v.b
	}
	rv, ok := m.get(claimRTC)
	if !ok {
		return nil, fmt.Errorf("%w: no credential claims (key -70000)", ErrMalformed)
	}
	if rv.kind != kindMap || rv.m == nil {
		return nil, fmt.Errorf("%w: credential claims are not a map", ErrMalformed)
	}
	if err := c.Credential.from(rv.m); err != nil {
		return nil, err
	}
	if c.Issuer != c.Credential.AuthorityCode {
		return nil, fmt.Errorf("%w: iss %q differs from authorityCode %q", ErrMalformed, c.Issuer, c.Credential.AuthorityCode)
	}
	return c, nil
}

func (cr *Credential) from(m claimMap) error {
	var err error
	if cr.Version, err = reqUint(m, keyVersion, "version"); err != nil {
		return err
	}
	if cr.Version != 1 {
		return fmt.Errorf("%w: credential version %d, want 1", ErrMalformed, cr.Version)
	}
	kind, err := reqUint(m, keyKind, "kind")
	if err != nil {
		return err
	}
	if cr.Kind = Kind(min(kind, 255)); !cr.Kind.Valid() {
		return fmt.Errorf("%w: kind %d", ErrMalformed, kind)
	}
	idt, err := reqUint(m, keyHolderIDType, "holderIdType")
	if err != nil {
		return err
	}
	if cr.HolderIDType = HolderIDType(min(idt, 255)); !cr.HolderIDType.Valid() {
		return fmt.Errorf("%w: holderIdType %d", ErrMalformed, idt)
	}
	for _, f := range [...]struct {
		key  int64
		name string
		dst  *string
	}{
		{keyNumber, "number", &cr.Number},
		{keyID, "id", &cr.ID},
		{keyHolder, "holder", &cr.Holder},
		{keyHolderID, "holderId", &cr.HolderID},
		{keyAuthority, "authority", &cr.Authority},
		{keyAuthorityCode, "authorityCode", &cr.AuthorityCode},
	} {
		if *f.dst, err = reqText(m, f.key, f.name); err != nil {
			return err
		}
	}
	if !isDivisionCode(cr.AuthorityCode) {
		return fmt.Errorf("%w: authorityCode %q is not a 6-digit division code", ErrMalformed, cr.AuthorityCode)
	}
	if cr.Title, err = optText(m, keyTitle, "title"); err != nil {
		return err
	}
	if cr.Issued, err = optDate(m, keyIssued, "issued"); err != nil {
		return err
	}
	if cr.ValidFrom, err = reqDate(m, keyValidFrom, "validFrom"); err != nil {
		return err
	}
	if cr.ValidUntil, err = reqDate(m, keyValidUntil, "validUntil"); err != nil {
		return err
	}
	if cr.ValidUntil.Before(cr.ValidFrom) {
		return fmt.Errorf("%w: validUntil %s is before validFrom %s", ErrMalformed, cr.ValidUntil, cr.ValidFrom)
	}
	switch cr.Kind {
	case KindPractitioner:
		cr.Practitioner, err = practitionerFrom(m)
	case KindPermit:
		cr.Permit, err = permitFrom(m)
	case KindVehicle:
		cr.Vehicle, err = vehicleFrom(m)
	}
	return err
}

func practitionerFrom(m claimMap) (*Practitioner, error) {
	p := &Practitioner{}
	v, ok := m.get(keyCategories)
	if !ok {
		return nil, fmt.Errorf("%w: categories missing", ErrMalformed)
	}
	if v.kind != kindArray || v.n == 0 {
		return nil, fmt.Errorf("%w: categories is not a non-empty array", ErrMalformed)
	}
	p.Categories = make([]string, 0, v.n)
	i := 0
	var err error
	v.items(func(e claim) bool {
		if e.kind != kindText || e.s == "" {
			err = fmt.Errorf("%w: categories[%d] is not non-empty text", ErrMalformed, i)
			return false
		}
		p.Categories = append(p.Categories, e.s)
		i++
		return true
	})
	if err != nil {
		return nil, err
	}
	for _, f := range [...]struct {
		key  int64
		name string
		dst  *string
	}{
		{keySex, "sex", &p.Sex},
		{keyVehicleClass, "vehicleClass", &p.VehicleClass},
		{keyIntegrityGrade, "integrityGrade", &p.IntegrityGrade},
	} {
		if *f.dst, err = optText(m, f.key, f.name); err != nil {
			return nil, err
		}
	}
	if p.BirthDate, err = optDate(m, keyBirthDate, "birthDate"); err != nil {
		return nil, err
	}
	if p.IntegrityDate, err = optDate(m, keyIntegrityDate, "integrityDate"); err != nil {
		return nil, err
	}
	return p, nil
}

func permitFrom(m claimMap) (*Permit, error) {
	p := &Permit{}
	var err error
	if p.Scope, err = reqText(m, keyPermitScope, "scope"); err != nil {
		return nil, err
	}
	if p.Address, err = optText(m, keyAddress, "address"); err != nil {
		return nil, err
	}
	if p.EconomicType, err = optText(m, keyEconomicType, "economicType"); err != nil {
		return nil, err
	}
	return p, nil
}

func vehicleFrom(m claimMap) (*Vehicle, error) {
	v := &Vehicle{}
	var err error
	if v.Plate, err = reqText(m, keyPlate, "plate"); err != nil {
		return nil, err
	}
	for _, f := range [...]struct {
		key  int64
		name string
		dst  *string
	}{
		{keyPlateColour, "plateColour", &v.PlateColour},
		{keyOperator, "operator", &v.Operator},
		{keyOperatorLicence, "operatorLicence", &v.OperatorLicence},
		{keyVehicleType, "vehicleType", &v.VehicleType},
		{keyCapacity, "capacity", &v.Capacity},
		{keyDimensions, "dimensions", &v.Dimensions},
		{keyVehicleScope, "scope", &v.Scope},
	} {
		if *f.dst, err = optText(m, f.key, f.name); err != nil {
			return nil, err
		}
	}
	if _, present := m.get(keyPlateColour); present && !slices.Contains(PlateColours, v.PlateColour) {
		return nil, fmt.Errorf("%w: plateColour %q is not one of %s", ErrMalformed, v.PlateColour, strings.Join(PlateColours, " "))
	}
	if v.ReviewUntil, err = optDate(m, keyReviewUntil, "reviewUntil"); err != nil {
		return nil, err
	}
	return v, nil
}

func asInt(v claim) (int64, error) {
	switch v.kind {
	case kindUint:
		if v.u > math.MaxInt64 {
			return 0, fmt.Errorf("%w: integer %d out of range", ErrMalformed, v.u)
		}
		return int64(v.u), nil
	case kindInt:
		return v.i, nil
	}
	return 0, fmt.Errorf("%w: %s is not an integer", ErrMalformed, v.typ)
}

func reqUint(m claimMap, k int64, name string) (uint64, error) {
	v, ok := m.get(k)
	if !ok {
		return 0, fmt.Errorf("%w: %s missing", ErrMalformed, name)
	}
	if v.kind != kindUint {
		return 0, fmt.Errorf("%w: %s is not an unsigned integer", ErrMalformed, name)
	}
	return v.u, nil
}

func reqText(m claimMap, k int64, name string) (string, error) {
	v, ok := m.get(k)
	if !ok {
		return "", fmt.Errorf("%w: %s missing", ErrMalformed, name)
	}
	if v.kind != kindText || v.s == "" {
		return "", fmt.Errorf("%w: %s is not non-empty text", ErrMalformed, name)
	}
	return v.s, nil
}

func optText(m claimMap, k int64, name string) (string, error) {
	v, ok := m.get(k)
	if !ok {
		return "", nil
	}
	if v.kind != kindText {
		return "", fmt.Errorf("%w: %s is not text", ErrMalformed, name)
	}
	return v.s, nil
}

func reqDate(m claimMap, k int64, name string) (Date, error) {
	s, err := reqText(m, k, name)
	if err != nil {
		return Date{}, err
	}
	d, err := ParseDate(s)
	if err != nil {
		return Date{}, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}

func optDate(m claimMap, k int64, name string) (Date, error) {
	v, ok := m.get(k)
	if !ok {
		return Date{}, nil
	}
	if v.kind != kindText {
		return Date{}, fmt.Errorf("%w: %s is not text", ErrMalformed, name)
	}
	d, err := ParseDate(v.s)
	if err != nil {
		return Date{}, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}

// isDivisionCode reports whether s is six ASCII digits (GB/T 2260 code).
func isDivisionCode(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IDHash is the status-list key of a licence: the first 16 bytes of SM3 over
// the UTF-8 of its e-licence identifier (credential key 4).
func IDHash(id string) [IDHashSize]byte {
	sum := gm.SM3([]byte(id))
	var h [IDHashSize]byte
	copy(h[:], sum[:IDHashSize])
	return h
}

// KID is the key identifier of a signer certificate: the first 8 bytes of
// SM3 over its DER.
func KID(certDER []byte) [KIDSize]byte {
	sum := gm.SM3(certDER)
	var k [KIDSize]byte
	copy(k[:], sum[:KIDSize])
	return k
}
