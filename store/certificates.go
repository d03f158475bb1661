package store

import (
	"strings"

	badger "github.com/dgraph-io/badger/v4"
)

// GetCertificate returns the certificate with serial, or not_found.
func (tx *Tx) GetCertificate(serial string) (*Certificate, error) {
	return getJSON[Certificate](tx, prefixCertificate+serial, "certificate")
}

// PutCertificate stores c (new or changed), indexed by its org, with a
// certificate.put audit event. Revocation is irreversible.
func (tx *Tx) PutCertificate(c *Certificate) error {
	return tx.SaveCertificate(c, "certificate.put")
}

// SaveCertificate stores c (new or changed), indexed by its org
// (ioc/<org>/<serial>), with an audit event of type event. A revoked
// certificate stays revoked, and a certificate never changes org.
func (tx *Tx) SaveCertificate(c *Certificate, event string) error {
	if c.Serial == "" || strings.ContainsAny(c.Serial, "/\x00") {
		return Errorf(EInvalid, "certificate serial is required")
	}
	old, err := tx.GetCertificate(c.Serial)
	switch {
	case err == nil:
		if old.Status == CertRevoked && c.Status != CertRevoked {
			return Errorf(EInvalid, "revocation is irreversible")
		}
		if old.Org != c.Org {
			return Errorf(EInvalid, "a certificate cannot move to another organisation")
		}
	case !IsNotFound(err):
		return err
	}
	if err := tx.setJSON(prefixCertificate+c.Serial, c); err != nil {
		return err
	}
	if err := tx.set(prefixCertificateByOrg+c.Org+"/"+c.Serial, nil); err != nil {
		return err
	}
	tx.audit(event, c.Org, c.UserID, c.Serial)
	tx.changed(ChangeCertificate, opOf(old != nil), c.Org, c.UserID, "", c.Serial)
	return nil
}

// DeleteCertificate removes a certificate record and its index entry.
func (tx *Tx) DeleteCertificate(serial string) error {
	c, err := tx.GetCertificate(serial)
	if err != nil {
		return err
	}
	if err := tx.del(prefixCertificate + serial); err != nil {
		return err
	}
	if err := tx.del(prefixCertificateByOrg + c.Org + "/" + serial); err != nil {
		return err
	}
	tx.audit("certificate.delete", c.Org, c.UserID, serial)
	tx.changed(ChangeCertificate, OpDelete, c.Org, c.UserID, "", serial)
	return nil
}

// EachCertificate calls fn for the certificates of org in serial order,
// starting after the serial after ("" from the first); fn returns false
// to stop.
func (tx *Tx) EachCertificate(org, after string, fn func(*Certificate) (bool, error)) error {
	prefix := prefixCertificateByOrg + org + "/"
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = []byte(prefix)
	it := tx.txn.NewIterator(opts)
	defer it.Close()
	start := []byte(prefix + after)
	if after != "" {
		start = append(start, 0)
	}
	for it.Seek(start); it.ValidForPrefix([]byte(prefix)); it.Next() {
		c, err := tx.GetCertificate(string(it.Item().Key()[len(prefix):]))
		if err != nil {
			return err
		}
		more, err := fn(c)
		if err != nil || !more {
			return err
		}
	}
	return nil
}
