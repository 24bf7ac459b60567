package credential

import (
	"encoding/binary"
	"testing"
)

// bigListCOSE builds the COSE bytes of a status list with n entries
// directly in CBOR (encoding 2 M entries through generic values would cost
// more than the parse being measured). The signature is a dummy: parsing
// does not verify it.
func bigListCOSE(tb testing.TB, n int) []byte {
	tb.Helper()
	p := []byte{0xa6, 0x01, 0x66}
	p = append(p, "440300"...)
	p = append(p, 0x02, 0x1a, 0, 0, 0, 7, 0x03, 0x00)
	p = append(p, 0x04, 0x1a, 0x69, 0x27, 0x00, 0x00, 0x05, 0x1a, 0x69, 0x30, 0x00, 0x00)
	p = append(p, 0x06, 0x9a)
	p = binary.BigEndian.AppendUint32(p, uint32(n))
	var h [16]byte
	for i := 0; i < n; i++ {
		// distinct, well-spread idHashes
		binary.BigEndian.PutUint64(h[:8], uint64(i)*0x9e3779b97f4a7c15)
		binary.BigEndian.PutUint64(h[8:], uint64(i))
		p = append(p, 0x83, 0x50)
		p = append(p, h[:]...)
		p = append(p, byte(1+i%2), 0x1a)
		p = binary.BigEndian.AppendUint32(p, 0x69000000+uint32(i))
	}
	cose, err := EncodeSign1(make([]byte, KIDSize), p, func([]byte) ([]byte, error) { return make([]byte, 64), nil })
	if err != nil {
		tb.Fatal(err)
	}
	return cose
}

// BenchmarkParseStatusList2M parses a list of 2 million entries (about
// 48 MB of CBOR): time, allocations and bytes per parse.
func BenchmarkParseStatusList2M(b *testing.B) {
	cose := bigListCOSE(b, 2_000_000)
	b.SetBytes(int64(len(cose)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, l, err := ParseStatusList(cose)
		if err != nil {
			b.Fatal(err)
		}
		if len(l.Entries) != 2_000_000 {
			b.Fatal(len(l.Entries))
		}
	}
}

// BenchmarkParseStatusListFunc2M walks the same list with the iterator form,
// keeping nothing: the memory a streaming importer pays.
func BenchmarkParseStatusListFunc2M(b *testing.B) {
	cose := bigListCOSE(b, 2_000_000)
	b.SetBytes(int64(len(cose)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		_, h, err := ParseStatusListFunc(cose, func(StatusEntry) error { n++; return nil })
		if err != nil {
			b.Fatal(err)
		}
		if n != 2_000_000 || h.Count != n {
			b.Fatal(n)
		}
	}
}
