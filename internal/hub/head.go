package hub

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/records"
)

// Head is a decoded head report (wire.HeadReport).
type Head struct {
	Seq   uint64
	Hash  [gm.SM3Size]byte
	Sig   []byte
	Audit wire.HeadAudit
}

// DecodeHead parses and checks a head report body: ErrBadInput for
// anything that is not one (unknown fields, a hash that is not 64 hex
// digits, a head at sequence 0 with a non-zero hash, more than
// wire.MaxHeadProblems problems, a signature of absurd size).
func DecodeHead(body []byte) (*Head, error) {
	var req wire.HeadReport
	if err := strictJSON(body, &req); err != nil {
		return nil, err
	}
	raw, err := hex.DecodeString(req.Hash)
	switch {
	case err != nil || len(raw) != gm.SM3Size || strings.ToLower(req.Hash) != req.Hash:
		return nil, fmt.Errorf("%w: head hash must be %d lower-case hex digits", ErrBadInput, 2*gm.SM3Size)
	case req.Seq == 0 && [gm.SM3Size]byte(raw) != [gm.SM3Size]byte{}:
		return nil, fmt.Errorf("%w: a head without records has the zero hash", ErrBadInput)
	case len(req.Sig) > 256:
		return nil, fmt.Errorf("%w: head signature of %d bytes", ErrBadInput, len(req.Sig))
	case req.Audit.Records < 0 || len(req.Audit.Problems) > wire.MaxHeadProblems:
		return nil, fmt.Errorf("%w: audit with %d records and %d problems (at most %d)", ErrBadInput, req.Audit.Records, len(req.Audit.Problems), wire.MaxHeadProblems)
	}
	for _, p := range req.Audit.Problems {
		if p.Kind == "" || len(p.Kind) > 64 || len(p.Detail) > 1024 {
			return nil, fmt.Errorf("%w: audit problem without a kind, or too long", ErrBadInput)
		}
	}
	return &Head{Seq: req.Seq, Hash: [gm.SM3Size]byte(raw), Sig: req.Sig, Audit: req.Audit}, nil
}

func (s *Server) handleHead(w http.ResponseWriter, r *http.Request) {
	dev, pub, body, ok := s.authDevice(w, r, wire.MaxSmallBody)
	if !ok {
		return
	}
	h, err := DecodeHead(body)
	if err != nil {
		fail(w, http.StatusBadRequest, wire.CodeBadRequest, "%v", err)
		return
	}
	resp, err := s.CheckHead(r.Context(), dev, pub, h)
	if errors.Is(err, ErrDeviceRevoked) {
		dev.Revoked = s.clk.Now()
		revoked(w, dev)
		return
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// CheckHead compares a device's reported chain head with what the hub
// holds of its chain, inside the device's ingest transaction (so a push
// running at the same time is either wholly before or wholly after), and
// flags for supervisors:
//
//   - wire.FlagKindHeadSignature: the head's signature does not verify
//     with the device key (written outside RoadCheck);
//   - wire.FlagKindHeadBehind: the head is older than the newest record
//     the hub received in order (the terminal's newest records were
//     deleted and its head rolled back, or its database restored);
//   - wire.FlagKindHeadMismatch: the hub holds a record at the head's
//     sequence with another hash (the history was rewritten);
//   - wire.FlagKindAudit: the terminal's own audit found problems.
//
// Each flag is raised once per distinct finding (the same report sent
// again raises nothing new, but the answer still names it). A head ahead
// of what the hub received is normal (records not pushed yet). A revoked
// device gives ErrDeviceRevoked.
func (s *Server) CheckHead(ctx context.Context, dev Device, pub *gm.PublicKey, h *Head) (*wire.HeadResponse, error) {
	now := s.clk.Now()
	resp := &wire.HeadResponse{HubTime: now.UTC()}
	sigOK, _ := pub.Verify(records.HeadSigningString(dev.ID, h.Seq, h.Hash[:]), h.Sig)
	err := s.store.Ingest(ctx, dev.ID, func(tx IngestTx) error {
		resp.Flags = resp.Flags[:0]
		d := tx.Device()
		if !d.Revoked.IsZero() {
			return fmt.Errorf("%w: %s", ErrDeviceRevoked, d.ID)
		}
		received := d.NextSeq - min(d.NextSeq, 1)
		resp.Received = received
		flag := func(kind string, from, to uint64, detail string) error {
			key := gm.SM3(fmt.Appendf(nil, "RC-HEADFLAG-1\n%s\n%s\n%d\n%x\n%d\n%s", dev.ID, kind, h.Seq, h.Hash, received, detail))
			if _, err := tx.PutFlag(Flag{ID: s.newFlagID(now), Key: key, Device: dev.ID, Kind: kind, FromSeq: from, ToSeq: to, Detail: detail, At: now}); err != nil {
				return err
			}
			resp.Flags = append(resp.Flags, kind)
			return nil
		}
		if !sigOK {
			if err := flag(wire.FlagKindHeadSignature, h.Seq, h.Seq, fmt.Sprintf(
				"the device reports its chain head at record %d with a signature that does not verify: the head was written outside RoadCheck (records deleted and the head rolled back?)", h.Seq)); err != nil {
				return err
			}
		}
		if h.Seq < received {
			if err := flag(wire.FlagKindHeadBehind, h.Seq+1, received, fmt.Sprintf(
				"the device now reports %d records, the hub already received %d from it: records %d–%d were deleted on the terminal (or its database was restored from an older copy)",
				h.Seq, received, h.Seq+1, received)); err != nil {
				return err
			}
		}
		if h.Seq > 0 && h.Seq <= received {
			want := d.LastHash
			if h.Seq < received || want == ([gm.SM3Size]byte{}) {
				id, ok, err := tx.RecordAt(h.Seq)
				if err != nil {
					return err
				}
				want = [gm.SM3Size]byte{}
				if ok {
					r, found, err := tx.Record(id)
					if err != nil {
						return err
					}
					if found {
						if want, err = s.hashOf(&r); err != nil {
							return err
						}
					}
				}
			}
			if want != ([gm.SM3Size]byte{}) && want != h.Hash {
				if err := flag(wire.FlagKindHeadMismatch, h.Seq, h.Seq, fmt.Sprintf(
					"the device's record %d is not the record %d the hub holds: the device's history was rewritten", h.Seq, h.Seq)); err != nil {
					return err
				}
			}
		}
		if len(h.Audit.Problems) > 0 {
			var kinds []string
			for _, p := range h.Audit.Problems {
				kinds = append(kinds, fmt.Sprintf("#%d %s", p.Seq, p.Kind))
			}
			slices.Sort(kinds)
			from, to := h.Audit.Problems[0].Seq, h.Audit.Problems[0].Seq
			for _, p := range h.Audit.Problems {
				from, to = min(from, p.Seq), max(to, p.Seq)
			}
			if err := flag(wire.FlagKindAudit, from, to, fmt.Sprintf(
				"the device's own audit of its %d records found %d problem(s): %s", h.Audit.Records, len(h.Audit.Problems), strings.Join(kinds, ", "))); err != nil {
				return err
			}
		}
		return tx.SetChain(d.NextSeq, d.LastHash, now)
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}
