package verify_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/demo"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// These tests pin how a hub's answer turns into a verdict, for every kind
// of answer (some of which a well-behaved hub cannot be made to give, such
// as an unknown status or a list older than the terminal's). The answer is
// scripted through answerFunc; the terminal side is real (demo world, trust
// store, verifier). The same rules against a real hub over loopback are
// tested in internal/cli and internal/ui/terminal.

// answerFunc is a StatusChecker answering with a function of the query.
type answerFunc func(ctx context.Context, kid []byte, issuer string, idHash [credential.IDHashSize]byte) (verify.OnlineStatus, error)

func (f answerFunc) CheckStatus(ctx context.Context, kid []byte, issuer string, idHash [credential.IDHashSize]byte) (verify.OnlineStatus, error) {
	return f(ctx, kid, issuer, idHash)
}

var hubTime = time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC) // 10:00 in China

func answer(status string, seq uint64) answerFunc {
	return func(context.Context, []byte, string, [credential.IDHashSize]byte) (verify.OnlineStatus, error) {
		return verify.OnlineStatus{Status: status, HubTime: hubTime, ListSequence: seq}, nil
	}
}

func failing(err error) answerFunc {
	return func(context.Context, []byte, string, [credential.IDHashSize]byte) (verify.OnlineStatus, error) {
		return verify.OnlineStatus{}, err
	}
}

func demoVerifier(t *testing.T) (*verify.Verifier, map[string]string) {
	t.Helper()
	w, err := demo.Build(demo.DefaultSeed, demo.ReferenceTime)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]string{}
	for _, s := range w.Samples {
		codes[s.Name] = s.Text
	}
	return verify.New(newStore(t, w.AnchorsPEM, w.BundlePEM), nil, verify.DefaultPolicy()), codes
}

func TestConfirm(t *testing.T) {
	v, codes := demoVerifier(t)
	const newer, older = ^uint64(0), 1 // list sequences around the terminal's
	tests := []struct {
		name        string
		sample      string
		checker     verify.StatusChecker
		wantVerdict string
		wantReasons []string
		want        *verify.OnlineCheck // nil: not confirmed at all
		wantZH      string
	}{
		{name: "active", sample: "valid-vehicle", checker: answer(verify.OnlineActive, newer),
			wantVerdict: "VALID", want: &verify.OnlineCheck{Asked: true, At: hubTime, Status: "active", ListSequence: newer},
			wantZH: "在线核验：状态正常（中心时间 2026-12-01 10:00）"},
		{name: "revoked online only", sample: "valid-vehicle", checker: answer(verify.OnlineRevoked, newer),
			wantVerdict: "INVALID", wantReasons: []string{"LICENCE_REVOKED"},
			want:   &verify.OnlineCheck{Asked: true, At: hubTime, Status: "revoked", ListSequence: newer, Changed: true},
			wantZH: "在线核验：已吊销（中心记录）"},
		{name: "suspended online only", sample: "valid-permit", checker: answer(verify.OnlineSuspended, 0),
			wantVerdict: "INVALID", wantReasons: []string{"LICENCE_SUSPENDED"},
			want:   &verify.OnlineCheck{Asked: true, At: hubTime, Status: "suspended", Changed: true},
			wantZH: "在线核验：已暂扣（中心记录）"},
		{name: "revoked online, warning kept", sample: "limited-review-overdue", checker: answer(verify.OnlineRevoked, newer),
			wantVerdict: "INVALID", wantReasons: []string{"LICENCE_REVOKED", "REVIEW_OVERDUE"},
			want: &verify.OnlineCheck{Asked: true, At: hubTime, Status: "revoked", ListSequence: newer, Changed: true}},
		{name: "revoked online, no list on the terminal", sample: "limited-status-unknown", checker: answer(verify.OnlineRevoked, 7),
			wantVerdict: "INVALID", wantReasons: []string{"LICENCE_REVOKED", "STATUS_UNKNOWN"},
			want: &verify.OnlineCheck{Asked: true, At: hubTime, Status: "revoked", ListSequence: 7, Changed: true}},
		{name: "revoked online, expired offline", sample: "invalid-licence-expired", checker: answer(verify.OnlineRevoked, newer),
			wantVerdict: "INVALID", wantReasons: []string{"LICENCE_EXPIRED", "LICENCE_REVOKED"},
			want: &verify.OnlineCheck{Asked: true, At: hubTime, Status: "revoked", ListSequence: newer, Changed: true}},
		{name: "revoked on both", sample: "invalid-licence-revoked", checker: answer(verify.OnlineRevoked, newer),
			wantVerdict: "INVALID", wantReasons: []string{"LICENCE_REVOKED"},
			want: &verify.OnlineCheck{Asked: true, At: hubTime, Status: "revoked", ListSequence: newer}},
		{name: "revoked offline, suspended online: revocation stands alone", sample: "invalid-licence-revoked",
			checker: answer(verify.OnlineSuspended, newer), wantVerdict: "INVALID", wantReasons: []string{"LICENCE_REVOKED"},
			want: &verify.OnlineCheck{Asked: true, At: hubTime, Status: "suspended", ListSequence: newer}},
		{name: "suspended offline, revoked online", sample: "invalid-licence-suspended", checker: answer(verify.OnlineRevoked, newer),
			wantVerdict: "INVALID", wantReasons: []string{"LICENCE_REVOKED", "LICENCE_SUSPENDED"},
			want: &verify.OnlineCheck{Asked: true, At: hubTime, Status: "revoked", ListSequence: newer, Changed: true}},
		{name: "active online does not un-revoke", sample: "invalid-licence-revoked", checker: answer(verify.OnlineActive, newer),
			wantVerdict: "INVALID", wantReasons: []string{"LICENCE_REVOKED"},
			want:   &verify.OnlineCheck{Asked: true, At: hubTime, Status: "active", ListSequence: newer},
			wantZH: "在线核验：中心记录为正常，本机清单的吊销或暂扣记录仍然有效（中心时间 2026-12-01 10:00）"},
		{name: "active online does not lift a suspension", sample: "invalid-licence-suspended", checker: answer(verify.OnlineActive, newer),
			wantVerdict: "INVALID", wantReasons: []string{"LICENCE_SUSPENDED"},
			want: &verify.OnlineCheck{Asked: true, At: hubTime, Status: "active", ListSequence: newer}},
		{name: "unknown changes nothing", sample: "limited-status-unknown", checker: answer(verify.OnlineUnknown, 0),
			wantVerdict: "LIMITED", wantReasons: []string{"STATUS_UNKNOWN"},
			want:   &verify.OnlineCheck{Asked: true, At: hubTime, Status: "unknown"},
			wantZH: "在线核验：中心没有该发证机关的状态清单，按离线结果（中心时间 2026-12-01 10:00）"},
		{name: "hub behind the terminal", sample: "valid-vehicle", checker: answer(verify.OnlineSuspended, older),
			wantVerdict: "VALID", want: &verify.OnlineCheck{Asked: true, At: hubTime, Status: "suspended", ListSequence: older, Behind: true},
			wantZH: "在线核验：中心数据旧于本机，按离线结果（中心时间 2026-12-01 10:00）"},
		{name: "hub unreachable", sample: "valid-vehicle", checker: failing(errors.New("online status check: unreachable")),
			wantVerdict: "VALID", want: &verify.OnlineCheck{Asked: true, Err: "online status check: unreachable"},
			wantZH: "在线核验：未能连接中心，按离线结果"},
		{name: "nonsense status", sample: "valid-vehicle", checker: answer("gone", newer),
			wantVerdict: "VALID", want: &verify.OnlineCheck{Asked: true, Err: `verify: unexpected online status answer: status "gone"`},
			wantZH: "在线核验：未能连接中心，按离线结果"},
		{name: "not enrolled", sample: "valid-vehicle", checker: failing(fmt.Errorf("terminal: %w", verify.ErrNoHub)),
			wantVerdict: "VALID", want: &verify.OnlineCheck{}},
		{name: "step 5 failed: not asked", sample: "invalid-unknown-signer", checker: answer(verify.OnlineRevoked, newer),
			wantVerdict: "INVALID", wantReasons: []string{"UNKNOWN_SIGNER"}},
		{name: "step 7 failed: not asked", sample: "invalid-code-expired", checker: answer(verify.OnlineRevoked, newer),
			wantVerdict: "INVALID", wantReasons: []string{"CODE_EXPIRED"}},
		{name: "no checker", sample: "valid-vehicle", wantVerdict: "VALID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			offline := v.Verify(ctx, codes[tt.sample], demo.ReferenceTime)
			before := fmt.Sprint(offline.Verdict, offline.Reasons, offline.Online)
			var asked []string
			var c verify.StatusChecker
			if tt.checker != nil {
				c = answerFunc(func(ctx context.Context, kid []byte, issuer string, idHash [credential.IDHashSize]byte) (verify.OnlineStatus, error) {
					asked = append(asked, fmt.Sprintf("%x %s %x", kid, issuer, idHash))
					return tt.checker.CheckStatus(ctx, kid, issuer, idHash)
				})
			}
			res := verify.Confirm(ctx, c, offline, 0)
			if got := fmt.Sprint(offline.Verdict, offline.Reasons, offline.Online); got != before {
				t.Fatalf("Confirm changed the offline result: %s, was %s", got, before)
			}
			if res.Verdict.String() != tt.wantVerdict || !slices.Equal(reasonCodes(res.Reasons), tt.wantReasons) {
				t.Fatalf("got %s %v, want %s %v", res.Verdict, reasonCodes(res.Reasons), tt.wantVerdict, tt.wantReasons)
			}
			switch {
			case tt.want == nil && res.Online != nil:
				t.Fatalf("Online = %+v, want none", *res.Online)
			case tt.want == nil:
				if len(asked) != 0 {
					t.Fatalf("asked the hub %v", asked)
				}
				return
			case res.Online == nil:
				t.Fatalf("Online = nil, want %+v", *tt.want)
			case *res.Online != *tt.want:
				t.Fatalf("Online = %+v, want %+v", *res.Online, *tt.want)
			}
			cr := &offline.Claims.Credential
			h := credential.IDHash(cr.ID)
			if want := fmt.Sprintf("%x %s %x", offline.Signer.KID, cr.AuthorityCode, h); len(asked) != 1 || asked[0] != want {
				t.Fatalf("asked %v, want [%s]", asked, want)
			}
			if tt.wantZH != "" && res.OnlineChinese() != tt.wantZH {
				t.Fatalf("OnlineChinese = %q, want %q", res.OnlineChinese(), tt.wantZH)
			}
			if tt.want.Asked && (res.OnlineChinese() == "" || res.OnlineEnglish() == "") {
				t.Fatal("no online line for an online check")
			}
			if !tt.want.Asked && res.OnlineChinese() != "" {
				t.Fatalf("online line %q for a check that was not made", res.OnlineChinese())
			}
		})
	}
}

// TestConfirmBudget: a hub that does not answer leaves the offline verdict
// standing, by the context deadline the checker is given (OnlineBudget by
// default, never later), even when the checker ignores its context.
func TestConfirmBudget(t *testing.T) {
	v, codes := demoVerifier(t)
	offline := v.Verify(context.Background(), codes["invalid-licence-suspended"], demo.ReferenceTime)
	tests := []struct {
		name   string
		budget time.Duration
		want   time.Duration
		obeys  bool // the checker returns when its context ends
	}{
		{name: "default budget", budget: 0, want: verify.OnlineBudget, obeys: true},
		{name: "shorter budget", budget: 20 * time.Millisecond, want: 20 * time.Millisecond, obeys: true},
		{name: "checker ignores its context", budget: 20 * time.Millisecond, want: 20 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			var left time.Duration
			var hasDeadline bool
			slow := answerFunc(func(ctx context.Context, _ []byte, _ string, _ [credential.IDHashSize]byte) (verify.OnlineStatus, error) {
				defer wg.Done()
				var dl time.Time
				dl, hasDeadline = ctx.Deadline()
				left = time.Until(dl)
				if tt.obeys {
					<-ctx.Done()
					return verify.OnlineStatus{}, ctx.Err()
				}
				<-release // answers only after Confirm gave up
				return verify.OnlineStatus{Status: verify.OnlineRevoked, HubTime: hubTime}, nil
			})
			res := verify.Confirm(context.Background(), slow, offline, tt.budget)
			close(release)
			wg.Wait()
			if !hasDeadline || left > tt.want || left <= 0 {
				t.Fatalf("checker's deadline: %v left (set: %v), want at most %v", left, hasDeadline, tt.want)
			}
			want := verify.OnlineCheck{Asked: true, Err: "timeout: no answer within " + tt.want.String()}
			if res.Online == nil || *res.Online != want {
				t.Fatalf("Online = %+v, want %+v", res.Online, want)
			}
			if res.Verdict != verify.Invalid || !slices.Equal(reasonCodes(res.Reasons), []string{"LICENCE_SUSPENDED"}) {
				t.Fatalf("offline verdict did not stand: %s %v", res.Verdict, reasonCodes(res.Reasons))
			}
			if res.OnlineChinese() != "在线核验：未能连接中心，按离线结果" {
				t.Fatalf("online line %q", res.OnlineChinese())
			}
		})
	}
}

// TestConfirmCanceled: the caller's context ending first ends the wait.
func TestConfirmCanceled(t *testing.T) {
	v, codes := demoVerifier(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := v.Online(answerFunc(func(ctx context.Context, _ []byte, _ string, _ [credential.IDHashSize]byte) (verify.OnlineStatus, error) {
		cancel() // the officer moved on while the hub was asked
		<-ctx.Done()
		return verify.OnlineStatus{}, ctx.Err()
	}), 0).Verify(ctx, codes["valid-vehicle"], demo.ReferenceTime)
	if res.Online == nil || res.Online.Err != "canceled" || res.Verdict != verify.Valid {
		t.Fatalf("got %s %+v", res.Verdict, res.Online)
	}
}

// TestOnlineErrCapped: a long error is cut to MaxOnlineErr bytes on a
// character boundary.
func TestOnlineErrCapped(t *testing.T) {
	v, codes := demoVerifier(t)
	long := errors.New(strings.Repeat("中心", 100))
	res := v.Online(failing(long), 0).Verify(context.Background(), codes["valid-vehicle"], demo.ReferenceTime)
	if res.Online == nil || len(res.Online.Err) > verify.MaxOnlineErr || !strings.HasPrefix(long.Error(), res.Online.Err) ||
		len(res.Online.Err) < verify.MaxOnlineErr-3 {
		t.Fatalf("Err = %q (%d bytes)", res.Online.Err, len(res.Online.Err))
	}
}

func TestOnlineEnglish(t *testing.T) {
	v, codes := demoVerifier(t)
	for _, tt := range []struct {
		sample, status, want string
	}{
		{"valid-vehicle", verify.OnlineActive, "Online check: status normal (hub time 2026-12-01 10:00)"},
		{"valid-vehicle", verify.OnlineRevoked, "Online check: revoked (hub record)"},
		{"valid-vehicle", verify.OnlineSuspended, "Online check: suspended (hub record)"},
	} {
		res := v.Online(answer(tt.status, 0), 0).Verify(context.Background(), codes[tt.sample], demo.ReferenceTime)
		if got := res.OnlineEnglish(); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.status, got, tt.want)
		}
	}
}
