package startup

import (
	"bytes"
	"strings"
	"testing"
)

func parse(args ...string) (Options, int, bool, string, string) {
	var out, errb bytes.Buffer
	o, code, done := Parse(args, &out, &errb)
	return o, code, done, out.String(), errb.String()
}

// TestHelpEverywhere: the GUI has no subcommands; --help, -h, -help and
// `roadcheck help`, alone or after any of its flags, print the usage (which
// names every flag) on standard output and exit 0.
func TestHelpEverywhere(t *testing.T) {
	cases := [][]string{{"--help"}, {"-h"}, {"-help"}, {"help"}}
	for _, f := range Flags() { // the GUI's own flag table
		value := []string{"--" + f, "x"}
		if f == "demo" || f == "measure" {
			value = []string{"--" + f}
		}
		cases = append(cases, append(value, "--help"), append(value, "-h"), append(value, "help"))
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, code, done, out, errs := parse(args...)
			if !done || code != ExitOK || errs != "" || !strings.HasPrefix(out, "usage: roadcheck") {
				t.Fatalf("done %v, exit %d, stdout %q, stderr %q", done, code, out, errs)
			}
			for _, f := range Flags() {
				if !strings.Contains(out, "-"+f) {
					t.Errorf("the usage does not name -%s", f)
				}
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		want     Options
		wantDone bool
		wantCode int
		wantErr  string
	}{
		{name: "nothing", want: Options{Role: "inspector"}},
		{name: "demo", args: []string{"--demo", "--measure"}, want: Options{Demo: true, Measure: true, Role: "inspector"}},
		{name: "add officer", args: []string{"--data", "/d", "--add-officer", "1001", "--name", "张三", "--role", "station"},
			want: Options{Dir: "/d", AddOfficer: "1001", Name: "张三", Role: "station"}},
		{name: "mistyped flag", args: []string{"--dmeo"}, wantDone: true, wantCode: ExitUsage, wantErr: `flag provided but not defined: -dmeo: did you mean "roadcheck --demo"?`},
		{name: "flag without value", args: []string{"--data"}, wantDone: true, wantCode: ExitUsage, wantErr: "flag needs an argument: -data"},
		{name: "a command", args: []string{"demo"}, wantDone: true, wantCode: ExitUsage, wantErr: `unknown command "demo": roadcheck takes flags only: did you mean "roadcheck --demo"?`},
		{name: "help with more", args: []string{"help", "demo"}, wantDone: true, wantCode: ExitUsage, wantErr: `unknown command "demo": roadcheck takes flags only: did you mean "roadcheck --demo"?`},
		{name: "far from anything", args: []string{"frobnicate"}, wantDone: true, wantCode: ExitUsage, wantErr: "roadcheck takes flags only\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, code, done, out, errs := parse(tt.args...)
			if done != tt.wantDone || code != tt.wantCode || !strings.Contains(errs, tt.wantErr) || out != "" {
				t.Fatalf("done %v, exit %d, stdout %q, stderr %q; want done %v, exit %d, %q", done, code, out, errs, tt.wantDone, tt.wantCode, tt.wantErr)
			}
			if !done && o != tt.want {
				t.Errorf("options %+v, want %+v", o, tt.want)
			}
			if done && tt.wantErr == "" {
				t.Errorf("stderr empty on a usage error")
			}
		})
	}
}
