package mjson

import "strconv"

// number parses the number at in[pos] and appends its canonical encoding.
//
// Grammar (RFC 8259): [ "-" ] ( "0" / 1-9 *DIGIT ) [ "." 1*DIGIT ]
// [ ( "e" / "E" ) [ "+" / "-" ] 1*DIGIT ].
func (p *parser) number() error {
	in := p.in
	start := p.pos
	i := start
	neg := false
	if in[i] == '-' {
		neg = true
		i++
	}
	intStart := i
	switch {
	case i < len(in) && in[i] == '0':
		i++
	case i < len(in) && in[i] >= '1' && in[i] <= '9':
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
	default:
		return p.fail(ErrSyntax, start, "invalid number")
	}
	intEnd := i
	fracStart, fracEnd := i, i
	if i < len(in) && in[i] == '.' {
		i++
		fracStart = i
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
		if i == fracStart {
			return p.fail(ErrSyntax, start, "invalid number: no digits after '.'")
		}
		fracEnd = i
	}
	hasExp := false
	expStart := i
	if i < len(in) && (in[i] == 'e' || in[i] == 'E') {
		hasExp = true
		i++
		if i < len(in) && (in[i] == '+' || in[i] == '-') {
			i++
		}
		expStart = i
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
		if i == expStart {
			return p.fail(ErrSyntax, start, "invalid number: no digits in exponent")
		}
	}
	p.pos = i
	raw := in[start:i]
	isFloat := hasExp || fracEnd > fracStart
	if p.strict {
		switch {
		case isFloat:
			return p.fail(ErrFloat, start, string(raw))
		case neg && intEnd-intStart == 1 && in[intStart] == '0':
			return p.fail(ErrNegativeZero, start, "")
		case !safeInteger(in[intStart:intEnd]):
			return p.fail(ErrNumberOutOfRange, start, string(raw))
		}
		p.out = append(p.out, raw...)
		return nil
	}
	return p.lenientNumber(raw, neg, in[intStart:intEnd], in[fracStart:fracEnd], hasExp, in[expStart-1:i])
}

// safeInteger reports whether the decimal digits (no sign, no leading zeros)
// are at most MaxSafeInteger.
func safeInteger(digits []byte) bool {
	if len(digits) < 16 {
		return true
	}
	if len(digits) > 16 {
		return false
	}
	v, err := strconv.ParseUint(string(digits), 10, 64)
	return err == nil && v <= MaxSafeInteger
}

// lenientNumber appends a number accepted under CanonicalLenient. exp holds the
// exponent including its sign character if any (it may start with 'e'/'E'
// when there is no sign; only digits and signs are inspected).
func (p *parser) lenientNumber(raw []byte, neg bool, intPart, frac []byte, hasExp bool, exp []byte) error {
	if neg && len(raw) == 2 && raw[1] == '0' {
		// The specification's example canonicalizes -0 to 0.
		p.out = append(p.out, '0')
		return nil
	}
	if hasExp {
		if v, ok := exponentInteger(intPart, frac, exp); ok {
			if neg && v != 0 {
				p.out = append(p.out, '-')
			}
			p.out = strconv.AppendUint(p.out, v, 10)
			return nil
		}
	}
	// NOTSPEC: non-integer numbers and integers outside the canonical range have
	// no canonical encoding; for room versions 1-5 they are kept as written,
	// which is what the servers that created such events hashed and signed.
	p.out = append(p.out, raw...)
	return nil
}

// exponentInteger computes the magnitude of intPart.frac × 10^exp and reports
// whether it is an integer no greater than MaxSafeInteger.
func exponentInteger(intPart, frac, exp []byte) (uint64, bool) {
	// Exponent, saturated: anything beyond ±10000 is far outside the range.
	expNeg := false
	e := 0
	for _, c := range exp {
		switch {
		case c == '-':
			expNeg = true
		case c >= '0' && c <= '9':
			if e < 10000 {
				e = e*10 + int(c-'0')
			}
		}
	}
	if expNeg {
		e = -e
	}
	// Significant digits of the mantissa and the power of ten they scale by.
	digits := make([]byte, 0, len(intPart)+len(frac))
	digits = append(digits, intPart...)
	digits = append(digits, frac...)
	e -= len(frac)
	for len(digits) > 0 && digits[0] == '0' {
		digits = digits[1:]
	}
	if len(digits) == 0 {
		return 0, true
	}
	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		e++
	}
	if e < 0 || len(digits)+e > 16 {
		return 0, false
	}
	var v uint64
	for _, c := range digits {
		v = v*10 + uint64(c-'0')
	}
	for ; e > 0; e-- {
		v *= 10
	}
	return v, v <= MaxSafeInteger
}
