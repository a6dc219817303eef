package zitifake

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file is the fake controller's ZitiQL: enough of the controller's
// filter language (storage/zitiql's ZitiQl.g4) to run what idcon sends and
// to parse its string literals exactly as the grammar does, so that the
// tests catch a quoting mistake instead of sharing it.
//
//	query     : boolExpr? sortBy? skip? limit?
//	boolExpr  : orExpr ; orExpr : andExpr (OR andExpr)* ; andExpr : unary (AND unary)*
//	unary     : NOT unary | '(' boolExpr ')' | BOOL | operation
//	operation : IDENT op value
//	op        : = != < <= > >= contains icontains "not contains" in "not in"
//	value     : STRING | NUMBER | BOOL | NULL | datetime(RFC3339) | '[' value (',' value)* ']'
//	STRING    : '"' (ESC | SAFECODEPOINT)* '"'   ESC: \" \\ \f \n \r \t   SAFECODEPOINT: not " \ U+0000..U+001F

// Query is a parsed filter: where it keeps, how it sorts, how many it
// skips and returns.
type Query struct {
	Where Expr // nil: everything
	Sort  []SortKey
	Skip  *int
	Limit *int
}

// SortKey is one field of a SORT BY clause.
type SortKey struct {
	Field string
	Desc  bool
}

// Expr is a boolean expression: And, Or, Not, Bool or Cmp.
type Expr interface{ isExpr() }

// And, Or, Not and Bool are the boolean operators and literals.
type (
	And  struct{ L, R Expr }
	Or   struct{ L, R Expr }
	Not  struct{ X Expr }
	Bool bool
)

// Cmp is one comparison of a field with a value.
type Cmp struct {
	Field string
	Op    string // "=", "!=", "<", "<=", ">", ">=", "contains", "icontains", "not contains", "in", "not in"
	Value any    // string, float64, bool, nil, time.Time, []any
}

func (And) isExpr()  {}
func (Or) isExpr()   {}
func (Not) isExpr()  {}
func (Bool) isExpr() {}
func (Cmp) isExpr()  {}

type parser struct {
	s   string
	pos int
}

// ParseQuery parses a filter as the controller's grammar does.
func ParseQuery(s string) (*Query, error) {
	p := &parser{s: s}
	q := &Query{}
	p.ws()
	if !p.atKeyword("sort") && !p.atKeyword("skip") && !p.atKeyword("limit") && !p.eof() {
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		q.Where = e
	}
	p.ws()
	if p.keyword("sort") {
		if !p.keyword("by") {
			return nil, p.errorf("expected BY after SORT")
		}
		for {
			f := p.ident()
			if f == "" {
				return nil, p.errorf("expected a sort field")
			}
			s := SortKey{Field: f}
			if p.keyword("desc") {
				s.Desc = true
			} else {
				p.keyword("asc")
			}
			q.Sort = append(q.Sort, s)
			p.ws()
			if !p.lit(",") {
				break
			}
		}
	}
	if p.keyword("skip") {
		n, err := p.int()
		if err != nil {
			return nil, err
		}
		q.Skip = &n
	}
	if p.keyword("limit") {
		n, err := p.int()
		if err != nil {
			return nil, err
		}
		q.Limit = &n
	}
	p.ws()
	if !p.eof() {
		return nil, p.errorf("unexpected %q", p.rest())
	}
	return q, nil
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("zitiql at %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *parser) eof() bool    { return p.pos >= len(p.s) }
func (p *parser) rest() string { return p.s[p.pos:] }

func (p *parser) ws() {
	for !p.eof() && strings.ContainsRune(" \t\r\n", rune(p.s[p.pos])) {
		p.pos++
	}
}

func (p *parser) lit(s string) bool {
	p.ws()
	if strings.HasPrefix(p.rest(), s) {
		p.pos += len(s)
		return true
	}
	return false
}

func isIdentByte(b byte) bool {
	return b == '_' || b == '.' || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')
}

func (p *parser) atKeyword(k string) bool {
	save := p.pos
	ok := p.keyword(k)
	p.pos = save
	return ok
}

// keyword consumes a case-insensitive keyword followed by a non-identifier
// character.
func (p *parser) keyword(k string) bool {
	p.ws()
	r := p.rest()
	if len(r) < len(k) || !strings.EqualFold(r[:len(k)], k) {
		return false
	}
	if len(r) > len(k) && isIdentByte(r[len(k)]) {
		return false
	}
	p.pos += len(k)
	return true
}

func (p *parser) ident() string {
	p.ws()
	start := p.pos
	for !p.eof() && isIdentByte(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

func (p *parser) int() (int, error) {
	p.ws()
	start := p.pos
	for !p.eof() && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
		p.pos++
	}
	n, err := strconv.Atoi(p.s[start:p.pos])
	if err != nil {
		return 0, p.errorf("expected a number")
	}
	return n, nil
}

func (p *parser) or() (Expr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = Or{l, r}
	}
	return l, nil
}

func (p *parser) and() (Expr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = And{l, r}
	}
	return l, nil
}

func (p *parser) unary() (Expr, error) {
	switch {
	case p.keyword("not"):
		x, err := p.unary()
		return Not{x}, err
	case p.lit("("):
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.lit(")") {
			return nil, p.errorf("expected )")
		}
		return x, nil
	case p.keyword("true"):
		return Bool(true), nil
	case p.keyword("false"):
		return Bool(false), nil
	}
	field := p.ident()
	if field == "" {
		return nil, p.errorf("expected an expression, found %q", p.rest())
	}
	var op string
	switch {
	case p.lit("!="):
		op = "!="
	case p.lit("<="):
		op = "<="
	case p.lit(">="):
		op = ">="
	case p.lit("="):
		op = "="
	case p.lit("<"):
		op = "<"
	case p.lit(">"):
		op = ">"
	case p.keyword("icontains"):
		op = "icontains"
	case p.keyword("contains"):
		op = "contains"
	case p.keyword("in"):
		op = "in"
	case p.keyword("not"):
		switch {
		case p.keyword("contains"):
			op = "not contains"
		case p.keyword("in"):
			op = "not in"
		default:
			return nil, p.errorf("expected CONTAINS or IN after NOT")
		}
	default:
		return nil, p.errorf("expected an operator after %s", field)
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	if _, isList := v.([]any); isList != (op == "in" || op == "not in") {
		return nil, p.errorf("%s takes %s", op, map[bool]string{true: "a list", false: "a single value"}[op == "in" || op == "not in"])
	}
	return Cmp{Field: field, Op: op, Value: v}, nil
}

func (p *parser) value() (any, error) {
	p.ws()
	switch {
	case p.lit("["):
		var list []any
		for {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			list = append(list, v)
			if p.lit("]") {
				return list, nil
			}
			if !p.lit(",") {
				return nil, p.errorf("expected , or ] in a list")
			}
		}
	case strings.HasPrefix(p.rest(), `"`):
		return p.str()
	case p.keyword("true"):
		return true, nil
	case p.keyword("false"):
		return false, nil
	case p.keyword("null"):
		return nil, nil
	case p.lit("datetime("):
		end := strings.IndexByte(p.rest(), ')')
		if end < 0 {
			return nil, p.errorf("unclosed datetime(")
		}
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(p.rest()[:end]))
		if err != nil {
			return nil, p.errorf("bad datetime: %v", err)
		}
		p.pos += end + 1
		return t, nil
	}
	start := p.pos
	for !p.eof() && strings.IndexByte("-+.eE0123456789", p.s[p.pos]) >= 0 {
		p.pos++
	}
	f, err := strconv.ParseFloat(p.s[start:p.pos], 64)
	if err != nil {
		return nil, p.errorf("expected a value, found %q", p.s[start:])
	}
	return f, nil
}

// str parses a STRING token exactly as the grammar defines it.
func (p *parser) str() (string, error) {
	p.pos++ // the opening quote
	var b strings.Builder
	for {
		if p.eof() {
			return "", p.errorf("unterminated string")
		}
		r, size := utf8.DecodeRuneInString(p.rest())
		if r == utf8.RuneError && size == 1 {
			return "", p.errorf("invalid UTF-8 in a string")
		}
		p.pos += size
		switch {
		case r == '"':
			return b.String(), nil
		case r == '\\':
			if p.eof() {
				return "", p.errorf("unterminated escape")
			}
			e := p.s[p.pos]
			p.pos++
			switch e {
			case '"', '\\':
				b.WriteByte(e)
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			default:
				return "", p.errorf("unknown escape \\%c", e)
			}
		case r < 0x20:
			return "", p.errorf("raw control character %U in a string", r)
		default:
			b.WriteRune(r)
		}
	}
}

// Record resolves a filter symbol for one record; ok is false for a
// symbol the record type doesn't have.
type Record func(symbol string) (value any, ok bool)

// Eval evaluates the filter against a record.
func (q *Query) Eval(rec Record) (bool, error) {
	if q.Where == nil {
		return true, nil
	}
	return evalExpr(q.Where, rec)
}

func evalExpr(e Expr, rec Record) (bool, error) {
	switch e := e.(type) {
	case Bool:
		return bool(e), nil
	case Not:
		v, err := evalExpr(e.X, rec)
		return !v, err
	case And:
		l, err := evalExpr(e.L, rec)
		if err != nil || !l {
			return false, err
		}
		return evalExpr(e.R, rec)
	case Or:
		l, err := evalExpr(e.L, rec)
		if err != nil || l {
			return l, err
		}
		return evalExpr(e.R, rec)
	case Cmp:
		v, ok := rec(e.Field)
		if !ok {
			return false, fmt.Errorf("unknown filter symbol %q", e.Field)
		}
		return compare(v, e.Op, e.Value)
	}
	return false, fmt.Errorf("unknown expression %T", e)
}

func compare(have any, op string, want any) (bool, error) {
	switch op {
	case "in", "not in":
		found := false
		for _, w := range want.([]any) {
			if eq, _ := compare(have, "=", w); eq {
				found = true
			}
		}
		return found == (op == "in"), nil
	case "contains", "icontains", "not contains":
		hs, ok1 := have.(string)
		ws, ok2 := want.(string)
		if have == nil {
			return op == "not contains", nil
		}
		if !ok1 || !ok2 {
			return false, fmt.Errorf("%s needs strings", op)
		}
		if op == "icontains" {
			return strings.Contains(strings.ToLower(hs), strings.ToLower(ws)), nil
		}
		return strings.Contains(hs, ws) == (op == "contains"), nil
	}
	var c int
	switch h := have.(type) {
	case nil:
		return (want == nil) == (op == "="), nil
	case string:
		w, ok := want.(string)
		if !ok {
			return false, fmt.Errorf("compare a string with %T", want)
		}
		c = strings.Compare(h, w)
	case bool:
		w, ok := want.(bool)
		if !ok || (op != "=" && op != "!=") {
			return false, fmt.Errorf("compare a bool with %T using %s", want, op)
		}
		return (h == w) == (op == "="), nil
	case time.Time:
		w, ok := want.(time.Time)
		if !ok {
			return false, fmt.Errorf("compare a time with %T", want)
		}
		c = h.Compare(w)
	default:
		return false, fmt.Errorf("can't compare %T", have)
	}
	switch op {
	case "=":
		return c == 0, nil
	case "!=":
		return c != 0, nil
	case "<":
		return c < 0, nil
	case "<=":
		return c <= 0, nil
	case ">":
		return c > 0, nil
	case ">=":
		return c >= 0, nil
	}
	return false, fmt.Errorf("unknown operator %s", op)
}

// compareSymbol orders two records by one symbol's values.
func compareSymbol(a, b any) int {
	switch x := a.(type) {
	case string:
		y, _ := b.(string)
		return strings.Compare(x, y)
	case time.Time:
		y, _ := b.(time.Time)
		return x.Compare(y)
	}
	return 0
}
