package syncclient

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/records"
)

// HeadReport is what one head report told the hub and what it answered.
type HeadReport struct {
	// Seq is the chain head reported (the newest record's sequence).
	Seq uint64
	// Flags are the hub's findings (wire.FlagKindHead*, wire.FlagKindAudit):
	// empty when the head agrees with what the hub holds and the audit
	// found nothing.
	Flags []string
	// Received is the newest sequence the hub holds in order.
	Received uint64
	// Unsupported: the hub does not take head reports (an earlier
	// version, HTTP 404); nothing was compared.
	Unsupported bool
}

// Audit runs the record store's chain audit (records.Store.Audit): every
// sync does, before its push, so that a damaged chain is reported to the
// officer and, with the head, to the hub.
func (c *Client) Audit(ctx context.Context) (*records.AuditReport, error) {
	var a *records.AuditReport
	err := c.withRecords(ctx, func(rs *records.Store) error {
		var err error
		a, err = rs.Audit(ctx)
		return err
	})
	return a, err
}

// ReportHead sends the chain head (as stored, with the device's signature
// from the last append) and audit to the hub (POST wire.PathHead). The hub
// compares it with the chain it received and flags a head behind it, a
// rewritten head, a head not signed by the device, and a failed audit. A
// hub without head reports (404) gives Unsupported and no error. A nil
// audit reports none.
func (c *Client) ReportHead(ctx context.Context, audit *records.AuditReport) (*HeadReport, error) {
	var h records.SignedHead
	err := c.withRecords(ctx, func(rs *records.Store) error {
		var err error
		h, err = rs.Head(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	req := wire.HeadReport{Seq: h.Seq, Hash: hex.EncodeToString(h.Hash[:]), Sig: h.Sig}
	if audit != nil {
		req.Audit.Records = audit.Records
		for i, p := range audit.Problems {
			if i == wire.MaxHeadProblems {
				break
			}
			req.Audit.Problems = append(req.Audit.Problems, wire.HeadProblem{Seq: p.Seq, Kind: p.Kind, Detail: truncate(p.Detail, 1024)})
		}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, http.MethodPost, wire.PathHead, body, nil)
	if err != nil {
		return nil, err
	}
	rep := &HeadReport{Seq: h.Seq}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		resp.Body.Close()
		rep.Unsupported = true
		return rep, nil
	default:
		return nil, hubError(resp)
	}
	var hr wire.HeadResponse
	err = json.NewDecoder(io.LimitReader(resp.Body, wire.MaxSmallBody)).Decode(&hr)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("%w: head answer: %v", ErrProtocol, err)
	}
	rep.Flags, rep.Received = hr.Flags, hr.Received
	return rep, nil
}

// truncate shortens s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}
