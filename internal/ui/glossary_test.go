package ui

import (
	"regexp"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
)

// glossary is the catalog's glossary in language l: each entry a term and
// the variants no screen may use instead ("glossary.X": "term|variant|…").
func glossary(c *catalog, l Lang) map[string][]string {
	out := map[string][]string{}
	for k, v := range c.msgs[l] {
		if strings.HasPrefix(k, "glossary.") {
			parts := strings.Split(v, "|")
			out[parts[0]] = parts[1:]
		}
	}
	return out
}

// offGlossary returns the variants text uses instead of a glossary term.
// Occurrences of the term itself are removed first, so that a variant
// that is part of the term (车牌号 in 车牌号码) counts only on its own.
func offGlossary(g map[string][]string, text string, fold bool) []string {
	var bad []string
	for term, variants := range g {
		t := text
		if fold {
			t = strings.ToLower(t)
		}
		t = strings.ReplaceAll(t, cond(fold, strings.ToLower(term), term), "")
		for _, v := range variants {
			if strings.Contains(t, cond(fold, strings.ToLower(v), v)) {
				bad = append(bad, v+" (use "+term+")")
			}
		}
	}
	return bad
}

func cond(b bool, x, y string) string {
	if b {
		return x
	}
	return y
}

var markupText = regexp.MustCompile(`>([^<]+)</text>`)

// screenTexts renders every screen a supervisor reaches (verdicts of every
// kind, neutral screens, the stop, history, supervision, officers,
// settings) and returns the texts drawn.
func screenTexts(t *testing.T, l Lang) []string {
	e := newEnv(t)
	e.app.setLang(l)
	e.app.showSignIn()
	e.signIn(t, "9001", "9999")
	var texts []string
	grab := func() {
		for _, m := range markupText.FindAllStringSubmatch(test.RenderObjectToMarkup(e.app.win.Canvas().Content()), -1) {
			texts = append(texts, m[1])
		}
		for _, o := range e.app.win.Canvas().Overlays().List() {
			for _, m := range markupText.FindAllStringSubmatch(test.RenderObjectToMarkup(o), -1) {
				texts = append(texts, m[1])
			}
		}
	}
	grab()
	for _, name := range []string{"valid-vehicle", "limited-status-unknown", "invalid-bad-signature", "invalid-malformed",
		"invalid-unsupported-version", "valid-permit", "valid-practitioner", "valid-bus-guangzhou"} {
		e.tapSample(t, name)
		grab()
	}
	e.app.submitFrom("hello", sourcePaste)
	grab()
	for _, item := range e.app.tabs.Items {
		e.app.tabs.Select(item)
		grab()
	}
	e.app.tabs.Select(e.app.tabCheck)
	e.app.lock()
	grab()
	return texts
}

// One glossary: no text of the catalog, and no text on any screen, uses a
// variant instead of the glossary's term (登记, not 注册; 主管, not 督查人员;
// 证照种类, not 证件类别; 车牌号码, not 车牌号 …).
func TestGlossary(t *testing.T) {
	c := newCatalog(t, LangZH)
	for _, l := range []Lang{LangZH, LangEN} {
		g := glossary(c, l)
		if len(g) < 10 {
			t.Fatalf("%s: glossary of %d terms", l, len(g))
		}
		for k, v := range c.msgs[l] {
			if strings.HasPrefix(k, "glossary.") {
				continue
			}
			if bad := offGlossary(g, v, l == LangEN); len(bad) > 0 {
				t.Errorf("%s %s = %q uses %v", l, k, v, bad)
			}
		}
		seen := map[string]bool{}
		for _, s := range screenTexts(t, l) {
			if seen[s] {
				continue
			}
			seen[s] = true
			if bad := offGlossary(g, s, l == LangEN); len(bad) > 0 {
				t.Errorf("%s screen text %q uses %v", l, s, bad)
			}
		}
	}
}
