//go:build race

package scan

// raceBuild shrinks the rendered test corpora under the race detector,
// which makes the renderer about five times slower; like testing.Short it
// only changes sizes.
const raceBuild = true
