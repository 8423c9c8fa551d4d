package mjson

import "unicode/utf8"

// AppendString appends the canonical JSON encoding of s (a quoted string with
// only '"', '\\' and control characters escaped) to dst. It returns dst
// unextended and a *SyntaxError wrapping ErrInvalidUTF8 if s is not valid
// UTF-8, because such a string has no JSON encoding.
func AppendString(dst []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return dst, &SyntaxError{Err: ErrInvalidUTF8, Offset: i}
			}
			i += size
		}
	}
	p := parser{out: append(dst, '"')}
	run := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		p.out = append(p.out, s[run:i]...)
		p.appendRune(rune(c))
		run = i + 1
	}
	p.out = append(p.out, s[run:]...)
	return append(p.out, '"'), nil
}
