package pgstore_test

import (
	"context"
	"testing"

	"github.com/roadcheck/roadcheck/internal/hub/account"
	"github.com/roadcheck/roadcheck/internal/hub/account/accounttest"
	"github.com/roadcheck/roadcheck/internal/hub/audit"
	"github.com/roadcheck/roadcheck/internal/hub/audit/audittest"
)

// The suites of the hub's security stores, on PostgreSQL.

func TestAuditStore(t *testing.T) {
	audittest.Run(t, func(t *testing.T) audit.Store {
		st, err := open(t).AuditStore(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}

func TestAccountStore(t *testing.T) {
	accounttest.Run(t, func(t *testing.T) account.Store {
		st, err := open(t).AccountStore(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}
