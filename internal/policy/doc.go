// Package policy owns the check policy: the clock skew and maximum trust
// age a terminal verifies with, and its auto-lock, as a signed object that
// no inspector can loosen.
//
// A Policy is bounded: clock skew ≤ 300 s, trust age ≤ 7 days and auto-lock
// 1–30 minutes (Default* and Max* constants), unless a supervisor signs
// wider bounds (Policy.Supervisor set, still within the hard ceilings
// Ceiling*). It is signed with SM2 (through internal/gm) in one of two ways:
//
//   - by the hub's policy key (Source Hub), published with the trust data,
//     for every terminal enrolled with that hub;
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
// signature against the key of the policy's source and the bounds; a
// policy that fails is refused as a whole (the caller then keeps the
// default policy and says so), never applied in part.
//
// WARNING: the terminal does not remember the highest sequence it has
// applied, so someone able to write the file can put back an older policy
// that was validly signed for this device or hub. Every check record
// carries the policy in force (Ref), so a supervisor sees it.
package policy
