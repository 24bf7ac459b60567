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
// of verification, which needs iat before the chain check.
func ReadIssuedAt(payload []byte) (map[any]any, int64, error) {
	m, err := decodeMap(payload, "payload")
	if err != nil {
		return nil, 0, err
	}
	v, ok := intKey(m, claimIAT)
	if !ok {
		return nil, 0, fmt.Errorf("%w: payload has no iat", ErrMalformed)
	}
	iat, err := asInt(v)
	if err != nil {
		return nil, 0, fmt.Errorf("iat: %w", err)
	}
	return m, iat, nil
}

// AuthorityCode returns the credential's authorityCode (key 9 of the
// credential claims) when it is six ASCII digits, whatever else the claims
// hold: step 6 reports ISSUER_MISMATCH for it even when the claims are
// otherwise malformed.
func (d *Decoded) AuthorityCode() (string, bool) {
	rm, ok := intKeyMap(d.payload, claimRTC)
	if !ok {
		return "", false
	}
	v, _ := intKey(rm, keyAuthorityCode)
	s, ok := v.(string)
	if !ok || !isDivisionCode(s) {
		return "", false
	}
	return s, true
}

func intKeyMap(m map[any]any, k int64) (map[any]any, bool) {
	v, _ := intKey(m, k)
	rm, ok := v.(map[any]any)
	return rm, ok
}

// DecodeClaims decodes and validates a CWT claims set (the COSE payload)
// against the RTC1 schema: required claims and fields present with the right
// types and values, iss equal to authorityCode. Unknown keys, and keys that
// belong to another kind, are ignored. Errors wrap ErrMalformed.
func DecodeClaims(payload []byte) (*Claims, error) {
	m, iat, err := ReadIssuedAt(payload)
	if err != nil {
		return nil, err
	}
	return claimsFromMap(m, iat)
}

func claimsFromMap(m map[any]any, iat int64) (*Claims, error) {
	c := &Claims{IssuedAt: iat}
	var err error
	if c.Issuer, err = reqText(m, claimISS, "iss"); err != nil {
		return nil, err
	}
	if v, ok := intKey(m, claimEXP); ok {
		if c.Expires, err = asInt(v); err != nil {
			return nil, fmt.Errorf("exp: %w", err)
		}
		c.HasExpiry = true
		if c.Expires < iat {
			return nil, fmt.Errorf("%w: exp %d is before iat %d", ErrMalformed, c.Expires, iat)
		}
	}
	if v, ok := intKey(m, claimCTI); ok {
		b, ok := v.([]byte)
		if !ok || len(b) < 1 || len(b) > MaxCTI {
			return nil, fmt.Errorf("%w: cti is not a byte string of 1–%d bytes", ErrMalformed, MaxCTI)
		}
		c.CTI = b
	}
	rv, ok := intKey(m, claimRTC)
	if !ok {
		return nil, fmt.Errorf("%w: no credential claims (key -70000)", ErrMalformed)
	}
	rm, ok := rv.(map[any]any)
	if !ok {
		return nil, fmt.Errorf("%w: credential claims are not a map", ErrMalformed)
	}
	if err := c.Credential.fromMap(rm); err != nil {
		return nil, err
	}
	if c.Issuer != c.Credential.AuthorityCode {
		return nil, fmt.Errorf("%w: iss %q differs from authorityCode %q", ErrMalformed, c.Issuer, c.Credential.AuthorityCode)
	}
	return c, nil
}

func (cr *Credential) fromMap(m map[any]any) error {
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
	for _, f := range []struct {
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
		cr.Practitioner, err = practitionerFromMap(m)
	case KindPermit:
		cr.Permit, err = permitFromMap(m)
	case KindVehicle:
		cr.Vehicle, err = vehicleFromMap(m)
	}
	return err
}

func practitionerFromMap(m map[any]any) (*Practitioner, error) {
	p := &Practitioner{}
	v, ok := intKey(m, keyCategories)
	if !ok {
		return nil, fmt.Errorf("%w: categories missing", ErrMalformed)
	}
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return nil, fmt.Errorf("%w: categories is not a non-empty array", ErrMalformed)
	}
	for i, e := range arr {
		s, ok := e.(string)
		if !ok || s == "" {
			return nil, fmt.Errorf("%w: categories[%d] is not non-empty text", ErrMalformed, i)
		}
		p.Categories = append(p.Categories, s)
	}
	var err error
	for _, f := range []struct {
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

func permitFromMap(m map[any]any) (*Permit, error) {
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

func vehicleFromMap(m map[any]any) (*Vehicle, error) {
	v := &Vehicle{}
	var err error
	if v.Plate, err = reqText(m, keyPlate, "plate"); err != nil {
		return nil, err
	}
	for _, f := range []struct {
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
	if _, present := intKey(m, keyPlateColour); present && !slices.Contains(PlateColours, v.PlateColour) {
		return nil, fmt.Errorf("%w: plateColour %q is not one of %s", ErrMalformed, v.PlateColour, strings.Join(PlateColours, " "))
	}
	if v.ReviewUntil, err = optDate(m, keyReviewUntil, "reviewUntil"); err != nil {
		return nil, err
	}
	return v, nil
}

func asInt(v any) (int64, error) {
	switch n := v.(type) {
	case uint64:
		if n > math.MaxInt64 {
			return 0, fmt.Errorf("%w: integer %d out of range", ErrMalformed, n)
		}
		return int64(n), nil
	case int64:
		return n, nil
	}
	return 0, fmt.Errorf("%w: %T is not an integer", ErrMalformed, v)
}

func reqUint(m map[any]any, k int64, name string) (uint64, error) {
	v, ok := intKey(m, k)
	if !ok {
		return 0, fmt.Errorf("%w: %s missing", ErrMalformed, name)
	}
	n, ok := v.(uint64)
	if !ok {
		return 0, fmt.Errorf("%w: %s is not an unsigned integer", ErrMalformed, name)
	}
	return n, nil
}

func reqText(m map[any]any, k int64, name string) (string, error) {
	v, ok := intKey(m, k)
	if !ok {
		return "", fmt.Errorf("%w: %s missing", ErrMalformed, name)
	}
	s, ok := v.(string)
	if !ok || s == "" {
		return "", fmt.Errorf("%w: %s is not non-empty text", ErrMalformed, name)
	}
	return s, nil
}

func optText(m map[any]any, k int64, name string) (string, error) {
	v, ok := intKey(m, k)
	if !ok {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%w: %s is not text", ErrMalformed, name)
	}
	return s, nil
}

func reqDate(m map[any]any, k int64, name string) (Date, error) {
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

func optDate(m map[any]any, k int64, name string) (Date, error) {
	v, ok := intKey(m, k)
	if !ok {
		return Date{}, nil
	}
	s, ok := v.(string)
	if !ok {
		return Date{}, fmt.Errorf("%w: %s is not text", ErrMalformed, name)
	}
	d, err := ParseDate(s)
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
