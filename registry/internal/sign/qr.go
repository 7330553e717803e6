package sign

import (
	"fmt"

	qrcode "github.com/skip2/go-qrcode"
)

// qrLevel is the QR code's error correction, Q (the encoder calls it
// High): it restores a quarter of the symbol, enough for a sign that
// weathers outdoors or gets a sticker on it.
const qrLevel = qrcode.High

// qrBits encodes s as a QR code: bits[y][x] is a dark module, with the
// four-module quiet zone the standard requires around the symbol.
func qrBits(s string) ([][]bool, error) {
	q, err := qrcode.New(s, qrLevel)
	if err != nil {
		return nil, fmt.Errorf("sign: QR code of %q: %w", s, err)
	}
	return q.Bitmap(), nil // Bitmap includes the quiet zone
}
