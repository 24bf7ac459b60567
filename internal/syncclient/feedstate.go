package syncclient

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/trust"
)

// feedStateName is the file, in the trust store's incoming directory, that
// remembers the hub manifest last applied completely and the objects the
// trust store refused.
const feedStateName = "feed.json"

// feedState is what the terminal remembers of the hub's trust feed. None of
// it decides what to fetch — the trust store's holdings do — it only saves
// a round when nothing changed (ETag), detects a manifest going backwards,
// and avoids fetching refused objects again.
type feedState struct {
	// The manifest last applied completely: epoch, sequence, ETag, and a
	// fingerprint of the trust store's holdings right after (the ETag is
	// sent only while the store still holds exactly that).
	Hub        string `json:"hub,omitempty"`
	Generation uint64 `json:"generation,omitempty"`
	Seq        uint64 `json:"seq,omitempty"`
	ETag       string `json:"etag,omitempty"`
	Holdings   string `json:"holdings,omitempty"`
	// Refused: hex digest → why the trust store refused the object, when.
	Refused map[string]refusal `json:"refused,omitempty"`
}

type refusal struct {
	Reason string `json:"reason"`
	At     int64  `json:"at"` // Unix ms
}

func (c *Client) feedStatePath() string {
	return filepath.Join(c.cfg.Trust.IncomingDir(), feedStateName)
}

// loadFeedState reads the feed state (zero when there is none).
func (c *Client) loadFeedState() (*feedState, error) {
	st := &feedState{}
	if c.cfg.Trust == nil {
		return st, nil
	}
	b, err := os.ReadFile(c.feedStatePath())
	if os.IsNotExist(err) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, st); err != nil {
		return &feedState{}, fmt.Errorf("syncclient: %s: %v", feedStateName, err)
	}
	return st, nil
}

// saveFeedState writes st (atomically: a temporary file renamed), first
// forgetting refusals older than RefusalMemory at now.
func (c *Client) saveFeedState(st *feedState, now time.Time) error {
	for d, r := range st.Refused {
		if now.Sub(time.UnixMilli(r.At)) >= RefusalMemory {
			delete(st.Refused, d)
		}
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	path := c.feedStatePath()
	f, err := os.CreateTemp(filepath.Dir(path), ".feed-*")
	if err != nil {
		return fmt.Errorf("syncclient: trust feed state: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("syncclient: trust feed state: %w", err)
	}
	return nil
}

// fingerprint is a digest of everything h holds, in a canonical order.
func fingerprint(h trust.Holdings) string {
	var lines []string
	for d := range h.Certs {
		lines = append(lines, "c "+d.String())
	}
	for ca, d := range h.CRLs {
		lines = append(lines, "r "+ca.String()+" "+d.String())
	}
	for ref, l := range h.Lists {
		lines = append(lines, "l "+ref.String()+" "+strconv.FormatUint(l.Sequence, 10)+" "+l.Digest.String())
	}
	slices.Sort(lines)
	hh := gm.NewSM3()
	for _, l := range lines {
		hh.Write([]byte(l))
		hh.Write([]byte{'\n'})
	}
	return trust.Hash(hh.Sum(nil)).String()
}
