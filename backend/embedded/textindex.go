package embedded

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"unicode/utf8"
)

// The text filter (a literal substring of the lower-cased name or email)
// is answered by two structures the schema keeps beside the identities
// (migration 5):
//
//   - identities_text, an FTS5 table with the trigram tokenizer over
//     name_fold and email_fold (external content: it holds the index, not
//     the text). A phrase query of three or more characters finds exactly
//     the rows holding that substring in either column, without reading
//     the others. Triggers keep it up to date as identities are written.
//   - identity_grams, how many identities of a network hold each one- and
//     two-character substring (in the name or the email, counted once),
//     kept by the code that inserts identities (gramCounter). Filters too
//     short for trigrams are counted there when nothing else narrows the
//     list; their page is then read in order from an index, which stops
//     once the page is full.
//
// Names and emails never change once made and identities are never
// deleted, so the counts only grow; the triggers for delete and update
// keep the trigram index right if that ever changes.

// textFilter is a list's text filter, folded as the stored text is.
type textFilter struct {
	fold   string // strings.ToLower of the filter
	phrase string // the FTS5 query for fold, or "" when the index can't answer it
	gram   bool   // fold is one or two characters: identity_grams counts it
}

func newTextFilter(filter string) textFilter {
	t := textFilter{fold: strings.ToLower(filter)}
	if !utf8.ValidString(t.fold) || strings.ContainsRune(t.fold, 0) {
		return t // only the scan compares bytes as instr does
	}
	switch n := utf8.RuneCountInString(t.fold); {
	case n >= 3:
		t.phrase = `"` + strings.ReplaceAll(t.fold, `"`, `""`) + `"`
	case n > 0:
		t.gram = true
	}
	return t
}

// scanCond is the filter as a condition each row is checked against.
func (t textFilter) scanCond() (string, []any) {
	return ` AND (instr(name_fold, ?) > 0 OR instr(email_fold, ?) > 0)`, []any{t.fold, t.fold}
}

// indexCond is the filter as the set of rows the trigram index gives.
func (t textFilter) indexCond() (string, []any) {
	return ` AND rowid IN (SELECT rowid FROM identities_text WHERE identities_text MATCH ?)`, []any{t.phrase}
}

// grams returns the distinct one- and two-character substrings of the
// texts, each once however often it occurs.
func grams(texts ...string) map[string]struct{} {
	out := make(map[string]struct{}, 64)
	addGrams(out, texts...)
	return out
}

// addGrams adds the texts' one- and two-character substrings to set.
func addGrams(set map[string]struct{}, texts ...string) {
	for _, s := range texts {
		prev := -1 // where the previous character starts
		for i := 0; i < len(s); {
			_, n := utf8.DecodeRuneInString(s[i:])
			set[s[i:i+n]] = struct{}{}
			if prev >= 0 {
				set[s[prev:i+n]] = struct{}{}
			}
			prev, i = i, i+n
		}
	}
}

// gramCounter adds up the grams of identities being inserted into one
// network, to be written once with flush.
type gramCounter struct {
	network string
	counts  map[string]int
	one     map[string]struct{} // one identity's grams, reused
}

func newGramCounter(network string) *gramCounter {
	return &gramCounter{network: network, counts: make(map[string]int, 2048), one: make(map[string]struct{}, 64)}
}

// add counts one identity's folded name and email.
func (g *gramCounter) add(nameFold, emailFold string) {
	clear(g.one)
	addGrams(g.one, nameFold, emailFold)
	for k := range g.one {
		g.counts[k]++
	}
}

// flush adds the counts to identity_grams in tx and starts again.
func (g *gramCounter) flush(ctx context.Context, tx *sql.Tx) error {
	if len(g.counts) == 0 {
		return nil
	}
	up, err := tx.PrepareContext(ctx, `INSERT INTO identity_grams (network_id, gram, identities) VALUES (?, ?, ?)
		ON CONFLICT (network_id, gram) DO UPDATE SET identities = identities + excluded.identities`)
	if err != nil {
		return err
	}
	defer up.Close()
	for k, n := range g.counts {
		if _, err := up.ExecContext(ctx, g.network, k, n); err != nil {
			return err
		}
	}
	clear(g.counts)
	return nil
}

// fillTextIndex builds both structures anew from the identities there
// (migration 5).
func fillTextIndex(ctx context.Context, tx *sql.Tx) error {
	for _, q := range []string{`INSERT INTO identities_text(identities_text) VALUES ('rebuild')`, `DELETE FROM identity_grams`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT network_id, name_fold, email_fold FROM identities ORDER BY network_id`)
	if err != nil {
		return err
	}
	counters := map[string]*gramCounter{}
	for rows.Next() {
		var network, name, email string
		if err := rows.Scan(&network, &name, &email); err != nil {
			rows.Close()
			return err
		}
		g := counters[network]
		if g == nil {
			g = newGramCounter(network)
			counters[network] = g
		}
		g.add(name, email)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, g := range counters {
		if err := g.flush(ctx, tx); err != nil {
			return err
		}
	}
	return nil
}

// textCounts keeps, for as long as the trigram index is unchanged, what
// was learnt about text filters: how many identities hold each phrase,
// and where the first identity matching a filter is in a network's name
// order. Typing a filter again, or paging through one, then costs no
// count, and a page of a filter starts reading the name index at its
// first match, or at the first match of a shorter filter it extends
// (whatever holds "alice" holds "alic"), instead of at the network's
// first name. Counting a phrase of several trigrams compares their
// positions row by row (3.5 ms for "alice" at 1,000,000 identities, most
// of a key's time), and a page of "al" read from the first name passed
// 6,500 names to fill.
//
// The check that the index is unchanged reads one small row: FTS5's
// structure record (rowid 10 of the index's %_data table,
// FTS5_STRUCTURE_ROWID in its source), which lists the index's segments
// and a counter of segment writes. Every transaction that changes the
// index, in this process or another, rewrites it when it adds its changes
// as a new segment, and every identity added or removed changes the
// index. So an unchanged record is an unchanged set of names and emails,
// whoever wrote to the file (names never change, so neither does their
// order); a changed one (a merge included) drops everything kept.
type textCounts struct {
	mu      sync.Mutex
	version []byte            // the structure record what is kept was learnt at
	counts  map[string]int    // by phrase
	first   map[string]nameAt // by network and folded filter: its first match in name order
}

// nameAt is a place in the name order: an identity's name_key and ID.
type nameAt struct{ key, id string }

// maxTextCounts bounds the filters kept: a session types a few dozen.
const maxTextCounts = 256

// textVersion is the trigram index's structure record, as tx sees it (nil
// if the index has none yet).
func textVersion(ctx context.Context, tx *sql.Tx) ([]byte, error) {
	var version []byte
	err := tx.QueryRowContext(ctx, `SELECT block FROM identities_text_data WHERE id = 10`).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return version, err
}

// at makes sure what c keeps was learnt at version, dropping it if not.
// c.mu is held.
func (c *textCounts) at(version []byte) {
	if !bytes.Equal(version, c.version) || len(c.counts)+len(c.first) >= maxTextCounts {
		c.version, c.counts, c.first = version, map[string]int{}, map[string]nameAt{}
	}
}

// phraseCount is how many identities of the file hold the phrase, as tx
// sees them at version.
func (s *Store) phraseCount(ctx context.Context, tx *sql.Tx, version []byte, phrase string) (int, error) {
	c := &s.texts
	if version != nil {
		c.mu.Lock()
		c.at(version)
		n, ok := c.counts[phrase]
		c.mu.Unlock()
		if ok {
			return n, nil
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM identities_text WHERE identities_text MATCH ?`, phrase).Scan(&n); err != nil {
		return 0, err
	}
	if version != nil {
		c.mu.Lock()
		c.at(version)
		c.counts[phrase] = n
		c.mu.Unlock()
	}
	return n, nil
}

// firstMatch is where a page of the filter fold in the network's name
// order can start reading: at its first match if known, else at the
// first match of the longest shorter filter it extends (by a character
// more at either end) that is known; ok is false when nothing is known.
func (s *Store) firstMatch(version []byte, network, fold string) (k nameAt, exact, ok bool) {
	if version == nil {
		return nameAt{}, false, false
	}
	c := &s.texts
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at(version)
	if k, ok := c.first[network+"\x00"+fold]; ok {
		return k, true, true
	}
	for sub := fold; sub != ""; {
		_, head := utf8.DecodeRuneInString(sub)
		_, tail := utf8.DecodeLastRuneInString(sub)
		for _, shorter := range []string{sub[:len(sub)-tail], sub[head:]} {
			if k, ok := c.first[network+"\x00"+shorter]; ok && shorter != "" {
				return k, false, true
			}
		}
		sub = sub[:len(sub)-tail]
	}
	return nameAt{}, false, false
}

// learnFirst keeps the filter's first match in the network's name order.
func (s *Store) learnFirst(version []byte, network, fold string, k nameAt) {
	if version == nil {
		return
	}
	c := &s.texts
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at(version)
	c.first[network+"\x00"+fold] = k
}
