package hub

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/roadcheck/roadcheck/internal/gm"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/trust"
)

// manifestETag is the ETag of a manifest: its epoch and sequence.
func manifestETag(m *Manifest) string {
	return fmt.Sprintf(`"m-%s-%d-%d"`, m.Epoch.Hub, m.Epoch.Generation, m.Seq)
}

// renderedManifest is a manifest's JSON, kept while the manifest is current.
type renderedManifest struct {
	etag string
	body []byte
}

// ManifestJSON renders m as GET /v1/trust/manifest answers it.
func ManifestJSON(m *Manifest) wire.TrustManifest {
	ref := func(r ObjectRef) wire.FeedRef { return wire.FeedRef{Digest: r.Digest.String(), Size: r.Size} }
	out := wire.TrustManifest{Epoch: wire.FeedEpoch{Hub: m.Epoch.Hub, Generation: m.Epoch.Generation}, Seq: m.Seq,
		Certs: []wire.FeedRef{}, CRLs: []wire.FeedCRL{}, Lists: []wire.FeedList{}}
	for _, c := range m.Certs {
		out.Certs = append(out.Certs, ref(c))
	}
	for _, c := range m.CRLs {
		out.CRLs = append(out.CRLs, wire.FeedCRL{CA: c.CA.String(), FeedRef: ref(c.ObjectRef)})
	}
	for _, l := range m.Lists {
		fl := wire.FeedList{List: l.List.String(), CA: l.List.CA.String(), Issuer: l.List.Issuer,
			Full: wire.FeedFull{Seq: l.Full.Seq, FeedRef: ref(l.Full.ObjectRef)}, Deltas: []wire.FeedDelta{}}
		for _, d := range l.Deltas {
			fl.Deltas = append(fl.Deltas, wire.FeedDelta{Seq: d.Seq, Base: d.Base, FeedRef: ref(d.ObjectRef)})
		}
		out.Lists = append(out.Lists, fl)
	}
	if p := m.Policy; p != nil {
		out.Policy = &wire.FeedPolicy{Seq: p.Seq, FeedRef: ref(p.ObjectRef)}
	}
	return out
}

// handleManifest answers GET /v1/trust/manifest with the current manifest
// (ETag: epoch and sequence; If-None-Match → 304).
func (s *Server) handleManifest(w http.ResponseWriter, r *http.Request) {
	if _, _, _, ok := s.authDevice(w, r, wire.MaxSmallBody); !ok {
		return
	}
	m, err := s.store.Manifest(r.Context())
	if err != nil {
		s.internal(w, err)
		return
	}
	tag := manifestETag(&m)
	w.Header().Set("ETag", tag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == tag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	rm := s.manifest.Load()
	if rm == nil || rm.etag != tag {
		body, err := json.Marshal(ManifestJSON(&m))
		if err != nil {
			s.internal(w, err)
			return
		}
		rm = &renderedManifest{etag: tag, body: body}
		s.manifest.Store(rm)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(rm.body)))
	w.WriteHeader(http.StatusOK)
	w.Write(rm.body)
}

// routeObject is the pattern of the trust-object route.
const routeObject = "GET /v1/trust/objects/{digest}"

// objectRate is the slowest transfer an object download is given time
// for (bytes per second) beyond the server's write timeout.
const objectRate = 16 << 10

// handleObject answers GET /v1/trust/objects/{digest}: the object's bytes
// streamed from the store (http.ServeContent: Range, If-Range; the ETag is
// the digest), never buffered whole.
func (s *Server) handleObject(w http.ResponseWriter, r *http.Request) {
	// Trust objects have a download budget of their own (limit.Limits).
	if _, _, _, ok := s.authDeviceSecure(w, r, wire.MaxSmallBody, s.sec.limits.Object, nil); !ok {
		return
	}
	raw, err := hex.DecodeString(r.PathValue("digest"))
	if err != nil || len(raw) != gm.SM3Size || r.PathValue("digest") != strings.ToLower(r.PathValue("digest")) {
		fail(w, http.StatusBadRequest, wire.CodeBadRequest, "an object is named by 64 lower-case hex digits (its SM3 digest)")
		return
	}
	obj, err := s.store.Object(r.Context(), trust.Hash(raw))
	if errors.Is(err, ErrNotFound) {
		fail(w, http.StatusNotFound, wire.CodeNotFound, "no object %x: fetch the manifest again", raw)
		return
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	defer obj.Close()
	// A large object over a slow link may need longer than the server's
	// write timeout: allow the time it takes at objectRate. Network
	// deadlines are wall-clock time, not domain time.
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Now().Add(2*time.Minute + time.Duration(obj.Ref.Size/objectRate)*time.Second))
	w.Header().Set("ETag", `"`+obj.Ref.Digest.String()+`"`)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set(wire.HeaderObjectType, obj.Type)
	http.ServeContent(w, r, "", obj.ModTime, obj)
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
