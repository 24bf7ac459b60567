package keys

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxtpm"
	"github.com/google/go-tpm/tpm2/transport/linuxudstpm"
)

// TPM is a Device sealing to a TPM 2.0: every secret is a sealed data
// object (TPM_ALG_KEYEDHASH) under the TPM's storage primary key, which is
// re-created from the owner hierarchy's seed with the standard ECC P-256
// SRK template at open (it never leaves the TPM, so the blobs in the
// database are useless on any other TPM). Officer secrets carry the PIN
// derivation as authValue and are not noDA: every wrong PIN counts toward
// the TPM's dictionary-attack lock-out. Commands use a salted HMAC session
// with response encryption, so neither the PIN derivation nor the secret
// cross the bus in the clear. It is safe for concurrent use.
type TPM struct {
	mu     sync.Mutex
	path   string
	t      transport.TPMCloser
	srk    tpm2.TPMHandle
	srkNam tpm2.TPM2BName
	srkPub tpm2.TPMTPublic
}

// OpenTPM opens the TPM at path ("/dev/tpmrm0", or "unix:PATH" for a
// swtpm socket) and creates its storage primary key. It fails (wrapping
// ErrDevice) when the TPM is missing or its owner hierarchy has a
// password.
func OpenTPM(path string) (*TPM, error) {
	var (
		t   transport.TPMCloser
		err error
	)
	if sock, ok := strings.CutPrefix(path, "unix:"); ok {
		t, err = linuxudstpm.Open(sock)
	} else {
		t, err = linuxtpm.Open(path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: TPM %s: %w", ErrDevice, path, err)
	}
	rsp, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.TPMRHOwner,
		InPublic:      tpm2.New2B(tpm2.ECCSRKTemplate),
	}.Execute(t)
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("%w: TPM %s: storage primary key: %w", ErrDevice, path, err)
	}
	pub, err := rsp.OutPublic.Contents()
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("%w: TPM %s: %w", ErrDevice, path, err)
	}
	return &TPM{path: path, t: t, srk: rsp.ObjectHandle, srkNam: rsp.Name, srkPub: *pub}, nil
}

// Kind is KindTPM.
func (p *TPM) Kind() string { return KindTPM }

// Describe names the TPM and its dictionary-attack parameters.
func (p *TPM) Describe() string {
	s := "TPM 2.0 (" + p.path + "): keys sealed to the TPM and the officer's PIN"
	if maxTries, interval, err := p.DAParameters(); err == nil {
		s += fmt.Sprintf("; the TPM locks PIN attempts after %d failures, forgiving one every %d s", maxTries, interval)
	}
	return s
}

// DAParameters reads the TPM's dictionary-attack parameters: the failures
// before lock-out (TPM_PT_MAX_AUTH_FAIL) and the seconds after which one
// failure is forgotten (TPM_PT_LOCKOUT_INTERVAL).
func (p *TPM) DAParameters() (maxTries, interval uint32, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rsp, err := tpm2.GetCapability{Capability: tpm2.TPMCapTPMProperties, Property: uint32(tpm2.TPMPTMaxAuthFail), PropertyCount: 2}.Execute(p.t)
	if err != nil {
		return 0, 0, err
	}
	props, err := rsp.CapabilityData.Data.TPMProperties()
	if err != nil {
		return 0, 0, err
	}
	for _, pr := range props.TPMProperty {
		switch pr.Property {
		case tpm2.TPMPTMaxAuthFail:
			maxTries = pr.Value
		case tpm2.TPMPTLockoutInterval:
			interval = pr.Value
		}
	}
	return maxTries, interval, nil
}

// Close flushes the storage primary key and closes the TPM.
func (p *TPM) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.t == nil {
		return nil
	}
	_, err := tpm2.FlushContext{FlushHandle: p.srk}.Execute(p.t)
	err = errors.Join(err, p.t.Close())
	p.t = nil
	return err
}

// tpmSeal is a sealed object as stored: TPM2B_PUBLIC and TPM2B_PRIVATE.
type tpmSeal struct {
	Public  []byte `cbor:"1,keyasint"`
	Private []byte `cbor:"2,keyasint"`
}

// session is a salted HMAC session (salted with the SRK) that encrypts
// the response parameter (the unsealed secret) and the command parameter.
func (p *TPM) session(auth []byte, dir int) tpm2.Session {
	enc := tpm2.EncryptOut
	if dir == 1 {
		enc = tpm2.EncryptIn
	}
	return tpm2.HMAC(tpm2.TPMAlgSHA256, 16, tpm2.Auth(auth), tpm2.AESEncryption(128, enc), tpm2.Salted(p.srk, p.srkPub))
}

// tpmAuth is the authValue given to the TPM for auth: the hex form of its
// first 16 bytes (32 ASCII bytes, 128 bits). HMAC sessions of go-tpm
// v0.9.8 with swtpm fail for authValues holding a zero byte (measured: one
// in ten random 32-byte values); hex has none.
func tpmAuth(auth []byte) []byte {
	if len(auth) == 0 {
		return nil
	}
	return []byte(hex.EncodeToString(auth[:min(16, len(auth))]))
}

// Seal creates a sealed data object holding secret with authValue auth.
func (p *TPM) Seal(ctx context.Context, auth, secret []byte, da bool) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(auth) > 64 {
		return nil, fmt.Errorf("keys: TPM authValue of %d bytes", len(auth))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.t == nil {
		return nil, fmt.Errorf("%w: TPM closed", ErrDevice)
	}
	rsp, err := tpm2.Create{
		ParentHandle: tpm2.AuthHandle{Handle: p.srk, Name: p.srkNam, Auth: p.session(nil, 1)},
		InSensitive: tpm2.TPM2BSensitiveCreate{Sensitive: &tpm2.TPMSSensitiveCreate{
			UserAuth: tpm2.TPM2BAuth{Buffer: tpmAuth(auth)},
			Data:     tpm2.NewTPMUSensitiveCreate(&tpm2.TPM2BSensitiveData{Buffer: secret}),
		}},
		InPublic: tpm2.New2B(tpm2.TPMTPublic{
			Type:    tpm2.TPMAlgKeyedHash,
			NameAlg: tpm2.TPMAlgSHA256,
			ObjectAttributes: tpm2.TPMAObject{
				FixedTPM: true, FixedParent: true, UserWithAuth: true, NoDA: !da,
			},
		}),
	}.Execute(p.t)
	if err != nil {
		return nil, fmt.Errorf("%w: TPM seal: %w", ErrDevice, err)
	}
	return cbor.Marshal(&tpmSeal{Public: tpm2.Marshal(rsp.OutPublic), Private: tpm2.Marshal(rsp.OutPrivate)})
}

// Unseal loads the sealed object of blob and unseals it with auth.
func (p *TPM) Unseal(ctx context.Context, blob, auth []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var s tpmSeal
	if err := strictDec.Unmarshal(blob, &s); err != nil {
		return nil, fmt.Errorf("%w: TPM seal: %v", ErrMalformed, err)
	}
	pub, err := tpm2.Unmarshal[tpm2.TPM2BPublic](s.Public)
	if err != nil {
		return nil, fmt.Errorf("%w: TPM seal public area: %v", ErrMalformed, err)
	}
	priv, err := tpm2.Unmarshal[tpm2.TPM2BPrivate](s.Private)
	if err != nil {
		return nil, fmt.Errorf("%w: TPM seal private area: %v", ErrMalformed, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.t == nil {
		return nil, fmt.Errorf("%w: TPM closed", ErrDevice)
	}
	ld, err := tpm2.Load{
		ParentHandle: tpm2.AuthHandle{Handle: p.srk, Name: p.srkNam, Auth: p.session(nil, 1)},
		InPrivate:    *priv,
		InPublic:     *pub,
	}.Execute(p.t)
	if err != nil {
		return nil, fmt.Errorf("%w: TPM load (sealed on another TPM, or damaged): %w", ErrDevice, err)
	}
	defer tpm2.FlushContext{FlushHandle: ld.ObjectHandle}.Execute(p.t)
	rsp, err := tpm2.Unseal{ItemHandle: tpm2.AuthHandle{Handle: ld.ObjectHandle, Name: ld.Name, Auth: p.session(tpmAuth(auth), 0)}}.Execute(p.t)
	switch {
	case errors.Is(err, tpm2.TPMRCLockout):
		return nil, ErrDeviceLockout
	case errors.Is(err, tpm2.TPMRCAuthFail) || errors.Is(err, tpm2.TPMRCBadAuth):
		return nil, ErrSignIn
	case err != nil:
		return nil, fmt.Errorf("%w: TPM unseal: %w", ErrDevice, err)
	}
	return rsp.OutData.Buffer, nil
}

// DA parameters RoadCheck sets on a TPM whose lock-out hierarchy has no
// password, when the vault is created: 10 wrong PINs (all officers
// together) before lock-out, one forgiven every 10 minutes, 24 hours
// before the lock-out hierarchy itself may try again. The per-officer
// lock-out of the directory (MaxPINAttempts, Lockout) acts first.
const (
	DAMaxTries        = 10
	DARecoverySeconds = 600
	DALockoutRecovery = 86400
)

// SetDAParameters runs TPM2_DictionaryAttackParameters with an empty
// lock-out authorisation. It fails when the TPM's owner set a lock-out
// password: the TPM's own parameters then stay (see DAParameters).
// go-tpm v0.9.8 has no structure for this command, so it is sent as raw
// bytes (TPM 2.0 Part 3, 25.3).
func (p *TPM) SetDAParameters(maxTries, recovery, lockoutRecovery uint32) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.t == nil {
		return fmt.Errorf("%w: TPM closed", ErrDevice)
	}
	be32 := func(b []byte, v uint32) []byte { return append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v)) }
	cmd := []byte{0x80, 0x02, 0, 0, 0, 0} // TPM_ST_SESSIONS, size (below)
	cmd = be32(cmd, uint32(tpm2.TPMCCDictionaryAttackParameters))
	cmd = be32(cmd, uint32(tpm2.TPMRHLockout))
	cmd = be32(cmd, 9)                    // authorization area size
	cmd = be32(cmd, uint32(tpm2.TPMRSPW)) // password session
	cmd = append(cmd, 0, 0, 0, 0, 0)      // empty nonce, attributes, empty password
	cmd = be32(be32(be32(cmd, maxTries), recovery), lockoutRecovery)
	n := len(cmd)
	cmd[2], cmd[3], cmd[4], cmd[5] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	rsp, err := p.t.Send(cmd)
	if err != nil {
		return fmt.Errorf("%w: TPM: %w", ErrDevice, err)
	}
	if len(rsp) < 10 {
		return fmt.Errorf("%w: TPM: short response", ErrDevice)
	}
	if rc := uint32(rsp[6])<<24 | uint32(rsp[7])<<16 | uint32(rsp[8])<<8 | uint32(rsp[9]); rc != 0 {
		return fmt.Errorf("%w: TPM2_DictionaryAttackParameters: %w", ErrDevice, tpm2.TPMRC(rc))
	}
	return nil
}
