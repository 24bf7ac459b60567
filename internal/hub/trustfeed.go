package hub

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/trust"
)

// PublishReport says what became of a published bundle.
type PublishReport struct {
	Import *trust.Report // the hub trust store's verdict on every block
	Entry  FeedEntry     // the feed entry (Blocks 0: nothing new)
}

// Publish validates bundle against the hub's anchors (importing it into the
// hub's trust store) and appends its valid blocks — stored now or already
// held — that were never published to the trust feed. Blocks that do not
// verify are reported and left out. A bundle of which no block verifies
// gives ErrNothingValid (ErrNoAnchors when the hub has no anchors).
func Publish(ctx context.Context, st Store, ts *trust.Store, bundle []byte, at time.Time) (*PublishReport, error) {
	rep, err := ts.Import(ctx, bundle)
	if err != nil {
		return nil, err
	}
	var blocks [][]byte
	for _, b := range rep.Blocks {
		if b.Outcome == trust.Skipped {
			continue
		}
		blocks = append(blocks, pem.EncodeToMemory(&pem.Block{Type: b.Block.Type, Bytes: b.Block.Bytes}))
	}
	if len(blocks) == 0 {
		if len(ts.Summary(at, 0).Anchors) == 0 {
			return &PublishReport{Import: rep}, ErrNoAnchors
		}
		return &PublishReport{Import: rep}, ErrNothingValid
	}
	e, err := st.Publish(ctx, blocks, at)
	if err != nil {
		return nil, err
	}
	return &PublishReport{Import: rep, Entry: e}, nil
}

func etag(seq uint64) string { return `"feed-` + strconv.FormatUint(seq, 10) + `"` }

func (s *Server) handleFeed(w http.ResponseWriter, r *http.Request) {
	if _, _, _, ok := s.authDevice(w, r, wire.MaxSmallBody); !ok {
		return
	}
	var since uint64
	if v := r.URL.Query().Get("since"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			fail(w, http.StatusBadRequest, wire.CodeBadRequest, "since must be a feed sequence number")
			return
		}
		since = n
	}
	latest, blocks, err := s.store.Feed(r.Context(), since)
	if err != nil {
		s.internal(w, err)
		return
	}
	w.Header().Set(wire.HeaderFeedSeq, strconv.FormatUint(latest, 10))
	w.Header().Set("ETag", etag(latest))
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == etag(latest) || since >= latest {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.WriteHeader(http.StatusOK)
	w.Write(bytes.Join(blocks, nil))
}

// StatusQuery is the online status check of one licence: the kid of the
// code's signer, the licence's authorityCode and its idHash. The kid and
// issuer are needed because a status list speaks only for the licences of
// its own CA and issuer (RTC1 section 5): a bare idHash could be answered
// from another province's list.
type StatusQuery struct {
	KID    []byte
	Issuer string
	IDHash [credential.IDHashSize]byte
	At     time.Time
}

// ParseStatusQuery reads kid, issuer and id_hash (hex) from URL values.
func ParseStatusQuery(get func(string) string) (StatusQuery, error) {
	var q StatusQuery
	kid, err := hex.DecodeString(get("kid"))
	if err != nil || len(kid) != credential.KIDSize {
		return q, fmt.Errorf("%w: kid must be %d bytes of hex", ErrBadInput, credential.KIDSize)
	}
	h, err := hex.DecodeString(get("id_hash"))
	if err != nil || len(h) != credential.IDHashSize {
		return q, fmt.Errorf("%w: id_hash must be %d bytes of hex", ErrBadInput, credential.IDHashSize)
	}
	q.Issuer = get("issuer")
	if len(q.Issuer) != 6 || strings.Trim(q.Issuer, "0123456789") != "" {
		return q, fmt.Errorf("%w: issuer must be a 6-digit authority code", ErrBadInput)
	}
	q.KID, q.IDHash = kid, [credential.IDHashSize]byte(h)
	return q, nil
}

// Status answers an online status check from the status lists the hub's
// trust store holds.
func (s *Server) Status(ctx context.Context, q StatusQuery) (wire.StatusResponse, error) {
	at := s.clk.Now()
	if !q.At.IsZero() {
		at = q.At
	}
	resp := wire.StatusResponse{Status: "unknown", HubTime: at.UTC()}
	for _, signer := range s.trust.Signers(q.KID) {
		for _, ch := range s.trust.Chains(signer) {
			ca := ch.IssuingCA()
			info, ok := s.trust.List(ca, q.Issuer)
			if !ok {
				continue
			}
			e, found, err := s.trust.LicenceStatus(ctx, ca, q.Issuer, q.IDHash, at)
			if err != nil {
				return resp, err
			}
			tu, nu := info.ThisUpdate.UTC(), info.NextUpdate.UTC()
			resp.ListSequence, resp.ListThisUpdate, resp.ListNextUpdate = info.Sequence, &tu, &nu
			resp.Status = "active"
			if found {
				since := time.Unix(e.Since, 0).UTC()
				resp.Since = &since
				switch e.Status {
				case credential.StatusRevoked:
					resp.Status = "revoked"
				case credential.StatusSuspended:
					resp.Status = "suspended"
				}
			}
			return resp, nil
		}
	}
	return resp, nil
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	if _, _, _, ok := s.authDevice(w, r, wire.MaxSmallBody); !ok {
		return
	}
	q, err := ParseStatusQuery(r.URL.Query().Get)
	if err != nil {
		fail(w, http.StatusBadRequest, wire.CodeBadRequest, "%v", err)
		return
	}
	resp, err := s.Status(r.Context(), q)
	if err != nil {
		s.internal(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}
