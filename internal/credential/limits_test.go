package credential

import (
	"bytes"
	"compress/zlib"
	"errors"
	"strings"
	"testing"
)

func zlibOf(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// TestDecodeTextLimits pins each limit of the format's section 1 at the
// codec level (the verifier's vectors pin them end to end).
func TestDecodeTextLimits(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		wantErr error
	}{
		{name: "too long", text: Prefix + strings.Repeat("0", MaxTextLength), wantErr: ErrMalformed},
		{name: "other version", text: "RTC2:00", wantErr: ErrUnsupportedVersion},
		{name: "version 0", text: "RTC0:00", wantErr: ErrUnsupportedVersion},
		{name: "no digits", text: "RTCX:00", wantErr: ErrMalformed},
		{name: "no prefix", text: "0000", wantErr: ErrMalformed},
		{name: "lower case", text: Prefix + "abc", wantErr: ErrMalformed},
		{name: "triple overflow", text: Prefix + "GGW", wantErr: ErrMalformed},
		{name: "pair overflow", text: Prefix + "GG", wantErr: ErrMalformed},
		{name: "dangling", text: Prefix + "0", wantErr: ErrMalformed},
		{name: "not zlib", text: Prefix + Base45Encode([]byte{0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40}), wantErr: ErrMalformed},
		{name: "zlib bomb", text: Prefix + Base45Encode(zlibOf(make([]byte, 1<<20))), wantErr: ErrMalformed},
		{name: "exactly the inflate limit", text: Prefix + Base45Encode(zlibOf(make([]byte, MaxCOSESize)))},
		{name: "zlib truncated", text: Prefix + Base45Encode(zlibOf([]byte("hello"))[:6]), wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeText(tt.text)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestCheckCBOR(t *testing.T) {
	deep := func(n int) []byte { return append(bytes.Repeat([]byte{0x81}, n-1), 0x80) }
	tests := []struct {
		name    string
		in      []byte
		wantErr error
	}{
		{name: "int", in: []byte{0x01}},
		{name: "depth 16", in: deep(16)},
		{name: "depth 17", in: deep(17), wantErr: ErrMalformed},
		{name: "empty array at depth 17", in: append(bytes.Repeat([]byte{0x81}, 16), 0x80), wantErr: ErrMalformed},
		{name: "tags do not count", in: append(bytes.Repeat([]byte{0x81, 0xc1}, 15), 0x80)},
		{name: "indefinite array", in: []byte{0x9f, 0x01, 0xff}, wantErr: ErrMalformed},
		{name: "indefinite bytes", in: []byte{0x5f, 0x41, 0x00, 0xff}, wantErr: ErrMalformed},
		{name: "break alone", in: []byte{0xff}, wantErr: ErrMalformed},
		{name: "reserved ai", in: []byte{0x1c}, wantErr: ErrMalformed},
		{name: "trailing", in: []byte{0x01, 0x02}, wantErr: ErrMalformed},
		{name: "truncated string", in: []byte{0x45, 0x00}, wantErr: ErrMalformed},
		{name: "huge array count", in: []byte{0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, wantErr: ErrMalformed},
		{name: "huge map count", in: []byte{0xbb, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, wantErr: ErrMalformed},
		{name: "two-byte simple < 32", in: []byte{0xf8, 0x10}, wantErr: ErrMalformed},
		{name: "map", in: []byte{0xa1, 0x01, 0x02}},
		{name: "empty", in: nil, wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkCBOR(tt.in, MaxDepth); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error
	}{
		{name: "ok", in: "2026-11-27"},
		{name: "leap day", in: "2028-02-29"},
		{name: "no leap day", in: "2027-02-29", wantErr: ErrMalformed},
		{name: "slashes", in: "2026/11/27", wantErr: ErrMalformed},
		{name: "short", in: "2026-1-27", wantErr: ErrMalformed},
		{name: "with time", in: "2026-11-27T00:00", wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseDate(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v", err)
			}
			if err == nil && d.String() != tt.in {
				t.Fatalf("round trip %q", d)
			}
		})
	}
}
