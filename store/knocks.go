package store

import (
	"strings"

	badger "github.com/dgraph-io/badger/v4"
)

// GetKnock reads a knock by id (ENotFound when there is none).
func (tx *Tx) GetKnock(id string) (*Knock, error) { return getJSON[Knock](tx, prefixKnock+id, "knock") }

// KnockBySubject reads an organisation's knock by the subject that
// knocked (UUID or CVR-RID).
func (tx *Tx) KnockBySubject(cvr, subjectID string) (*Knock, error) {
	id, err := tx.getRaw(prefixKnockBySubject+cvr+"/"+subjectID, "knock")
	if err != nil {
		return nil, err
	}
	return tx.GetKnock(string(id))
}

// PutKnock creates or replaces a knock. At most one knock exists per
// (org, subject): another knock of the same subject is a conflict.
func (tx *Tx) PutKnock(k *Knock) error {
	if k.ID == "" || strings.Contains(k.ID, "/") {
		return Errorf(EInvalid, "knock id must be non-empty without slashes")
	}
	if k.Org == "" || strings.Contains(k.Org, "/") || k.SubjectID == "" {
		return Errorf(EInvalid, "knock needs an org and a subject")
	}
	if len(k.SubjectID) > MaxKnockField || len(k.Name) > MaxKnockField || len(k.Email) > MaxKnockField {
		return Errorf(EInvalid, "knock subject, name and e-mail are at most %d bytes", MaxKnockField)
	}
	if holder, err := tx.getRaw(prefixKnockBySubject+k.Org+"/"+k.SubjectID, "knock"); err == nil && string(holder) != k.ID {
		return Errorf(EConflict, "the subject already has a knock in this org")
	} else if err != nil && !IsNotFound(err) {
		return err
	}
	old, err := tx.GetKnock(k.ID)
	if err != nil && !IsNotFound(err) {
		return err
	}
	if old != nil && (old.Org != k.Org || old.SubjectID != k.SubjectID) {
		if err := tx.del(prefixKnockByOrg + old.Org + "/" + old.ID); err != nil {
			return err
		}
		if err := tx.del(prefixKnockBySubject + old.Org + "/" + old.SubjectID); err != nil {
			return err
		}
	}
	if err := tx.setJSON(prefixKnock+k.ID, k); err != nil {
		return err
	}
	if err := tx.set(prefixKnockByOrg+k.Org+"/"+k.ID, nil); err != nil {
		return err
	}
	if err := tx.set(prefixKnockBySubject+k.Org+"/"+k.SubjectID, []byte(k.ID)); err != nil {
		return err
	}
	tx.audit("knock.put", k.Org, "", k.ID)
	tx.changed(ChangeKnock, opOf(old != nil), k.Org, "", "", k.ID)
	return nil
}

// DeleteKnock removes a knock from its queue.
func (tx *Tx) DeleteKnock(id string) error {
	k, err := tx.GetKnock(id)
	if err != nil {
		return err
	}
	for _, key := range []string{prefixKnock + id, prefixKnockByOrg + k.Org + "/" + id, prefixKnockBySubject + k.Org + "/" + k.SubjectID} {
		if err := tx.del(key); err != nil {
			return err
		}
	}
	tx.audit("knock.delete", k.Org, "", id)
	tx.changed(ChangeKnock, OpDelete, k.Org, "", "", id)
	return nil
}

// MaxKnockField bounds a knock's subject id, name and e-mail, in bytes
// (the decision API's identifier limit, SPEC §8).
const MaxKnockField = 256

// CountKnocks counts the pending knocks of one organisation, or of all
// when cvr is "", reading keys only and stopping at limit: enough to keep
// the queue bounded without loading it.
func (tx *Tx) CountKnocks(cvr string, limit int) int {
	prefix := prefixKnockByOrg
	if cvr != "" {
		prefix += cvr + "/"
	}
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = []byte(prefix)
	it := tx.txn.NewIterator(opts)
	defer it.Close()
	n := 0
	for it.Seek([]byte(prefix)); n < limit && it.ValidForPrefix([]byte(prefix)); it.Next() {
		n++
	}
	return n
}

// ListKnocks lists an organisation's knock queue.
func (tx *Tx) ListKnocks(cvr string) ([]*Knock, error) {
	return loadAll(tx.keys(prefixKnockByOrg+cvr+"/"), tx.GetKnock)
}
