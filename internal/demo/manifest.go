package demo

import (
	"encoding/json"
	"time"
)

// manifest is the JSON description of a world's samples.
type manifest struct {
	Seed    int64            `json:"seed"`
	At      string           `json:"checkTime"`
	Samples []manifestSample `json:"samples"`
}

type manifestSample struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Kind        uint8    `json:"kind"`
	Verdict     string   `json:"verdict"`
	Reasons     []string `json:"reasons"`
}

// Manifest returns the world's sample list as indented JSON: name,
// description, kind and the verdict and reasons expected at At.
func (w *World) Manifest() ([]byte, error) {
	m := manifest{Seed: w.Seed, At: w.At.Format(time.RFC3339)}
	for _, s := range w.Samples {
		rs := s.Reasons
		if rs == nil {
			rs = []string{}
		}
		m.Samples = append(m.Samples, manifestSample{Name: s.Name, Description: s.Description, Kind: uint8(s.Kind), Verdict: s.Verdict, Reasons: rs})
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
