package admin

import (
	"bufio"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/adgang/adgang/store"
)

// The bulk CSV format (SPEC §5, MitID Erhverv style): semicolon-separated,
// UTF-8 with or without a byte order mark, a header row and exactly these
// 15 columns in this order.
var csvColumns = [...]string{
	"UUID", "CPR-nummer", "Fødselsdato", "Fornavn", "Efternavn", "E-mail", "Telefon", "Brugernavn",
	"P-nummer", "SE-nummer", "Anonym", "Identifikationsmidler", "Rettigheder", "Sprog", "Begrundelse",
}

// Column positions in csvColumns.
const (
	colUUID = iota
	colCPR
	colBirthDate
	colFirstName
	colLastName
	colEmail
	colPhone
	colUsername
	colPNumber
	colSENumber
	colAnonymous
	colMeans
	colRights
	colLanguage
	colJustification
	csvColumnCount
)

// utf8BOM is the byte order mark a spreadsheet puts before UTF-8 text.
const utf8BOM = "\uFEFF"

// csvTemplate is the empty import template: the BOM, the header line and
// a comment line (skipped on import) saying what each cell takes.
func csvTemplate() string {
	return utf8BOM + strings.Join(csvColumns[:], ";") + "\r\n" + csvFormats + "\r\n"
}

// csvRow is one data record of an import file. Row is its record number
// counting the header as row 1, so the first data row is row 2, as in a
// spreadsheet. Err is set (and Fields may be incomplete) when the record
// is malformed: a wrong column count, bad quoting or invalid UTF-8. Err
// never holds a cell's value, so it cannot echo a CPR number.
type csvRow struct {
	Row    int
	Fields []string
	Err    error
}

// csvReader streams the data rows of an import file with encoding/csv
// (Comma ';', strict quoting, the column count checked per row), so a
// file of any size is read in bounded memory: one record at a time.
type csvReader struct {
	r   *csv.Reader
	row int // records read, the header and comment lines included

	cp1252 bool // the file is Windows-1252 (its header is not UTF-8)
}

// errBadHeader is the answer to a file whose first row is not the header.
var errBadHeader = invalid("the first row must be the header %s", strings.Join(csvColumns[:], ";"))

// newCSVReader strips an optional BOM and reads and checks the header
// row. A file without a header, or with another header, is refused as a
// whole: without it no row can be read with certainty.
func newCSVReader(r io.Reader) (*csvReader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if b, err := br.Peek(len(utf8BOM)); err == nil && string(b) == utf8BOM {
		_, _ = br.Discard(len(utf8BOM))
	} else if b, _ := br.Peek(2); isUTF16(b) {
		return nil, errUTF16
	}
	cr := csv.NewReader(br)
	cr.Comma = ';'
	cr.FieldsPerRecord = csvColumnCount
	cr.LazyQuotes = false
	cr.ReuseRecord = false
	c := &csvReader{r: cr}
	head, err := cr.Read()
	c.row = 1
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, invalid("the file is empty: the header row is missing")
		}
		if isBodyLimit(err) {
			return nil, err
		}
		if !errors.Is(err, csv.ErrFieldCount) {
			return nil, errBadHeader
		}
	}
	if len(head) != csvColumnCount {
		return nil, errBadHeader
	}
	if !recordIsUTF8(head) {
		c.cp1252 = true // Excel's "CSV (semikolonsepareret)"
		decodeWindows1252(head)
	}
	for i, h := range head {
		if strings.TrimSpace(h) != csvColumns[i] {
			return nil, errBadHeader
		}
	}
	return c, nil
}

// Next returns the next data row, or io.EOF after the last one. Errors
// of the underlying reader (the request body, e.g. its size limit) are
// returned as errors; a malformed record is a row with Err set.
func (c *csvReader) Next() (csvRow, error) {
	rec, err := c.r.Read()
	for isCommentLine(rec, err) { // the template's format line: a row, skipped
		c.row++
		rec, err = c.r.Read()
	}
	if errors.Is(err, io.EOF) {
		return csvRow{}, io.EOF
	}
	c.row++
	row := csvRow{Row: c.row, Fields: rec}
	if c.cp1252 {
		decodeWindows1252(rec)
	}
	var pe *csv.ParseError
	switch {
	case err == nil:
	case errors.As(err, &pe):
		row.Err = csvParseError(pe)
	default:
		return csvRow{}, err
	}
	if row.Err == nil {
		for i, f := range rec {
			if !utf8.ValidString(f) {
				row.Err = invalid("%s: the text is not valid UTF-8; save the file as \"CSV UTF-8 (kommasepareret)\" or, all of it, as Windows-1252 (\"CSV (semikolonsepareret)\")", csvColumns[i])
				break
			}
		}
	}
	return row, nil
}

// csvParseError describes a malformed record by kind and position only.
func csvParseError(pe *csv.ParseError) error {
	switch {
	case errors.Is(pe.Err, csv.ErrFieldCount):
		return invalid("wrong column count: every row must have exactly %d columns separated by ';'", csvColumnCount)
	case errors.Is(pe.Err, csv.ErrQuote), errors.Is(pe.Err, csv.ErrBareQuote):
		return invalid("bad quoting at line %d, column %d: a quoted cell must start and end with \" and a \" inside it must be doubled", pe.Line, pe.Column)
	}
	return invalid("malformed row at line %d", pe.Line)
}

// isBodyLimit reports whether err is the request body size limit.
func isBodyLimit(err error) bool {
	return errors.Is(err, errBodyLimit)
}

// splitList splits a comma-separated cell into its trimmed, non-empty,
// distinct items, in order.
func splitList(cell string) []string {
	var out []string
	for _, s := range strings.Split(cell, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		dup := false
		for _, o := range out {
			if o == s {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, s)
		}
	}
	return out
}

// parseAnonymous reads the Anonym cell: ja/nej, true/false, 1/0 or empty
// (no).
func parseAnonymous(cell string) (value, set bool, err error) {
	switch strings.ToLower(strings.TrimSpace(cell)) {
	case "":
		return false, false, nil
	case "ja", "true", "1":
		return true, true, nil
	case "nej", "false", "0":
		return false, true, nil
	}
	return false, false, invalid("Anonym must be ja, nej, true, false, 1, 0 or empty")
}

// parseBirthDate reads the Fødselsdato cell, YYYY-MM-DD or DD-MM-YYYY
// (also with '.' or '/'), and returns it as YYYY-MM-DD.
func parseBirthDate(cell string) (string, error) {
	d := strings.TrimSpace(cell)
	if d == "" {
		return "", nil
	}
	bad := invalid("Fødselsdato must be a date YYYY-MM-DD or DD-MM-YYYY")
	if len(d) != 10 {
		return "", bad
	}
	if d[4] == '-' && d[7] == '-' {
		if err := validBirthDate(d); err != nil {
			return "", bad
		}
		return d, nil
	}
	sep := d[2]
	if (sep != '-' && sep != '.' && sep != '/') || d[5] != sep {
		return "", bad
	}
	iso := d[6:10] + "-" + d[3:5] + "-" + d[0:2]
	if err := validBirthDate(iso); err != nil {
		return "", bad
	}
	return iso, nil
}

// cellErr names the column of a validation error; the value is never
// repeated.
func cellErr(col int, err error) error {
	msg := "invalid value"
	var se *store.Error
	if errors.As(err, &se) {
		msg = se.Message
	}
	if strings.HasPrefix(msg, csvColumns[col]) {
		return invalid("%s", msg)
	}
	return invalid("%s: %s", csvColumns[col], msg)
}

// trimRecord trims the spaces around every cell (spreadsheets pad them).
func trimRecord(rec []string) {
	for i := range rec {
		rec[i] = strings.TrimSpace(rec[i])
	}
}

// isCommentLine reports whether a record is a comment line: a single cell
// (no ';') that starts with '#', as the template's format line. A row of
// 15 cells is data whatever its first cell holds.
func isCommentLine(rec []string, err error) bool {
	return errors.Is(err, csv.ErrFieldCount) && len(rec) == 1 && strings.HasPrefix(rec[0], "#")
}
