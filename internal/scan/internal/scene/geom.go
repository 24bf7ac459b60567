package scene

type mat3 [3][3]float64

func (a mat3) mul(b mat3) mat3 {
	var c mat3
	for i := range 3 {
		for j := range 3 {
			for k := range 3 {
				c[i][j] += a[i][k] * b[k][j]
			}
		}
	}
	return c
}

// homography maps (x, y) to (h·(x,y,1)) after division by the third row.
type homography mat3

func translate(dx, dy float64) homography {
	return homography{{1, 0, dx}, {0, 1, dy}, {0, 0, 1}}
}

func (h homography) mul(o homography) homography { return homography(mat3(h).mul(mat3(o))) }

// apply maps a point; ok is false for points at or behind the horizon.
func (h homography) apply(x, y float64) (float64, float64, bool) {
	w := h[2][0]*x + h[2][1]*y + h[2][2]
	if w <= 1e-12 {
		return 0, 0, false
	}
	return (h[0][0]*x + h[0][1]*y + h[0][2]) / w, (h[1][0]*x + h[1][1]*y + h[1][2]) / w, true
}

func (h homography) inverse() (homography, bool) {
	a := h
	det := a[0][0]*(a[1][1]*a[2][2]-a[1][2]*a[2][1]) -
		a[0][1]*(a[1][0]*a[2][2]-a[1][2]*a[2][0]) +
		a[0][2]*(a[1][0]*a[2][1]-a[1][1]*a[2][0])
	if det == 0 {
		return homography{}, false
	}
	var inv homography
	inv[0][0] = (a[1][1]*a[2][2] - a[1][2]*a[2][1]) / det
	inv[0][1] = (a[0][2]*a[2][1] - a[0][1]*a[2][2]) / det
	inv[0][2] = (a[0][1]*a[1][2] - a[0][2]*a[1][1]) / det
	inv[1][0] = (a[1][2]*a[2][0] - a[1][0]*a[2][2]) / det
	inv[1][1] = (a[0][0]*a[2][2] - a[0][2]*a[2][0]) / det
	inv[1][2] = (a[0][2]*a[1][0] - a[0][0]*a[1][2]) / det
	inv[2][0] = (a[1][0]*a[2][1] - a[1][1]*a[2][0]) / det
	inv[2][1] = (a[0][1]*a[2][0] - a[0][0]*a[2][1]) / det
	inv[2][2] = (a[0][0]*a[1][1] - a[0][1]*a[1][0]) / det
	// Keep w positive for points in front of the camera.
	if inv[2][2] < 0 {
		for i := range 3 {
			for j := range 3 {
				inv[i][j] = -inv[i][j]
			}
		}
	}
	return inv, true
}
