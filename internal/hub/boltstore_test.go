package hub_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/storetest"
	"github.com/roadcheck/roadcheck/internal/storage"
)

func TestBoltStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) hub.Store {
		db, err := storage.Open(context.Background(), filepath.Join(t.TempDir(), "hub.db"), storage.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		s, err := hub.NewBoltStore(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
