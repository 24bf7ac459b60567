package syncclient

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/trust"
)

// PullReport says what one PullTrust did.
type PullReport struct {
	// NotModified: the hub's manifest is the one last applied completely
	// (304), and the trust store still holds what it held then.
	NotModified bool
	// FeedSeq is the sequence of the hub's manifest; it is recorded only
	// when everything it lists was received and applied (or refused).
	FeedSeq uint64
	// NewEpoch: the manifest belongs to another epoch than the one last
	// applied (another hub, or the hub's feed was rebuilt or restored).
	// Nothing depends on it: the terminal always starts from what it holds.
	NewEpoch bool
	// Fetched is the number of objects received in full, Bytes the bytes
	// received for them (a resumed download counts only what was sent).
	Fetched int
	Bytes   int64
	// Import is what the trust store made of the objects, in import order
	// (nil when nothing was fetched).
	Import *trust.Report
	// Refused are the objects the trust store refused (signature,
	// jurisdiction, rollback…), with the reason. Their digests are
	// remembered for RefusalMemory, so they are not downloaded every round.
	Refused []Refusal
	// Refetched is true when a chain of deltas did not apply to the stored
	// status list and the full list was fetched instead.
	Refetched bool
	// Policy is what became of the hub's check policy (policy.go): nil
	// when the hub publishes none or the policy file holds it already.
	Policy *PolicyReport
}

// Refusal is a trust object the terminal's trust store refused.
type Refusal struct {
	Digest string // hex SM3 of the object
	What   string // "certificate", "CRL of CA …", "status list 440300 #5"
	Reason string
	// Earlier: refused in an earlier round and not downloaded again.
	Earlier bool
}

// pullLockName is the file, in the incoming directory, that a pulling
// process holds locked (two processes pulling into one trust store would
// spoil each other's downloads).
const pullLockName = "pull.lock"

// RefusalMemory is how long the digest of a refused object is remembered
// (not downloaded again). After it the object is tried again: an anchor
// added meanwhile may make it verify.
const RefusalMemory = 24 * time.Hour

// errObjectGone: the hub no longer has an object its manifest named (it
// published since): the round starts again with a fresh manifest.
var errObjectGone = errors.New("syncclient: the hub no longer has the object")

// errCut: an object's transfer ended before its last byte.
var errCut = errors.New("syncclient: transfer cut")

// errIdle cancels an object download during which nothing arrived for
// Config.Timeout.
var errIdle = errors.New("syncclient: no data from the hub for too long")

// feedItem is one object of the manifest.
type feedItem struct {
	digest trust.Hash
	size   int64
	typ    string // trust.BlockCertificate, BlockCRL or BlockStatusList
	what   string
	list   trust.ListRef // status lists: the list
}

type feedDelta struct {
	seq, base uint64
	item      feedItem
}

type feedList struct {
	ref     trust.ListRef
	fullSeq uint64
	full    feedItem
	deltas  []feedDelta
}

func (l *feedList) tip() uint64 {
	if n := len(l.deltas); n > 0 {
		return l.deltas[n-1].seq
	}
	return l.fullSeq
}

// manifest is a checked wire.TrustManifest.
type manifest struct {
	epoch wire.FeedEpoch
	seq   uint64
	certs []feedItem
	crls  map[trust.Hash]feedItem // by CA
	lists []feedList
	// policy is the hub's check policy (nil: none).
	policy *policyItem
}

func parseDigest(s string) (trust.Hash, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != gm.SM3Size || s != strings.ToLower(s) {
		return trust.Hash{}, fmt.Errorf("%w: trust manifest: %q is not an SM3 digest in lower-case hex", ErrProtocol, s)
	}
	return trust.Hash(b), nil
}

func item(r wire.FeedRef, typ, what string) (feedItem, error) {
	d, err := parseDigest(r.Digest)
	if err != nil {
		return feedItem{}, err
	}
	if r.Size <= 0 {
		return feedItem{}, fmt.Errorf("%w: trust manifest: object %s of %d bytes", ErrProtocol, r.Digest, r.Size)
	}
	return feedItem{digest: d, size: r.Size, typ: typ, what: what}, nil
}

// checkManifest validates the hub's manifest: well-formed digests and
// sizes, and for every list a whole chain (each delta based on the
// sequence before it).
func checkManifest(w *wire.TrustManifest) (*manifest, error) {
	m := &manifest{epoch: w.Epoch, seq: w.Seq, crls: map[trust.Hash]feedItem{}}
	if w.Epoch.Hub == "" {
		return nil, fmt.Errorf("%w: trust manifest without an epoch", ErrProtocol)
	}
	for _, c := range w.Certs {
		it, err := item(c, trust.BlockCertificate, "certificate")
		if err != nil {
			return nil, err
		}
		m.certs = append(m.certs, it)
	}
	for _, c := range w.CRLs {
		ca, err := parseDigest(c.CA)
		if err != nil {
			return nil, err
		}
		it, err := item(c.FeedRef, trust.BlockCRL, "CRL of CA "+c.CA[:16])
		if err != nil {
			return nil, err
		}
		m.crls[ca] = it
	}
	seen := map[trust.ListRef]bool{}
	for _, l := range w.Lists {
		ca, err := parseDigest(l.CA)
		if err != nil {
			return nil, err
		}
		ref := trust.ListRef{CA: ca, Issuer: l.Issuer}
		if l.List != ref.String() || seen[ref] {
			return nil, fmt.Errorf("%w: trust manifest: list %q (CA %s, issuer %q) named wrongly or twice", ErrProtocol, l.List, l.CA, l.Issuer)
		}
		seen[ref] = true
		fl := feedList{ref: ref, fullSeq: l.Full.Seq}
		if fl.full, err = item(l.Full.FeedRef, trust.BlockStatusList, fmt.Sprintf("status list %s #%d", l.Issuer, l.Full.Seq)); err != nil {
			return nil, err
		}
		fl.full.list = ref
		prev := l.Full.Seq
		for _, d := range l.Deltas {
			if d.Base != prev || d.Seq <= d.Base {
				return nil, fmt.Errorf("%w: trust manifest: list %s: delta #%d based on #%d does not follow #%d", ErrProtocol, l.List, d.Seq, d.Base, prev)
			}
			it, err := item(d.FeedRef, trust.BlockStatusList, fmt.Sprintf("status list %s #%d (delta from #%d)", l.Issuer, d.Seq, d.Base))
			if err != nil {
				return nil, err
			}
			it.list = ref
			fl.deltas = append(fl.deltas, feedDelta{seq: d.Seq, base: d.Base, item: it})
			prev = d.Seq
		}
		m.lists = append(m.lists, fl)
	}
	var err error
	if m.policy, err = checkPolicyRef(w.Policy); err != nil {
		return nil, err
	}
	return m, nil
}

// plan returns the objects to fetch, in import order (certificates, CRLs,
// then each list's objects in sequence), given what the trust store holds
// and which objects are refused:
//   - a certificate not held; the CRL of a CA whose held CRL differs;
//   - per list: nothing when the held sequence reaches the list's tip; the
//     deltas after the held sequence when it is on the chain (always less
//     than the full list and its deltas); else the full list and every
//     delta after it (forceFull: the chain did not apply);
//   - never a refused object, nor the rest of a path that needs one.
func plan(m *manifest, h trust.Holdings, refused func(trust.Hash) bool, forceFull map[trust.ListRef]bool) []feedItem {
	var need []feedItem
	for _, c := range m.certs {
		if !h.Certs[c.digest] && !refused(c.digest) {
			need = append(need, c)
		}
	}
	cas := make([]trust.Hash, 0, len(m.crls))
	for ca := range m.crls {
		cas = append(cas, ca)
	}
	slices.SortFunc(cas, func(a, b trust.Hash) int { return strings.Compare(a.String(), b.String()) })
	for _, ca := range cas {
		c := m.crls[ca]
		if held, ok := h.CRLs[ca]; (!ok || held != c.digest) && !refused(c.digest) {
			need = append(need, c)
		}
	}
	usable := func(path []feedItem) bool {
		return !slices.ContainsFunc(path, func(it feedItem) bool { return refused(it.digest) })
	}
	for i := range m.lists {
		l := &m.lists[i]
		held, ok := h.Lists[l.ref]
		if ok && held.Sequence >= l.tip() {
			continue
		}
		var chain []feedItem
		if k := slices.IndexFunc(l.deltas, func(d feedDelta) bool { return d.base == held.Sequence }); ok && k >= 0 && !forceFull[l.ref] {
			for _, d := range l.deltas[k:] {
				chain = append(chain, d.item)
			}
		}
		full := []feedItem{l.full}
		for _, d := range l.deltas {
			full = append(full, d.item)
		}
		switch {
		case chain != nil && usable(chain):
			need = append(need, chain...)
		case usable(full):
			need = append(need, full...)
		}
	}
	// An object may be named twice (the same certificate as a CA of two
	// chains is listed once, but be safe): fetch it once.
	seen := map[trust.Hash]bool{}
	return slices.DeleteFunc(need, func(it feedItem) bool {
		dup := seen[it.digest]
		seen[it.digest] = true
		return dup
	})
}

// PullTrust brings the terminal's trust store to the hub's current state:
// it fetches the hub's manifest (ETag / If-None-Match), compares it with
// what the trust store holds, downloads only the objects needed — per
// status list the deltas after the held sequence, or the latest full list
// and its deltas — each streamed to a file in the trust store's incoming
// directory, resumed after a cut (HTTP Range from what the file holds) and
// checked against its SM3 digest before use (a mismatch is fetched again
// once), then imports them (trust.Store.ImportObjects: every signature,
// jurisdiction and sequence checked exactly as for a bundle) and deletes
// the files.
//
// Nothing is recorded that was not received and imported: when anything
// the manifest lists could not be fetched or applied, PullTrust fails with
// ErrTrustIncomplete (the objects received are imported all the same), and
// the next round starts again from what the trust store holds; a download
// cut off resumes from its file. Objects the trust store refuses are
// reported in the PullReport and remembered (RefusalMemory), not fetched
// every round. A manifest older than the one last applied in the same
// epoch is refused (ErrManifestBackwards) and forgotten: the next round
// takes whatever the hub then offers, so a hub whose sequence jumped
// cannot stall the terminal. There is no size limit on the trust data but
// the disk. The hub's check policy, when the manifest names one, is
// applied as policy.go says (a refused policy is reported in
// PullReport.Policy, not an error).
func (c *Client) PullTrust(ctx context.Context) (*PullReport, error) {
	if c.cfg.Trust == nil {
		return &PullReport{NotModified: true}, nil
	}
	c.pullMu.Lock()
	defer c.pullMu.Unlock()
	dir := c.cfg.Trust.IncomingDir()
	ok, release, err := lockFile(filepath.Join(dir, pullLockName))
	if err != nil {
		return nil, fmt.Errorf("syncclient: trust pull lock: %w", err)
	}
	if !ok {
		return nil, ErrPullBusy
	}
	defer release()
	st, err := c.loadFeedState()
	if err != nil {
		c.log.Warn("sync: trust feed state unreadable: starting over from what the trust store holds", "err", err)
		st = &feedState{}
	}
	for round := 0; ; round++ {
		rep, err := c.pullOnce(ctx, dir, st, round > 0)
		if errors.Is(err, errObjectGone) && round == 0 {
			c.log.Info("sync: the hub published meanwhile: fetching its manifest again")
			continue
		}
		if errors.Is(err, errObjectGone) {
			err = fmt.Errorf("%w: %w", ErrTrustIncomplete, err)
		}
		if rep != nil && err == nil {
			c.update(func(s *State) { s.FeedSeq = rep.FeedSeq })
		}
		return rep, err
	}
}

// pullOnce is one round of PullTrust against one manifest.
func (c *Client) pullOnce(ctx context.Context, dir string, st *feedState, fresh bool) (*PullReport, error) {
	ts := c.cfg.Trust
	hdr := http.Header{}
	held := fingerprint(ts.Holdings()) + c.policyMark()
	now := c.clk.Now()
	expired := false // a refusal forgotten now: its object is tried again
	for _, r := range st.Refused {
		expired = expired || now.Sub(time.UnixMilli(r.At)) >= RefusalMemory
	}
	if !fresh && st.ETag != "" && st.Holdings == held && !expired {
		hdr.Set("If-None-Match", st.ETag)
	}
	resp, err := c.do(ctx, http.MethodGet, "/v1/trust/manifest", nil, hdr)
	if err != nil {
		return nil, err
	}
	var wm wire.TrustManifest
	switch resp.StatusCode {
	case http.StatusNotModified:
		resp.Body.Close()
		return &PullReport{NotModified: true, FeedSeq: st.Seq}, nil
	case http.StatusOK:
		err = json.NewDecoder(&limitedJSON{r: resp.Body, n: wire.MaxManifest}).Decode(&wm)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("%w: trust manifest: %v", ErrProtocol, err)
		}
	default:
		return nil, hubError(resp)
	}
	etag := resp.Header.Get("ETag")
	m, err := checkManifest(&wm)
	if err != nil {
		return nil, err
	}
	sameEpoch := st.Hub == m.epoch.Hub && st.Generation == m.epoch.Generation
	if st.Hub == m.epoch.Hub && (m.epoch.Generation < st.Generation || sameEpoch && m.seq < st.Seq) {
		// Refused, and forgotten: the next round follows what the hub
		// then offers (a bogus huge sequence recorded once cannot stall).
		bad := fmt.Errorf("%w: %w: generation %d sequence %d after generation %d sequence %d",
			ErrProtocol, ErrManifestBackwards, m.epoch.Generation, m.seq, st.Generation, st.Seq)
		st.Hub, st.Generation, st.Seq, st.ETag, st.Holdings = "", 0, 0, "", ""
		if err := c.saveFeedState(st, now); err != nil {
			return nil, errors.Join(bad, err)
		}
		return nil, bad
	}
	rep := &PullReport{FeedSeq: m.seq, NewEpoch: !sameEpoch && st.Hub != ""}
	isRefused := func(d trust.Hash) bool {
		r, ok := st.Refused[d.String()]
		return ok && now.Sub(time.UnixMilli(r.At)) < RefusalMemory
	}
	forceFull := map[trust.ListRef]bool{}
	var failed error
	for pass := 0; pass < 2 && failed == nil; pass++ {
		need := plan(m, ts.Holdings(), isRefused, forceFull)
		c.sweepIncoming(dir, need)
		if len(need) == 0 {
			break
		}
		var (
			objs  []trust.Object
			items []feedItem
		)
		for _, it := range need {
			n, err := c.fetch(ctx, dir, it)
			rep.Bytes += n
			if errors.Is(err, errObjectGone) {
				return rep, err
			}
			if err != nil {
				failed = fmt.Errorf("%s %s: %w", it.what, it.digest.String()[:16], err)
				if ctx.Err() != nil || errors.Is(err, ErrUnreachable) {
					break // what follows would fail the same way; what came is imported
				}
				continue
			}
			rep.Fetched++
			path := filepath.Join(dir, it.digest.String())
			objs = append(objs, trust.Object{Type: it.typ, Digest: it.digest, Size: it.size, Load: func() ([]byte, error) { return os.ReadFile(path) }})
			items = append(items, it)
		}
		if len(objs) == 0 || ctx.Err() != nil {
			break
		}
		imp, err := ts.ImportObjects(ctx, objs)
		if err != nil {
			failed = fmt.Errorf("importing: %w", err)
			break
		}
		if rep.Import == nil {
			rep.Import = &trust.Report{}
		}
		rep.Import.Blocks = append(rep.Import.Blocks, imp.Blocks...)
		for i, b := range imp.Blocks {
			if i >= len(items) {
				break
			}
			it := items[i]
			os.Remove(filepath.Join(dir, it.digest.String()))
			switch {
			case b.Outcome != trust.Skipped:
			case errors.Is(b.Err, trust.ErrDeltaBase):
				// The chain does not fit what is stored: the full list.
				forceFull[it.list] = true
				rep.Refetched = true
			case failed == nil:
				// Remember the refusal only when everything needed came:
				// a certificate missing now could make a list verify later.
				if st.Refused == nil {
					st.Refused = map[string]refusal{}
				}
				st.Refused[it.digest.String()] = refusal{Reason: b.Err.Error(), At: now.UnixMilli()}
				rep.Refused = append(rep.Refused, Refusal{Digest: it.digest.String(), What: it.what, Reason: b.Err.Error()})
			default:
				rep.Refused = append(rep.Refused, Refusal{Digest: it.digest.String(), What: it.what, Reason: b.Err.Error()})
			}
		}
	}
	if failed == nil {
		if left := plan(m, ts.Holdings(), isRefused, forceFull); len(left) > 0 {
			failed = fmt.Errorf("%d objects listed were not applied, e.g. %s %s", len(left), left[0].what, left[0].digest.String()[:16])
		}
	}
	if ctx.Err() == nil {
		if err := c.pullPolicy(ctx, dir, m, st, rep, isRefused); errors.Is(err, errObjectGone) {
			return rep, err
		} else if err != nil && failed == nil {
			failed = err
		}
	}
	for _, it := range m.refused(isRefused) {
		if !slices.ContainsFunc(rep.Refused, func(r Refusal) bool { return r.Digest == it.digest.String() }) {
			r := st.Refused[it.digest.String()]
			rep.Refused = append(rep.Refused, Refusal{Digest: it.digest.String(), What: it.what, Reason: r.Reason, Earlier: true})
		}
	}
	if ctx.Err() != nil {
		return rep, ctx.Err() // stopped: the next round resumes
	}
	if failed != nil {
		if err := c.saveFeedState(st, now); err != nil { // the refusals learnt
			c.log.Warn("sync: saving the trust feed state", "err", err)
		}
		return rep, fmt.Errorf("%w: %w", ErrTrustIncomplete, failed)
	}
	st.Hub, st.Generation, st.Seq, st.ETag = m.epoch.Hub, m.epoch.Generation, m.seq, etag
	st.Holdings = fingerprint(ts.Holdings()) + c.policyMark()
	if err := c.saveFeedState(st, now); err != nil {
		return rep, err
	}
	return rep, nil
}

// refused returns the manifest's objects that are refused, in order.
func (m *manifest) refused(isRefused func(trust.Hash) bool) []feedItem {
	var out []feedItem
	add := func(it feedItem) {
		if isRefused(it.digest) {
			out = append(out, it)
		}
	}
	for _, c := range m.certs {
		add(c)
	}
	for _, c := range m.crls {
		add(c)
	}
	for _, l := range m.lists {
		add(l.full)
		for _, d := range l.deltas {
			add(d.item)
		}
	}
	return out
}

// limitedJSON reads at most n bytes, then fails (not silently truncates).
type limitedJSON struct {
	r io.Reader
	n int64
}

func (l *limitedJSON) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, fmt.Errorf("larger than %d bytes", wire.MaxManifest)
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// sweepIncoming deletes the object files in dir that need does not name
// (left from an earlier manifest).
func (c *Client) sweepIncoming(dir string, need []feedItem) {
	keep := map[string]bool{}
	for _, it := range need {
		keep[it.digest.String()] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".part") // not feed.json nor pull.lock
		if _, err := parseDigest(name); err != nil || keep[name] {
			continue
		}
		os.Remove(filepath.Join(dir, e.Name()))
	}
}

// fetch makes dir/<digest> the verified object it, downloading into
// dir/<digest>.part what it lacks. A file whose digest does not match is
// deleted and fetched again once; a second mismatch is ErrObjectDigest.
// It returns the bytes received.
func (c *Client) fetch(ctx context.Context, dir string, it feedItem) (int64, error) {
	final := filepath.Join(dir, it.digest.String())
	if ok, _ := fileMatches(final, it); ok {
		return 0, nil
	}
	os.Remove(final)
	part := final + ".part"
	var got int64
	for try := 0; ; try++ {
		n, err := c.download(ctx, it, part)
		got += n
		if err != nil {
			return got, err
		}
		ok, err := fileMatches(part, it)
		if err != nil {
			return got, err
		}
		if ok {
			return got, os.Rename(part, final)
		}
		os.Remove(part)
		if try > 0 {
			return got, fmt.Errorf("%w (twice)", ErrObjectDigest)
		}
		c.log.Warn("sync: a trust object does not match its digest: fetching it again", "object", it.digest.String())
	}
}

// fileMatches reports whether the file at path has it's size and digest.
func fileMatches(path string, it feedItem) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := gm.NewSM3()
	n, err := io.Copy(h, f)
	if err != nil {
		return false, err
	}
	return n == it.size && trust.Hash(h.Sum(nil)) == it.digest, nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// download completes the file part to it.size bytes, resuming from the
// file's size with a Range request after every cut, for as long as cuts
// bring bytes; RetryMax cuts in a row that bring none end it
// (ErrUnreachable).
func (c *Client) download(ctx context.Context, it feedItem, part string) (int64, error) {
	var got int64
	stalls := 0
	for {
		off := fileSize(part)
		if off > it.size {
			os.Remove(part)
			off = 0
		}
		if off == it.size {
			return got, nil
		}
		n, err := c.downloadFrom(ctx, it, part, off)
		got += n
		if err == nil {
			continue
		}
		if !errors.Is(err, errCut) || ctx.Err() != nil {
			return got, err
		}
		if n > 0 {
			stalls = 0
			continue
		}
		if stalls++; stalls > max(c.cfg.RetryMax, 0) {
			return got, fmt.Errorf("%w: %v", ErrUnreachable, err)
		}
		if err := c.cfg.Sleep(ctx, Backoff(c.cfg.RetryWaitMin, c.cfg.RetryWaitMax, stalls, nil, c.clk.Now())); err != nil {
			return got, err
		}
	}
}

// downloadFrom asks for it from byte off on (the whole object when off is
// 0) and writes what comes to part. errCut: the answer ended early.
func (c *Client) downloadFrom(ctx context.Context, it feedItem, part string, off int64) (int64, error) {
	hdr := http.Header{}
	tag := `"` + it.digest.String() + `"`
	if off > 0 {
		hdr.Set("Range", "bytes="+strconv.FormatInt(off, 10)+"-")
		hdr.Set("If-Range", tag)
	}
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	resp, err := c.send(rctx, c.ep.Load().stream, http.MethodGet, "/v1/trust/objects/"+it.digest.String(), nil, hdr)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		off = 0
	case http.StatusPartialContent:
		start, ok := contentRangeStart(resp.Header.Get("Content-Range"))
		if !ok || start != off {
			return 0, fmt.Errorf("%w: object %s: asked from byte %d, got Content-Range %q", ErrProtocol, it.digest, off, resp.Header.Get("Content-Range"))
		}
	case http.StatusRequestedRangeNotSatisfiable:
		os.Remove(part)
		return 0, fmt.Errorf("%w: the hub refused the range from byte %d", errCut, off)
	case http.StatusNotFound:
		return 0, errObjectGone
	default:
		return 0, hubError(resp)
	}
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return 0, err
	}
	if err := f.Truncate(off); err == nil {
		_, err = f.Seek(off, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return 0, err
	}
	// Nothing for Config.Timeout: the download is cut (and resumed).
	idle := time.AfterFunc(c.cfg.Timeout, func() { cancel(errIdle) })
	body := &idleReader{r: resp.Body, t: idle, d: c.cfg.Timeout}
	n, err := io.Copy(f, io.LimitReader(body, it.size-off+1))
	idle.Stop()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	switch {
	case off+n > it.size:
		os.Remove(part)
		return n, fmt.Errorf("%w: object %s is larger than the %d bytes the manifest says", ErrProtocol, it.digest, it.size)
	case err != nil && ctx.Err() == nil && !isLocalWrite(err):
		return n, fmt.Errorf("%w after %d bytes: %v", errCut, n, cmp.Or(context.Cause(rctx), err))
	case err != nil:
		return n, err
	case off+n < it.size:
		return n, fmt.Errorf("%w after %d bytes", errCut, n)
	}
	return n, nil
}

// isLocalWrite reports whether err is this device's file system failing
// (a full disk), not the transfer.
func isLocalWrite(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe)
}

// contentRangeStart reads the first byte position of a Content-Range
// header "bytes START-END/SIZE".
func contentRangeStart(v string) (int64, bool) {
	rest, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, false
	}
	start, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(start, 10, 64)
	return n, err == nil && n >= 0
}

// idleReader pushes back the idle timer t by d on every read that brings
// bytes.
type idleReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (ir *idleReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if n > 0 {
		ir.t.Reset(ir.d)
	}
	return n, err
}
