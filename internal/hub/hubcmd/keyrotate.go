package hubcmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/storage"
)

func init() {
	commands = append(commands,
		command{name: "keys rotate", args: "--store URL|PATH [--keyring FILE] [KEK flags]",
			brief: "add a key version: fresh data, encryption and audit-signing keys for new data; earlier versions still open old data (restart every hub after)", run: keysRotate, local: true})
}

// keysRotate adds a key version to the keyring of a store and records it
// in the store's audit log. A bbolt hub must be stopped (its keyring takes
// effect when it starts anyway); PostgreSQL replicas keep running on the
// version they loaded, which stays readable, until restarted.
func keysRotate(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "keys rotate")
	ref := f.storeFlag()
	k := addKEKFlags(f)
	pos, code, done := f.parse(args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return failf(env, "keys rotate: no arguments expected")
	}
	if *ref == "" {
		return failf(env, "keys rotate: give --store (the rotation goes into its audit log)")
	}
	keyring, _, err := k.paths(*ref)
	if err != nil {
		return failf(env, "keys rotate: %v", err)
	}
	var kek []byte
	if src := k.source(); src.Set() {
		if kek, _, err = hub.LoadKEK(ctx, src, *ref); err != nil {
			return failf(env, "%v", err)
		}
	}
	o, err := open(ctx, *ref, "")
	if errors.Is(err, storage.ErrLocked) {
		return failf(env, "keys rotate: %v: stop the hub serving it first (it loads its keys when it starts)", err)
	}
	if err != nil {
		return failf(env, "%v", err)
	}
	defer o.close()
	rot, err := hub.RotateKeyring(keyring, kek)
	if errors.Is(err, fs.ErrNotExist) {
		return failf(env, "keys rotate: %v: a hub on a legacy key file has no keyring to rotate: make one first (rchub keys wrap)", err)
	}
	if err != nil {
		return failf(env, "keys rotate: %v", err)
	}
	detail := fmt.Sprintf("keyring %s rotated from key version %d to %d: encryption key %s, audit checkpoint key %s (index key kept)",
		keyring, rot.From, rot.To, rot.EncryptionKeyID, rot.SigningKeyID)
	if err := recordAdminIn(ctx, env, o, "keys.rotate", detail); err != nil {
		return failf(env, "keys rotate: the keyring is rotated (version %d), but the audit log did not take it: %v", rot.To, err)
	}
	fmt.Fprintf(env.Stdout, "%s\nnew data is sealed under version %d once each hub restarts; terminals seal to the new encryption key after their next GET /v1/hubkey, and what any earlier version sealed still opens\n",
		detail, rot.To)
	return ExitOK
}
