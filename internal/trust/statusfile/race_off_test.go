//go:build !race

package statusfile

const raceOn = false
