package scan

import (
	"context"
	"os"
	"image"
	"path/filepath"
	"testing"
)

func BenchmarkZZFiles(b *testing.B) {
	paths, _ := filepath.Glob(os.Getenv("ZZ_GLOB"))
	var imgs []image.Image
	for _, p := range paths {
		img, err := LoadFile(context.Background(), p)
		if err != nil {
			b.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	d := NewDecoder(Options{Budget: -1})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.Decode(context.Background(), imgs[i%len(imgs)])
	}
}
