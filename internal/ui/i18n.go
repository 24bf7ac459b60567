package ui

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/roadcheck/roadcheck/assets"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// Lang is a GUI language.
type Lang string

// The GUI languages. LangZH is the default.
const (
	LangZH Lang = "zh-Hans"
	LangEN Lang = "en"
)

// catalog holds the translations of assets/i18n and the language in use.
// Missing keys are remembered so tests can fail on them.
type catalog struct {
	mu      sync.Mutex
	lang    Lang
	msgs    map[Lang]map[string]string
	missing map[string]bool
}

// loadCatalog reads every assets/i18n/<lang>.json.
func loadCatalog() (*catalog, error) {
	c := &catalog{lang: LangZH, msgs: map[Lang]map[string]string{}, missing: map[string]bool{}}
	for _, l := range []Lang{LangZH, LangEN} {
		b, err := assets.I18n.ReadFile("i18n/" + string(l) + ".json")
		if err != nil {
			return nil, fmt.Errorf("ui: read translations %s: %w", l, err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("ui: parse translations %s: %w", l, err)
		}
		c.msgs[l] = m
	}
	return c, nil
}

// set switches the language (unknown languages fall back to Chinese).
func (c *catalog) set(l Lang) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.msgs[l]; !ok {
		l = LangZH
	}
	c.lang = l
}

func (c *catalog) current() Lang {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lang
}

// T returns the text of key in the current language, formatted with args
// (fmt verbs). A missing key returns the key itself and is remembered.
func (c *catalog) T(key string, args ...any) string {
	c.mu.Lock()
	s, ok := c.msgs[c.lang][key]
	if !ok {
		c.missing[key] = true
		s = key
	}
	c.mu.Unlock()
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// missingKeys lists the keys looked up but absent, sorted.
func (c *catalog) missingKeys() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.missing))
	for k := range c.missing {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// verdictWord is the verdict as shown in the colour band.
func (c *catalog) verdictWord(v verify.Verdict) string {
	if c.current() == LangZH {
		return v.Chinese()
	}
	return c.T("verdict." + v.String())
}

// reason is one reason's plain sentence in the current language.
func (c *catalog) reason(r verify.Reason) string {
	if c.current() == LangZH {
		return r.Chinese()
	}
	return r.English()
}

// online is the online check's line in the current language ("" when the
// hub was not asked).
func (c *catalog) online(res *verify.Result) string {
	if c.current() == LangZH {
		return res.OnlineChinese()
	}
	return res.OnlineEnglish()
}

// onlinePending is the online check's line while the hub's answer is
// awaited.
func (c *catalog) onlinePending() string {
	if c.current() == LangZH {
		return "在线核验：正在查询中心…"
	}
	return "Online check: asking the hub…"
}

// foundOnline marks a reason that the online check found (appended to its
// sentence).
func (c *catalog) foundOnline() string {
	if c.current() == LangZH {
		return "（在线核验发现，本机清单尚未收录）"
	}
	return " (found online; not yet on this terminal's lists)"
}
