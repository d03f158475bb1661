package wasmvm

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
)

// ParseValue reads a value in the text form opa_value_dump writes: JSON,
// plus sets ({a, b} and set()) and objects with non-string keys. It is the
// subset of Rego's term syntax that a value (no variables, no refs) uses,
// read without the full parser.
func ParseValue(text []byte) (*ast.Term, error) {
	p := valueParser{b: text}
	t, err := p.term()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.b) {
		return nil, fmt.Errorf("value: trailing text at %d", p.i)
	}
	return t, nil
}

type valueParser struct {
	b []byte
	i int
}

var errValue = errors.New("value: malformed")

func (p *valueParser) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\n' || p.b[p.i] == '\t' || p.b[p.i] == '\r') {
		p.i++
	}
}

func (p *valueParser) peek() byte {
	p.space()
	if p.i >= len(p.b) {
		return 0
	}
	return p.b[p.i]
}

func (p *valueParser) literal(word string) bool {
	if len(p.b)-p.i >= len(word) && string(p.b[p.i:p.i+len(word)]) == word {
		p.i += len(word)
		return true
	}
	return false
}

func (p *valueParser) term() (*ast.Term, error) {
	switch c := p.peek(); {
	case c == '"':
		return p.str()
	case c == '[':
		p.i++
		var elems []*ast.Term
		if p.peek() == ']' {
			p.i++
			return ast.ArrayTerm(), nil
		}
		for {
			t, err := p.term()
			if err != nil {
				return nil, err
			}
			elems = append(elems, t)
			switch p.peek() {
			case ',':
				p.i++
			case ']':
				p.i++
				return ast.ArrayTerm(elems...), nil
			default:
				return nil, errValue
			}
		}
	case c == '{':
		return p.objectOrSet()
	case c == 's':
		if p.literal("set()") {
			return ast.SetTerm(), nil
		}
	case c == 't':
		if p.literal("true") {
			return ast.InternedTerm(true), nil
		}
	case c == 'f':
		if p.literal("false") {
			return ast.InternedTerm(false), nil
		}
	case c == 'n':
		if p.literal("null") {
			return ast.NullTerm(), nil
		}
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.i
		p.i++
		for p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E' || p.b[p.i] == '+' || p.b[p.i] == '-' || (p.b[p.i] >= '0' && p.b[p.i] <= '9')) {
			p.i++
		}
		return ast.NumberTerm(json.Number(p.b[start:p.i])), nil
	}
	return nil, fmt.Errorf("value: unexpected text at %d", p.i)
}

func (p *valueParser) str() (*ast.Term, error) {
	start := p.i
	p.i++
	plain := true
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case '\\':
			plain = false
			p.i += 2
			continue
		case '"':
			p.i++
			if plain {
				return ast.StringTerm(string(p.b[start+1 : p.i-1])), nil
			}
			var s string
			if err := json.Unmarshal(p.b[start:p.i], &s); err != nil {
				return nil, err
			}
			return ast.StringTerm(s), nil
		}
		p.i++
	}
	return nil, errValue
}

func (p *valueParser) objectOrSet() (*ast.Term, error) {
	p.i++ // {
	if p.peek() == '}' {
		p.i++
		return ast.ObjectTerm(), nil
	}
	first, err := p.term()
	if err != nil {
		return nil, err
	}
	if p.peek() != ':' {
		elems := []*ast.Term{first}
		for {
			switch p.peek() {
			case ',':
				p.i++
				t, err := p.term()
				if err != nil {
					return nil, err
				}
				elems = append(elems, t)
			case '}':
				p.i++
				return ast.SetTerm(elems...), nil
			default:
				return nil, errValue
			}
		}
	}
	var items [][2]*ast.Term
	key := first
	for {
		if p.peek() != ':' {
			return nil, errValue
		}
		p.i++
		v, err := p.term()
		if err != nil {
			return nil, err
		}
		items = append(items, [2]*ast.Term{key, v})
		switch p.peek() {
		case ',':
			p.i++
			if key, err = p.term(); err != nil {
				return nil, err
			}
		case '}':
			p.i++
			return ast.ObjectTerm(items...), nil
		default:
			return nil, errValue
		}
	}
}
