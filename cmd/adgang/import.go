package main

import (
	"context"
	"errors"
	"io"
)

// STUB — owned by the CSV import work (issue 5); replace wholesale.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("adgang import: not implemented yet")
}
