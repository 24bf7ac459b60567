// Package keys owns the terminal's key hierarchy: nothing else in the tree
// holds, derives, wraps or stores key material. Packages above it get an
// unlocked *Keyring (seal, open, blind index, sign) and never see a key.
//
// The hierarchy, bottom up:
//
//	device-bound root   TPM 2.0 storage primary key (ECC P-256, re-derived from the
//	                    TPM's owner seed at every start; never leaves the TPM) — or,
//	                    without a TPM, a 32-byte device file beside the database
//	  ├─ device seal    32 random bytes D sealed to the device root, no PIN:
//	  │                 HMAC-SM3 key of the officer directory (tamper-evidence)
//	  └─ officer seal   per officer, 32 random bytes S sealed to the device root with
//	                    authValue = PBKDF2-HMAC-SM3(PIN, salt, ≥100,000 iterations);
//	                    on a TPM each wrong PIN is counted by the TPM's
//	                    dictionary-attack lock-out (the object is not noDA)
//	      └─ officer slot  SM4-GCM(KEK = HMAC-SM3(S, "kek"‖id), data key)
//	data key DK (16 bytes) seals the records' personal and evidential fields
//	  ├─ index key = HMAC-SM3(DK, "index"): blind indexes for local search
//	  ├─ role key  = HMAC-SM3(DK, "roles"): binds each officer's role
//	  └─ signing key: the device's SM2 key, stored SM4-GCM(DK, PKCS#8)
//
// So the data key and the device signing key open only with the device
// root (the TPM, or the device file) AND one officer's PIN. A copy of the
// database alone, or of the database and the device file of another
// terminal, cannot be opened by guessing PINs; on a TPM a copy of every
// file of the terminal cannot either, because the officer seals unseal
// only inside that TPM, which counts wrong PINs.
//
// The officer directory (Vault) lives in the database, authenticated with
// the device seal's key: roles, lock-out state and PIN hashing parameters
// are refused when edited, and so are iteration counts below the floor
// (MinIterations, or the lower count a test asks for) and PINs shorter
// than MinPINLength. Roles are additionally bound with the role key, which
// needs the data key: even someone who can unseal D on the device cannot
// turn an inspector into a supervisor without a supervisor's PIN.
//
// Legacy slots (KeyFile, Passphrase, OfficerPIN: the data key wrapped by a
// key file or by PBKDF2 of a PIN alone, as terminals before the vault
// stored it) are still read, so old databases open; the vault migrates
// them — Provision with the legacy key file, ImportLegacy for the officers
// of an earlier directory file, each imported officer's first SignIn —
// and retires them once no officer needs them. Tests of other packages
// use KeyFile as a fixture.
//
// WARNING: without a TPM the device file is on the same disk as the
// database: someone who copies both can try every PIN offline (PBKDF2-HMAC-SM3
// at 200,000 iterations slows each guess to about 0.15 s on one core of
// the reference machine: every 6-digit PIN in about a day on two cores).
// Status reports this (Vault.Status).
package keys
