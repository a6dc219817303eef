package openziti

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

type zqlQuery struct {
	where zqlExpr // nil: everything
	sort  []zqlSort
	skip  *int
	limit *int
}

type zqlSort struct {
	field string
	desc  bool
}

type zqlExpr interface{ isExpr() }

type zqlAnd struct{ l, r zqlExpr }
type zqlOr struct{ l, r zqlExpr }
type zqlNot struct{ x zqlExpr }
type zqlBool bool
type zqlCmp struct {
	field string
	op    string // "=", "!=", "<", "<=", ">", ">=", "contains", "icontains", "not contains", "in", "not in"
	value any    // string, float64, bool, nil, time.Time, []any
}

func (zqlAnd) isExpr()  {}
func (zqlOr) isExpr()   {}
func (zqlNot) isExpr()  {}
func (zqlBool) isExpr() {}
func (zqlCmp) isExpr()  {}

type zqlParser struct {
	s   string
	pos int
}

// parseZitiQL parses a filter.
func parseZitiQL(s string) (*zqlQuery, error) {
	p := &zqlParser{s: s}
	q := &zqlQuery{}
	p.ws()
	if !p.atKeyword("sort") && !p.atKeyword("skip") && !p.atKeyword("limit") && !p.eof() {
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		q.where = e
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
			s := zqlSort{field: f}
			if p.keyword("desc") {
				s.desc = true
			} else {
				p.keyword("asc")
			}
			q.sort = append(q.sort, s)
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
		q.skip = &n
	}
	if p.keyword("limit") {
		n, err := p.int()
		if err != nil {
			return nil, err
		}
		q.limit = &n
	}
	p.ws()
	if !p.eof() {
		return nil, p.errorf("unexpected %q", p.rest())
	}
	return q, nil
}

func (p *zqlParser) errorf(format string, args ...any) error {
	return fmt.Errorf("zitiql at %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *zqlParser) eof() bool    { return p.pos >= len(p.s) }
func (p *zqlParser) rest() string { return p.s[p.pos:] }

func (p *zqlParser) ws() {
	for !p.eof() && strings.ContainsRune(" \t\r\n", rune(p.s[p.pos])) {
		p.pos++
	}
}

func (p *zqlParser) lit(s string) bool {
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

func (p *zqlParser) atKeyword(k string) bool {
	save := p.pos
	ok := p.keyword(k)
	p.pos = save
	return ok
}

// keyword consumes a case-insensitive keyword followed by a non-identifier
// character.
func (p *zqlParser) keyword(k string) bool {
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

func (p *zqlParser) ident() string {
	p.ws()
	start := p.pos
	for !p.eof() && isIdentByte(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

func (p *zqlParser) int() (int, error) {
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

func (p *zqlParser) or() (zqlExpr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = zqlOr{l, r}
	}
	return l, nil
}

func (p *zqlParser) and() (zqlExpr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = zqlAnd{l, r}
	}
	return l, nil
}

func (p *zqlParser) unary() (zqlExpr, error) {
	switch {
	case p.keyword("not"):
		x, err := p.unary()
		return zqlNot{x}, err
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
		return zqlBool(true), nil
	case p.keyword("false"):
		return zqlBool(false), nil
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
	return zqlCmp{field: field, op: op, value: v}, nil
}

func (p *zqlParser) value() (any, error) {
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
func (p *zqlParser) str() (string, error) {
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

// zqlRecord resolves a filter symbol for one record; ok is false for a
// symbol the record type doesn't have.
type zqlRecord func(symbol string) (value any, ok bool)

// eval evaluates a filter against a record.
func (q *zqlQuery) eval(rec zqlRecord) (bool, error) {
	if q.where == nil {
		return true, nil
	}
	return evalExpr(q.where, rec)
}

func evalExpr(e zqlExpr, rec zqlRecord) (bool, error) {
	switch e := e.(type) {
	case zqlBool:
		return bool(e), nil
	case zqlNot:
		v, err := evalExpr(e.x, rec)
		return !v, err
	case zqlAnd:
		l, err := evalExpr(e.l, rec)
		if err != nil || !l {
			return false, err
		}
		return evalExpr(e.r, rec)
	case zqlOr:
		l, err := evalExpr(e.l, rec)
		if err != nil || l {
			return l, err
		}
		return evalExpr(e.r, rec)
	case zqlCmp:
		v, ok := rec(e.field)
		if !ok {
			return false, fmt.Errorf("unknown filter symbol %q", e.field)
		}
		return compare(v, e.op, e.value)
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
