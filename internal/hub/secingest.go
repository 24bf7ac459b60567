package hub

import (
	"context"
	"crypto/hmac"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub/account"
	"github.com/roadcheck/roadcheck/internal/hub/audit"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/hub/wire/envelope"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/storage"
	bolt "go.etcd.io/bbolt"
)

// openPush returns the push request of a push body: opened from its
// envelope when sealed to the hub's key, as is otherwise (refused with 415
// when the hub requires sealing).
func (s *Server) openPush(w http.ResponseWriter, r *http.Request, body []byte) ([]byte, bool) {
	ct := r.Header.Get("Content-Type")
	if strings.HasPrefix(ct, envelope.ContentType) {
		pt, err := s.keys.OpenEnvelope(body, envelope.TypePush)
		if err != nil {
			auditOf(r).set(func(ra *reqAudit) { ra.detail = err.Error() })
			fail(w, http.StatusBadRequest, wire.CodeBadRequest, "sealed push: %v", err)
			return nil, false
		}
		auditOf(r).set(func(ra *reqAudit) { ra.detail = "sealed" })
		return pt, true
	}
	if s.sec.requireSealed {
		fail(w, http.StatusUnsupportedMediaType, wire.CodeSealingRequired, "this hub takes record pushes sealed to its key (%s)", envelope.ContentType)
		return nil, false
	}
	return body, true
}

// admitPush uses the push's nonce (nu) and charges its n records and its
// request to the device's quotas (limit.Limiter.PlanPush): in one step
// when the store keeps both nonces and shared quotas (Admitter). On false
// it has answered: 401 for a replay, 429 over a quota.
func (s *Server) admitPush(w http.ResponseWriter, r *http.Request, dev Device, nu nonceUse, n int) bool {
	auditOf(r).set(func(ra *reqAudit) { ra.rows = n })
	ctx := r.Context()
	plan := s.sec.limits.PlanPush(dev.ID, n)
	d := plan.Local
	switch {
	case !d.OK:
		// Over a quota in memory: refused before the nonce is used.
	case s.sec.admit != nil && len(plan.Takes) > 0:
		fresh, taken, err := s.sec.admit.Admit(ctx, nu.key, nu.now, nu.expires, plan.Takes)
		if err != nil {
			s.internal(w, err)
			return false
		}
		if !fresh {
			replayed(w, r)
			return false
		}
		d = plan.Decide(taken)
	default:
		if !s.useNonce(w, r, nu) {
			return false
		}
		var err error
		if d, err = s.sec.limits.Apply(ctx, &plan); err != nil {
			s.internal(w, err)
			return false
		}
	}
	if !d.OK {
		s.tooMany(w, r, d)
		return false
	}
	return true
}

// chargeFlags charges the flags a push raised (rejections, and records
// flagged) to the device's flag budget.
func (s *Server) chargeFlags(ctx context.Context, dev Device, res []wire.PushResult) {
	n := 0
	for _, r := range res {
		if r.Status == wire.StatusRejected || (r.Status == wire.StatusAccepted && len(r.Flags) > 0) {
			n++
		}
	}
	if err := s.sec.limits.Flags(ctx, dev.ID, n); err != nil {
		s.log.Warn("flag quota not charged", "device", dev.ID, "err", err)
	}
}

// alias is the key a record of device is stored under when another
// device's record already holds its id: the id's time, then 10 bytes of
// HMAC-SM3 (index key) of device and id, so nobody can foresee it and
// squat it.
func (s *Server) alias(device string, id [16]byte) [16]byte {
	m := hmac.New(gm.NewSM3, s.keys.index)
	m.Write([]byte("RC-RECORD-KEY-1\n" + device + "\n"))
	m.Write(id[:])
	var k [16]byte
	copy(k[:6], id[:6])
	copy(k[6:], m.Sum(nil))
	return k
}

// recordOf returns the record with id delivered by device: stored under
// id, or under its alias. other names the device that holds id when
// device has no record with it.
func (s *Server) recordOf(tx IngestTx, device string, id [16]byte) (rec StoredRecord, found bool, other string, err error) {
	r, ok, err := tx.Record(id)
	if err != nil || !ok {
		return StoredRecord{}, false, "", err
	}
	if r.Device == device {
		return r, true, "", nil
	}
	a, ok, err := tx.Record(s.alias(device, id))
	if err != nil {
		return StoredRecord{}, false, "", err
	}
	if ok && a.Device == device {
		return a, true, "", nil
	}
	return StoredRecord{}, false, r.Device, nil
}

// collide stores c's record under its alias (re-sealed, the key being the
// sealing's associated data) and flags the collision on the sender.
func (s *Server) collide(tx IngestTx, c *checked, p wire.PushRecord, dev Device, other string, now time.Time) error {
	r := c.rec
	key := s.alias(dev.ID, r.ID)
	var err error
	if c.stored.Sealed, err = s.keys.sealEvidence(key[:], p.Body, p.Sig); err != nil {
		return err
	}
	c.stored.ID = key
	_, err = tx.PutFlag(Flag{ID: s.newFlagID(now), Key: gm.SM3([]byte("RC-COLLISION-1\n" + dev.ID + "\n" + r.ID.String())), Device: dev.ID,
		Kind: wire.FlagKindCollision, FromSeq: r.Seq, ToSeq: r.Seq, RecordID: r.ID.String(), At: now,
		Detail: fmt.Sprintf("record %s (seq %d) of device %s has the id of a record device %s delivered before: ids are unique per device, so both are kept; "+
			"random ids do not collide by chance — one of the two devices copied the other's id", r.ID, r.Seq, dev.ID, other)})
	return err
}

// seqRange refuses sequence numbers a chain cannot have: 0, beyond MaxSeq,
// or more than MaxSeqAhead past the device's next expected one.
func seqRange(seq, next uint64) string {
	switch {
	case seq == 0:
		return "sequence 0: chains start at 1"
	case seq >= wire.MaxSeq:
		return fmt.Sprintf("sequence %d is beyond %d: a chain counter pushed to wrap", seq, uint64(wire.MaxSeq))
	case seq > next && seq-next > wire.MaxSeqAhead:
		return fmt.Sprintf("sequence %d is %d past the next expected %d (at most %d): a chain counter pushed forward", seq, seq-next, next, wire.MaxSeqAhead)
	}
	return ""
}

// clockCheck returns the clock flags of r received at now — the device's
// own (clock set back, off from the hub's at its last sync) and the hub's:
// the record's time ahead of the hub's beyond the skew, older than the
// offline window plus the skew, the id's time not the record's time — and
// a sentence for supervisors ("" without flags).
func (s *Server) clockCheck(r *records.Record, now time.Time) ([]string, string) {
	var flags, why []string
	if r.Clock.Flags&records.ClockBackwards != 0 {
		flags = append(flags, wire.FlagClockBackwards)
	}
	if r.Clock.Flags&records.ClockSkewed != 0 {
		flags = append(flags, wire.FlagClockSkewed)
	}
	if r.Clock.Flags != 0 {
		why = append(why, fmt.Sprintf("the device reports its clock doubtful (%s)", r.Clock.Flags))
	}
	skew := s.window
	switch {
	case r.Wall.After(now.Add(skew)):
		flags = append(flags, wire.FlagClockFuture)
		why = append(why, fmt.Sprintf("its time is %s ahead of the hub's", r.Wall.Sub(now).Round(time.Second)))
	case !r.Clock.HubTime.IsZero() && r.Clock.HubTime.After(now.Add(skew)):
		flags = append(flags, wire.FlagClockFuture)
		why = append(why, fmt.Sprintf("the hub time it says it saw (%s) is in the hub's future", r.Clock.HubTime.UTC().Format(time.RFC3339)))
	case r.Wall.Before(now.Add(-s.sec.offline - skew)):
		flags = append(flags, wire.FlagClockBackdated)
		why = append(why, fmt.Sprintf("its time is %s before the hub received it (more than the %s a terminal may stay offline)",
			now.Sub(r.Wall).Round(time.Hour), s.sec.offline))
	}
	if d := r.ID.Time().Sub(r.Wall); d > time.Second || d < -time.Second {
		flags = append(flags, wire.FlagIDTimeMismatch)
		why = append(why, fmt.Sprintf("its id's time %s is not its time (it would hide from time-range queries)",
			r.ID.Time().UTC().Format(time.RFC3339)))
	}
	if len(flags) == 0 {
		return nil, ""
	}
	return flags, fmt.Sprintf("clock doubtful at record %s, time %s: %s", r.ID, r.Wall.UTC().Format(time.RFC3339), strings.Join(why, "; "))
}

// ValidDeviceID checks a device id: 1–64 of A–Z, 0–9 and '-', starting
// with a letter or digit (no look-alikes, nothing a terminal shows oddly).
func ValidDeviceID(id string) error {
	if id == "" || len(id) > 64 || id[0] == '-' {
		return fmt.Errorf("%w: device_id must be 1–64 characters of A–Z, 0–9 and '-', not starting with '-'", ErrBadInput)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("%w: device_id %q: only A–Z, 0–9 and '-'", ErrBadInput, audit.Escape(id))
		}
	}
	return nil
}

// printable reports whether s is valid UTF-8 of printable characters
// (spaces allowed; no control, format or private characters).
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) && r != ' ' {
			return false
		}
	}
	return true
}

// ValidLabel checks a device label: at most 256 bytes of printable text.
func ValidLabel(label string) error {
	if len(label) > 256 {
		return fmt.Errorf("%w: label longer than 256 bytes", ErrBadInput)
	}
	if !printable(label) {
		return fmt.Errorf("%w: label %q holds control or invisible characters", ErrBadInput, audit.Escape(label))
	}
	return nil
}

// enrolled records an enrolment: the device inherits the jurisdiction of
// its token's scope, and the audit log names what was stored (an
// idempotent re-enrolment keeps the first label).
func (s *Server) enrolled(r *http.Request, tokenHash [gm.SM3Size]byte, req *wire.EnrollRequest, now time.Time) error {
	ctx := r.Context()
	dev, err := s.store.Device(ctx, req.DeviceID)
	if err != nil {
		return err
	}
	detail := fmt.Sprintf("enrolled with token %s, label %q", TokenID(tokenHash), audit.Escape(dev.Label))
	if !dev.Enrolled.Equal(now) {
		detail = fmt.Sprintf("re-enrolment (idempotent, enrolled %s) with token %s; label kept %q (asked %q)",
			dev.Enrolled.UTC().Format(time.RFC3339), TokenID(tokenHash), audit.Escape(dev.Label), audit.Escape(req.Label))
	} else if sc, ok, err := s.sec.accounts.Store().Scope(ctx, account.TokenScopeKey(tokenHash)); err != nil {
		return err
	} else if ok && sc.Jurisdiction != "" {
		if err := s.sec.accounts.Store().PutScope(ctx, account.DeviceScopeKey(dev.ID), account.Scope{Jurisdiction: sc.Jurisdiction}); err != nil {
			return err
		}
		detail += ", jurisdiction " + sc.Jurisdiction
	}
	auditOf(r).set(func(ra *reqAudit) { ra.who, ra.role = "device "+dev.ID, audit.RoleDevice })
	return s.record(r, http.StatusOK, func(e *audit.Entry) { e.Action, e.Detail = "device.enroll", detail })
}

// RecordByKey implements RecordGetter.
func (s *BoltStore) RecordByKey(ctx context.Context, key [16]byte) (StoredRecord, bool, error) {
	if err := ctx.Err(); err != nil {
		return StoredRecord{}, false, err
	}
	var (
		r     StoredRecord
		found bool
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(storage.BucketHubRecords).Get(key[:])
		if v == nil {
			return nil
		}
		var err error
		r, err = decodeRecord(key[:], v)
		found = err == nil
		return err
	})
	if found {
		r.Sealed = append([]byte(nil), r.Sealed...)
		r.PlateHash = append([]byte(nil), r.PlateHash...)
		r.Issuer = append([]byte(nil), r.Issuer...)
		r.Flags = append([]string(nil), r.Flags...)
	}
	return r, found, err
}
