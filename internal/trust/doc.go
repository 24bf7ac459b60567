// Package trust owns the terminal's trust material on bbolt: trust anchors
// (added only by an explicit local action), provincial CA and signer
// certificates, CRLs, and licence status lists (full and delta, stored per
// issuing CA and issuer code), and the import of trust bundles.
//
// Every certificate's chain is validated once, at import (signatures,
// SM2-with-SM3, CA flags and key usages, jurisdiction prefixes); the result
// is stored with the certificate and kept in an in-memory index, so a
// verification costs map lookups and one SM2 verify. Validity periods are not
// checked at import: they are checked per code, at its iat (Signer.ChainAt).
//
// WARNING: the store trusts the anchors it holds absolutely. Nothing that
// arrives in a bundle can add or replace an anchor.
package trust
