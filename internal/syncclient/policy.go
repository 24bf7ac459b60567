package syncclient

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/policy"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/trust"
)

// The hub's check policy (package policy) comes with the trust data: the
// manifest names it as an object (wire.TrustManifest.Policy). PullTrust
// fetches it when the policy file does not hold it, verifies it with the
// hub policy key pinned at enrolment and against the highest sequence
// applied (records.SyncState), saves it with policy.Save and remembers its
// sequence. A policy that does not verify is refused as a whole — the
// file keeps the policy in force — reported (PullReport.Policy,
// State.PolicyRefused, the log) and not fetched again for RefusalMemory.

// PolicyReport says what became of the hub's check policy in one pull.
type PolicyReport struct {
	// Seq is the policy's sequence as the manifest names it.
	Seq uint64
	// Applied: the policy was verified and saved; Policy is it.
	Applied bool
	Policy  policy.Policy
	// Refused says why it was refused ("" when it was not); Earlier: in
	// an earlier round, and not fetched again.
	Refused string
	Earlier bool
}

// policyItem is the manifest's policy object.
type policyItem struct {
	seq  uint64
	item feedItem
}

func checkPolicyRef(w *wire.FeedPolicy) (*policyItem, error) {
	if w == nil {
		return nil, nil
	}
	it, err := item(w.FeedRef, wire.ObjectPolicy, fmt.Sprintf("check policy #%d", w.Seq))
	if err != nil {
		return nil, err
	}
	if it.size > 64<<10 {
		return nil, fmt.Errorf("%w: trust manifest: a check policy of %d bytes", ErrProtocol, it.size)
	}
	return &policyItem{seq: w.Seq, item: it}, nil
}

// policyMark is what the policy file holds, for the feed state's
// fingerprint: a policy file changed or removed since the last round
// makes the next round fetch the manifest (not 304) and put the hub's
// policy back.
func (c *Client) policyMark() string {
	if c.cfg.PolicyFile == "" {
		return ""
	}
	data, err := os.ReadFile(c.cfg.PolicyFile)
	if err != nil {
		return " policy:none"
	}
	d := gm.SM3(data)
	return " policy:" + hex.EncodeToString(d[:])
}

// pullPolicy applies the manifest's check policy (see above). It fails
// only when the policy could not be fetched or saved (the round is then
// incomplete); a refusal is reported, not an error.
func (c *Client) pullPolicy(ctx context.Context, dir string, m *manifest, st *feedState, rep *PullReport,
	isRefused func(trust.Hash) bool) error {
	if m.policy == nil || c.cfg.PolicyFile == "" {
		return nil
	}
	it := m.policy.item
	if cur, err := os.ReadFile(c.cfg.PolicyFile); err == nil && trust.Hash(gm.SM3(cur)) == it.digest {
		return nil // in force already
	}
	pr := &PolicyReport{Seq: m.policy.seq}
	rep.Policy = pr
	if isRefused(it.digest) {
		pr.Refused, pr.Earlier = st.Refused[it.digest.String()].Reason, true
		return nil
	}
	refuse := func(err error) error {
		pr.Refused = err.Error()
		if st.Refused == nil {
			st.Refused = map[string]refusal{}
		}
		st.Refused[it.digest.String()] = refusal{Reason: pr.Refused, At: c.clk.Now().UnixMilli()}
		c.log.Warn("sync: the hub's check policy is refused; the policy in force stays", "seq", m.policy.seq, "err", err)
		c.update(func(s *State) { s.PolicyRefused = pr.Refused })
		return nil
	}
	var keys policy.Keys
	if err := c.withRecords(ctx, func(rs *records.Store) error {
		var err error
		keys, err = rs.PolicyKeys(ctx)
		return err
	}); err != nil {
		return fmt.Errorf("check policy: %w", err)
	}
	if keys.Hub == nil {
		k, err := c.hubPolicyKey(ctx)
		if err != nil {
			return fmt.Errorf("check policy: %w", err)
		}
		if keys.Hub = k; k == nil {
			return refuse(fmt.Errorf("%w: no hub policy key was pinned at enrolment (enrol again)", policy.ErrNoKey))
		}
	}
	if m.policy.seq < keys.HubSeq {
		return refuse(fmt.Errorf("%w: the hub offers #%d, #%d applied", policy.ErrRollback, m.policy.seq, keys.HubSeq))
	}
	n, err := c.fetch(ctx, dir, it)
	rep.Bytes += n
	if err != nil {
		if errors.Is(err, errObjectGone) {
			return err
		}
		return fmt.Errorf("%s %s: %w", it.what, it.digest.String()[:16], err)
	}
	rep.Fetched++
	path := filepath.Join(dir, it.digest.String())
	data, err := os.ReadFile(path)
	os.Remove(path)
	if err != nil {
		return fmt.Errorf("check policy: %w", err)
	}
	// Only the hub's key: a device policy (signed with this device's key)
	// is never taken from the hub.
	p, err := policy.Verify(data, policy.Keys{Hub: keys.Hub, HubSeq: keys.HubSeq})
	if err == nil && p.Source != policy.SourceHub {
		err = fmt.Errorf("%w: a %s policy from the hub", policy.ErrNoKey, p.Source)
	}
	if err != nil {
		return refuse(err)
	}
	if err := policy.Save(ctx, c.cfg.PolicyFile, data); err != nil {
		return fmt.Errorf("check policy: %w", err)
	}
	// Saved first, then remembered: a crash between leaves the floor
	// lower than the file, never higher.
	if err := c.withRecords(ctx, func(rs *records.Store) error { return rs.NotePolicy(ctx, p) }); err != nil {
		return fmt.Errorf("check policy: %w", err)
	}
	pr.Applied, pr.Policy = true, p
	c.log.Info("sync: applied the hub's check policy", "policy", p.String())
	c.update(func(s *State) { s.PolicySeq, s.PolicyRefused = p.Seq, "" })
	return nil
}

// hubPolicyKey asks the hub for its policy key (GET /v1/hubkey), for a
// terminal enrolled before hubs published it at enrolment, and pins it:
// asked over the channel pinned at enrolment (the hub's CA or SPKI). Nil
// when the hub has none, or the terminal never enrolled.
func (c *Client) hubPolicyKey(ctx context.Context) (*gm.PublicKey, error) {
	var enrolled bool
	if err := c.withRecords(ctx, func(rs *records.Store) error {
		st, err := rs.SyncState(ctx)
		enrolled = st.Enrolled != 0
		return err
	}); err != nil || !enrolled {
		return nil, err
	}
	resp, err := c.do(ctx, http.MethodGet, wire.PathHubKey, nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
		return nil, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, hubError(resp)
	}
	var hk wire.HubKeyResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&hk); err != nil {
		return nil, fmt.Errorf("%w: hub key answer: %v", ErrProtocol, err)
	}
	if len(hk.PolicyKey) == 0 {
		return nil, nil
	}
	k, err := gm.ParsePKIX(hk.PolicyKey)
	if err != nil {
		return nil, fmt.Errorf("%w: the hub's policy key: %v", ErrProtocol, err)
	}
	err = c.withRecords(ctx, func(rs *records.Store) error {
		return rs.UpdateSyncState(ctx, func(s *records.SyncState) {
			if len(s.HubPolicyKey) == 0 {
				s.HubPolicyKey = hk.PolicyKey
			}
		})
	})
	return k, err
}
