package demo

import (
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/issuer"
)

// DefaultSeed is the seed of the embedded demo world.
const DefaultSeed = 1

// ReferenceTime is the check time the embedded demo world is built for:
// 2026-11-27T10:00:00+08:00.
var ReferenceTime = time.Date(2026, 11, 27, 10, 0, 0, 0, credential.CST())

// Sample is one demo code with what verifying it at the world's time gives.
type Sample struct {
	Name        string   // file name stem, e.g. "valid-vehicle"
	Description string   // 中文 description for people
	Text        string   // the QR text
	Verdict     string   // expected verdict: VALID, LIMITED or INVALID
	Reasons     []string // expected reason codes in step order
	Kind        credential.Kind
}

// World is a demo deployment.
type World struct {
	Seed       int64
	At         time.Time // the time the world is built for (check at this time)
	AnchorsPEM []byte
	BundlePEM  []byte
	Samples    []Sample

	Root    *issuer.Authority
	CAs     map[string]*issuer.Authority // by prefix
	Signers map[string]*issuer.Signer    // by name
}

type builder struct {
	w    *World
	seed int64
	err  error
}

// rand returns a deterministic reader for one operation.
func (b *builder) rand(label string) io.Reader {
	return gm.DeterministicReader([]byte(fmt.Sprintf("roadcheck-demo/%d/%s", b.seed, label)))
}

func (b *builder) key(label string) *gm.PrivateKey {
	k, err := gm.ScalarFromSeed([]byte(fmt.Sprintf("roadcheck-demo/%d/%s", b.seed, label)))
	if err != nil && b.err == nil {
		b.err = err
	}
	return k
}

// Build creates the demo world for seed, with every date relative to at
// (zero: ReferenceTime). Build(s, t) always returns the same bytes.
func Build(seed int64, at time.Time) (*World, error) {
	if at.IsZero() {
		at = ReferenceTime
	}
	at = at.Truncate(time.Second)
	b := &builder{seed: seed, w: &World{Seed: seed, At: at, CAs: map[string]*issuer.Authority{}, Signers: map[string]*issuer.Signer{}}}
	if err := b.build(); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return b.w, nil
}

func day(t time.Time, days int) time.Time { return t.AddDate(0, 0, days) }

func (b *builder) build() error {
	at := b.w.At
	y := at.Year()
	longAgo := time.Date(y-8, 1, 1, 0, 0, 0, 0, credential.CST())
	root, err := issuer.NewRoot(b.rand("root"), issuer.CertRequest{
		Subject:   issuer.Name{Organization: "中华人民共和国交通运输部（演示）", CommonName: "道路运输电子证照根CA（演示）"},
		Serial:    1,
		NotBefore: longAgo, NotAfter: time.Date(y+18, 12, 31, 23, 59, 59, 0, credential.CST()),
		Key: b.key("root"),
	})
	if err != nil {
		return err
	}
	b.w.Root = root
	ca := func(parent *issuer.Authority, label, prefix, province, org string, serial int64) *issuer.Authority {
		if b.err != nil {
			return nil
		}
		a, err := parent.IssueCA(b.rand("ca/"+label), issuer.CertRequest{
			Subject: issuer.Name{Province: province, Organization: org, CommonName: org + "电子证照CA（演示）"},
			Prefix:  prefix, Serial: serial,
			NotBefore: longAgo, NotAfter: time.Date(y+12, 12, 31, 23, 59, 59, 0, credential.CST()),
			Key: b.key("ca/" + label),
		})
		if err != nil {
			b.err = err
			return nil
		}
		b.w.CAs[prefix] = a
		return a
	}
	gd := ca(root, "guangdong", "44", "广东省", "广东省交通运输厅", 0x4400)
	sz := ca(gd, "shenzhen", "4403", "广东省", "深圳市交通运输局", 0x440300)
	sc := ca(root, "sichuan", "51", "四川省", "四川省交通运输厅", 0x5100)
	signer := func(parent *issuer.Authority, label, province, org string, serial int64, from, until time.Time) *issuer.Signer {
		if b.err != nil {
			return nil
		}
		s, err := parent.IssueSigner(b.rand("signer/"+label), issuer.CertRequest{
			Subject: issuer.Name{Province: province, Organization: org, CommonName: org + "电子证照签章（演示）"},
			Serial:  serial, NotBefore: from, NotAfter: until,
			Key: b.key("signer/" + label),
		})
		if err != nil {
			b.err = err
			return nil
		}
		b.w.Signers[label] = s
		return s
	}
	signFrom, signUntil := longAgo, time.Date(y+4, 12, 31, 23, 59, 59, 0, credential.CST())
	szSigner := signer(sz, "shenzhen", "广东省", "深圳市交通运输局", 0x44030001, signFrom, signUntil)
	gdSigner := signer(gd, "guangdong", "广东省", "广东省交通运输厅", 0x440001, signFrom, signUntil)
	scSigner := signer(sc, "sichuan", "四川省", "成都市交通运输局", 0x510001, signFrom, signUntil)
	oldSigner := signer(gd, "guangdong-2024", "广东省", "广东省交通运输厅（旧）", 0x440002, longAgo, day(longAgo, 365))
	revSigner := signer(gd, "guangdong-revoked", "广东省", "广东省交通运输厅（已吊销）", 0x440003, signFrom, signUntil)
	// A signer of an authority unknown to terminals: its own root, not in any bundle.
	strayRoot, err := issuer.NewRoot(b.rand("stray-root"), issuer.CertRequest{
		Subject: issuer.Name{Organization: "未登记机构（演示）", CommonName: "未登记根CA（演示）"},
		Serial:  99, NotBefore: longAgo, NotAfter: signUntil, Key: b.key("stray-root"),
	})
	if err != nil {
		return err
	}
	stray := signer(strayRoot, "stray", "广东省", "未登记签章机构", 0x990001, signFrom, signUntil)
	if b.err != nil {
		return b.err
	}

	// CRLs: the Guangdong CA revoked one signer; the root revokes nothing.
	gdCRL, err := gd.CRL(b.rand("crl/guangdong"), 3, day(at, -2), day(at, 28),
		[]issuer.Revocation{{Serial: big.NewInt(0x440003), At: day(at, -30)}})
	if err != nil {
		return err
	}
	rootCRL, err := root.CRL(b.rand("crl/root"), 1, day(at, -10), day(at, 80), nil)
	if err != nil {
		return err
	}

	samples := b.samples(szSigner, gdSigner, scSigner, oldSigner, revSigner, stray)
	if b.err != nil {
		return b.err
	}

	// Status lists.
	list := func(s *issuer.Signer, label string, l *credential.StatusList) []byte {
		cose, err := s.SignStatusList(b.rand("list/"+label), l)
		if err != nil && b.err == nil {
			b.err = err
		}
		return cose
	}
	ts := func(t time.Time) int64 { return t.Unix() }
	h := credential.IDHash
	// Sequences grow with the world's time, so a world built later always
	// supersedes an earlier one on a terminal or hub that holds both.
	seq := 2 * uint64(at.Unix())
	szFull := list(szSigner, "440300/1", &credential.StatusList{
		Issuer: "440300", Sequence: seq, ThisUpdate: ts(day(at, -3)), NextUpdate: ts(day(at, 4)),
		Entries: []credential.StatusEntry{
			{IDHash: h(idRevoked), Status: credential.StatusRevoked, Since: ts(day(at, -20))},
			{IDHash: h("44030012902023000777"), Status: credential.StatusSuspended, Since: ts(day(at, -40))},
		},
	})
	szDelta := list(szSigner, "440300/2", &credential.StatusList{
		Issuer: "440300", Sequence: seq + 1, Base: seq, ThisUpdate: ts(day(at, -1)), NextUpdate: ts(day(at, 6)),
		Entries: []credential.StatusEntry{
			{IDHash: h(idSuspended), Status: credential.StatusSuspended, Since: ts(day(at, -1))},
			{IDHash: h("44030012902023000777"), Status: credential.StatusActive, Since: ts(day(at, -1))},
		},
	})
	gzFull := list(gdSigner, "440100/1", &credential.StatusList{
		Issuer: "440100", Sequence: seq, ThisUpdate: ts(day(at, -2)), NextUpdate: ts(day(at, 5)),
	})
	cdFull := list(scSigner, "510100/1", &credential.StatusList{
		Issuer: "510100", Sequence: seq, ThisUpdate: ts(day(at, -12)), NextUpdate: ts(day(at, -5)),
	})
	if b.err != nil {
		return b.err
	}

	// The bundle deliberately lists children before parents and a delta
	// before its full list: importers must not depend on block order.
	var bundle issuer.Bundle
	bundle.AddStatusList(szDelta)
	bundle.AddCRL(gdCRL)
	for _, s := range []*issuer.Signer{szSigner, gdSigner, scSigner, oldSigner, revSigner} {
		bundle.AddCert(s.DER)
	}
	bundle.AddCert(sz.DER)
	bundle.AddCert(gd.DER)
	bundle.AddCert(sc.DER)
	bundle.AddCRL(rootCRL)
	bundle.AddStatusList(szFull)
	bundle.AddStatusList(gzFull)
	bundle.AddStatusList(cdFull)
	b.w.BundlePEM = bundle.PEM()
	b.w.AnchorsPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.DER})
	b.w.Samples = samples
	return nil
}
