package storage

// Bucket names of the terminal database, all in one place. Each top-level
// bucket belongs to one package, named in its comment.
var (
	// BucketMeta holds the schema version (storage).
	BucketMeta = []byte("meta")

	// BucketAnchors: SM3(DER) → anchor DER (trust).
	BucketAnchors = []byte("trust.anchors")
	// BucketCerts: SM3(DER) → CA or signer certificate DER (trust).
	BucketCerts = []byte("trust.certs")
	// BucketCRLs: SM3(DER of the issuing CA) → newest CRL DER (trust).
	BucketCRLs = []byte("trust.crls")
	// BucketStatusMeta: SM3(CA DER) || issuer code → list header (trust).
	BucketStatusMeta = []byte("trust.status.meta")
	// BucketStatusEntries: one nested bucket per (CA, issuer) key of
	// BucketStatusMeta; idHash → status entry (trust).
	BucketStatusEntries = []byte("trust.status.entries")

	// BucketRecords: record id → signed record (records).
	BucketRecords = []byte("records.log")
	// BucketOutbox: record id → empty, for records not yet delivered (records).
	BucketOutbox = []byte("records.outbox")
	// BucketDevice: device identity, keys and sync state (records).
	BucketDevice = []byte("records.device")
)

// schemaVersion is written under key "schema" of BucketMeta.
const schemaVersion = 1
