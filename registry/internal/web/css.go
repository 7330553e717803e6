package web

import (
	"bytes"
	"strings"
)

// minifyCSS removes the comments and the spaces that carry no meaning
// from a stylesheet, leaving strings as they are: fewer bytes for every
// first visit. Spaces between words (descendant selectors, "1rem auto",
// "100% - 72rem" in calc) are kept, as one space.
func minifyCSS(src []byte) []byte {
	var b bytes.Buffer
	s := string(src)
	space := false
	const tight = "{};:,>"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				i = len(s)
			} else {
				i += end + 3
			}
			space = true
			continue
		case c == '"' || c == '\'':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				end = len(s) - i - 1
			}
			if space && b.Len() > 0 && !strings.ContainsRune(tight, rune(b.Bytes()[b.Len()-1])) {
				b.WriteByte(' ')
			}
			space = false
			b.WriteString(s[i : i+end+2])
			i += end + 1
			continue
		case c == ' ' || c == '\n' || c == '\t' || c == '\r':
			space = true
			continue
		}
		if space && b.Len() > 0 && !strings.ContainsRune(tight, rune(c)) && !strings.ContainsRune(tight, rune(b.Bytes()[b.Len()-1])) {
			b.WriteByte(' ')
		}
		space = false
		b.WriteByte(c)
	}
	return b.Bytes()
}
