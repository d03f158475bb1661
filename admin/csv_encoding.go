package admin

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// A Danish Excel saves "CSV (semikolonsepareret)" in Windows-1252, not
// UTF-8. The header row names the encoding: its "Fødselsdato" is valid
// UTF-8 in a UTF-8 file and is not in a Windows-1252 one (ø is the single
// byte 0xF8), so a file whose header is not valid UTF-8 is read as
// Windows-1252 throughout.

// errUTF16 refuses a UTF-16 file (Excel's "Unicode-tekst"), with what to do.
var errUTF16 = invalid("the file is UTF-16 (Excel's \"Unicode text\"): save it as \"CSV UTF-8 (kommasepareret)\" or \"CSV (semikolonsepareret)\"")

// isUTF16 reports whether a file starts with a UTF-16 byte order mark.
func isUTF16(b []byte) bool {
	return len(b) >= 2 && (b[0] == 0xFF && b[1] == 0xFE || b[0] == 0xFE && b[1] == 0xFF)
}

// recordIsUTF8 reports whether every cell of a record is valid UTF-8.
func recordIsUTF8(rec []string) bool {
	for _, f := range rec {
		if !utf8.ValidString(f) {
			return false
		}
	}
	return true
}

// decodeWindows1252 turns the cells of a Windows-1252 record into UTF-8.
func decodeWindows1252(rec []string) {
	dec := charmap.Windows1252.NewDecoder()
	for i, f := range rec {
		if isASCII(f) {
			continue
		}
		if s, err := dec.String(f); err == nil {
			rec[i] = s
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// csvFormats is the template's second line: a comment (one cell starting
// with '#', skipped on import; see isCommentLine) saying what each cell
// takes. It holds no ';'.
var csvFormats = "# " + strings.Join([]string{
	"UUID: empty for a new user or the user's UUID",
	"CPR-nummer: 10 digits DDMMYYXXXX (a dash allowed) or empty",
	"Fødselsdato: YYYY-MM-DD or DD-MM-YYYY (also with . or /) or empty",
	"Fornavn, Efternavn: text",
	"E-mail: an address",
	"Telefon, Brugernavn: text or empty",
	"P-nummer: 10 digits or empty",
	"SE-nummer: 8 digits or empty",
	"Anonym: ja/nej, true/false, 1/0 or empty",
	"Identifikationsmidler, Rettigheder: comma-separated, or empty",
	"Sprog: a language code such as da or en, or empty",
	"Begrundelse: text or empty",
	"Encoding: UTF-8 or Windows-1252 (Excel's CSV) - a line that starts with # and has no semicolon is skipped",
}, " | ")
