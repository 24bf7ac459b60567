package scene

import (
	"math/rand/v2"
	"strings"
)

// Base45Alphabet is the character set of RFC 9285 Base45, which is also the
// QR alphanumeric set.
const Base45Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// Sample is the 526-character RTC1 text of the worked example in
// shared/spec/rtc1-example.md ("QR text with prefix"); it encodes as QR
// version 14 at ECC M.
const Sample = "RTC1:NCF%RNMG2FDH.MH8JIA3KCRGYLSW2W/ S3I1/R83MJ/-CAL6$96C%6I9C*QPL3RNAC7DO/DJCIJ5IIEGJ-CWK SW03GCR9FRHOSG5O6260:6$0BU.73*MFMPOV4A6V+BFZ0EQXM6M3G3MD*1WH13:G: VRVM848IQ1KS5WVH:ZHK24/XL0H2C9J0NF76MCMCQTM9*JV2DNCFBSN0ID%Z1T-44F48O8D%4Y0905FD$04C1PEIJPEE38IOQUXC.NI.W1F34:6KHYDAWG:4J J1Y4OZIK 3M-60HYI5DLQACNSI1VCITDH 2Q IOFPA3OTHH6JK:JMGJLT0DYYPIV54LB-%JYHK2.UV0OVOTU7U9*F64KFNT8JMSOVW:NHR4LMANY5V+9+94/30/TO/JCCZG/M5TUGMRL-/4E2CYWK+TKY7SPGU7RPOVH1*RB6KMTBZDR.DC3$V*7S7*P$4ES36:1NET6X3C07PEZNT5G3X8QVIH:9DWL59S3$O$AAYM0U50NDWC4N10"

// Payload returns "RTC1:" followed by random Base45 characters, n characters
// in all (n is clamped to at least 6). The same generator state gives the
// same text.
func Payload(r *rand.Rand, n int) string {
	n = max(n, 6)
	var b strings.Builder
	b.Grow(n)
	b.WriteString("RTC1:")
	for b.Len() < n {
		b.WriteByte(Base45Alphabet[r.IntN(len(Base45Alphabet))])
	}
	return b.String()
}

// RandomPayload returns a Payload whose length is uniform in [400, 700], the
// range of real RTC1 codes.
func RandomPayload(r *rand.Rand) string {
	return Payload(r, 400+r.IntN(301))
}
