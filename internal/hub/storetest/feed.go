package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/trust"
)

func put(t *testing.T, s hub.Store, typ, data string, at time.Time) hub.ObjectRef {
	t.Helper()
	ref, err := s.PutObject(context.Background(), typ, []byte(data), at)
	if err != nil {
		t.Fatal(err)
	}
	if ref.Digest != gm.SM3([]byte(data)) || ref.Size != int64(len(data)) {
		t.Fatalf("PutObject(%q) = %+v", data, ref)
	}
	return ref
}

func readObject(t *testing.T, s hub.Store, d trust.Hash) (string, error) {
	t.Helper()
	o, err := s.Object(context.Background(), d)
	if err != nil {
		return "", err
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != o.Ref.Size || o.Ref.Digest != d {
		t.Fatalf("object %s: %d bytes, ref %+v", d, len(b), o.Ref)
	}
	return string(b), nil
}

func testFeedObjects(t *testing.T, s hub.Store) {
	ctx := context.Background()
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	a := put(t, s, trust.BlockCertificate, "cert A", t0)
	again := put(t, s, trust.BlockCertificate, "cert A", t0.Add(time.Minute))
	if again != a {
		t.Fatalf("PutObject again = %+v, want %+v", again, a)
	}
	b := put(t, s, trust.BlockStatusList, string(big), t0)
	if got, err := readObject(t, s, a.Digest); err != nil || got != "cert A" {
		t.Fatalf("object A = %q %v", got, err)
	}
	o, err := s.Object(ctx, b.Digest)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if o.Type != trust.BlockStatusList || o.Ref != b {
		t.Fatalf("object B: type %q ref %+v", o.Type, o.Ref)
	}
	// Seekable: a download resumed from an offset.
	if _, err := o.Seek(int64(len(big))-16, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	tail, err := io.ReadAll(o)
	if err != nil || string(tail) != "0123456789abcdef" {
		t.Fatalf("tail %q %v", tail, err)
	}
	if _, err := s.Object(ctx, gm.SM3([]byte("never stored"))); !errors.Is(err, hub.ErrNotFound) {
		t.Fatalf("unknown object: %v, want ErrNotFound", err)
	}
}

func listRef(issuer string) trust.ListRef {
	return trust.ListRef{CA: gm.SM3([]byte("CA " + issuer)), Issuer: issuer}
}

func testFeedManifest(t *testing.T, s hub.Store) {
	ctx := context.Background()
	m0, err := s.Manifest(ctx)
	if err != nil || m0.Seq != 0 || len(m0.Epoch.Hub) != 32 || len(m0.Refs()) != 0 {
		t.Fatalf("empty manifest: %+v %v", m0, err)
	}
	cert := put(t, s, trust.BlockCertificate, "signer", t0)
	crl := put(t, s, trust.BlockCRL, "crl", t0)
	full := put(t, s, trust.BlockStatusList, "full list 440300 #3", t0)
	delta := put(t, s, trust.BlockStatusList, "delta 440300 #4", t0)
	want := hub.Manifest{Epoch: m0.Epoch, Seq: 1, At: t0,
		Certs: []hub.ObjectRef{cert},
		CRLs:  []hub.ManifestCRL{{CA: gm.SM3([]byte("CA")), ObjectRef: crl}},
		Lists: []hub.ManifestList{{List: listRef("440300"), Full: hub.ManifestFull{Seq: 3, ObjectRef: full},
			Deltas: []hub.ManifestDelta{{Seq: 4, Base: 3, ObjectRef: delta}}}}}
	tests := []struct {
		name    string
		fn      func(m *hub.Manifest) (bool, error)
		wantSeq uint64
		wantErr error
	}{
		{name: "unknown object", fn: func(m *hub.Manifest) (bool, error) {
			m.Certs = append(m.Certs, hub.ObjectRef{Digest: gm.SM3([]byte("nope")), Size: 4})
			return true, nil
		}, wantErr: hub.ErrNotFound},
		{name: "fn fails", fn: func(m *hub.Manifest) (bool, error) {
			m.Certs = append(m.Certs, cert)
			return true, io.ErrUnexpectedEOF
		}, wantErr: io.ErrUnexpectedEOF},
		{name: "no change", fn: func(m *hub.Manifest) (bool, error) { return false, nil }},
		{name: "first", fn: func(m *hub.Manifest) (bool, error) {
			m.Certs, m.CRLs, m.Lists = want.Certs, want.CRLs, want.Lists
			m.Epoch = hub.Epoch{Hub: "not fn's to change"}
			return true, nil
		}, wantSeq: 1},
		{name: "unchanged again", fn: func(m *hub.Manifest) (bool, error) { return false, nil }, wantSeq: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.UpdateManifest(ctx, t0, tt.fn)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			cur, rerr := s.Manifest(ctx)
			if rerr != nil || cur.Seq != tt.wantSeq || cur.Epoch != m0.Epoch {
				t.Fatalf("stored manifest seq %d epoch %+v (%v), want seq %d", cur.Seq, cur.Epoch, rerr, tt.wantSeq)
			}
			if err == nil && !reflect.DeepEqual(got, cur) {
				t.Fatalf("returned %+v, stored %+v", got, cur)
			}
		})
	}
	got, err := s.Manifest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got.At, want.At = got.At.UTC(), want.At.UTC()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("manifest\n got %+v\nwant %+v", got, want)
	}
	// The caller's copy is its own: editing it changes nothing stored.
	got.Lists[0].Deltas[0].Seq = 99
	if again, _ := s.Manifest(ctx); again.Lists[0].Deltas[0].Seq != 4 {
		t.Fatal("Manifest shares memory with the store")
	}
	// Sequences grow by one per change.
	for i := range 3 {
		ref := put(t, s, trust.BlockCertificate, fmt.Sprint("cert ", i), t0)
		m, err := s.UpdateManifest(ctx, t0, func(m *hub.Manifest) (bool, error) {
			m.Certs = append(m.Certs, ref)
			return true, nil
		})
		if err != nil || m.Seq != uint64(2+i) {
			t.Fatalf("update %d: seq %d %v", i, m.Seq, err)
		}
	}
	// The published check policy is part of the manifest: stored, named
	// (never retired while named) and given back as it was.
	pol := put(t, s, wire.ObjectPolicy, "RC-REQ-POLICY-1 …", t0)
	m, err := s.UpdateManifest(ctx, t0, func(m *hub.Manifest) (bool, error) {
		m.Policy = &hub.ManifestPolicy{Seq: 7, ObjectRef: pol}
		return true, nil
	})
	if err != nil || m.Policy == nil || *m.Policy != (hub.ManifestPolicy{Seq: 7, ObjectRef: pol}) {
		t.Fatalf("policy: %+v %v", m.Policy, err)
	}
	cur, err := s.Manifest(ctx)
	if err != nil || cur.Policy == nil || *cur.Policy != *m.Policy || !slices.Contains(cur.Refs(), pol) {
		t.Fatalf("stored policy: %+v %v", cur.Policy, err)
	}
	cur.Policy.Seq = 99
	if again, _ := s.Manifest(ctx); again.Policy.Seq != 7 {
		t.Fatal("Manifest shares the policy with the store")
	}
	if n, err := s.PruneObjects(ctx, t0.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	} else if got, err := readObject(t, s, pol.Digest); err != nil || got != "RC-REQ-POLICY-1 …" {
		t.Fatalf("the named policy was pruned (%d pruned): %q %v", n, got, err)
	}
}

func testFeedPrune(t *testing.T, s hub.Store) {
	ctx := context.Background()
	a := put(t, s, trust.BlockCRL, "CRL 1", t0)
	b := put(t, s, trust.BlockCRL, "CRL 2", t0)
	orphan := put(t, s, trust.BlockCertificate, "never named", t0)
	ca := gm.SM3([]byte("CA"))
	set := func(ref hub.ObjectRef, at time.Time) {
		t.Helper()
		if _, err := s.UpdateManifest(ctx, at, func(m *hub.Manifest) (bool, error) {
			m.CRLs = []hub.ManifestCRL{{CA: ca, ObjectRef: ref}}
			return true, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	set(a, t0)
	t1 := t0.Add(time.Hour)
	set(b, t1) // A retired at t1
	if n, err := s.PruneObjects(ctx, t1.Add(-time.Millisecond)); err != nil || n != 1 {
		t.Fatalf("prune before A retired: %d %v, want 1 (the orphan)", n, err)
	}
	if _, err := readObject(t, s, orphan.Digest); !errors.Is(err, hub.ErrNotFound) {
		t.Fatalf("orphan after prune: %v", err)
	}
	if got, err := readObject(t, s, a.Digest); err != nil || got != "CRL 1" {
		t.Fatalf("A in its grace period: %q %v", got, err)
	}
	if n, err := s.PruneObjects(ctx, t1); err != nil || n != 1 {
		t.Fatalf("prune: %d %v, want 1", n, err)
	}
	if _, err := readObject(t, s, a.Digest); !errors.Is(err, hub.ErrNotFound) {
		t.Fatalf("A after prune: %v", err)
	}
	if got, err := readObject(t, s, b.Digest); err != nil || got != "CRL 2" {
		t.Fatalf("named object B after prune: %q %v", got, err)
	}
	if n, err := s.PruneObjects(ctx, t1.Add(1000*time.Hour)); err != nil || n != 0 {
		t.Fatalf("prune far later: %d %v, want 0 (B is named)", n, err)
	}
	// A pruned object stored again is an object like any other.
	put(t, s, trust.BlockCRL, "CRL 1", t1)
	set(a, t1.Add(time.Minute))
	if got, err := readObject(t, s, a.Digest); err != nil || got != "CRL 1" {
		t.Fatalf("A stored again: %q %v", got, err)
	}
}

func testFeedGeneration(t *testing.T, s hub.Store) {
	ctx := context.Background()
	c := put(t, s, trust.BlockCertificate, "cert", t0)
	m1, err := s.UpdateManifest(ctx, t0, func(m *hub.Manifest) (bool, error) {
		m.Certs = []hub.ObjectRef{c}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.UpdateManifest(ctx, t0, func(m *hub.Manifest) (bool, error) { return true, nil }); err != nil {
			t.Fatal(err)
		}
	}
	e, err := s.NewGeneration(ctx)
	if err != nil || e.Hub != m1.Epoch.Hub || e.Generation != m1.Epoch.Generation+1 {
		t.Fatalf("NewGeneration = %+v %v (was %+v)", e, err, m1.Epoch)
	}
	m, err := s.Manifest(ctx)
	if err != nil || m.Epoch != e || m.Seq != 1 || !reflect.DeepEqual(m.Certs, m1.Certs) {
		t.Fatalf("after NewGeneration: %+v %v", m, err)
	}
}

func testFeedConcurrent(t *testing.T, s hub.Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				ref, err := s.PutObject(ctx, trust.BlockCertificate, []byte(fmt.Sprint("cert ", g, " ", i)), t0)
				if err == nil {
					_, err = s.UpdateManifest(ctx, t0, func(m *hub.Manifest) (bool, error) {
						m.Certs = append(m.Certs, ref)
						return true, nil
					})
				}
				if err == nil {
					_, err = s.PruneObjects(ctx, t0.Add(-time.Hour))
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	m, err := s.Manifest(ctx)
	if err != nil || m.Seq != 40 || len(m.Certs) != 40 {
		t.Fatalf("after 40 concurrent updates: seq %d, %d certs, %v", m.Seq, len(m.Certs), err)
	}
	for _, r := range m.Certs {
		if _, err := readObject(t, s, r.Digest); err != nil {
			t.Fatal(err)
		}
	}
}
