package pgtest_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/roadcheck/roadcheck/internal/hub/pgstore/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestNewDB: each test gets a database of its own on the shared cluster,
// reachable over the Unix socket and over loopback TCP.
func TestNewDB(t *testing.T) {
	ctx := context.Background()
	c := pgtest.Shared(t)
	a, b := pgtest.NewDB(t, ""), pgtest.NewDB(t, "")
	if a == b {
		t.Fatal("two tests share a database")
	}
	for _, u := range []string{a, c.TCPURL("postgres")} {
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		var one int
		if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
			t.Fatalf("SELECT 1 = %d %v", one, err)
		}
		conn.Close(ctx)
	}
}

// TestKillRestart: a cluster killed like a crashed server starts again on
// its data.
func TestKillRestart(t *testing.T) {
	ctx := context.Background()
	c, err := pgtest.Start(ctx, pgtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if err := c.Exec(ctx, "postgres", "CREATE TABLE kept (v int)", "INSERT INTO kept VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	c.Kill()
	if err := c.Exec(ctx, "postgres", "SELECT 1"); err == nil {
		t.Fatal("a killed cluster answered")
	}
	if err := c.Restart(ctx, pgtest.Options{}); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v int
	if err := conn.QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != 7 {
		t.Fatalf("after restart: %d %v", v, err)
	}
}
