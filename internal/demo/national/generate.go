package national

import (
	"context"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/issuer"
)

// Generate writes the world of cfg into cfg.Dir and returns it. The output
// is a pure function of the config (without Dir): the same config gives
// byte-identical files and manifest. cfg.Dir must not exist or be empty;
// the world is built in cfg.Dir + ".partial" (removed first if a crashed
// run left it) and renamed into place when complete, so cfg.Dir holds a
// whole world or nothing.
//
// Status lists are generated, signed and written one at a time per worker
// (one per CPU, at most 4), each from one reused buffer: memory stays near
// 30 bytes per entry of the largest lists in progress, whatever Entries is.
func Generate(ctx context.Context, cfg Config) (*World, error) {
	c, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	c.Dir = filepath.Clean(c.Dir)
	if ents, err := os.ReadDir(c.Dir); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrExists, c.Dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	partial := c.Dir + ".partial"
	if err := os.RemoveAll(partial); err != nil {
		return nil, err
	}
	for _, d := range []string{"certs", "crls", "lists"} {
		if err := os.MkdirAll(filepath.Join(partial, d), 0o755); err != nil {
			return nil, err
		}
	}
	g := &generator{cfg: c, dir: partial, plan: newPlan(c)}
	m, err := g.run(ctx)
	if err == nil {
		err = writeManifest(partial, m)
	}
	if err == nil {
		if err = os.Remove(c.Dir); errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	}
	if err == nil {
		err = os.Rename(partial, c.Dir)
	}
	if err != nil {
		os.RemoveAll(partial)
		return nil, fmt.Errorf("national: generate: %w", err)
	}
	w := &World{dir: c.Dir, cfg: c, plan: g.plan}
	w.setManifest(m)
	if c.Bundle {
		if err := w.writeBundleFile(ctx, "bundle.pem", nil); err != nil {
			return nil, fmt.Errorf("national: bundle: %w", err)
		}
		m := w.cloneManifest()
		m.Bundle = "bundle.pem"
		if err := writeManifest(w.dir, m); err != nil {
			return nil, err
		}
		w.setManifest(m)
	}
	return w, nil
}

type generator struct {
	cfg  Config
	dir  string
	plan *plan
}

func randFor(seed int64, label string) io.Reader {
	return gm.DeterministicReader([]byte(fmt.Sprintf("roadcheck-national/%d/%s", seed, label)))
}

func deriveKey(seed int64, label string) (*gm.PrivateKey, error) {
	return gm.ScalarFromSeed([]byte(fmt.Sprintf("roadcheck-national/%d/%s", seed, label)))
}

func caPath(label string) string    { return "certs/ca-" + label + ".der" }
func signerPath(name string) string { return "certs/signer-" + name + ".der" }
func crlPath(label string) string   { return "crls/" + label + ".crl" }
func sm3hex(b []byte) string        { s := gm.SM3(b); return hex.EncodeToString(s[:]) }
func caID(der []byte) string        { s := gm.SM3(der); return hex.EncodeToString(s[:4]) }
func listPath(code, ca string, seq uint64) string {
	return fmt.Sprintf("lists/%s-%s-%d.cose", code, ca, seq)
}

// fullSequence is the sequence of every full list: the world's time in
// seconds, so a world built later supersedes an earlier one.
func fullSequence(at time.Time) uint64 { return uint64(at.Unix()) }

func (g *generator) writeFile(rel string, b []byte) (Object, error) {
	if err := os.WriteFile(filepath.Join(g.dir, filepath.FromSlash(rel)), b, 0o644); err != nil {
		return Object{}, err
	}
	return Object{Path: rel, Size: int64(len(b)), SM3: sm3hex(b)}, nil
}

func (g *generator) run(ctx context.Context) (*Manifest, error) {
	c, p := g.cfg, g.plan
	at := c.At
	cst := credential.CST()
	caFrom := time.Date(at.Year()-10, 1, 1, 0, 0, 0, 0, cst)
	caUntil := time.Date(at.Year()+15, 12, 31, 23, 59, 59, 0, cst)
	m := &Manifest{Format: manifestFormat, Anchors: "anchors.pem", Deltas: []DeltaSet{},
		Config: ManifestConfig{Seed: c.Seed, At: c.At, Provinces: c.Provinces, Issuers: c.Issuers, Signers: c.Signers, Entries: c.Entries}}

	// PKI: the root, then each CA under its parent.
	auth := make([]*issuer.Authority, len(p.cas))
	ids := make([]string, len(p.cas))
	for i, ca := range p.cas {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		key, err := deriveKey(c.Seed, "ca/"+ca.label)
		if err != nil {
			return nil, err
		}
		req := issuer.CertRequest{Prefix: ca.prefix, Serial: ca.serial, NotBefore: caFrom, NotAfter: caUntil, Key: key}
		if ca.parent < 0 {
			req.Subject = issuer.Name{Organization: ca.org, CommonName: "道路运输电子证照根CA（国家演示）"}
			auth[i], err = issuer.NewRoot(randFor(c.Seed, "cert/root"), req)
		} else {
			req.Subject = issuer.Name{Province: provinces[ca.prov].name, Organization: ca.org, CommonName: ca.org + "电子证照CA（国家演示）"}
			auth[i], err = auth[ca.parent].IssueCA(randFor(c.Seed, "cert/ca/"+ca.label), req)
		}
		if err != nil {
			return nil, err
		}
		ids[i] = caID(auth[i].DER)
		if ca.parent < 0 {
			o, err := g.writeFile(m.Anchors, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: auth[i].DER}))
			if err != nil {
				return nil, err
			}
			o.Type, o.CA = TypeAnchors, ids[i]
			m.Objects = append(m.Objects, o)
			continue
		}
		o, err := g.writeFile(caPath(ca.label), auth[i].DER)
		if err != nil {
			return nil, err
		}
		o.Type, o.Issuer, o.CA = TypeCA, ca.prefix, ids[i]
		m.Objects = append(m.Objects, o)
	}

	// Signers; the first of each issuer is kept to sign its lists.
	listSigner := make([]*issuer.Signer, len(p.issuers))
	revoked := make([][]issuer.Revocation, len(p.cas))
	signFrom, signUntil := at.AddDate(-6, 0, 0), at.AddDate(4, 0, 0)
	for _, is := range p.issuers {
		m.Issuers = append(m.Issuers, Issuer{Code: is.code, Name: is.name, Province: provinces[is.prov].code,
			CA: p.cas[is.ca].prefix, CAID: ids[is.ca], Signers: []string{}, Entries: is.entries,
			Sequence: fullSequence(at), NextIndex: is.entries})
	}
	type issued struct {
		s   *issuer.Signer
		obj Object
	}
	done := make([]issued, len(p.signers))
	all := make([]int, len(p.signers))
	for i := range all {
		all[i] = i
	}
	err := parallel(ctx, all, func(_, i int) error {
		sp := p.signers[i]
		is := p.issuers[sp.issuer]
		key, err := deriveKey(c.Seed, "signer/"+sp.name)
		if err != nil {
			return err
		}
		s, err := auth[is.ca].IssueSigner(randFor(c.Seed, "cert/signer/"+sp.name), issuer.CertRequest{
			Subject:   issuer.Name{Province: provinces[is.prov].name, Organization: is.name, CommonName: is.name + "电子证照签章" + sp.name[7:]},
			Serial:    sp.serial,
			NotBefore: signFrom, NotAfter: signUntil, Key: key,
		})
		if err != nil {
			return err
		}
		o, err := g.writeFile(signerPath(sp.name), s.DER)
		if err != nil {
			return err
		}
		o.Type, o.Issuer, o.CA = TypeSigner, is.code, ids[is.ca]
		done[i] = issued{s, o}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, sp := range p.signers {
		is := p.issuers[sp.issuer]
		m.Objects = append(m.Objects, done[i].obj)
		mi := &m.Issuers[sp.issuer]
		if sp.revoked {
			mi.Revoked = append(mi.Revoked, sp.name)
			revoked[is.ca] = append(revoked[is.ca], issuer.Revocation{Serial: big.NewInt(sp.serial), At: at.AddDate(0, 0, -30)})
			continue
		}
		if listSigner[sp.issuer] == nil {
			listSigner[sp.issuer] = done[i].s
		}
		mi.Signers = append(mi.Signers, sp.name)
	}
	done = nil

	// One CRL per CA, the root's empty.
	for i, ca := range p.cas {
		der, err := auth[i].CRL(randFor(c.Seed, "crl/"+ca.label), 1, at.AddDate(0, 0, -2), at.AddDate(0, 0, 60), revoked[i])
		if err != nil {
			return nil, err
		}
		o, err := g.writeFile(crlPath(ca.label), der)
		if err != nil {
			return nil, err
		}
		o.Type, o.Issuer, o.CA = TypeCRL, ca.label, ids[i]
		m.Objects = append(m.Objects, o)
	}

	lists, err := g.fullLists(ctx, listSigner, ids)
	if err != nil {
		return nil, err
	}
	m.Objects = append(m.Objects, lists...)
	return m, nil
}

// fullLists writes every issuer's full list, the largest first, and
// returns their objects in issuer order.
func (g *generator) fullLists(ctx context.Context, signers []*issuer.Signer, ids []string) ([]Object, error) {
	c, p := g.cfg, g.plan
	order := make([]int, len(p.issuers))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return p.issuers[b].entries - p.issuers[a].entries })
	out := make([]Object, len(p.issuers))
	from, span := sinceWindow(c.At)
	head := listHead{seq: fullSequence(c.At), this: c.At.Add(-time.Hour).Unix(), next: c.At.AddDate(0, 0, 7).Unix()}
	writers := make([]listWriter, workers())
	err := parallel(ctx, order, func(wk, i int) error {
		o, err := g.fullList(ctx, &writers[wk], i, head, from, span, signers[i], ids[p.issuers[i].ca])
		out[i] = o
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func workers() int { return min(runtime.GOMAXPROCS(0), 4) }

// parallel calls fn(worker, i) for every i of order on workers() goroutines,
// handing out work in order; the first error cancels the rest and is
// returned.
func parallel(ctx context.Context, order []int, fn func(worker, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for wk := range workers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if ctx.Err() != nil {
					continue
				}
				if err := fn(wk, i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
				}
			}
		}()
	}
feed:
	for _, i := range order {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func (g *generator) fullList(ctx context.Context, lw *listWriter, i int, head listHead, from, span int64, s *issuer.Signer, ca string) (Object, error) {
	is := g.plan.issuers[i]
	key := entryKey(g.cfg.Seed, is.code)
	head.issuer = is.code
	lw.begin(head, is.entries)
	for j := 0; j < is.entries; j++ {
		if j&0xffff == 0xffff {
			if err := ctx.Err(); err != nil {
				return Object{}, err
			}
		}
		h := idHash(is.code, j)
		st, since := fullEntry(key, j, from, span)
		lw.add(&h, st, since)
	}
	rel := listPath(is.code, ca, head.seq)
	size, sum, err := lw.finish(filepath.Join(g.dir, filepath.FromSlash(rel)), s, randFor(g.cfg.Seed, fmt.Sprintf("list/%s/%d", is.code, head.seq)))
	if err != nil {
		return Object{}, err
	}
	return Object{Type: TypeList, Path: rel, Issuer: is.code, CA: ca, Sequence: head.seq, Entries: is.entries,
		Size: size, SM3: hex.EncodeToString(sum[:])}, nil
}
