package cli

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/scan"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// verifyOnlineHelp explains --online in verify's usage.
const verifyOnlineHelp = `
The check is offline by default: scripts get the same answer with or
without a network. --online also asks the hub this terminal is enrolled
with (rcctl enroll) for the licence's live status, once verification has
reached the status step, waiting at most 800 ms. A revocation or
suspension the hub knows and this terminal's lists do not yet carry makes
the verdict INVALID (LICENCE_REVOKED or LICENCE_SUSPENDED, marked as found
online); the hub saying "active" never lifts a revocation on this
terminal's lists. Without an answer the offline verdict stands and says
so. --online signs the request with the device key, which an officer's
PIN unlocks (--officer ID or $RC_OFFICER; the PIN is asked at the
terminal, or read from the first line of standard input with
--pin-stdin); on a terminal that is not enrolled it exits 3 without
asking. --json then has an "online" object: asked, hub_time, status,
list_sequence, changed, behind, error.

`

func init() {
	register(command{name: "verify", synopsis: "[--at RFC3339] [--json] [--image FILE] [--online [--officer ID] [--pin-stdin]] [QRTEXT | -]",
		summary: "verify an RTC1 code offline (--online: also ask the hub): exit 0 VALID, 1 LIMITED, 2 INVALID, 3 error",
		help:    verifyOnlineHelp, run: cmdVerify})
}

// verifyJSON is the --json output: one object, keys as documented in the README.
type verifyJSON struct {
	Verdict    verify.Verdict     `json:"verdict"`
	Reasons    []verify.Reason    `json:"reasons"`
	Credential *credential.Claims `json:"credential,omitempty"`
	Signer     *signerJSON        `json:"signer,omitempty"`
	Online     *onlineJSON        `json:"online,omitempty"`
}

type signerJSON struct {
	KID     string `json:"kid"`
	Subject string `json:"subject,omitempty"`
	Issuer  string `json:"issuer,omitempty"`
}

func cmdVerify(ctx context.Context, env *Env, args []string) int {
	defer collectLate()()
	fs := newFlagSet(env, "verify")
	at := fs.String("at", "", "check at this RFC 3339 `time` instead of now")
	asJSON := fs.Bool("json", false, "print one JSON object")
	image := fs.String("image", "", "read the QR code from a PNG or JPEG `file`")
	skew := fs.Duration("skew", verify.DefaultPolicy().ClockSkew, "tolerated clock skew")
	maxAge := fs.Duration("max-age", verify.DefaultPolicy().MaxTrustAge, "maximum age of status-list data")
	online := fs.Bool("online", false, "also ask the enrolled hub for the licence's live status (at most 800 ms)")
	officer := fs.String("officer", "", "with --online: the officer whose PIN unlocks the device key (default $RC_OFFICER)")
	pinStdin := fs.Bool("pin-stdin", false, "with --online: read the officer's PIN from the first line of standard input")
	if code, done := flagsDone(env, fs, parseInterspersed(fs, args)); done {
		return code
	}
	if *pinStdin && (!*online || slices.Contains(fs.Args(), "-")) {
		return failf(env, "verify: --pin-stdin needs --online and the code as an argument or --image (standard input holds the PIN)")
	}
	var checker verify.StatusChecker
	if *online {
		// Before the code is read: the PIN is the first line of stdin.
		var err error
		if checker, err = openOnline(ctx, env, *officer, *pinStdin); err != nil {
			return failf(env, "verify: %v", err)
		}
	}
	text, err := verifyInput(ctx, env, *image, fs.Args())
	if err != nil {
		return failf(env, "%v", err)
	}
	when, err := parseAt(env, *at)
	if err != nil {
		return failf(env, "%v", err)
	}
	closer, st, err := openTrust(ctx, env, true)
	if err != nil {
		return failf(env, "%v", err)
	}
	defer closer.Close()
	v := verify.New(st, env.Clock, verify.Policy{ClockSkew: *skew, MaxTrustAge: *maxAge})
	res := v.Online(checker, 0).Verify(ctx, text, when)
	if res.Err != nil {
		return failf(env, "%v", res.Err)
	}
	if *asJSON {
		out := verifyJSON{Verdict: res.Verdict, Reasons: res.Reasons, Credential: res.Claims, Online: toOnlineJSON(res.Online)}
		if out.Reasons == nil {
			out.Reasons = []verify.Reason{}
		}
		if s := res.Signer; s != nil {
			out.Signer = &signerJSON{KID: hex.EncodeToString(s.KID), Subject: s.Subject, Issuer: s.Issuer}
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			return failf(env, "%v", err)
		}
		env.Stdout.Write(buf.Bytes())
	} else {
		printVerdict(env.Stdout, res)
	}
	switch res.Verdict {
	case verify.Valid:
		return ExitOK
	case verify.Limited:
		return ExitPartial
	}
	return ExitInvalid
}

// verifyInput returns the QR text from --image, "-" (stdin) or the argument.
// One trailing line break (from a scanner or a file) is removed; nothing
// else is, since spaces belong to the Base45 alphabet.
func verifyInput(ctx context.Context, env *Env, image string, args []string) (string, error) {
	switch {
	case image != "" && len(args) > 0:
		return "", fmt.Errorf("give either --image or QRTEXT, not both")
	case image != "":
		text, err := scan.DecodeFile(ctx, image)
		if err != nil {
			return "", err
		}
		return text, nil
	case len(args) != 1:
		return "", fmt.Errorf("want exactly one QRTEXT argument, or - for standard input")
	case args[0] == "-":
		b, err := io.ReadAll(io.LimitReader(env.Stdin, credential.MaxTextLength+16))
		if err != nil {
			return "", fmt.Errorf("read standard input: %w", err)
		}
		return trimLineBreak(string(b)), nil
	}
	return trimLineBreak(args[0]), nil
}

func trimLineBreak(s string) string {
	s = strings.TrimSuffix(s, "\n")
	return strings.TrimSuffix(s, "\r")
}

// printVerdict writes the Chinese verdict, one plain sentence per reason,
// and the main licence fields.
func printVerdict(w io.Writer, res *verify.Result) {
	fmt.Fprintf(w, "核验结果：%s（%s）\n", res.Verdict.Chinese(), res.Verdict)
	for _, r := range res.Reasons {
		found := ""
		if r == res.Online.Finding() {
			found = "（在线核验发现，本机清单尚未收录）"
		}
		fmt.Fprintf(w, "  · %s%s [%s]\n", r.Chinese(), found, r)
	}
	if line := res.OnlineChinese(); line != "" {
		fmt.Fprintln(w, line)
	}
	if res.Claims != nil {
		cr := &res.Claims.Credential
		fmt.Fprintf(w, "证照：%s  %s\n", cr.Kind.ChineseName(), cr.Number)
		fmt.Fprintf(w, "持证主体：%s\n", cr.Holder)
		if cr.Vehicle != nil {
			fmt.Fprintf(w, "车牌号码：%s\n", cr.Vehicle.Plate)
		}
		fmt.Fprintf(w, "发证机关：%s（%s）\n", cr.Authority, cr.AuthorityCode)
		fmt.Fprintf(w, "有效期：%s 至 %s\n", cr.ValidFrom, cr.ValidUntil)
	}
	if s := res.Signer; s != nil && s.Known {
		fmt.Fprintf(w, "签名证书：%s（kid %x）\n", s.Subject, s.KID)
	}
	fmt.Fprintf(w, "核验时间：%s\n", res.CheckedAt.In(cstZone).Format(time.DateTime))
}
