// Package storage owns the terminal's database file: opening the bbolt file
// with a lock timeout, turning bbolt's failures (a file locked by another
// process, a damaged file, a panic on a corrupted page) into clear errors,
// and the names of every bucket in the file (buckets.go), so that the
// packages that keep data there (trust, records) never collide, with
// CreateBuckets to make them and Millis/FromMillis for the optional times
// their values hold (create.go); and the
// key files kept next to a database (keyfile.go: written atomically with
// mode 0600, refused when others may read them).
//
// Only storage packages import bbolt; *bbolt.Tx never leaves the package that
// opened it.
package storage
