package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/roadcheck/roadcheck/internal/syncclient"
)

func init() {
	register(command{name: "enroll", synopsis: "--hub URL --token TOKEN [--ca FILE] [--label TEXT] [--officer ID] [--pin-stdin]",
		summary: "register this terminal with a hub using a one-time token", run: cmdEnroll})
}

func cmdEnroll(ctx context.Context, env *Env, args []string) int {
	fs := newFlagSet(env, "enroll")
	hubURL := fs.String("hub", "", "hub `URL`, e.g. https://hub.example:8443")
	token := fs.String("token", "", "one-time enrolment token from `rchub token create`")
	ca := fs.String("ca", "", "PEM `file` of the CA that issued the hub's TLS certificate (pinned)")
	label := fs.String("label", "", "name of this terminal shown to supervisors")
	officer := fs.String("officer", "", "officer id (default $RC_OFFICER): their PIN unlocks the device key")
	pinStdin := fs.Bool("pin-stdin", false, "read the officer's PIN from the first line of standard input")
	if code, done := flagsDone(env, fs, fs.Parse(args)); done {
		return code
	}
	if *hubURL == "" || *token == "" {
		return failf(env, "enroll: --hub URL and --token T are required")
	}
	var caPEM []byte
	if *ca != "" {
		var err error
		if caPEM, err = os.ReadFile(*ca); err != nil {
			return failf(env, "%v", err)
		}
	}
	db, rs, _, err := openRecords(ctx, env, *officer, *pinStdin)
	if err != nil {
		return failf(env, "%v", err)
	}
	defer db.Close()
	o := syncclient.EnrollOptions{HubURL: *hubURL, Token: *token, CAPEM: caPEM, Label: *label, Clock: env.Clock, OnRetry: retryProgress(env.Stderr)}
	if s, ok := env.Clock.(sleeper); ok {
		o.Sleep = s.Sleep
	}
	if err := syncclient.Enroll(ctx, rs, o); err != nil {
		return failf(env, "enroll: %v", err)
	}
	fmt.Fprintf(env.Stdout, "enrolled device %s with %s\n", rs.DeviceID(), *hubURL)
	return ExitOK
}
