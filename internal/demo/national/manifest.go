package national

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// ManifestFile is the name of the manifest inside a world's directory.
const ManifestFile = "manifest.json"

// manifestFormat names the manifest's layout; Open refuses any other.
const manifestFormat = "roadcheck-national/1"

// Object types of the manifest.
const (
	TypeAnchors = "anchors" // anchors.pem: the national root, PEM
	TypeCA      = "ca"      // a provincial or city CA certificate, DER
	TypeSigner  = "signer"  // a signer certificate, DER
	TypeCRL     = "crl"     // a CA's CRL, DER
	TypeList    = "list"    // a status list, COSE_Sign1 bytes (full: Base 0)
)

// Manifest describes a generated world: its config, its issuers and every
// file, in a deterministic order (anchors, CA certificates, signer
// certificates, CRLs, full lists by issuer, then each delta's lists).
type Manifest struct {
	Format  string         `json:"format"`
	Config  ManifestConfig `json:"config"`
	Anchors string         `json:"anchors"`          // path of the anchors PEM
	Bundle  string         `json:"bundle,omitempty"` // path of bundle.pem when written
	Issuers []Issuer       `json:"issuers"`
	Deltas  []DeltaSet     `json:"deltas"`
	Objects []Object       `json:"objects"`
}

// ManifestConfig is the Config a world was generated from (no Dir).
type ManifestConfig struct {
	Seed      int64     `json:"seed"`
	At        time.Time `json:"at"`
	Provinces int       `json:"provinces"`
	Issuers   int       `json:"issuers"`
	Signers   int       `json:"signers"`
	Entries   int       `json:"entries"`
}

// Issuer is one city-level authority with its state after the newest delta.
type Issuer struct {
	Code     string `json:"code"`     // 6-digit authority code
	Name     string `json:"name"`     // 中文 name
	Province string `json:"province"` // 2-digit prefix
	// CA is the jurisdiction prefix of the CA whose signers speak for the
	// issuer (2 or 4 digits); CAID its 8-hex id (see Object.CA).
	CA   string `json:"ca"`
	CAID string `json:"caId"`
	// Signers that sign codes (the first also signs the lists); Revoked
	// signers are on the CA's CRL and sign nothing.
	Signers []string `json:"signers"`
	Revoked []string `json:"revoked,omitempty"`
	// Entries of the full list; Sequence of the newest list (full or delta).
	Entries  int    `json:"entries"`
	Sequence uint64 `json:"sequence"`
	// NextIndex is the first licence index never listed; Cursor is where
	// the next delta looks for suspensions to lift.
	NextIndex int `json:"nextIndex"`
	Cursor    int `json:"cursor"`
}

// Object is one file of the world.
type Object struct {
	Type string `json:"type"`
	Path string `json:"path"` // slash-separated, relative to the world's directory
	// Issuer is the authority code of a list or signer, the prefix of a
	// CA certificate or CRL ("00" for the root's CRL).
	Issuer string `json:"issuer,omitempty"`
	// CA is the 8-hex id (the first 4 bytes of SM3 over the DER) of the
	// CA certificate a list, signer or CRL belongs to; lists are stored
	// per (CA, issuer).
	CA       string `json:"ca,omitempty"`
	Sequence uint64 `json:"sequence,omitempty"`
	Base     uint64 `json:"base"`              // lists: 0 full, else the sequence a delta applies to
	Entries  int    `json:"entries,omitempty"` // lists
	Day      int    `json:"day,omitempty"`     // deltas: the day after At they were published
	Size     int64  `json:"size"`
	SM3      string `json:"sm3"` // hex digest of the file
	// Ranges of a delta: which licence indices it changes.
	Ranges *Ranges `json:"ranges,omitempty"`
}

// Ranges are the half-open index ranges a delta list speaks about.
// Reinstated is a cursor range of the full list: of its indices, those
// suspended in the full list are listed with status 0.
type Ranges struct {
	Reinstated [2]int `json:"reinstated"`
	Revoked    [2]int `json:"revoked"`
	Suspended  [2]int `json:"suspended"`
}

func inRange(r [2]int, i int) bool { return i >= r[0] && i < r[1] }

// DeltaSet is one day's deltas, a list per issuer.
type DeltaSet struct {
	Day      int     `json:"day"`
	Fraction float64 `json:"fraction"`
	Entries  int     `json:"entries"`          // in all its lists
	Bundle   string  `json:"bundle,omitempty"` // path of its PEM bundle when written
	// Lists are the objects of the set (not stored twice in the manifest).
	Lists []Object `json:"-"`
}

func readManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	return ParseManifest(b)
}

// ParseManifest decodes a manifest strictly: JSON with no unknown fields
// and no trailing data, this package's format, paths that stay inside the
// world's directory, object types it knows. Errors wrap ErrManifest.
func ParseManifest(b []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	m := &Manifest{}
	if err := dec.Decode(m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the manifest", ErrManifest)
	}
	if m.Format != manifestFormat {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrManifest, m.Format, manifestFormat)
	}
	paths := []string{m.Anchors}
	if m.Bundle != "" {
		paths = append(paths, m.Bundle)
	}
	for _, d := range m.Deltas {
		if d.Bundle != "" {
			paths = append(paths, d.Bundle)
		}
	}
	for _, o := range m.Objects {
		switch o.Type {
		case TypeAnchors, TypeCA, TypeSigner, TypeCRL, TypeList:
		default:
			return nil, fmt.Errorf("%w: object %q of type %q", ErrManifest, o.Path, o.Type)
		}
		if o.Size < 0 {
			return nil, fmt.Errorf("%w: object %q of %d bytes", ErrManifest, o.Path, o.Size)
		}
		paths = append(paths, o.Path)
	}
	for _, p := range paths {
		if !fs.ValidPath(p) || p == "." {
			return nil, fmt.Errorf("%w: path %q is not inside the world", ErrManifest, p)
		}
	}
	for _, is := range m.Issuers {
		if len(is.Signers) == 0 {
			return nil, fmt.Errorf("%w: issuer %q has no signer", ErrManifest, is.Code)
		}
		for _, s := range append(slices.Clone(is.Signers), is.Revoked...) {
			if !fs.ValidPath(signerPath(s)) {
				return nil, fmt.Errorf("%w: signer name %q", ErrManifest, s)
			}
		}
	}
	return m, nil
}

// writeManifest replaces dir's manifest atomically (write beside, rename).
func writeManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ManifestFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, ManifestFile))
}
