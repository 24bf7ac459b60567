package storage

// Bucket names of the terminal database, all in one place. Each top-level
// bucket belongs to one package, named in its comment.
var (
	// BucketMeta holds the schema version (storage).
	BucketMeta = []byte("meta")

	// The trust.* buckets are those of an earlier version, which kept the
	// trust store inside this file; package trust moves them once into its
	// own files beside the database (trust.DirFor) and deletes them.

	// BucketAnchors: SM3(DER) → anchor DER (trust, legacy).
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

	// BucketRecords: sequence number (8 bytes big-endian, the chain order)
	// → signed record, personal fields sealed (records).
	BucketRecords = []byte("records.log")
	// BucketOutbox: sequence number → empty, for records not yet delivered (records).
	BucketOutbox = []byte("records.outbox")
	// BucketDevice: device identity, keys and sync state (records).
	BucketDevice = []byte("records.device")
	// BucketRecordIndex: record id (16-byte ULID) → sequence number (records).
	BucketRecordIndex = []byte("records.index")
	// BucketDelivery: sequence number → what the hub answered (records).
	BucketDelivery = []byte("records.delivery")

	// Buckets of the hub's database file (hub), a file of its own that also
	// holds the hub's trust store (the trust.* buckets above).

	// BucketHubTokens: SM3(token) → enrolment or supervisor token (hub).
	BucketHubTokens = []byte("hub.tokens")
	// BucketHubDevices: device id → enrolled device and its chain head (hub).
	BucketHubDevices = []byte("hub.devices")
	// BucketHubRecords: record id (16-byte ULID) → stored record (hub).
	BucketHubRecords = []byte("hub.records")
	// BucketHubDeviceSeq: device id || 0x00 || sequence (8 bytes) → record id (hub).
	BucketHubDeviceSeq = []byte("hub.deviceseq")
	// BucketHubFlags: flag id (16-byte ULID) → flag (gap, tampering) (hub).
	BucketHubFlags = []byte("hub.flags")
	// BucketHubFlagKeys: SM3 dedupe key → flag id, so a rejected record sent
	// again is flagged once (hub).
	BucketHubFlagKeys = []byte("hub.flagkeys")
	// BucketHubFeed: feed sequence (8 bytes big-endian) → published trust blocks (hub).
	BucketHubFeed = []byte("hub.feed")
	// BucketHubFeedBlocks: SM3(PEM block) → feed sequence that first published it (hub).
	BucketHubFeedBlocks = []byte("hub.feedblocks")
	// BucketHubStops: roadside stop id || 0x00 || record id (16-byte ULID)
	// → empty, the records of each stop (hub).
	BucketHubStops = []byte("hub.stops")
)

// schemaVersion is written under key "schema" of BucketMeta.
const schemaVersion = 1
