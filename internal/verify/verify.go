package verify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/trust"
)

// Verifier checks RTC1 codes against a trust store. It is safe for
// concurrent use.
type Verifier struct {
	trust  *trust.Store
	clock  clock.Clock
	policy Policy
}

// New returns a Verifier over store. A nil clk means the wall clock; a zero
// policy field takes the default.
func New(store *trust.Store, clk clock.Clock, pol Policy) *Verifier {
	if clk == nil {
		clk = clock.Real{}
	}
	def := DefaultPolicy()
	if pol.ClockSkew == 0 {
		pol.ClockSkew = def.ClockSkew
	}
	if pol.MaxTrustAge == 0 {
		pol.MaxTrustAge = def.MaxTrustAge
	}
	return &Verifier{trust: store, clock: clk, policy: pol}
}

// Policy returns the policy in force.
func (v *Verifier) Policy() Policy { return v.policy }

// WithPolicy returns a copy of v that applies pol (zero fields: default).
func (v *Verifier) WithPolicy(pol Policy) *Verifier { return New(v.trust, v.clock, pol) }

// Verify runs the verification steps of the format on text at check time at
// (zero: the verifier's clock). Steps 1–7 stop at the first that fails;
// steps 8–10 are all reported. It never returns nil. A failure of the trust
// store itself (a damaged database) yields INVALID with Detail set and no
// reasons beyond those already found; callers treat a non-nil Err as an error,
// not as a verdict.
func (v *Verifier) Verify(ctx context.Context, text string, at time.Time) *Result {
	at = clock.Or(v.clock, at)
	res := &Result{CheckedAt: at}
	if err := v.verify(ctx, text, at, res); err != nil {
		res.Err = err
	}
	res.finish()
	if res.Err != nil {
		res.Verdict = Invalid
	}
	return res
}

func (v *Verifier) verify(ctx context.Context, text string, at time.Time, res *Result) error {
	// Step 1: text layers, COSE structure, limits, iat.
	d, err := credential.Parse(text)
	if err != nil {
		// A text both too long and of another version is both
		// (clarifications 1 and 20).
		res.Detail = err
		if errors.Is(err, credential.ErrMalformed) || !errors.Is(err, credential.ErrUnsupportedVersion) {
			res.add(Malformed)
		}
		if errors.Is(err, credential.ErrUnsupportedVersion) {
			res.add(UnsupportedVersion)
		}
		return nil
	}
	res.Signer = &SignerInfo{KID: d.Sign1.KID}
	// Step 2: alg.
	if !d.Sign1.AlgOK {
		res.Detail = fmt.Errorf("%w: %v", credential.ErrUnsupportedAlg, d.Sign1.Alg)
		res.add(UnsupportedAlg)
		return nil
	}
	// Step 3: kid.
	signers := v.trust.Signers(d.Sign1.KID)
	if len(signers) == 0 {
		res.Detail = fmt.Errorf("kid %x", d.Sign1.KID)
		res.add(UnknownSigner)
		return nil
	}
	// Steps 4 and 5, per candidate signer (a kid collision is possible).
	iat := time.Unix(d.IssuedAt, 0)
	var (
		signer *trust.Cert
		chains []trust.Chain // every chain of the signer that passes step 4
		step4  []Reason
	)
	buf := sigBuffers.Get().(*[]byte)
	sigStructure := d.Sign1.AppendSigStructure((*buf)[:0])
	badSig := false
	for _, c := range signers {
		passing, reasons := v.chainsAt(c, iat)
		if len(reasons) > 0 {
			if step4 == nil {
				step4 = reasons
			}
			continue
		}
		ok, err := c.Pub.Verify(sigStructure, d.Sign1.Signature)
		if err != nil || !ok {
			badSig = true
			continue
		}
		signer, chains = c, passing
		break
	}
	if cap(sigStructure) <= credential.MaxCOSESize+64 {
		*buf = sigStructure[:0]
		sigBuffers.Put(buf)
	}
	if signer == nil {
		first := signers[0]
		res.Signer = signerInfo(first, nil)
		if badSig {
			res.Detail = errors.New("SM2 signature does not verify")
			res.add(BadSignature)
			return nil
		}
		res.Detail = fmt.Errorf("certificate chain of %s at iat %s", first.Label(), iat.UTC().Format(time.RFC3339))
		for _, r := range step4 {
			res.add(r)
		}
		return nil
	}
	chain := chains[0]
	res.Signer = signerInfo(signer, chain)
	// Step 6: claims schema, iss, jurisdiction. Both reasons are reported
	// when the claims are malformed but carry a six-digit authorityCode
	// outside the jurisdiction (clarification 20). Every chain's issuing
	// CA is the signer's issuer (same Subject, same key: one CA), so one
	// prefix applies.
	ca := chain.IssuingCA()
	claims, err := d.Claims()
	if err != nil {
		res.Detail = err
		res.add(Malformed)
		if code, ok := d.AuthorityCode(); ok && !trust.Covers(ca.Prefix, code) {
			res.add(IssuerMismatch)
		}
		return nil
	}
	if !trust.Covers(ca.Prefix, claims.Credential.AuthorityCode) {
		res.Detail = fmt.Errorf("authorityCode %s outside prefix %s of %s", claims.Credential.AuthorityCode, ca.Prefix, ca.Label())
		res.add(IssuerMismatch)
		return nil
	}
	res.Claims = claims
	// Step 7: the code's own time window.
	skew := v.policy.ClockSkew
	if iat.After(at.Add(skew)) {
		res.add(CodeNotYetValid)
		return nil
	}
	if claims.HasExpiry && time.Unix(claims.Expires, 0).Before(at.Add(-skew)) {
		res.add(CodeExpired)
		return nil
	}
	cr := &claims.Credential
	// Step 8: licence dates.
	if at.Before(cr.ValidFrom.Start()) {
		res.add(LicenceNotYetValid)
	}
	if !at.Before(cr.ValidUntil.End()) {
		res.add(LicenceExpired)
	}
	// Step 9: status list of (issuing CA, authorityCode).
	list, haveList := v.trust.List(ca, cr.AuthorityCode)
	// A list whose file is damaged gives no status, and one rebuilt since
	// but not yet back at the sequence held before says less than it did:
	// the verdict is then at most LIMITED (TRUST_STALE), never "not
	// revoked"; the store has it fetched again at the next sync.
	incomplete := haveList && list.Incomplete()
	if haveList && !list.Damaged {
		e, found, err := v.trust.LicenceStatus(ctx, ca, cr.AuthorityCode, credential.IDHash(cr.ID), at)
		if errors.Is(err, trust.ErrDamaged) {
			incomplete, found, err = true, false, nil
		}
		if err != nil {
			return err
		}
		res.Status = StatusInfo{ListThisUpdate: list.ThisUpdate, ListNextUpdate: list.NextUpdate, ListSequence: list.Sequence}
		if found {
			res.Status.Listed = true
			res.Status.Since = time.Unix(e.Since, 0)
			switch e.Status {
			case credential.StatusRevoked:
				res.Status.Revoked = true
				res.add(LicenceRevoked)
			case credential.StatusSuspended:
				res.Status.Suspended = true
				res.add(LicenceSuspended)
			}
		}
	}
	// Step 10: warnings.
	if !haveList {
		res.add(StatusUnknown)
	} else if incomplete || list.NextUpdate.Before(at) || at.Sub(list.ThisUpdate) > v.policy.MaxTrustAge {
		res.add(TrustStale)
	}
	// The newest CRL of every CA on every chain that passed step 4 (the
	// anchor included); a CRL without nextUpdate is always stale
	// (clarifications 13 and 14).
	for _, ch := range chains {
		for _, c := range ch[1:] {
			if crl := v.trust.CRLOf(c); crl != nil && (crl.NextUpdate.IsZero() || crl.NextUpdate.Before(at)) {
				res.add(TrustStale)
			}
		}
	}
	if cr.Kind == credential.KindVehicle && !cr.Vehicle.ReviewUntil.IsZero() && !at.Before(cr.Vehicle.ReviewUntil.End()) {
		res.add(ReviewOverdue)
	}
	return nil
}

// sigBuffers recycles the buffers that hold a code's Sig_structure while
// its signature is verified (gm does not keep it).
var sigBuffers = sync.Pool{New: func() any { return new([]byte) }}

// chainsAt returns the chains of c that pass step 4 — valid at iat, no
// certificate listed on the newest stored CRL of its issuer — or, when none
// does, the step-4 reasons (clarification 13): SIGNER_REVOKED alone when
// chains valid at iat exist (all of them then have a listed certificate);
// otherwise CHAIN_INVALID, with SIGNER_REVOKED too when every chain has a
// listed certificate.
func (v *Verifier) chainsAt(c *trust.Cert, iat time.Time) ([]trust.Chain, []Reason) {
	chains := v.trust.Chains(c)
	if len(chains) == 0 {
		return nil, []Reason{ChainInvalid}
	}
	var passing []trust.Chain
	anyValid, allRevoked := false, true
	for _, ch := range chains {
		valid, revoked := ch.ValidAt(iat), v.trust.Revoked(ch)
		anyValid = anyValid || valid
		allRevoked = allRevoked && revoked
		if valid && !revoked {
			passing = append(passing, ch)
		}
	}
	switch {
	case len(passing) > 0:
		return passing, nil
	case anyValid:
		return nil, []Reason{SignerRevoked}
	case allRevoked:
		return nil, []Reason{ChainInvalid, SignerRevoked}
	}
	return nil, []Reason{ChainInvalid}
}

func signerInfo(c *trust.Cert, ch trust.Chain) *SignerInfo {
	si := &SignerInfo{KID: c.KID[:], Subject: c.Subject(), Issuer: c.Issuer(), Known: true}
	if len(ch) > 1 {
		si.Prefix = ch.IssuingCA().Prefix
	}
	return si
}
