package credential

import "testing"

// The stages of step 1 and step 6 on the worked example (a kind-3 code),
// one benchmark each, so that their share of BenchmarkVerify
// (internal/verify) can be followed.

func BenchmarkParse(b *testing.B) {
	text := string(readExample(b, "code.txt"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseAndClaims(b *testing.B) {
	text := string(readExample(b, "code.txt"))
	b.ReportAllocs()
	for b.Loop() {
		d, err := Parse(text)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.Claims(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBase45Decode(b *testing.B) {
	text := string(readExample(b, "code.txt"))[len(Prefix):]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Base45Decode(text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeText(b *testing.B) {
	text := string(readExample(b, "code.txt"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeText(text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseSign1(b *testing.B) {
	cose, err := DecodeText(string(readExample(b, "code.txt")))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseSign1(cose); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClaims(b *testing.B) {
	d, err := Parse(string(readExample(b, "code.txt")))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Claims(); err != nil {
			b.Fatal(err)
		}
	}
}
