package admin

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/adgang/adgang/store"
)

// FuzzCSVReader feeds arbitrary bytes after the header to the import
// parser: it never panics, numbers the rows from 2 on in increasing order
// (a comment line is a row too, see isCommentLine), gives
// every good row exactly 15 valid UTF-8 cells, and never puts a cell's
// text (here: a CPR number in the input) into a row's error. A record
// written with encoding/csv's writer reads back unchanged.
func FuzzCSVReader(f *testing.F) {
	for _, s := range []string{
		";;;Anna;Ø;a@example.dk;;;;;;;;da;\r\n",
		"\"x;y\";0101901234;;;;;;;;;;;;;\n;;;\n",
		"\"unterminated;;;;;;;;;;;;;;\n",
		"a\"b;;;;;;;;;;;;;;\r\n\xff\xfe;;;;;;;;;;;;;;\n",
		";;;Åse;Æbelø;;;;;;;;;;\"Begrundelse\r\nmed linjeskift\"\n",
		"010190-1234;;;;;;;;;;;;;;;;\n",
	} {
		f.Add([]byte(s), "Ærø æøå 0101901234")
	}
	f.Fuzz(func(t *testing.T, body []byte, cell string) {
		// 1. Arbitrary rows after a good header.
		file := append([]byte(utf8BOM+strings.Join(csvColumns[:], ";")+"\r\n"), body...)
		cr, err := newCSVReader(bytes.NewReader(file))
		if err != nil {
			t.Fatalf("a good header was refused: %v", err)
		}
		cprs := cprCandidates(string(body))
		want := 2
		for n := 0; ; n++ {
			if n > len(body)+1 {
				t.Fatalf("more rows than bytes: the reader does not advance")
			}
			row, err := cr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("reading from memory failed: %v", err)
			}
			if row.Row < want {
				t.Fatalf("row numbered %d, want at least %d", row.Row, want)
			}
			want = row.Row + 1
			if row.Err != nil {
				for _, c := range cprs {
					if strings.Contains(row.Err.Error(), c) {
						t.Fatalf("row %d: the error echoes input %q: %v", row.Row, c, row.Err)
					}
				}
				continue
			}
			if len(row.Fields) != csvColumnCount {
				t.Fatalf("row %d: %d cells accepted", row.Row, len(row.Fields))
			}
			for i, c := range row.Fields {
				if !utf8.ValidString(c) {
					t.Fatalf("row %d: %s is not valid UTF-8", row.Row, csvColumns[i])
				}
			}
		}

		// 2. Round trip: a record of 15 cells built from cell, written by
		// encoding/csv (which quotes ';', '"' and line ends), reads back
		// as written. A lone CR inside a cell is normalised by any CSV
		// reader, and invalid UTF-8 is refused, so those are left out.
		if !utf8.ValidString(cell) || strings.Contains(cell, "\r") {
			return
		}
		rec := make([]string, csvColumnCount)
		for i := range rec {
			rec[i] = cell
			if i%3 == 1 {
				rec[i] = cell + ";" + cell
			}
		}
		if rec[0] == "" { // a record of empty cells is an empty line, which CSV skips
			rec[0] = "x"
		}
		var buf bytes.Buffer
		buf.WriteString(csvTemplate())
		w := csv.NewWriter(&buf)
		w.Comma, w.UseCRLF = ';', len(cell)%2 == 0
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		cr, err = newCSVReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		row, err := cr.Next()
		if err != nil || row.Err != nil {
			t.Fatalf("round trip of %q: %v %v", cell, err, row.Err)
		}
		for i := range rec {
			if row.Fields[i] != rec[i] {
				t.Fatalf("round trip: %s is %q, want %q", csvColumns[i], row.Fields[i], rec[i])
			}
		}
		if _, err := cr.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("round trip: a second row: %v", err)
		}
	})
}

// cprCandidates returns the CPR numbers ParseCPR accepts in s, as written.
func cprCandidates(s string) []string {
	var out []string
	for i := 0; i+10 <= len(s); i++ {
		for _, n := range []int{10, 11} {
			if i+n <= len(s) {
				if _, err := store.ParseCPR(s[i : i+n]); err == nil {
					out = append(out, strings.TrimSpace(s[i:i+n]))
				}
			}
		}
	}
	return out
}
