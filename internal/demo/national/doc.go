// Package national owns the national benchmark world of issue 8: a
// deterministic, fictitious but realistically shaped RTC1 deployment at
// the scale of China — a national root, one CA per province (2-digit
// jurisdiction prefix), city CAs (4-digit) for the first cities of the
// largest provinces, ~300 city-level issuers (6-digit codes under their
// province's prefix), 3,000 signers, a CRL per CA revoking a few signers,
// and 10 M status entries in one full list per (CA, issuer) — plus daily
// delta lists on top of it, and signed RTC1 codes for any licence in it.
//
// Generate(ctx, cfg) writes the world into cfg.Dir, streamed: each status
// list is generated, signed, written and dropped, so memory stays at about
// 25 bytes per entry of the lists in progress (well under 1 GB for 10 M
// entries) and never holds the world. The layout:
//
//	anchors.pem                       the national root (an anchor: prefix 00)
//	certs/ca-PREFIX.der               provincial and city CA certificates
//	certs/signer-ISSUER-NNN.der       signer certificates
//	crls/PREFIX.crl                   one CRL per CA ("00" for the root)
//	lists/ISSUER-CAID-SEQ.cose        status lists (COSE_Sign1 bytes), full and delta
//	manifest.json                     every object: type, path, issuer, CA id,
//	                                  sequence, base, entries, size, SM3 digest
//	bundle.pem, bundles/delta-D.pem   PEM trust bundles (Config.Bundle)
//
// CAID is the first 4 bytes of SM3 over the CA certificate's DER, in hex:
// lists are stored per (CA, issuer). Every file is a pure function of the
// config (Seed, At, sizes; not Dir): two runs give byte-identical files.
//
// Licences are named by (issuer, index): LicenceID(issuer, index) is the
// licence id whose SM3 gives the list's idHash, so Code can issue a real
// RTC1 code for any entry and Status/Revoked/Active say what a verifier
// must find for it at CheckTime — not at At once deltas exist: a delta's
// entries take effect during the day before its thisUpdate. Full lists
// are published just before At (sequence At in Unix seconds, thisUpdate
// At−1h, nextUpdate At+7d), the deltas of day d at At+d·24h; CRLs stay
// fresh for 60 days after At.
//
// Benchmarks generate once and reuse: OpenOrGenerate with
// Dir = CacheDir(os.TempDir(), seed, entries), i.e.
// $TMPDIR/roadcheck-national-SEED-ENTRIES. A world is built in DIR.partial
// and renamed into place when complete, so a cache directory holds a whole
// world or nothing; Open checks sizes, Check digests. Figures for the
// full world: RC_NATIONAL_FULL=1 go test ./internal/demo/national
// -run '^$' -bench . -benchtime 1x (without the variable: 1 M entries).
//
// WARNING: every key of the world is derived from its public seed and the
// signature nonces from public labels. Its root must never be installed as
// an anchor outside a test or a benchmark.
package national
