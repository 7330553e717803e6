package simulate

import "math"

// A stream is a deterministic source of noise: the same stream and index
// always give the same number. Streams are derived from the seed and labels
// (a sensor id, a quantity name), so that every signal of the town is
// independent of the others and of the order in which they are computed.
type stream uint64

func newStream(seed int64) stream { return stream(mix(uint64(seed) ^ 0x5ca1ab1e0ddba11)) }

// sub derives the stream of label from s.
func (s stream) sub(label string) stream {
	h := uint64(14695981039346656037) // FNV-1a
	for i := 0; i < len(label); i++ {
		h ^= uint64(label[i])
		h *= 1099511628211
	}
	return stream(mix(uint64(s) ^ h))
}

// unit returns the i-th number of s, uniform in [0, 1).
func (s stream) unit(i int64) float64 {
	return float64(mix(uint64(s)+uint64(i)*0x9e3779b97f4a7c15)>>11) / (1 << 53)
}

// signed returns the i-th number of s, uniform in [-1, 1).
func (s stream) signed(i int64) float64 { return 2*s.unit(i) - 1 }

// smooth is value noise in [-1, 1]: random at integer x, smoothly
// interpolated in between. Scale x to choose how fast it wanders.
func (s stream) smooth(x float64) float64 {
	f := math.Floor(x)
	i, t := int64(f), x-f
	t = t * t * (3 - 2*t)
	a, b := s.signed(i), s.signed(i+1)
	return a + (b-a)*t
}

// wander is three octaves of smooth noise, in [-1, 1]: a bounded random
// walk.
func (s stream) wander(x float64) float64 {
	return (s.smooth(x) + 0.5*s.sub("2").smooth(2*x+0.31) + 0.25*s.sub("4").smooth(4*x+0.57)) / 1.75
}

// mix is the finaliser of SplitMix64.
func mix(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	return z ^ (z >> 31)
}
