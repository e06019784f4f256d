package dynamocrypto

import (
	"fmt"
	"strings"
)

// The tokens of DynamoDB expressions, and the parser's cursor over them.

type token struct {
	kind byte // 'i' identifier, '#' name, ':' value, 'n' number, 'p' punctuation, 0 end
	text string
}

func lex(s string) ([]token, error) {
	if len(s) > maxExprLen {
		return nil, fmt.Errorf("%w: expression longer than %d bytes", errSyntax, maxExprLen)
	}
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#' || c == ':' || isIdentStart(c):
			j := i + 1
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			kind := c
			if isIdentStart(c) {
				kind = 'i'
			} else if j == i+1 {
				return nil, fmt.Errorf("%w: empty placeholder at offset %d", errSyntax, i)
			}
			toks = append(toks, token{kind, s[i:j]})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			toks = append(toks, token{'n', s[i:j]})
			i = j
		case c == '<' && i+1 < len(s) && (s[i+1] == '>' || s[i+1] == '='), c == '>' && i+1 < len(s) && s[i+1] == '=':
			toks = append(toks, token{'p', s[i : i+2]})
			i += 2
		case strings.IndexByte("()[],.=<>+-", c) >= 0:
			toks = append(toks, token{'p', s[i : i+1]})
			i++
		default:
			return nil, fmt.Errorf("%w: unexpected character %q at offset %d", errSyntax, c, i)
		}
	}
	return toks, nil
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || c >= '0' && c <= '9' }

type parser struct {
	toks  []token
	pos   int
	names map[string]string
	used  map[string]bool // placeholders seen (#names and :values)
}

func newParser(s string, names map[string]string) (*parser, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	return &parser{toks: toks, names: names, used: map[string]bool{}}, nil
}

func (p *parser) peek() token {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return token{}
}

func (p *parser) next() token {
	t := p.peek()
	if p.pos < len(p.toks) {
		p.pos++
	}
	return t
}

func (p *parser) errorf(format string, a ...any) error {
	at := "end of expression"
	if t := p.peek(); t.kind != 0 {
		at = fmt.Sprintf("%q", t.text)
	}
	return fmt.Errorf("%w: %s at %s", errSyntax, fmt.Sprintf(format, a...), at)
}

func (p *parser) isPunct(s string) bool { t := p.peek(); return t.kind == 'p' && t.text == s }
func (p *parser) isKeyword(k string) bool {
	t := p.peek()
	return t.kind == 'i' && strings.EqualFold(t.text, k)
}

func (p *parser) expect(s string) error {
	if !p.isPunct(s) {
		return p.errorf("expected %q", s)
	}
	p.pos++
	return nil
}

func (p *parser) end() error {
	if p.pos != len(p.toks) {
		return p.errorf("unexpected token")
	}
	return nil
}
