// Package policy owns the check policy: the clock skew and maximum trust
// age a terminal verifies with, its auto-lock and how long delivered
// records keep their personal fields, as a signed object that no
// inspector can loosen.
//
// A Policy is bounded: clock skew ≤ 300 s, trust age ≤ 7 days and auto-lock
// 1–30 minutes (Default* and Max* constants), unless a supervisor signs
// wider bounds (Policy.Supervisor set, still within the hard ceilings
// Ceiling*); record retention 1–365 days (30 when the policy does not say:
// KeepRecords). It is signed with SM2 (through internal/gm) in one of two
// ways:
//
//   - by the hub's policy key (Source Hub): `rchub policy set` signs it
//     and the hub publishes it with the trust data (an object of the trust
//     feed's manifest) for every terminal enrolled with that hub; the
//     terminal pinned the hub's policy key at enrolment;
//   - on a terminal with no hub, by a supervisor signed in on the device,
//     with the device's own key (Source Device, bound to that device's id):
//     *records.Store signs it through SignRequest, which signs only
//     strings starting with "RC-REQ-" — the policy's signing string starts
//     with "RC-REQ-POLICY-1", which no sync request (RC-REQ-1) and no record
//     body (a CBOR map) can ever be.
//
// The signed form is a short UTF-8 text (Sign, Parse, Verify), kept in a
// file beside the terminal database (FileFor names it from the database
// path; Load and Save read and replace it atomically). Verify checks the
// signature against the key of the policy's source, that its sequence is
// not below the highest the terminal applied from that signer (Keys.HubSeq,
// Keys.DeviceSeq, which the terminal keeps in its records database:
// records.SyncState), and the bounds; a policy that fails is refused as a
// whole (ErrBadSignature, ErrRollback, ErrOutOfBounds…: the caller then
// keeps the default policy and says so), never applied in part. Every
// check record carries the policy in force (Ref).
//
// WARNING: the highest sequence applied lives in the records database, so
// someone able to write both that database and the policy file can put
// back an older policy that was validly signed for this device or hub (or
// delete the file: the default policy, within the default bounds, is then
// in force until the next sync brings the hub's again). The signed records
// show it: each names the policy it was made under.
package policy
