package demo

import (
	"fmt"
	"strconv"
)

// residentID completes a 17-digit body with its GB 11643 check character.
func residentID(body17 string) string {
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		d, _ := strconv.Atoi(body17[i : i+1])
		sum += d * weights[i]
	}
	return body17 + string("10X98765432"[sum%11])
}

// creditCode completes a 17-character unified social credit code body
// (GB 32100) with its check character.
func creditCode(body17 string) string {
	const chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	weights := [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}
	sum := 0
	for i := 0; i < 17; i++ {
		v := -1
		for j := 0; j < len(chars); j++ {
			if chars[j] == body17[i] {
				v = j
			}
		}
		if v < 0 {
			panic(fmt.Sprintf("demo: bad credit code character %q", body17[i]))
		}
		sum += v * weights[i]
	}
	return body17 + string(chars[(31-sum%31)%31])
}
