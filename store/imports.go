package store

import (
	"strings"
)

// PutImport stores an import batch record (L5).
func (tx *Tx) PutImport(b *ImportBatch) error {
	if b.ID == "" || strings.Contains(b.ID, "/") {
		return Errorf(EInvalid, "import id must be non-empty without slashes")
	}
	old, err := tx.GetImport(b.ID)
	if err == nil && old.Org != b.Org {
		if err := tx.del(prefixImportByOrg + old.Org + "/" + old.ID); err != nil {
			return err
		}
	} else if err != nil && !IsNotFound(err) {
		return err
	}
	if err := tx.setJSON(prefixImport+b.ID, b); err != nil {
		return err
	}
	if err := tx.set(prefixImportByOrg+b.Org+"/"+b.ID, nil); err != nil {
		return err
	}
	tx.audit("import.put", b.Org, "", b.ID)
	tx.changed(ChangeImport, opOf(old != nil), b.Org, "", "", b.ID)
	return nil
}

// GetImport reads an import batch by id.
func (tx *Tx) GetImport(id string) (*ImportBatch, error) {
	return getJSON[ImportBatch](tx, prefixImport+id, "import")
}

// ListImports lists an organisation's import batches.
func (tx *Tx) ListImports(cvr string) ([]*ImportBatch, error) {
	return loadAll(tx.keys(prefixImportByOrg+cvr+"/"), tx.GetImport)
}
