package storage

// Buckets of the terminal's key hierarchy (keys) and of the records'
// blind search index (records), beside those in buckets.go. Package keys
// also owns the entries "public", "signkey" and "slot/<name>" of
// BucketDevice (names kept from earlier versions).
var (
	// BucketKeys: "device" → the device seal (TPM or device file),
	// "dir" → the officer directory with its MAC (keys).
	BucketKeys = []byte("keys")
	// BucketRecordSearch: blind index (16 bytes) || sequence (8 bytes
	// big-endian) → empty: local search of sealed fields (records).
	BucketRecordSearch = []byte("records.search")
)
