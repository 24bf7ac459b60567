package scene

import "testing"

func BenchmarkZZRender(b *testing.B) {
	specs := Specs(1, 2, []Size{{W: 640, H: 480}}, Conditions)
	for i := 0; i < b.N; i++ {
		Render(specs[i%len(specs)])
	}
}
