package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	badger "github.com/dgraph-io/badger/v4"
)

// The user login index (iux/<user id>) lists, in one record, what a login
// read otherwise finds by two prefix scans: the ids of the user's direct
// grants (iug/<user id>/…) and of its custom groups (ium/<user id>/…). A
// Badger prefix scan seeks every level of the tree (10–12 µs each at a
// million users, most of a login read); one point read finds the record
// through the levels' bloom filters.
//
// The record is derived data, kept exact by construction: every write
// transaction that sets or deletes a key under iug/<u>/ or ium/<u>/
// rewrites iux/<u> before its commit — the committed record with the
// transaction's own key operations applied in order (writeUserIndexes) —
// in the same Badger transaction, so a snapshot never shows one without
// the other. A user with neither has no record; a missing record reads as
// "none".
//
// Reads use the records only while the store knows them complete
// (Store.userIndex): on a store not attached to a fleet, once Open has
// checked the marker keyUserLoginIndex or rebuilt every record. The
// marker holds the revision of the last write made while the index was in
// use; every such write sets it with the revision, so a write by an
// earlier Adgang (which does not keep the records), or one made while the
// index was out of use, leaves it behind the store's revision, and the
// next Open rebuilds. A damaged record takes the index out of use until
// then (disableUserIndex). A fleet node never reads them (a node of an
// earlier version may write the shared log) nor writes them. Within a
// write transaction only writeUserIndexes reads them (the decision's
// reads scan there: the records are rewritten at the commit only).
//
// Any future code that writes iug/ or ium/ keys other than through
// Tx.set and Tx.del in a transaction that ends in writeUserIndexes must
// delete the marker, or the index goes stale unnoticed.

// userIndexVersion is the first byte of an iux/ record.
const userIndexVersion = 1

// encodeUserIndex is the record of a user with these direct grants and
// custom groups: the version byte, then each list as a count and
// length-prefixed ids (uvarints).
func encodeUserIndex(grants, groups []string) []byte {
	n := 1 + 2*binary.MaxVarintLen64
	for _, ids := range [][]string{grants, groups} {
		for _, id := range ids {
			n += binary.MaxVarintLen64 + len(id)
		}
	}
	b := make([]byte, 0, n)
	b = append(b, userIndexVersion)
	for _, ids := range [][]string{grants, groups} {
		b = binary.AppendUvarint(b, uint64(len(ids)))
		for _, id := range ids {
			b = binary.AppendUvarint(b, uint64(len(id)))
			b = append(b, id...)
		}
	}
	return b
}

// decodeUserIndex reads a record of encodeUserIndex. The grant ids are
// substrings of one copy of the record (one allocation, not one per id):
// whoever keeps one beyond the read clones it (cachedGrants does). The
// group ids, which login reads keep (as dependencies of cached
// decisions), are strings of their own.
func decodeUserIndex(raw []byte) (grants, groups []string, err error) {
	if len(raw) == 0 || raw[0] != userIndexVersion {
		return nil, nil, errors.New("store: user login index: unknown record format")
	}
	rec := string(raw)
	b, off := raw[1:], 1 // off: where b starts in rec
	var lists [2][]string
	for i := range lists {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) {
			return nil, nil, errors.New("store: user login index: corrupt record")
		}
		b, off = b[k:], off+k
		lists[i] = make([]string, 0, n)
		for range n {
			l, k := binary.Uvarint(b)
			if k <= 0 || l > uint64(len(b)-k) {
				return nil, nil, errors.New("store: user login index: corrupt record")
			}
			id := rec[off+k : off+k+int(l)]
			if i == 1 {
				id = strings.Clone(id)
			}
			lists[i] = append(lists[i], id)
			b, off = b[k+int(l):], off+k+int(l)
		}
	}
	if len(b) != 0 {
		return nil, nil, errors.New("store: user login index: corrupt record")
	}
	return lists[0], lists[1], nil
}

// indexOp is one key of a user's grant (iug/) or membership (ium/) index
// set or deleted by a write.
type indexOp struct {
	group bool // ium/ (else iug/)
	id    string
	del   bool
}

// noteUserIndexKey records a written or deleted key of a user's grant or
// membership index, for writeUserIndexes.
func (tx *Tx) noteUserIndexKey(key string, del bool) {
	op := indexOp{del: del}
	var rest string
	switch {
	case strings.HasPrefix(key, prefixGrantByUser):
		rest = key[len(prefixGrantByUser):]
	case strings.HasPrefix(key, prefixGroupByMember):
		rest, op.group = key[len(prefixGroupByMember):], true
	default:
		return
	}
	user, id, _ := strings.Cut(rest, "/")
	op.id = id
	if tx.indexOps == nil {
		tx.indexOps = map[string][]indexOp{}
	}
	tx.indexOps[user] = append(tx.indexOps[user], op)
}

// writeUserIndexes rewrites the login index record of every user whose
// grant or membership index the transaction changed: the committed record
// (complete while the index is in use) with the transaction's key
// operations applied in order. It reads no index by scanning: an iterator
// of a write transaction sorts all its pending writes, which made a bulk
// import quadratic. The record is written even when its lists did not
// change: its Badger version then names this state of the user's grants,
// which the grant cache relies on (userRefs). While the index is not in
// use (a fleet node; a rebuild put off for lack of disk space) nothing is
// kept, and writeOnce leaves the marker, so the next Open rebuilds.
func (tx *Tx) writeUserIndexes() error {
	defer clear(tx.indexOps)
	if tx.s.replica != nil || !tx.s.userIndex.Load() {
		return nil
	}
	for user, ops := range tx.indexOps {
		var lists [2][]string // grants, groups
		item, err := tx.txn.Get([]byte(prefixUserLoginIndex + user))
		switch {
		case err == nil:
			if err := item.Value(func(v []byte) error {
				lists[0], lists[1], err = decodeUserIndex(v)
				return err
			}); err != nil {
				// A damaged record: reads scan from now on, and this
				// write removes the marker, so the next Open rebuilds.
				tx.s.disableUserIndex(user, err)
				return tx.del(keyUserLoginIndex)
			}
		case !errors.Is(err, badger.ErrKeyNotFound):
			return err
		}
		for _, op := range ops {
			l := &lists[0]
			if op.group {
				l = &lists[1]
			}
			i, found := slices.BinarySearch(*l, op.id)
			switch {
			case op.del && found:
				*l = slices.Delete(*l, i, i+1)
			case !op.del && !found:
				*l = slices.Insert(*l, i, op.id)
			}
		}
		if len(lists[0]) == 0 && len(lists[1]) == 0 {
			err = tx.del(prefixUserLoginIndex + user)
		} else {
			err = tx.set(prefixUserLoginIndex+user, encodeUserIndex(lists[0], lists[1]))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// userRefs returns the user's direct grants (ids, each with a version that
// names its content for the grant cache) and the ids of its custom groups:
// from the login index where the store keeps it complete, else by
// scanning the two indexes.
//
// A grant is never changed in place, and every write of a user's grant
// rewrites the user's login index in the same transaction, so the index
// record's version is at least the version of each grant it lists, and
// (grant id, record version) names one content as (grant id, index entry
// version) does.
func (tx *Tx) userRefs(userID string) ([]keyRef, []string, error) {
	if !tx.write && tx.s.userIndex.Load() {
		item, err := tx.txn.Get([]byte(prefixUserLoginIndex + userID))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil, nil, nil
		}
		if err != nil {
			return nil, nil, err
		}
		var grants, groups []string
		if err = item.Value(func(v []byte) error {
			grants, groups, err = decodeUserIndex(v)
			return err
		}); err == nil {
			refs := make([]keyRef, len(grants))
			for i, id := range grants {
				refs[i] = keyRef{suffix: id, ver: item.Version()}
			}
			return refs, groups, nil
		}
		// A damaged record is never read as fewer grants: this read and
		// every later one scan; writes leave the marker behind.
		tx.s.disableUserIndex(userID, err)
	}
	return tx.keyRefs(prefixGrantByUser + userID + "/"), tx.keys(prefixGroupByMember + userID + "/"), nil
}

// disableUserIndex stops the use of the login index after finding a
// damaged record (of user): reads scan, writes keep no records and leave
// the marker behind, so the next Open rebuilds the index.
func (s *Store) disableUserIndex(user string, err error) {
	if s.userIndex.CompareAndSwap(true, false) {
		s.cfg.Logger.Error().Err(err).Str("user_id", user).
			Msg("damaged user login index record: login reads scan until the index is rebuilt at the next start")
	}
}

// checkUserIndex enables the login index on a store that is not a fleet
// node: at once when the marker shows that every write since the last
// rebuild kept it, else after rebuilding every record.
func (s *Store) checkUserIndex() error {
	marker, err := s.getMeta(keyUserLoginIndex)
	if err != nil {
		return err
	}
	if len(marker) != 8 || binary.BigEndian.Uint64(marker) != s.rev.Load() {
		if err := s.disk.check(); err != nil {
			// Decisions then read the two indexes, as before; the next
			// Open with space to spare builds it.
			s.cfg.Logger.Warn().Err(err).Msg("the user login index is not built: too little free disk space; login reads scan instead")
			return nil
		}
		if err := s.rebuildUserIndex(); err != nil {
			return fmt.Errorf("user login index: %w", err)
		}
	}
	s.userIndex.Store(true)
	return nil
}

// rebuildUserIndex writes every user's login index record afresh from the
// grant and membership indexes, and then the marker. The marker is
// removed first, so an interrupted rebuild is redone on the next Open.
func (s *Store) rebuildUserIndex() error {
	fresh := s.rev.Load() == 0 // a new store: nothing to tell
	if !fresh {
		s.cfg.Logger.Info().Msg("building the user login index (after an upgrade, a copy, or a write by an earlier version; a million users take some seconds)")
	}
	s.userIndexBuilds++
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete([]byte(keyUserLoginIndex)) }); err != nil {
		return err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	users := 0
	err := s.db.View(func(txn *badger.Txn) error {
		if err := forKeys(txn, prefixUserLoginIndex, func(k []byte) error { return wb.Delete(k) }); err != nil {
			return err
		}
		return mergeUserIndexes(txn, func(user string, grants, groups []string) error {
			users++
			return wb.Set([]byte(prefixUserLoginIndex+user), encodeUserIndex(grants, groups))
		})
	})
	if err == nil {
		err = wb.Flush()
	}
	if err != nil {
		return err
	}
	s.wrote()
	var rb [8]byte
	binary.BigEndian.PutUint64(rb[:], s.rev.Load())
	if err := s.setMeta(keyUserLoginIndex, rb[:]); err != nil {
		return err
	}
	if !fresh {
		s.cfg.Logger.Info().Int("users", users).Msg("user login index built")
	}
	return nil
}

// forKeys calls fn with a copy of every key under prefix, in order.
func forKeys(txn *badger.Txn, prefix string, fn func(k []byte) error) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix, opts.PrefetchValues = []byte(prefix), false
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if err := fn(it.Item().KeyCopy(nil)); err != nil {
			return err
		}
	}
	return nil
}

// mergeUserIndexes walks the grant-by-user and group-by-member indexes
// side by side (both ordered by user id) and calls fn once per user with
// either, with its direct grants and custom groups.
func mergeUserIndexes(txn *badger.Txn, fn func(user string, grants, groups []string) error) error {
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	var its [2]*badger.Iterator
	prefixes := [2]string{prefixGrantByUser, prefixGroupByMember}
	for i, p := range prefixes {
		opts.Prefix = []byte(p)
		its[i] = txn.NewIterator(opts)
		defer its[i].Close()
		its[i].Rewind()
	}
	// head splits the current key of iterator i into user and id.
	head := func(i int) (user, id string, ok bool) {
		if !its[i].Valid() {
			return "", "", false
		}
		user, id, _ = strings.Cut(string(its[i].Item().Key()[len(prefixes[i]):]), "/")
		return user, id, true
	}
	for {
		u0, _, ok0 := head(0)
		u1, _, ok1 := head(1)
		if !ok0 && !ok1 {
			return nil
		}
		// Keys are ordered by user id and a slash: "a-b/" sorts before
		// "a/", though the id "a" sorts before "a-b".
		user := u0
		if !ok0 || (ok1 && u1+"/" < u0+"/") {
			user = u1
		}
		var lists [2][]string
		for i := range its {
			for {
				u, id, ok := head(i)
				if !ok || u != user {
					break
				}
				lists[i] = append(lists[i], id)
				its[i].Next()
			}
		}
		if err := fn(user, lists[0], lists[1]); err != nil {
			return err
		}
	}
}
