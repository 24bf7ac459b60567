package national

import (
	"bufio"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/issuer"
)

// World is a national world on disk, described by its manifest. Its
// methods are safe for concurrent use; Delta serialises with the others.
type World struct {
	dir  string
	cfg  Config
	plan *plan

	mu      sync.Mutex
	m       *Manifest
	byCode  map[string]int // issuer code → index in m.Issuers
	deltas  map[string][]int
	signers map[string]*issuer.Signer
}

// CacheDir is where benchmarks keep a generated world between runs:
// base/roadcheck-national-SEED-ENTRIES (base is typically os.TempDir()).
// Pair it with OpenOrGenerate.
func CacheDir(base string, seed int64, entries int) string {
	return filepath.Join(base, fmt.Sprintf("roadcheck-national-%d-%d", seed, entries))
}

// Open reopens a world generated into dir from its manifest. It checks
// that the manifest describes the world its config makes and that every
// object has its recorded size; Check also compares digests. Open reads
// only the manifest: codes load their signer on demand.
func Open(ctx context.Context, dir string) (*World, error) {
	m, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	c := Config{Seed: m.Config.Seed, At: m.Config.At, Provinces: m.Config.Provinces, Issuers: m.Config.Issuers,
		Signers: m.Config.Signers, Entries: m.Config.Entries, Dir: dir, Bundle: m.Bundle != ""}
	if c, err = c.normalized(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	w := &World{dir: dir, cfg: c, plan: newPlan(c)}
	if len(m.Issuers) != len(w.plan.issuers) {
		return nil, fmt.Errorf("%w: %d issuers, the config makes %d", ErrManifest, len(m.Issuers), len(w.plan.issuers))
	}
	for i, is := range m.Issuers {
		if is.Code != w.plan.issuers[i].code || len(is.Signers) == 0 {
			return nil, fmt.Errorf("%w: issuer %d is %q, the config makes %q", ErrManifest, i, is.Code, w.plan.issuers[i].code)
		}
	}
	for _, o := range m.Objects {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fi, err := os.Stat(w.path(o.Path))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDamaged, err)
		}
		if fi.Size() != o.Size {
			return nil, fmt.Errorf("%w: %s has %d bytes, the manifest says %d", ErrDamaged, o.Path, fi.Size(), o.Size)
		}
	}
	w.setManifest(m)
	return w, nil
}

// OpenOrGenerate opens the world in cfg.Dir when its manifest is there and
// was made from the same Seed, At, Provinces, Issuers, Signers and Entries
// (writing bundle.pem if cfg.Bundle asks for it and it is missing), and
// generates it otherwise. A directory holding another world or a damaged
// one is an error, never overwritten: delete it and call again.
func OpenOrGenerate(ctx context.Context, cfg Config) (*World, error) {
	c, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(c.Dir, ManifestFile)); errors.Is(err, fs.ErrNotExist) {
		return Generate(ctx, cfg)
	}
	w, err := Open(ctx, c.Dir)
	if err != nil {
		return nil, err
	}
	if got := w.m.Config; got.Seed != c.Seed || !got.At.Equal(c.At) || got.Provinces != c.Provinces || got.Issuers != c.Issuers ||
		got.Signers != c.Signers || got.Entries != c.Entries {
		return nil, fmt.Errorf("%w: %s holds another world (%+v)", ErrExists, c.Dir, got)
	}
	if c.Bundle && w.m.Bundle == "" {
		if err := w.writeBundleFile(ctx, "bundle.pem", nil); err != nil {
			return nil, err
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		m := w.cloneManifest()
		m.Bundle = "bundle.pem"
		if err := writeManifest(w.dir, m); err != nil {
			return nil, err
		}
		w.setManifest(m)
	}
	return w, nil
}

func (w *World) setManifest(m *Manifest) {
	w.m = m
	w.byCode = map[string]int{}
	for i, is := range m.Issuers {
		w.byCode[is.Code] = i
	}
	w.deltas = map[string][]int{}
	for i, o := range m.Objects {
		if o.Type == TypeList && o.Base != 0 {
			w.deltas[o.Issuer] = append(w.deltas[o.Issuer], i)
		}
	}
}

// cloneManifest is a deep copy of the manifest (the caller holds mu).
func (w *World) cloneManifest() *Manifest {
	m := *w.m
	m.Issuers = slices.Clone(m.Issuers)
	for i := range m.Issuers {
		m.Issuers[i].Signers = slices.Clone(m.Issuers[i].Signers)
		m.Issuers[i].Revoked = slices.Clone(m.Issuers[i].Revoked)
	}
	m.Deltas = slices.Clone(m.Deltas)
	m.Objects = slices.Clone(m.Objects)
	for i, o := range m.Objects {
		if o.Ranges != nil {
			r := *o.Ranges
			m.Objects[i].Ranges = &r
		}
	}
	return &m
}

func (w *World) path(rel string) string { return filepath.Join(w.dir, filepath.FromSlash(rel)) }

// Dir is the world's directory.
func (w *World) Dir() string { return w.dir }

// Config is the normalized config of the world.
func (w *World) Config() Config { return w.cfg }

// Path is the file of o.
func (w *World) Path(o Object) string { return w.path(o.Path) }

// AnchorsPath is the PEM file of the national root, for trust anchor add.
func (w *World) AnchorsPath() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.path(w.m.Anchors)
}

// Manifest returns a copy of the world's manifest.
func (w *World) Manifest() Manifest {
	w.mu.Lock()
	defer w.mu.Unlock()
	return *w.cloneManifest()
}

// Objects returns the manifest's objects, optionally only those of the
// given types.
func (w *World) Objects(types ...string) []Object {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Object
	for _, o := range w.cloneManifest().Objects {
		if len(types) == 0 || slices.Contains(types, o.Type) {
			out = append(out, o)
		}
	}
	return out
}

// CheckTime is a check time at which every published list is in force:
// At, or the thisUpdate of the newest delta (At plus its day).
func (w *World) CheckTime() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := len(w.m.Deltas); n > 0 {
		return deltaTime(w.cfg.At, w.m.Deltas[n-1].Day)
	}
	return w.cfg.At
}

// deltaTime is the thisUpdate of the deltas of day.
func deltaTime(at time.Time, day int) time.Time { return at.Add(time.Duration(day) * 24 * time.Hour) }

// Check reads every object and compares its size and SM3 digest with the
// manifest; the first difference is an ErrDamaged error.
func (w *World) Check(ctx context.Context) error {
	for _, o := range w.Objects() {
		if err := ctx.Err(); err != nil {
			return err
		}
		size, sum, err := digestFile(w.path(o.Path))
		if err != nil {
			return fmt.Errorf("%w: %w", ErrDamaged, err)
		}
		if size != o.Size || fmt.Sprintf("%x", sum) != o.SM3 {
			return fmt.Errorf("%w: %s differs from the manifest", ErrDamaged, o.Path)
		}
	}
	return nil
}

func digestFile(path string) (int64, [gm.SM3Size]byte, error) {
	var sum [gm.SM3Size]byte
	f, err := os.Open(path)
	if err != nil {
		return 0, sum, err
	}
	defer f.Close()
	h := gm.NewSM3()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, sum, err
	}
	copy(sum[:], h.Sum(nil))
	return n, sum, nil
}

// WriteBundle streams a PEM trust bundle of objs to out: CERTIFICATE, X509
// CRL and RTC STATUS LIST blocks in the given order (anchors are copied
// as they are). Without objs it writes the whole world in manifest order:
// CA and signer certificates, CRLs, full lists, then every delta in day
// order, which a trust store imports in one go. One object is in memory
// at a time (the largest list is under 64 MiB).
func (w *World) WriteBundle(ctx context.Context, out io.Writer, objs ...Object) error {
	if len(objs) == 0 {
		objs = w.Objects(TypeCA, TypeSigner, TypeCRL, TypeList)
	}
	for _, o := range objs {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := os.ReadFile(w.path(o.Path))
		if err != nil {
			return err
		}
		var typ string
		switch o.Type {
		case TypeAnchors:
			if _, err := out.Write(b); err != nil {
				return err
			}
			continue
		case TypeCA, TypeSigner:
			typ = "CERTIFICATE"
		case TypeCRL:
			typ = "X509 CRL"
		case TypeList:
			typ = "RTC STATUS LIST"
		default:
			return fmt.Errorf("%w: object %s of type %q", ErrManifest, o.Path, o.Type)
		}
		if err := pem.Encode(out, &pem.Block{Type: typ, Bytes: b}); err != nil {
			return err
		}
	}
	return nil
}

// writeBundleFile writes WriteBundle(objs) to rel atomically.
func (w *World) writeBundleFile(ctx context.Context, rel string, objs []Object) error {
	path := w.path(rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = w.WriteBundle(ctx, bw, objs...)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path + ".tmp")
		return err
	}
	return os.Rename(path+".tmp", path)
}

// issuerOf returns a copy of the issuer with code.
func (w *World) issuerOf(code string) (Issuer, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	i, ok := w.byCode[code]
	if !ok {
		return Issuer{}, fmt.Errorf("%w: %q", ErrUnknownIssuer, code)
	}
	return w.m.Issuers[i], nil
}

// Issuers returns the world's issuers with their newest state.
func (w *World) Issuers() []Issuer {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cloneManifest().Issuers
}

// signer loads a signer: its certificate from certs/, its key re-derived
// from the seed and checked against the certificate.
func (w *World) signer(name string) (*issuer.Signer, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.signerLocked(name)
}

func (w *World) signerLocked(name string) (*issuer.Signer, error) {
	if s, ok := w.signers[name]; ok {
		return s, nil
	}
	der, err := os.ReadFile(w.path(signerPath(name)))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: signer %s: %w", ErrDamaged, name, err)
	}
	key, err := deriveKey(w.cfg.Seed, "signer/"+name)
	if err != nil {
		return nil, err
	}
	pub, err := gm.NewPublicKey(c.PublicKey)
	if err != nil || !pub.Equal(key.Public()) {
		return nil, fmt.Errorf("%w: signer %s: certificate does not match the seed's key", ErrDamaged, name)
	}
	s := &issuer.Signer{Cert: c, DER: der, Key: key, KID: credential.KID(der)}
	if w.signers == nil {
		w.signers = map[string]*issuer.Signer{}
	}
	w.signers[name] = s
	return s, nil
}
