package credential

import (
	"fmt"
	"slices"
)

// Map returns the credential claims as the CBOR map that Encode writes:
// integer keys, optional fields omitted when empty. It refuses credentials
// that DecodeClaims would refuse.
func (cr *Credential) Map() (map[int64]any, error) {
	if err := cr.check(); err != nil {
		return nil, err
	}
	m := map[int64]any{
		keyVersion:       cr.Version,
		keyKind:          uint64(cr.Kind),
		keyNumber:        cr.Number,
		keyID:            cr.ID,
		keyHolder:        cr.Holder,
		keyHolderIDType:  uint64(cr.HolderIDType),
		keyHolderID:      cr.HolderID,
		keyAuthority:     cr.Authority,
		keyAuthorityCode: cr.AuthorityCode,
		keyValidFrom:     cr.ValidFrom.String(),
		keyValidUntil:    cr.ValidUntil.String(),
	}
	putText(m, keyTitle, cr.Title)
	putDate(m, keyIssued, cr.Issued)
	switch cr.Kind {
	case KindPractitioner:
		p := cr.Practitioner
		m[keyCategories] = slices.Clone(p.Categories)
		putText(m, keySex, p.Sex)
		putDate(m, keyBirthDate, p.BirthDate)
		putText(m, keyVehicleClass, p.VehicleClass)
		putText(m, keyIntegrityGrade, p.IntegrityGrade)
		putDate(m, keyIntegrityDate, p.IntegrityDate)
	case KindPermit:
		p := cr.Permit
		m[keyPermitScope] = p.Scope
		putText(m, keyAddress, p.Address)
		putText(m, keyEconomicType, p.EconomicType)
	case KindVehicle:
		v := cr.Vehicle
		m[keyPlate] = v.Plate
		putText(m, keyPlateColour, v.PlateColour)
		putText(m, keyOperator, v.Operator)
		putText(m, keyOperatorLicence, v.OperatorLicence)
		putText(m, keyVehicleType, v.VehicleType)
		putText(m, keyCapacity, v.Capacity)
		putText(m, keyDimensions, v.Dimensions)
		putText(m, keyVehicleScope, v.Scope)
		putDate(m, keyReviewUntil, v.ReviewUntil)
	}
	return m, nil
}

func (cr *Credential) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidClaims}, args...)...)
	}
	switch {
	case cr.Version != 1:
		return bad("version %d", cr.Version)
	case !cr.Kind.Valid():
		return bad("kind %d", cr.Kind)
	case !cr.HolderIDType.Valid():
		return bad("holderIdType %d", cr.HolderIDType)
	case cr.Number == "" || cr.ID == "" || cr.Holder == "" || cr.HolderID == "" || cr.Authority == "":
		return bad("a required text field is empty")
	case !isDivisionCode(cr.AuthorityCode):
		return bad("authorityCode %q", cr.AuthorityCode)
	case cr.ValidFrom.IsZero() || cr.ValidUntil.IsZero() || cr.ValidUntil.Before(cr.ValidFrom):
		return bad("validity %s to %s", cr.ValidFrom, cr.ValidUntil)
	}
	switch cr.Kind {
	case KindPractitioner:
		if cr.Practitioner == nil || len(cr.Practitioner.Categories) == 0 || slices.Contains(cr.Practitioner.Categories, "") {
			return bad("kind 1 needs non-empty categories")
		}
	case KindPermit:
		if cr.Permit == nil || cr.Permit.Scope == "" {
			return bad("kind 2 needs a scope")
		}
	case KindVehicle:
		if cr.Vehicle == nil || cr.Vehicle.Plate == "" {
			return bad("kind 3 needs a plate")
		}
		if c := cr.Vehicle.PlateColour; c != "" && !slices.Contains(PlateColours, c) {
			return bad("plateColour %q", c)
		}
	}
	return nil
}

func putText(m map[int64]any, k int64, s string) {
	if s != "" {
		m[k] = s
	}
}

func putDate(m map[int64]any, k int64, d Date) {
	if !d.IsZero() {
		m[k] = d.String()
	}
}

// Map returns the CWT claims set as a CBOR map. Issuer is taken from the
// credential's authorityCode when empty.
func (c *Claims) Map() (map[int64]any, error) {
	rtc, err := c.Credential.Map()
	if err != nil {
		return nil, err
	}
	iss := c.Issuer
	if iss == "" {
		iss = c.Credential.AuthorityCode
	}
	if iss != c.Credential.AuthorityCode {
		return nil, fmt.Errorf("%w: iss %q differs from authorityCode", ErrInvalidClaims, iss)
	}
	m := map[int64]any{claimISS: iss, claimIAT: c.IssuedAt, claimRTC: rtc}
	if c.HasExpiry {
		m[claimEXP] = c.Expires
	}
	if len(c.CTI) > 0 {
		if len(c.CTI) > MaxCTI {
			return nil, fmt.Errorf("%w: cti of %d bytes", ErrInvalidClaims, len(c.CTI))
		}
		m[claimCTI] = c.CTI
	}
	return m, nil
}

// EncodePayload returns the deterministic CBOR encoding of the claims set.
func (c *Claims) EncodePayload() ([]byte, error) {
	m, err := c.Map()
	if err != nil {
		return nil, err
	}
	return MarshalDeterministic(m)
}
