package sign

import (
	"errors"
	"fmt"
	"strings"
)

// decodeQR reads back the text of a clean QR code module matrix (no damage:
// error correction is not applied, only checked to be where it belongs),
// versions 1 to 40, the numeric, alphanumeric and byte modes. It is written
// from ISO/IEC 18004 independently of the encoder, so that a test can show
// that what a sign draws reads back as the entry's URL.
//
// bits[y][x] is a dark module; a quiet zone of light modules around the
// symbol is skipped.
func decodeQR(bits [][]bool) (string, error) {
	m, err := stripQuietZone(bits)
	if err != nil {
		return "", err
	}
	size := len(m)
	if size < 21 || (size-17)%4 != 0 {
		return "", fmt.Errorf("qr: %d modules a side is no version", size)
	}
	ver := (size - 17) / 4
	ecl, mask, err := readFormat(m)
	if err != nil {
		return "", err
	}
	fn := functionModules(ver)

	// The codewords, in the zigzag order, unmasked.
	total := rawModules(ver) / 8
	codewords := make([]byte, 0, total)
	var cur byte
	n := 0
	for right := size - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5
		}
		for vert := 0; vert < size; vert++ {
			for j := 0; j < 2; j++ {
				x := right - j
				y := vert
				if (right+1)&2 == 0 {
					y = size - 1 - vert
				}
				if fn[y][x] || len(codewords) == total {
					continue
				}
				bit := m[y][x] != masked(mask, x, y)
				cur <<= 1
				if bit {
					cur |= 1
				}
				if n++; n == 8 {
					codewords = append(codewords, cur)
					cur, n = 0, 0
				}
			}
		}
	}
	if len(codewords) != total {
		return "", fmt.Errorf("qr: read %d codewords, want %d", len(codewords), total)
	}

	// De-interleave the data codewords of the blocks.
	blocks := numBlocks[ecl][ver]
	ecc := eccPerBlock[ecl][ver]
	short := total / blocks
	numShort := blocks - total%blocks
	shortData := short - ecc
	per := make([][]byte, blocks)
	k := 0
	for i := 0; i <= shortData; i++ {
		for b := 0; b < blocks; b++ {
			if i == shortData && b < numShort {
				continue
			}
			per[b] = append(per[b], codewords[k])
			k++
		}
	}
	var data []byte
	for _, p := range per {
		data = append(data, p...)
	}
	return parseSegments(data, ver)
}

func stripQuietZone(bits [][]bool) ([][]bool, error) {
	top, left, bottom, right := len(bits), len(bits), -1, -1
	for y, row := range bits {
		if len(row) != len(bits) {
			return nil, errors.New("qr: the matrix is not square")
		}
		for x, b := range row {
			if b {
				top, bottom = min(top, y), max(bottom, y)
				left, right = min(left, x), max(right, x)
			}
		}
	}
	if bottom < 0 || bottom-top != right-left {
		return nil, errors.New("qr: no square symbol")
	}
	m := make([][]bool, bottom-top+1)
	for i := range m {
		m[i] = bits[top+i][left : right+1]
	}
	return m, nil
}

// readFormat reads the first copy of the format information: level (0 L,
// 1 M, 2 Q, 3 H) and mask.
func readFormat(m [][]bool) (ecl, mask int, err error) {
	at := func(x, y int) int {
		if m[y][x] {
			return 1
		}
		return 0
	}
	var bits int
	for i := 0; i <= 5; i++ {
		bits |= at(8, i) << i
	}
	bits |= at(8, 7)<<6 | at(8, 8)<<7 | at(7, 8)<<8
	for i := 9; i < 15; i++ {
		bits |= at(14-i, 8) << i
	}
	for data := 0; data < 32; data++ {
		rem := data
		for i := 0; i < 10; i++ {
			rem = rem<<1 ^ (rem>>9)*0x537
		}
		if (data<<10|rem)^0x5412 == bits {
			levels := map[int]int{1: 0, 0: 1, 3: 2, 2: 3} // format bits → L M Q H
			return levels[data>>3], data & 7, nil
		}
	}
	return 0, 0, fmt.Errorf("qr: format bits %015b are no format", bits)
}

func masked(mask, x, y int) bool {
	switch mask {
	case 0:
		return (x+y)%2 == 0
	case 1:
		return y%2 == 0
	case 2:
		return x%3 == 0
	case 3:
		return (x+y)%3 == 0
	case 4:
		return (x/3+y/2)%2 == 0
	case 5:
		return x*y%2+x*y%3 == 0
	case 6:
		return (x*y%2+x*y%3)%2 == 0
	}
	return ((x+y)%2+x*y%3)%2 == 0
}

func alignmentPositions(ver int) []int {
	if ver == 1 {
		return nil
	}
	num := ver/7 + 2
	step := (ver*8 + num*3 + 5) / (num*4 - 4) * 2
	pos := []int{6}
	for p := ver*4 + 17 - 7; len(pos) < num; p -= step {
		pos = append([]int{6, p}, pos[1:]...)
	}
	return pos
}

// functionModules marks the modules that carry no data.
func functionModules(ver int) [][]bool {
	size := ver*4 + 17
	fn := make([][]bool, size)
	for i := range fn {
		fn[i] = make([]bool, size)
	}
	mark := func(x, y int) {
		if x >= 0 && y >= 0 && x < size && y < size {
			fn[y][x] = true
		}
	}
	for i := 0; i < size; i++ {
		mark(6, i)
		mark(i, 6)
	}
	for _, c := range [][2]int{{3, 3}, {size - 4, 3}, {3, size - 4}} {
		for dy := -4; dy <= 4; dy++ {
			for dx := -4; dx <= 4; dx++ {
				mark(c[0]+dx, c[1]+dy)
			}
		}
	}
	al := alignmentPositions(ver)
	for i, ax := range al {
		for j, ay := range al {
			if (i == 0 && j == 0) || (i == 0 && j == len(al)-1) || (i == len(al)-1 && j == 0) {
				continue
			}
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					mark(ax+dx, ay+dy)
				}
			}
		}
	}
	for i := 0; i < 9; i++ {
		mark(8, i)
		mark(i, 8)
	}
	for i := 0; i < 8; i++ {
		mark(size-1-i, 8)
		mark(8, size-1-i)
	}
	if ver >= 7 {
		for i := 0; i < 18; i++ {
			a, b := size-11+i%3, i/3
			mark(a, b)
			mark(b, a)
		}
	}
	return fn
}

// rawModules is the number of modules that carry codewords.
func rawModules(ver int) int {
	n := (16*ver+128)*ver + 64
	if ver >= 2 {
		num := ver/7 + 2
		n -= (25*num-10)*num - 55
		if ver >= 7 {
			n -= 36
		}
	}
	return n
}

// The block structure of ISO/IEC 18004 table 9, by level (L, M, Q, H) and
// version.
var eccPerBlock = [4][41]int{
	{-1, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
	{-1, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28},
	{-1, 13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30, 28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
	{-1, 17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28, 30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
}

var numBlocks = [4][41]int{
	{-1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25},
	{-1, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49},
	{-1, 1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20, 23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68},
	{-1, 1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25, 25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81},
}

// parseSegments reads the segments of the data codewords until the
// terminator or the end.
func parseSegments(data []byte, ver int) (string, error) {
	pos := 0
	read := func(n int) (int, error) {
		if pos+n > len(data)*8 {
			return 0, errors.New("qr: data ends inside a segment")
		}
		v := 0
		for i := 0; i < n; i++ {
			bit := data[(pos+i)/8] >> (7 - (pos+i)%8) & 1
			v = v<<1 | int(bit)
		}
		pos += n
		return v, nil
	}
	class := 0
	switch {
	case ver >= 27:
		class = 2
	case ver >= 10:
		class = 1
	}
	const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	var out strings.Builder
	for len(data)*8-pos >= 4 {
		mode, _ := read(4)
		switch mode {
		case 0:
			return out.String(), nil
		case 1: // numeric
			count, err := read([]int{10, 12, 14}[class])
			if err != nil {
				return "", err
			}
			for count > 0 {
				digits := min(count, 3)
				v, err := read([]int{0, 4, 7, 10}[digits])
				if err != nil {
					return "", err
				}
				out.WriteString(fmt.Sprintf("%0*d", digits, v))
				count -= digits
			}
		case 2: // alphanumeric
			count, err := read([]int{9, 11, 13}[class])
			if err != nil {
				return "", err
			}
			for ; count >= 2; count -= 2 {
				v, err := read(11)
				if err != nil {
					return "", err
				}
				out.WriteByte(alnum[v/45])
				out.WriteByte(alnum[v%45])
			}
			if count == 1 {
				v, err := read(6)
				if err != nil {
					return "", err
				}
				out.WriteByte(alnum[v])
			}
		case 4: // bytes
			count, err := read([]int{8, 16, 16}[class])
			if err != nil {
				return "", err
			}
			for i := 0; i < count; i++ {
				v, err := read(8)
				if err != nil {
					return "", err
				}
				out.WriteByte(byte(v))
			}
		default:
			return "", fmt.Errorf("qr: mode %04b is not read here", mode)
		}
	}
	return out.String(), nil
}
