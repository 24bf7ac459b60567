package credential

import (
	"testing"
	"time"
)

// TestParseDateAgreesWithTime: ParseDate accepts exactly what
// time.ParseInLocation with layout "2006-01-02" accepts (year 0 excluded),
// with the same date, over every day, month and year part around the
// limits and with stray characters.
func TestParseDateAgreesWithTime(t *testing.T) {
	years := []string{"0000", "0001", "0004", "0100", "0400", "1900", "1999", "2000", "2024", "2025", "2100", "9999", "20a4", "+024", "-024", " 024", "２０２"}
	var months, days []string
	for i := 0; i <= 33; i++ {
		n := string(rune('0'+i/10)) + string(rune('0'+i%10))
		if i <= 13 {
			months = append(months, n)
		}
		days = append(days, n)
	}
	odd := []string{"1 ", " 1", "+1", "-1", "1a", "a1", "1:", "/1"}
	months = append(months, odd...)
	days = append(days, odd...)
	n := 0
	for _, y := range years {
		for _, m := range months {
			for _, d := range days {
				s := y + "-" + m + "-" + d
				got, err := ParseDate(s)
				tm, terr := time.ParseInLocation("2006-01-02", s, cst)
				want := terr == nil && tm.Year() >= 1 && len(s) == 10
				if (err == nil) != want {
					t.Fatalf("%q: ParseDate %v, time.Parse %v", s, err, terr)
				}
				if want {
					n++
					if got != (Date{Year: tm.Year(), Month: tm.Month(), Day: tm.Day()}) {
						t.Fatalf("%q: %v, want %v", s, got, tm)
					}
				}
			}
		}
	}
	if n < 11*365 {
		t.Fatalf("only %d valid dates tried", n)
	}
}
