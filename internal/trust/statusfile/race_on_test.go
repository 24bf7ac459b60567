//go:build race

package statusfile

// raceOn: the race detector slows everything about tenfold.
const raceOn = true
