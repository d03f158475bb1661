package store

import (
	"strings"
)

// PutToken creates or replaces a token. A replaced token's old hash stops
// resolving at once (rotation); a hash held by another token conflicts.
func (tx *Tx) PutToken(t *Token) error {
	if t.ID == "" || t.Hash == "" || strings.Contains(t.ID, "/") {
		return Errorf(EInvalid, "token needs an id and a hash")
	}
	if holder, err := tx.getRaw(prefixTokenByHash+t.Hash, "token"); err == nil && string(holder) != t.ID {
		return Errorf(EConflict, "token hash already in use")
	} else if err != nil && !IsNotFound(err) {
		return err
	}
	old, err := tx.GetToken(t.ID)
	if err != nil && !IsNotFound(err) {
		return err
	}
	typ := "token.create"
	if old != nil {
		typ = "token.update"
		if old.Hash != t.Hash {
			if err := tx.del(prefixTokenByHash + old.Hash); err != nil {
				return err
			}
		}
	}
	// The hash is not part of the JSON form; keep it in its own record.
	if err := tx.setJSON(prefixToken+t.ID, tokenRecord{Token: *t, StoredHash: t.Hash}); err != nil {
		return err
	}
	if err := tx.set(prefixTokenByHash+t.Hash, []byte(t.ID)); err != nil {
		return err
	}
	tx.audit(typ, "", t.UserID, t.ID)
	tx.changed(ChangeToken, opOf(old != nil), "", t.UserID, "", t.ID)
	return nil
}

type tokenRecord struct {
	Token
	StoredHash string `json:"hash"`
}

// GetToken reads an API token record by id (its hash only).
func (tx *Tx) GetToken(id string) (*Token, error) {
	r, err := getShared(tx, &tx.s.tokens, prefixToken+id, "token")
	if err != nil {
		return nil, err
	}
	return r.token(), nil
}

// token is the record's token with its hash, sharing nothing with the
// record (which a cache shares).
func (r *tokenRecord) token() *Token {
	t := r.Token
	t.Hash = r.StoredHash
	if t.ExpiresAt != nil {
		e := *t.ExpiresAt
		t.ExpiresAt = &e
	}
	return &t
}

// TokenByHash finds the API token whose SHA-256 hash is hash.
func (tx *Tx) TokenByHash(hash string) (*Token, error) {
	id, err := tx.getRaw(prefixTokenByHash+hash, "token")
	if err != nil {
		return nil, err
	}
	return tx.GetToken(string(id))
}

// DeleteToken revokes an API token.
func (tx *Tx) DeleteToken(id string) error {
	t, err := tx.GetToken(id)
	if err != nil {
		return err
	}
	if err := tx.del(prefixTokenByHash + t.Hash); err != nil {
		return err
	}
	if err := tx.del(prefixToken + id); err != nil {
		return err
	}
	tx.audit("token.delete", "", t.UserID, id)
	tx.changed(ChangeToken, OpDelete, "", t.UserID, "", id)
	return nil
}

// ListTokens lists every API token record.
func (tx *Tx) ListTokens() ([]*Token, error) {
	return loadAll(tx.keys(prefixToken), tx.GetToken)
}
