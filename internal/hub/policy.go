package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/policy"
)

// The hub's check policy (issue 9): clock skew, maximum trust age,
// auto-lock and record retention for every terminal enrolled with it,
// signed by the hub's policy key (keyring.go) and published as an object
// of the trust feed's manifest (Manifest.Policy), so terminals receive it
// with the trust data and verify it against the key they pinned at
// enrolment. The hub signs nothing else.

// SignPolicy signs p with the hub's policy key.
func (k *Keys) SignPolicy(p policy.Policy) ([]byte, error) {
	if k.policy == nil {
		return nil, fmt.Errorf("%w: no policy key", ErrKeyFile)
	}
	return policy.SignWithKey(p, k.policy)
}

// SetPolicy publishes p as the hub's check policy: source hub, the next
// sequence after the policy published now (1 for the first), issued at
// `at` (to the second), signed with keys' policy key, stored as a feed
// object and named by the manifest (whose sequence moves, so terminals
// fetch it at their next sync). p's bounds are checked as terminals
// check them (policy.ErrOutOfBounds); nothing is published then. A
// policy published by someone else meanwhile gives ErrConflict (try
// again). It returns the policy as signed and the manifest now current.
//
// WARNING: the sequence follows the policy the store holds: a hub whose
// store was restored from an older backup signs sequences its terminals
// may have applied already, and they refuse those (policy.ErrRollback)
// until the sequence passes the highest they hold — publish again until
// it does.
func SetPolicy(ctx context.Context, st Store, keys *Keys, p policy.Policy, at time.Time) (policy.Policy, Manifest, error) {
	cur, err := st.Manifest(ctx)
	if err != nil {
		return policy.Policy{}, Manifest{}, err
	}
	p.Source, p.Seq, p.Device, p.Issued = policy.SourceHub, 1, "", at.UTC().Truncate(time.Second)
	var prev *ManifestPolicy
	if cur.Policy != nil {
		cp := *cur.Policy
		prev = &cp
		p.Seq = prev.Seq + 1
	}
	data, err := keys.SignPolicy(p)
	if err != nil {
		return policy.Policy{}, Manifest{}, err
	}
	signed, err := policy.Verify(data, policy.Keys{Hub: keys.PolicyKey()}) // what terminals will see
	if err != nil {
		return policy.Policy{}, Manifest{}, err
	}
	ref, err := st.PutObject(ctx, wire.ObjectPolicy, data, at)
	if err != nil {
		return policy.Policy{}, Manifest{}, err
	}
	m, err := st.UpdateManifest(ctx, at, func(m *Manifest) (bool, error) {
		if (m.Policy == nil) != (prev == nil) || m.Policy != nil && *m.Policy != *prev {
			return false, fmt.Errorf("%w: another policy was published meanwhile", ErrConflict)
		}
		m.Policy = &ManifestPolicy{Seq: signed.Seq, ObjectRef: ref}
		return true, nil
	})
	if err != nil {
		return policy.Policy{}, Manifest{}, err
	}
	return signed, m, nil
}

// PublishedPolicy returns the check policy the hub publishes now and its
// signed text, verified with pub (the hub's policy key); ErrNotFound when
// none is published. A stored policy that does not verify gives the
// policy package's error: terminals would refuse it too.
func PublishedPolicy(ctx context.Context, st Store, pub *gm.PublicKey) (policy.Policy, []byte, error) {
	m, err := st.Manifest(ctx)
	if err != nil {
		return policy.Policy{}, nil, err
	}
	if m.Policy == nil {
		return policy.Policy{}, nil, fmt.Errorf("%w: no check policy published (rchub policy set)", ErrNotFound)
	}
	obj, err := st.Object(ctx, m.Policy.Digest)
	if err != nil {
		return policy.Policy{}, nil, err
	}
	defer obj.Close()
	data, err := io.ReadAll(io.LimitReader(obj, 64<<10))
	if err != nil {
		return policy.Policy{}, nil, err
	}
	p, err := policy.Verify(data, policy.Keys{Hub: pub})
	if err != nil {
		return policy.Policy{}, data, err
	}
	if p.Seq != m.Policy.Seq {
		return p, data, errors.New("hub: the manifest names the policy with another sequence")
	}
	return p, data, nil
}
