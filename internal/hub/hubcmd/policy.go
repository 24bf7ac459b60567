package hubcmd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/policy"
)

// The check policy commands are added to the table of hubcmd.go (this
// file's init runs after that file's, which sets it).
func init() {
	commands = append(commands,
		command{name: "policy set", args: "--store URL|PATH --skew DURATION --trust-age DURATION --auto-lock DURATION [--retention DURATION] [--supervisor ID] [KEK flags]",
			brief: "sign the check policy of every terminal enrolled with this hub (clock skew, maximum trust age, auto-lock, record retention) with the hub's policy key and publish it on the trust feed; terminals apply it at their next sync", run: policySet},
		command{name: "policy show", args: "--store URL|PATH [--json] [KEK flags]",
			brief: "print the check policy the hub publishes (its signature checked with the hub's policy key when the keys can be opened)", run: policyShow},
	)
}

// parseSpan reads a duration: Nd (days) or a Go duration (120s, 72h, 5m).
func parseSpan(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is neither days (3d) nor a duration (120s, 72h, 5m)", s)
	}
	return d, nil
}

// policyKeys returns the hub's keys for the policy commands: the serving
// hub's own when the command runs inside it, else the keyring the flags
// name.
func policyKeys(ctx context.Context, o *opened, k *kekFlags) (*hub.Keys, error) {
	if o.keys != nil {
		return o.keys, nil
	}
	kr, err := k.loadKeyring(ctx, o.ref, false)
	if err != nil {
		return nil, err
	}
	return kr.Keys, nil
}

// days formats a duration in whole days and hours ("3 d", "1 d 12 h").
func days(d time.Duration) string {
	dd, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	switch {
	case h == 0:
		return fmt.Sprintf("%d d", dd)
	case dd == 0:
		return fmt.Sprintf("%d h", h)
	}
	return fmt.Sprintf("%d d %d h", dd, h)
}

// describePolicy is the policy in one line for people.
func describePolicy(p policy.Policy) string {
	s := fmt.Sprintf("hub policy #%d issued %s: clock skew %d s, maximum trust age %s, auto-lock %d min, records kept %s",
		p.Seq, stamp(p.Issued), int(p.ClockSkew/time.Second), days(p.MaxTrustAge), int(p.AutoLock/time.Minute), days(p.KeepRecords()))
	if p.Supervisor != "" {
		s += ", authorised by supervisor " + p.Supervisor
	}
	return s
}

func policySet(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "policy set")
	ref := f.storeFlag()
	k := addKEKFlags(f)
	skew := f.String("skew", "", "allowed clock skew of codes, e.g. 120s (0–300 s; up to 3600 s with --supervisor)")
	age := f.String("trust-age", "", "maximum age of a terminal's trust data, e.g. 3d or 72h (1 h–7 d; up to 30 d with --supervisor)")
	lock := f.String("auto-lock", "", "lock a terminal after this long without use, e.g. 5m (1–30 min)")
	keep := f.String("retention", "30d", "how long terminals keep the personal fields of delivered records, e.g. 30d (1–365 d)")
	sup := f.String("supervisor", "", "the `ID` of the supervisor who answers for bounds wider than the defaults")
	pos, code, done := f.parse(args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return failf(env, "policy set: no arguments expected")
	}
	if *skew == "" || *age == "" || *lock == "" {
		return failf(env, "policy set: give --skew, --trust-age and --auto-lock (e.g. --skew 120s --trust-age 3d --auto-lock 5m)")
	}
	var p policy.Policy
	for _, v := range []struct {
		name string
		in   string
		out  *time.Duration
	}{{"--skew", *skew, &p.ClockSkew}, {"--trust-age", *age, &p.MaxTrustAge}, {"--auto-lock", *lock, &p.AutoLock}, {"--retention", *keep, &p.Retention}} {
		d, err := parseSpan(v.in)
		if err != nil {
			return failf(env, "policy set: %s: %v", v.name, err)
		}
		*v.out = d
	}
	p.Supervisor = *sup
	return withStore(ctx, env, *ref, func(o *opened) int {
		keys, err := policyKeys(ctx, o, k)
		if err != nil {
			return failf(env, "policy set: the hub's policy key: %v", err)
		}
		signed, m, err := hub.SetPolicy(ctx, o.store, keys, p, env.Clock.Now())
		if errors.Is(err, policy.ErrOutOfBounds) || errors.Is(err, policy.ErrMalformed) {
			return failf(env, "policy set: %v (nothing published)", err)
		}
		if err != nil {
			return failf(env, "policy set: %v", err)
		}
		fmt.Fprintf(env.Stdout, "published %s\nas feed sequence %d: terminals apply it at their next sync\n", describePolicy(signed), m.Seq)
		return ExitOK
	})
}

// policyJSON is `rchub policy show --json`.
type policyJSON struct {
	Seq              uint64    `json:"seq"`
	Issued           time.Time `json:"issued"`
	Supervisor       string    `json:"supervisor,omitempty"`
	ClockSkewSeconds int       `json:"clock_skew_seconds"`
	MaxTrustAgeHours int       `json:"max_trust_age_hours"`
	AutoLockMinutes  int       `json:"auto_lock_minutes"`
	RetentionDays    int       `json:"retention_days"`
	Digest           string    `json:"digest"`
	// Verified: the signature was checked with the hub's policy key (false:
	// the keys could not be opened, only the text was read).
	Verified bool `json:"verified"`
}

func policyShow(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "policy show")
	ref := f.storeFlag()
	k := addKEKFlags(f)
	asJSON := f.Bool("json", false, "print JSON")
	pos, code, done := f.parse(args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return failf(env, "policy show: no arguments expected")
	}
	return withStore(ctx, env, *ref, func(o *opened) int {
		var (
			p        policy.Policy
			verified bool
			err      error
		)
		keys, kerr := policyKeys(ctx, o, k)
		if kerr == nil {
			p, _, err = hub.PublishedPolicy(ctx, o.store, keys.PolicyKey())
			verified = err == nil
		} else {
			// Without the keys: the text as stored, its signature unchecked.
			var data []byte
			if _, data, err = hub.PublishedPolicy(ctx, o.store, nil); data != nil {
				var s *policy.Signed
				if s, err = policy.Parse(data); err == nil {
					p = s.Policy
				}
			}
		}
		if errors.Is(err, hub.ErrNotFound) {
			fmt.Fprintln(env.Stdout, "no check policy published: terminals use the default (clock skew 300 s, maximum trust age 7 d, auto-lock 5 min, records kept 30 d); rchub policy set publishes one")
			return ExitOK
		}
		if err != nil {
			return failf(env, "policy show: the published policy does not verify: %v (terminals refuse it; publish a new one with rchub policy set)", err)
		}
		if *asJSON {
			return printJSON(env, policyJSON{Seq: p.Seq, Issued: p.Issued.UTC(), Supervisor: p.Supervisor, ClockSkewSeconds: int(p.ClockSkew / time.Second),
				MaxTrustAgeHours: int(p.MaxTrustAge / time.Hour), AutoLockMinutes: int(p.AutoLock / time.Minute),
				RetentionDays: int(p.KeepRecords() / (24 * time.Hour)), Digest: p.DigestHex(), Verified: verified})
		}
		fmt.Fprintln(env.Stdout, describePolicy(p))
		if verified {
			fmt.Fprintf(env.Stdout, "signature verified with the hub's policy key; digest %s\n", p.DigestHex())
		} else {
			fmt.Fprintf(env.Stdout, "signature NOT checked (the hub's keys could not be opened: %v); digest %s\n", kerr, p.DigestHex())
		}
		return ExitOK
	})
}
