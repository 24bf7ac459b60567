package hub_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/trust"
)

var feedT0 = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)

func openBolt(t testing.TB, path string) (*storage.DB, *hub.BoltStore) {
	t.Helper()
	db, err := storage.Open(context.Background(), path, storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := hub.NewBoltStore(context.Background(), db)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	return db, s
}

func addCert(t *testing.T, s hub.Store, name string) hub.Manifest {
	t.Helper()
	ctx := context.Background()
	ref, err := s.PutObject(ctx, trust.BlockCertificate, []byte(name), feedT0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.UpdateManifest(ctx, feedT0, func(m *hub.Manifest) (bool, error) {
		m.Certs = append(m.Certs, ref)
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestBoltFeedEpoch: the epoch survives a restart; a database restored
// from a backup (its objects directory newer) starts a new generation; a
// database made anew is a new hub id. Objects are files beside the
// database, named from its path.
func TestBoltFeedEpoch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hub.db")
	db, s := openBolt(t, path)
	m1 := addCert(t, s, "cert 1")
	db.Close()
	copyFile(t, path, path+".backup") // a backup at sequence 1

	db, s = openBolt(t, path)
	m, err := s.Manifest(context.Background())
	if err != nil || m.Epoch != m1.Epoch || m.Seq != 1 {
		t.Fatalf("after restart: %+v %v, want epoch %+v seq 1", m, err, m1.Epoch)
	}
	m3 := addCert(t, s, "cert 2")
	m3 = addCert(t, s, "cert 3")
	if m3.Seq != 3 {
		t.Fatalf("seq %d", m3.Seq)
	}
	if _, err := os.Stat(filepath.Join(hub.ObjectsDirFor(path), m3.Certs[0].Digest.String())); err != nil {
		t.Fatalf("object file: %v", err)
	}
	db.Close()

	copyFile(t, path+".backup", path) // restored: sequence 1 again
	db, s = openBolt(t, path)
	m, err = s.Manifest(context.Background())
	if err != nil || m.Epoch.Hub != m1.Epoch.Hub || m.Epoch.Generation != m1.Epoch.Generation+1 || len(m.Certs) != 1 {
		t.Fatalf("after restore: %+v %v, want hub %s generation %d", m, err, m1.Epoch.Hub, m1.Epoch.Generation+1)
	}
	// Its next change is of the new generation: terminals follow it.
	if m4 := addCert(t, s, "cert 4"); m4.Epoch != m.Epoch || m4.Seq != m.Seq+1 {
		t.Fatalf("after restore, a change: %+v", m4)
	}
	db.Close()

	os.Remove(path) // rebuilt from scratch
	db, s = openBolt(t, path)
	defer db.Close()
	m, err = s.Manifest(context.Background())
	if err != nil || m.Epoch.Hub == m1.Epoch.Hub || m.Seq != 0 {
		t.Fatalf("rebuilt: %+v %v, want a new hub id", m, err)
	}
}
