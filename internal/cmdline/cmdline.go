package cmdline

import (
	"fmt"
	"strings"
)

// IsHelpFlag reports whether arg asks for help as a flag: -h, -help or
// --help (what package flag answers with flag.ErrHelp).
func IsHelpFlag(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}

// Distance is the Levenshtein edit distance between a and b, counted in
// runes (insertions, deletions and substitutions of one rune each).
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// Nearest returns the name in known (commands of one or more words, such
// as "record list", and command families such as "record") nearest to
// what was typed: each name is compared with as many of the typed words
// as it has (names with more words than were typed are skipped), and on
// equal distance the name with more words wins ("tokn list" gives "token
// list", not "token"); a name the typed words abbreviate counts as
// distance 1 ("officer reset" gives "officer reset-pin"); and a family typed exactly is not suggested for a
// mistyped subcommand ("record lst" gives "record list"). ok is false when nothing is near enough to be a
// likely typo: a distance above max(3, half the compared length), or an
// empty known.
func Nearest(typed []string, known []string) (name string, ok bool) {
	best, bestWords, dist := "", 0, 1<<30
	for _, k := range known {
		words := strings.Fields(k)
		if len(words) == 0 || len(words) > len(typed) {
			continue
		}
		t, c := strings.Join(typed[:len(words)], " "), strings.Join(words, " ")
		d := Distance(t, c)
		if t != "" && strings.HasPrefix(c, t) {
			d = min(d, 1) // an abbreviation: "reset" for "reset-pin"
		}
		if d > max(3, len([]rune(t))/2) || d == 0 && len(words) < len(typed) {
			continue // too far; or a family typed right, its subcommand wrong
		}
		if d < dist || d == dist && len(words) > bestWords {
			best, bestWords, dist = k, len(words), d
		}
	}
	return best, best != ""
}

// DidYouMean is the suggestion to append to an "unknown command" message:
// `: did you mean "PROG NAME"?` for the name Nearest finds, or "" when
// none is near.
func DidYouMean(prog string, typed []string, known []string) string {
	name, ok := Nearest(typed, known)
	if !ok {
		return ""
	}
	return fmt.Sprintf(": did you mean %q?", strings.TrimSpace(prog+" "+name))
}
