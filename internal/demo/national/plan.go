package national

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
)

// plan is the shape of a world, a pure function of its normalized Config:
// which CAs, issuers and signers exist and how many entries each issuer's
// full list holds. Generate builds it to write the world, Open rebuilds it
// to serve codes and samples.
type plan struct {
	cas     []caPlan
	issuers []issuerPlan
	signers []signerPlan
}

type caPlan struct {
	prefix  string // jurisdiction: "" for the root (an anchor counts as 00)
	label   string // "00", "44", "4401": file names and key labels
	parent  int    // index in plan.cas; -1 for the root
	prov    int    // index in provinces; -1 for the root
	serial  int64
	org     string
	issuers []int
}

type issuerPlan struct {
	code    string
	name    string
	prov    int
	ca      int
	signers []int // indices in plan.signers; the first one signs the lists
	entries int   // entries of the full list
}

type signerPlan struct {
	name    string // "440100-003"
	issuer  int
	serial  int64
	revoked bool // listed on its CA's CRL; never signs anything
}

// big issuers: the first issuer of the largest provinces holds these
// shares of all entries (capped at MaxListEntries).
var bigShares = []float64{0.25, 0.12, 0.06, 0.03}

// revokedPerCA is how many issuers under each CA have their last signer
// revoked (only issuers with at least two signers).
const revokedPerCA = 2

func newPlan(c Config) *plan {
	p := &plan{}
	p.cas = append(p.cas, caPlan{label: "00", parent: -1, prov: -1, serial: 1, org: "中华人民共和国交通运输部（国家演示）"})

	cities := make([]float64, c.Provinces)
	for i := range cities {
		cities[i] = float64(provinces[i].cities)
	}
	perProv := apportion(c.Issuers-c.Provinces, cities, 98)
	for pi := 0; pi < c.Provinces; pi++ {
		pr := provinces[pi]
		n := perProv[pi] + 1
		pv, _ := strconv.Atoi(pr.code)
		provCA := len(p.cas)
		p.cas = append(p.cas, caPlan{prefix: pr.code, label: pr.code, parent: 0, prov: pi, serial: int64(pv) << 8, org: pr.authorityName()})
		for k := 1; k <= n; k++ {
			city := fmt.Sprintf("%s%02d", pr.code, k)
			code := city + "00"
			name := cityName(pr, code)
			ca := provCA
			if pi < cityCAProvinces && k <= cityCAsPerProvince {
				cv, _ := strconv.Atoi(city)
				ca = len(p.cas)
				p.cas = append(p.cas, caPlan{prefix: city, label: city, parent: provCA, prov: pi, serial: int64(cv) << 8, org: name})
			}
			p.cas[ca].issuers = append(p.cas[ca].issuers, len(p.issuers))
			p.issuers = append(p.issuers, issuerPlan{code: code, name: name, prov: pi, ca: ca})
		}
	}

	// Signers: spread evenly, the first issuers get the remainder.
	for i := range p.issuers {
		n := c.Signers / c.Issuers
		if i < c.Signers%c.Issuers {
			n++
		}
		cv, _ := strconv.Atoi(p.issuers[i].code)
		for k := 1; k <= n; k++ {
			p.issuers[i].signers = append(p.issuers[i].signers, len(p.signers))
			p.signers = append(p.signers, signerPlan{name: fmt.Sprintf("%s-%03d", p.issuers[i].code, k), issuer: i, serial: int64(cv)*1000 + int64(k)})
		}
	}
	for _, ca := range p.cas[1:] {
		done := 0
		for _, ii := range ca.issuers {
			if ss := p.issuers[ii].signers; len(ss) >= 2 && done < revokedPerCA {
				p.signers[ss[len(ss)-1]].revoked = true
				done++
			}
		}
	}
	p.allocateEntries(c)
	return p
}

// allocateEntries splits c.Entries over the issuers: the first issuer of
// each of the largest provinces takes a big share (bigShares), the others
// a weight drawn in [10, 40), so most lists hold 10–40 k entries in the
// default world and the largest ~2.5 M.
func (p *plan) allocateEntries(c Config) {
	r := newRNG(c.Seed, "entries")
	w := make([]float64, len(p.issuers))
	big := min(len(bigShares), len(p.issuers)/3, c.Provinces)
	bigOf := map[int]float64{} // issuer → share
	var bigs []int
	for pi := 0; pi < big; pi++ {
		for i, is := range p.issuers {
			if is.prov == pi {
				bigOf[i] = bigShares[pi]
				bigs = append(bigs, i)
				break
			}
		}
	}
	var others, shares float64
	for i := range w {
		if _, ok := bigOf[i]; !ok {
			w[i] = 10 + float64(r.next()%30000)/1000
			others += w[i]
		}
	}
	for _, i := range bigs {
		shares += bigOf[i]
	}
	for _, i := range bigs {
		w[i] = bigOf[i] / (1 - shares) * others
	}
	for i, n := range apportion(c.Entries, w, MaxListEntries) {
		p.issuers[i].entries = n
	}
}

// apportion splits total into integer parts proportional to w, none above
// limit, by largest remainder (ties to the lower index). The caller makes
// sure total ≤ len(w)·limit.
func apportion(total int, w []float64, limit int) []int {
	out := make([]int, len(w))
	fixed := make([]bool, len(w))
	for {
		rem, sum := total, 0.0
		for i := range w {
			if fixed[i] {
				rem -= out[i]
			} else {
				sum += w[i]
			}
		}
		capped := false
		for i := range w {
			if !fixed[i] && sum > 0 && float64(rem)*w[i]/sum > float64(limit) {
				out[i], fixed[i], capped = limit, true, true
			}
		}
		if capped {
			continue
		}
		type frac struct {
			i int
			f float64
		}
		var fr []frac
		left := rem
		for i := range w {
			if fixed[i] {
				continue
			}
			share := 0.0
			if sum > 0 {
				share = float64(rem) * w[i] / sum
			} else {
				share = float64(rem) / float64(countFalse(fixed))
			}
			out[i] = int(math.Floor(share))
			left -= out[i]
			fr = append(fr, frac{i, share - math.Floor(share)})
		}
		slices.SortStableFunc(fr, func(a, b frac) int { return cmp.Compare(b.f, a.f) })
		for k := 0; left > 0 && len(fr) > 0; k = (k + 1) % len(fr) {
			if out[fr[k].i] < limit {
				out[fr[k].i]++
				left--
			}
		}
		return out
	}
}

func countFalse(b []bool) int {
	n := 0
	for _, v := range b {
		if !v {
			n++
		}
	}
	return n
}

// rng is splitmix64: fast, deterministic, not cryptographic (it only
// shapes the world; every key and signature nonce comes from gm).
type rng struct{ s uint64 }

func newRNG(seed int64, label string) *rng { return &rng{s: labelKey(seed, label)} }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix64(r.s)
}

func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func labelKey(seed int64, label string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(label))
	return mix64(h.Sum64() ^ mix64(uint64(seed)+0x9e3779b97f4a7c15))
}
