// Package account owns who may read what at the hub: named supervisor
// accounts, their sessions, and the scopes of automation tokens and
// devices.
//
// An account has a role — viewer (queries and audited reveals), auditor
// (queries and the audit log, no reveals) or administrator (everything) —
// and a jurisdiction: a region-code prefix (44 for 广东, 4403 for 深圳) or
// National, which scopes every query, export and reveal to the records of
// devices enrolled in that jurisdiction. Signing in takes the password
// (argon2id) and a TOTP code (RFC 6238, github.com/pquerna/otp; each code
// once) and gives a session token, valid Options.SessionTTL (default 8 h)
// and revocable; five failed sign-ins lock the account for 15 minutes.
// Only hashes of session tokens are stored; TOTP secrets are stored
// sealed with the hub's data key.
//
// Automation keeps static tokens (issued by the hub's token registry);
// their scope — role and jurisdiction — is kept here, as is the
// jurisdiction a device inherits from its enrolment token.
//
// Storage is behind the Store interface (BoltStore here; other stores must
// pass the suite in package accounttest). Service is safe for concurrent
// use.
package account
