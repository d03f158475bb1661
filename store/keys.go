package store

import "bytes"

// The Badger key layout. Every key the store writes starts with one of the
// prefixes below; the rest of the key is described beside each. Records
// hold JSON; index entries hold the id named after "→", or nothing when
// the key itself is the index. The bytes of these constants are the
// on-disk format: changing one makes existing data directories unreadable
// unless a migration (migrate.go) rewrites the keys and SchemaVersion is
// raised. keys_test.go pins every one of them.

// SchemaVersion counts the changes of the key layout that a data
// directory written by an earlier version is migrated through when it is
// opened: the grants-by-right index, the per-organisation CPR index, the
// outbox pending index and the user login index (4). It is not stored as a
// number: each migration has its own marker key (keyGrantRightIndex,
// keyCPRPerOrgIndex, keyMailPendingIndex, keyUserLoginIndex), which Open
// checks and sets once the migration is complete, so an interrupted one is
// redone. The user login index's marker also holds a revision, so the
// index is rebuilt after a write by a version that did not keep it
// (userindex.go). A new layout change adds a migration with its marker and
// raises SchemaVersion.
const SchemaVersion = 4

// The store's own keys: the revision, the CPR key check and the
// migration markers.
const (
	prefixSystem          = "m/"                                   // the keys below
	keyRevision           = prefixSystem + "rev"                   // the last committed revision, 8 bytes big-endian
	keyCPRKeyCheck        = prefixSystem + "cpr-key-check"         // HMAC of the CPR key (checkCPRKey)
	keyGrantRightIndex    = prefixSystem + "index/grants-by-right" // migration 1 done: grants indexed by right
	keyCPRPerOrgIndex     = prefixSystem + "index/cpr-per-org"     // migration 2 done: the CPR index is per organisation
	keyMailPendingIndex   = prefixSystem + "index/mail-pending"    // migration 3 done: the outbox pending index is built
	keyUserLoginIndex     = prefixSystem + "index/user-login"      // migration 4: the revision up to which the user login index (iux/) is complete, 8 bytes big-endian (userindex.go)
	keyNodeID             = prefixSystem + "node"                  // a fleet replica: its id in the log's node table (replica.go); never replicated
	keyClusterID          = prefixSystem + "cluster"               // a fleet replica: the id of the log it follows (replica.go); never replicated
	prefixMeta            = "M/"                                   // M/<name>: a value of PutMeta (job checkpoints)
	prefixPendingEvent    = "ev/"                                  // ev/<kind>/<time %020d>-<n>-<uuid>: a fleet node's side event (knock, password failure) not yet shipped (events.go); never replicated
	prefixPendingDecision = "dlp/"                                 // dlp/<decision id>: a fleet node's stored decision not yet shipped (decisionship.go); never replicated
)

// Audit events.
const (
	prefixAudit       = "a/"   // a/<revision %016x>/<seq %04x>: an AuditEvent
	prefixAuditByUser = "iau/" // iau/<user id>/<revision>/<seq>: events about a user
	prefixAuditByOrg  = "iao/" // iao/<cvr>/<revision>/<seq>: events in an organisation
)

// Users and their unique look-ups.
const (
	prefixUser           = "u/"   // u/<user id>: a user (userRecord)
	prefixUserByEmail    = "ie/"  // ie/<lower-case e-mail> → user id (unique)
	prefixUserByUsername = "in/"  // in/<lower-case username> → user id (unique)
	prefixUserByLegacyID = "il/"  // il/<legacy id> → user id (unique)
	prefixUserByCPR      = "ic/"  // ic/<cvr>/<CPR hash> → user id (unique per organisation; before migration 2: ic/<CPR hash>)
	prefixUserByOrg      = "iou/" // iou/<cvr>/<user id>: the users of an organisation
	prefixUserByPUnit    = "iup/" // iup/<cvr>/<P-number>/<user id>: the users of a P-unit (its system group's implicit members)
)

// Organisations, groups and memberships.
const (
	prefixOrg           = "o/"   // o/<cvr>: an organisation
	prefixGroup         = "G/"   // G/<group id>: a group
	prefixGroupByOrg    = "iog/" // iog/<cvr>/<group id>: the groups of an organisation
	prefixGroupByPUnit  = "ips/" // ips/<P-number> → the id of the P-unit's system group
	prefixMemberByGroup = "igm/" // igm/<group id>/<user id>: a group's members
	prefixGroupByMember = "ium/" // ium/<user id>/<group id>: a user's groups
	// iux/<user id>: the user login index, the ids of the user's direct
	// grants and custom groups in one record (migration 4, userindex.go)
	prefixUserLoginIndex = "iux/"
)

// Rights and grants.
const (
	prefixRight        = "r/"   // r/<right id>: a right of the catalogue
	prefixGrant        = "g/"   // g/<grant id>: a grant
	prefixGrantByUser  = "iug/" // iug/<user id>/<grant id>: the grants held by a user
	prefixGrantByGroup = "igg/" // igg/<group id>/<grant id>: the grants held by a group
	prefixGrantByRight = "igr/" // igr/<right id>/<grant id>: the grants of a right (migration 1)
)

// Admin API tokens, knocks and imports.
const (
	prefixToken          = "t/"   // t/<token id>: a token (tokenRecord)
	prefixTokenByHash    = "ith/" // ith/<token hash> → token id
	prefixKnock          = "k/"   // k/<knock id>: a knock (a login of an unknown user)
	prefixKnockByOrg     = "iok/" // iok/<cvr>/<knock id>: the knocks in an organisation
	prefixKnockBySubject = "iks/" // iks/<cvr>/<subject id> → knock id
	prefixImport         = "i/"   // i/<import id>: an import batch
	prefixImportByOrg    = "ioi/" // ioi/<cvr>/<import id>: the imports of an organisation
)

// The outbox. <order> is <created, Unix ns %020d>-<mail id>.
const (
	prefixMail        = "x/"   // x/<mail id>: a mail (mailRecord)
	prefixMailByTo    = "imt/" // imt/<lower-case address>/<order>: mails to an address
	prefixMailByUser  = "imu/" // imu/<user id>/<order>: mails about a user
	prefixMailPending = "imp/" // imp/<order> → mail id: unsent mails, oldest first (migration 3)
)

// Certificates, notifications and anonymity requests. <order> is
// <created, Unix ns %020d>-<id>.
const (
	prefixCertificate             = "c/"    // c/<serial>: a certificate
	prefixCertificateByOrg        = "ioc/"  // ioc/<cvr>/<serial>: the certificates of an organisation
	prefixNotification            = "nt/"   // nt/<notification id>: a notification
	prefixNotificationByRecipient = "inr/"  // inr/<recipient>/<order> → id: a recipient's notifications
	prefixNotificationUnread      = "inq/"  // inq/<recipient>/<order> → id: a recipient's unread notifications
	prefixAnonymity               = "an/"   // an/<request id>: an anonymity request
	prefixAnonymityByOrg          = "iano/" // iano/<cvr>/<order> → id: an organisation's requests
	prefixAnonymityPending        = "ianp/" // ianp/<cvr>/<order> → id: an organisation's pending requests
	prefixAnonymityByUser         = "ianu/" // ianu/<user id> → the id of the user's pending request
)

// The stored decision log. <time> is the decision's Unix ns, %020d.
const (
	prefixDecision       = "dl/"   // dl/<decision id>: a DecisionRecord
	prefixDecisionByTime = "idlt/" // idlt/<time>/<decision id>: every decision, by time
	prefixDecisionByUser = "idlu/" // idlu/<user id>/<time>/<decision id>: decisions about a user
	prefixDecisionByOrg  = "idlc/" // idlc/<cvr>/<time>/<decision id>: decisions in an organisation
)

// nodeLocal reports the keys that are a node's own and never replicated:
// the store's own keys, the side events and stored decisions a fleet node
// keeps (its decision log is written beside the log's revisions). A
// replica that starts again from a snapshot keeps them.
func nodeLocal(k []byte) bool {
	for _, p := range []string{prefixSystem, prefixPendingEvent, prefixPendingDecision,
		prefixDecision, prefixDecisionByTime, prefixDecisionByUser, prefixDecisionByOrg} {
		if bytes.HasPrefix(k, []byte(p)) {
			return true
		}
	}
	return false
}
