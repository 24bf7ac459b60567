// Package syncclient owns the terminal's side of syncing with the hub:
// enrolment, pushing undelivered check records in batches (idempotently:
// the hub de-duplicates by record id, so a batch whose answer was lost is
// simply sent again), pulling trust updates from the hub's feed into the
// trust store, and the online licence status check.
//
// Trust updates (PullTrust): the hub's manifest lists the current state;
// the client compares it with what the trust store holds and downloads
// only the objects needed (per status list the deltas after the held
// sequence, or the latest full list and its deltas), each streamed to disk,
// resumed with HTTP Range after a cut, checked against its SM3 digest, then
// imported. Nothing is recorded that was not received and imported: an
// incomplete round fails with ErrTrustIncomplete and the next one resumes.
// The records database is never held while waiting for the network (with
// Config.OpenRecords, not even open).
//
// The hub's check policy comes with the trust data (policy.go): the
// manifest names it, and PullTrust fetches it when the terminal's policy
// file (Config.PolicyFile) does not hold it, verifies it with the hub
// policy key pinned at enrolment (records.SyncState.HubPolicyKey) and
// against the highest sequence applied, then saves it (policy.Save) and
// remembers its sequence. One that fails is refused as a whole — the
// policy in force stays — and reported (PullReport.Policy,
// State.PolicyRefused, the log).
//
// Every request is signed with the device key (package hub/wire) and
// retried with exponential backoff and full jitter, honouring Retry-After
// (the waits go through Config.Sleep, so tests need no wall clock);
// the hub is pinned at enrolment by exactly one CA certificate (its TLS
// certificate must chain to it; no system roots) or by its SPKI pin (rchub
// tls pin), never a bundle, and plain HTTP is accepted only for a loopback
// hub. Record pushes are sealed (package hub/wire/envelope) to the SM2 key
// the hub published at enrolment, on top of TLS 1.3. Supervisors sign in
// (SignIn: password and TOTP, a fresh SM2 key per session), query
// (QueryRecords: POST, a plate never in a URL; personal fields masked),
// read the hub's counters of every record in a range (QueryCounters), take
// its streamed export (ExportRecords: POST, filters in the body) and
// reveal one record with a reason (Reveal: the answer sealed to the
// session's key).
//
// Client.Run syncs in the background — at once when Trigger is called
// (after a new record), every Interval while the hub answers, and with
// growing pauses while it does not; State and Subscribe tell the GUI how it
// goes: State.LastErrorKind (an ErrorKind, from KindOf over the sentinel
// errors) says what went wrong in a form a GUI can translate, while
// State.LastError keeps the text for logs. Config.OnRetry reports each
// retry before its pause (rcctl sync prints them).
//
// A client follows the terminal's enrolment: when the terminal enrols
// again (another hub, or the same one), the next Sync uses the new hub,
// and Client.Reconfigure switches at once, ending a sync in progress with
// the old hub.
//
// It is the only package that imports go-retryablehttp.
package syncclient
