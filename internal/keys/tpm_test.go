package keys

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/keys/keystest"
)

func TestTPMSealUnseal(t *testing.T) {
	ctx := context.Background()
	spec := keystest.SWTPM(t)
	start := time.Now()
	p, err := OpenTPM(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	t.Logf("open %v", time.Since(start))
	secret := []byte("0123456789abcdef0123456789abcdef")
	blob, err := p.Seal(ctx, []byte("pin-derived"), secret, true)
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	got, err := p.Unseal(ctx, blob, []byte("pin-derived"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("unseal = %x, %v", got, err)
	}
	t.Logf("unseal %v", time.Since(start))
	maxTries, interval, err := p.DAParameters()
	t.Logf("DA: max %d interval %d err %v; %s", maxTries, interval, err, p.Describe())
	n := 0
	for ; n < 40; n++ {
		_, err := p.Unseal(ctx, blob, []byte("wrong"))
		if errors.Is(err, ErrDeviceLockout) {
			break
		}
		if !errors.Is(err, ErrSignIn) {
			t.Fatalf("wrong auth %d: %v", n, err)
		}
	}
	t.Logf("lockout after %d wrong", n)
	if _, err := p.Unseal(ctx, blob, []byte("pin-derived")); !errors.Is(err, ErrDeviceLockout) {
		t.Fatalf("right PIN during lock-out: %v", err)
	}
}
