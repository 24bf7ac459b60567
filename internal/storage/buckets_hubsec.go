package storage

// Buckets of the hub's security state (packages under internal/hub), beside
// those in buckets.go: the audit log, supervisor accounts and sessions,
// scopes, and the nonces of device requests.
var (
	// BucketHubAudit: sequence (8 bytes big-endian) → audit entry, SM3
	// hash-chained (hub/audit).
	BucketHubAudit = []byte("hub.audit")
	// BucketHubAuditCheckpoints: sequence (8 bytes big-endian) → SM2-signed
	// checkpoint of the chain at that entry (hub/audit).
	BucketHubAuditCheckpoints = []byte("hub.audit.checkpoints")
	// BucketHubAuditMeta: "anchor" → the checkpoint the log was rotated up
	// to (entries up to it were removed by retention) (hub/audit).
	BucketHubAuditMeta = []byte("hub.audit.meta")

	// BucketHubAccounts: supervisor name → account (role, jurisdiction,
	// password hash, sealed TOTP secret) (hub/account).
	BucketHubAccounts = []byte("hub.accounts")
	// BucketHubSessions: SM3(session token) → session (hub/account).
	BucketHubSessions = []byte("hub.sessions")
	// BucketHubScopes: "token/" hex SM3(token) or "device/" device id →
	// scope: role and jurisdiction of an automation token, jurisdiction of
	// a device (hub/account).
	BucketHubScopes = []byte("hub.scopes")

	// BucketHubNonces: device id || 0x00 || nonce → expiry (Unix ms, 8
	// bytes big-endian): nonces of accepted device requests (hub).
	BucketHubNonces = []byte("hub.nonces")
	// BucketHubNonceExpiry: expiry (8 bytes) || device id || 0x00 || nonce
	// → empty, to drop expired nonces in order (hub).
	BucketHubNonceExpiry = []byte("hub.nonces.expiry")
)
