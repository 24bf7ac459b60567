package ui

import (
	"encoding/binary"
	"sync"

	"github.com/roadcheck/roadcheck/assets"
)

// The bold face is a subset (GB 2312 and the GUI's own texts); a name with
// a rarer character would otherwise show a box in bold. boldCovers tells
// whether every character of a text is in it: texts from licences (names,
// plates, operators) that are not are drawn in the regular face, which has
// them all.

var (
	boldOnce sync.Once
	boldSet  map[rune]bool
)

// boldCovers reports whether the bold face has a glyph for every
// character of s (spaces and line breaks aside).
func boldCovers(s string) bool {
	boldOnce.Do(func() { boldSet = cmapRunes(assets.UIBoldFont) })
	for _, r := range s {
		if r == ' ' || r == '\n' {
			continue
		}
		if !boldSet[r] {
			return false
		}
	}
	return true
}

// cmapRunes lists the characters an OpenType font maps to glyphs, from its
// cmap's format 12 or format 4 Unicode subtable (nil when it has none or
// the table is damaged: then nothing is drawn bold from data).
func cmapRunes(font []byte) map[rune]bool {
	u16 := func(b []byte, off int) int {
		if off < 0 || off+2 > len(b) {
			return -1
		}
		return int(binary.BigEndian.Uint16(b[off:]))
	}
	u32 := func(b []byte, off int) int {
		if off < 0 || off+4 > len(b) {
			return -1
		}
		return int(binary.BigEndian.Uint32(b[off:]))
	}
	n := u16(font, 4)
	cmap := -1
	for i := range max(n, 0) {
		rec := 12 + 16*i
		if rec+16 <= len(font) && string(font[rec:rec+4]) == "cmap" {
			cmap = u32(font, rec+8)
		}
	}
	if cmap < 0 || cmap >= len(font) {
		return nil
	}
	t := font[cmap:]
	var f4, f12 = -1, -1
	for i := range max(u16(t, 2), 0) {
		rec := 4 + 8*i
		pid, eid, off := u16(t, rec), u16(t, rec+2), u32(t, rec+4)
		if off < 0 || off >= len(t) {
			continue
		}
		switch {
		case pid == 3 && eid == 10 && u16(t, off) == 12:
			f12 = off
		case (pid == 3 && eid == 1 || pid == 0) && u16(t, off) == 4:
			f4 = off
		}
	}
	set := map[rune]bool{}
	switch {
	case f12 >= 0:
		groups := u32(t, f12+12)
		for g := range max(groups, 0) {
			rec := f12 + 16 + 12*g
			start, end := u32(t, rec), u32(t, rec+4)
			if start < 0 || end < start || end-start > 0x10FFFF {
				return nil
			}
			for r := start; r <= end; r++ {
				set[rune(r)] = true
			}
		}
	case f4 >= 0:
		segs := u16(t, f4+6) / 2
		for s := range max(segs, 0) {
			end, start := u16(t, f4+14+2*s), u16(t, f4+16+2*segs+2*s)
			if start < 0 || end < start {
				return nil
			}
			for r := start; r <= end && r != 0xFFFF; r++ {
				set[rune(r)] = true
			}
		}
	default:
		return nil
	}
	return set
}
