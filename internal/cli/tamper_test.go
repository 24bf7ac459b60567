package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/demo"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/storage"
)

// The tests here play someone who holds the tablet and writes its
// database file directly, without any key: they edit the bytes RoadCheck
// stored, delete records and move the chain head, as bbolt lets anyone
// with the file do.

// tamper runs fn on the terminal database file at path in one write
// transaction (rcctl is not running).
func tamper(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := storage.Open(context.Background(), path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func seqKey8(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// editPublicBody rewrites the public part of stored record seq (the fields
// not sealed at rest: the CBOR map under key 1 of the stored record) with
// fn; the sealed part and the signature are left as they were.
func editPublicBody(t *testing.T, path string, seq uint64, fn func(body map[uint64]any)) {
	t.Helper()
	enc, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	tamper(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket(storage.BucketRecords)
		var stored map[uint64]cbor.RawMessage
		if err := cbor.Unmarshal(b.Get(seqKey8(seq)), &stored); err != nil {
			return err
		}
		var raw []byte
		if err := cbor.Unmarshal(stored[1], &raw); err != nil {
			return err
		}
		var body map[uint64]any
		if err := cbor.Unmarshal(raw, &body); err != nil {
			return err
		}
		fn(body)
		if raw, err = enc.Marshal(body); err != nil {
			return err
		}
		if stored[1], err = enc.Marshal(raw); err != nil {
			return err
		}
		v, err := enc.Marshal(stored)
		if err != nil {
			return err
		}
		return b.Put(seqKey8(seq), v)
	})
}

// storedHead is the chain head as the record store keeps it.
type storedHead struct {
	Seq  uint64 `cbor:"1,keyasint"`
	Hash []byte `cbor:"2,keyasint"`
	Wall int64  `cbor:"3,keyasint"`
	Sig  []byte `cbor:"4,keyasint,omitempty"`
}

// headBytes returns the stored chain head value as it is now.
func headBytes(t *testing.T, path string) []byte {
	t.Helper()
	var v []byte
	tamper(t, path, func(tx *bolt.Tx) error {
		v = bytes.Clone(tx.Bucket(storage.BucketDevice).Get([]byte("head")))
		return nil
	})
	return v
}

// dropNewest deletes the newest record (log, id index, outbox) and sets
// the chain head to head, or, when head is nil, rolls it back by hand to
// the record before: its sequence and digest, the newest record's time,
// and the signature the head had (someone without the device key cannot
// make a new one).
func dropNewest(t *testing.T, path string, head []byte) {
	t.Helper()
	tamper(t, path, func(tx *bolt.Tx) error {
		recs := tx.Bucket(storage.BucketRecords)
		k, v := recs.Cursor().Last()
		seq := binary.BigEndian.Uint64(k)
		var stored map[uint64]cbor.RawMessage
		if err := cbor.Unmarshal(v, &stored); err != nil {
			return err
		}
		var body map[uint64]any
		var raw []byte
		if err := cbor.Unmarshal(stored[1], &raw); err != nil {
			return err
		}
		if err := cbor.Unmarshal(raw, &body); err != nil {
			return err
		}
		if err := tx.Bucket(storage.BucketRecordIndex).Delete(body[2].([]byte)); err != nil {
			return err
		}
		for _, b := range [][]byte{storage.BucketRecords, storage.BucketOutbox, storage.BucketDelivery} {
			if err := tx.Bucket(b).Delete(k); err != nil {
				return err
			}
		}
		dev := tx.Bucket(storage.BucketDevice)
		if head != nil {
			return dev.Put([]byte("head"), head)
		}
		var h storedHead
		if err := cbor.Unmarshal(dev.Get([]byte("head")), &h); err != nil {
			return err
		}
		var prev map[uint64]cbor.RawMessage
		if err := cbor.Unmarshal(recs.Get(seqKey8(seq-1)), &prev); err != nil {
			return err
		}
		h.Seq = seq - 1
		if err := cbor.Unmarshal(prev[5], &h.Hash); err != nil { // the stored digest of the record before
			return err
		}
		hv, err := cbor.Marshal(&h)
		if err != nil {
			return err
		}
		return dev.Put([]byte("head"), hv)
	})
}

// hubFlags lists the kinds of the hub's flags on device.
func hubFlags(t *testing.T, h *testHub, device string) []string {
	t.Helper()
	flags, _, err := h.store.Flags(context.Background(), hub.FlagQuery{Device: device})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, f := range flags {
		kinds = append(kinds, f.Kind)
	}
	return kinds
}

// listCode runs record list --json and returns its exit code, records and
// stdout/stderr.
func listCode(t *testing.T, db string) (int, []map[string]any, result) {
	t.Helper()
	r := run(t, "", "--db", db, "record", "list", "--json")
	var out []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("record list --json: %v: %q %q", err, r.stdout, r.stderr)
	}
	return r.code, out, r
}

// TestRolledBackHead: the newest records deleted on the terminal and its
// chain head rolled back. Without the device key the head's signature no
// longer fits: record list exits 1 and names the problem, and the next
// sync reports it, so the hub flags the device. A head restored from an
// earlier copy (validly signed then) passes the terminal's own audit, but
// the hub, which received the deleted record, flags the head as behind.
func TestRolledBackHead(t *testing.T) {
	t.Run("undelivered record, head rolled back by hand", func(t *testing.T) {
		h := startHub(t, nil)
		dir, db, device := enrolled(t, h)
		for range 2 {
			if r := run(t, "", "--db", db, "record", "add", "--qr", readCode(t, dir, "valid-vehicle")); r.code != ExitOK {
				t.Fatal(r.stderr)
			}
		}
		if r := run(t, "", "--db", db, "sync"); r.code != ExitOK || !strings.Contains(r.stdout, "head: #2, consistent with the hub (2 received)") {
			t.Fatalf("sync: %d %q %q", r.code, r.stdout, r.stderr)
		}
		if r := run(t, "", "--db", db, "record", "add", "--qr", readCode(t, dir, "invalid-licence-revoked"), "--note", "扣留"); r.code != ExitOK {
			t.Fatal(r.stderr)
		}
		dropNewest(t, db, nil)

		code, list, r := listCode(t, db)
		if code != ExitPartial || len(list) != 2 || !strings.Contains(r.stderr, "head_signature") {
			t.Fatalf("record list after the roll-back: %d %v %q", code, list, r.stderr)
		}
		r = run(t, "", "--db", db, "record", "list")
		if r.code != ExitPartial || !strings.Contains(r.stdout, "AUDIT FAILED") {
			t.Fatalf("record list: %d %q", r.code, r.stdout)
		}
		if got := hubFlags(t, h, device); len(got) != 0 {
			t.Fatalf("flags before the sync: %v", got)
		}
		r = run(t, "", "--db", db, "sync")
		if r.code != ExitPartial || !strings.Contains(r.stdout, "the hub FLAGGED this device") || !strings.Contains(r.stdout, "AUDIT FAILED") {
			t.Fatalf("sync after the roll-back: %d %q %q", r.code, r.stdout, r.stderr)
		}
		got := hubFlags(t, h, device)
		if !slices.Contains(got, wire.FlagKindHeadSignature) || !slices.Contains(got, wire.FlagKindAudit) {
			t.Fatalf("hub flags: %v", got)
		}
		// The same state reported again raises nothing new.
		if r := run(t, "", "--db", db, "sync"); r.code != ExitPartial {
			t.Fatalf("second sync: %d %q", r.code, r.stdout)
		}
		if again := hubFlags(t, h, device); len(again) != len(got) {
			t.Fatalf("flags after a second sync: %v, before %v", again, got)
		}
	})
	t.Run("delivered record, head restored from an older copy", func(t *testing.T) {
		h := startHub(t, nil)
		dir, db, device := enrolled(t, h)
		for range 2 {
			if r := run(t, "", "--db", db, "record", "add", "--qr", readCode(t, dir, "valid-vehicle")); r.code != ExitOK {
				t.Fatal(r.stderr)
			}
		}
		old := headBytes(t, db) // signed by the device at record 2
		if r := run(t, "", "--db", db, "record", "add", "--qr", readCode(t, dir, "valid-permit")); r.code != ExitOK {
			t.Fatal(r.stderr)
		}
		if r := run(t, "", "--db", db, "sync"); r.code != ExitOK || !strings.Contains(r.stdout, "3 delivered") {
			t.Fatalf("sync: %d %q %q", r.code, r.stdout, r.stderr)
		}
		dropNewest(t, db, old)
		// The terminal alone cannot tell: the chain and its signed head
		// are exactly what they were after record 2.
		if code, list, r := listCode(t, db); code != ExitOK || len(list) != 2 {
			t.Fatalf("record list: %d %v %q", code, list, r.stderr)
		}
		r := run(t, "", "--db", db, "sync")
		if r.code != ExitPartial || !strings.Contains(r.stdout, "head: #2: the hub FLAGGED this device: "+wire.FlagKindHeadBehind+" (it holds 3 records)") {
			t.Fatalf("sync after the restore: %d %q %q", r.code, r.stdout, r.stderr)
		}
		if got := hubFlags(t, h, device); len(got) != 1 || got[0] != wire.FlagKindHeadBehind {
			t.Fatalf("hub flags: %v", got)
		}
	})
}

// TestRecordCommandsNeedThePIN: rcctl's record commands act for an
// officer who typed their PIN; without one (no terminal to ask, no
// --pin-stdin), with a wrong one, or for an officer id that is not one,
// nothing is recorded.
func TestRecordCommandsNeedThePIN(t *testing.T) {
	dir, db := world(t)
	code := readCode(t, dir, "valid-vehicle")
	if r := run(t, "", "--db", db, "record", "add", "--qr", code); r.code != ExitOK { // provisions the officers
		t.Fatal(r.stderr)
	}
	direct := func(stdin string, env func(string) string, args ...string) result {
		var out, errb bytes.Buffer
		e := &Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Clock: clock.NewFake(demo.ReferenceTime), Getenv: env, PINIterations: testIterations}
		c := Main(context.Background(), e, append([]string{"--db", db}, args...))
		return result{c, out.String(), errb.String()}
	}
	noEnv := func(string) string { return "" }
	tests := []struct {
		name    string
		stdin   string
		env     func(string) string
		args    []string
		wantErr string
	}{
		{name: "no PIN", env: noEnv, args: []string{"record", "add", "--officer", "1001", "--qr", code}, wantErr: "the officer's PIN is needed"},
		{name: "no PIN, officer from the environment", env: func(k string) string {
			if k == "RC_OFFICER" {
				return "1001"
			}
			return ""
		}, args: []string{"record", "add", "--qr", code}, wantErr: "the officer's PIN is needed"},
		{name: "no officer", stdin: testPIN + "\n", env: noEnv, args: []string{"record", "add", "--pin-stdin", "--qr", code}, wantErr: "the officer is needed"},
		{name: "empty stdin", env: noEnv, args: []string{"record", "add", "--officer", "1001", "--pin-stdin", "--qr", code}, wantErr: "no line on standard input"},
		{name: "wrong PIN", stdin: "135790\n", env: noEnv, args: []string{"record", "add", "--officer", "1001", "--pin-stdin", "--qr", code}, wantErr: "wrong officer ID or PIN"},
		{name: "unknown officer", stdin: testPIN + "\n", env: noEnv, args: []string{"record", "add", "--officer", "4040", "--pin-stdin", "--qr", code}, wantErr: "wrong officer ID or PIN"},
		{name: "escape sequence as officer", stdin: testPIN + "\n", env: noEnv, args: []string{"record", "add", "--officer", "\x1b[2J1001", "--pin-stdin", "--qr", code}, wantErr: "letters, digits or '-'"},
		{name: "list without PIN", env: noEnv, args: []string{"record", "list", "--officer", "1001"}, wantErr: "the officer's PIN is needed"},
		{name: "purge without PIN", env: noEnv, args: []string{"record", "purge", "--officer", "9001"}, wantErr: "the officer's PIN is needed"},
		{name: "sync without PIN", env: noEnv, args: []string{"sync", "--officer", "9001"}, wantErr: "the officer's PIN is needed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := direct(tt.stdin, tt.env, tt.args...)
			if r.code != ExitError || !strings.Contains(r.stderr, tt.wantErr) || r.stdout != "" {
				t.Fatalf("exit %d (want 3), stdout %q, stderr %q (want %q)", r.code, r.stdout, r.stderr, tt.wantErr)
			}
		})
	}
	// The record made with the PIN names the officer who signed in.
	r := direct(testPIN+"\n", noEnv, "record", "add", "--officer", "1001", "--pin-stdin", "--qr", code)
	if r.code != ExitOK {
		t.Fatalf("record add with the PIN: %d %q", r.code, r.stderr)
	}
	list := listJSON(t, db)
	if len(list) != 2 || list[0]["officer"] != "9001" || list[1]["officer"] != "1001" {
		t.Fatalf("records: %v", list)
	}
	// Without a TPM the terminal says what protects its keys, and what not.
	for _, args := range [][]string{{"keys", "status"}, {"trust", "status"}} {
		r := direct("", noEnv, args...)
		if r.code != ExitOK || !strings.Contains(r.stdout, "no TPM") || !strings.Contains(r.stdout, "guess officers' PINs offline") {
			t.Fatalf("%v: %d %q %q", args, r.code, r.stdout, r.stderr)
		}
	}
}
