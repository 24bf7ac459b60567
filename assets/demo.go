// Package assets holds the files RoadCheck embeds: the bundled CJK font,
// icons, translations, and the reference demo world.
package assets

import "embed"

// Demo is the reference demo world, as written by
// `rcctl demo --out assets/demo` (seed 1, reference time
// 2026-11-27T10:00:00+08:00): anchors.pem, bundle.pem, manifest.json and
// codes/NAME.txt|png. Programs that run the demo live build the same world
// for the current time with demo.Build, so its status lists are fresh.
//
//go:embed demo
var Demo embed.FS
