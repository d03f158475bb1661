package store

import (
	"strings"
	"testing"
)

// TestKeyLayout pins the bytes of every key prefix and fixed key: they are
// the on-disk format, so a change here must come with a migration and a
// higher SchemaVersion. Prefixes must be distinct and end in a slash, or
// one prefix's scan would read another's keys.
func TestKeyLayout(t *testing.T) {
	prefixes := map[string]string{
		prefixSystem: "m/", prefixMeta: "M/", prefixAudit: "a/", prefixAuditByUser: "iau/", prefixAuditByOrg: "iao/",
		prefixUser: "u/", prefixUserByEmail: "ie/", prefixUserByUsername: "in/", prefixUserByLegacyID: "il/",
		prefixUserByCPR: "ic/", prefixUserByOrg: "iou/", prefixUserByPUnit: "iup/",
		prefixOrg: "o/", prefixGroup: "G/", prefixGroupByOrg: "iog/", prefixGroupByPUnit: "ips/",
		prefixMemberByGroup: "igm/", prefixGroupByMember: "ium/", prefixUserLoginIndex: "iux/",
		prefixRight: "r/", prefixGrant: "g/", prefixGrantByUser: "iug/", prefixGrantByGroup: "igg/", prefixGrantByRight: "igr/",
		prefixToken: "t/", prefixTokenByHash: "ith/", prefixKnock: "k/", prefixKnockByOrg: "iok/", prefixKnockBySubject: "iks/",
		prefixImport: "i/", prefixImportByOrg: "ioi/",
		prefixMail: "x/", prefixMailByTo: "imt/", prefixMailByUser: "imu/", prefixMailPending: "imp/",
		prefixCertificate: "c/", prefixCertificateByOrg: "ioc/",
		prefixNotification: "nt/", prefixNotificationByRecipient: "inr/", prefixNotificationUnread: "inq/",
		prefixAnonymity: "an/", prefixAnonymityByOrg: "iano/", prefixAnonymityPending: "ianp/", prefixAnonymityByUser: "ianu/",
		prefixDecision: "dl/", prefixDecisionByTime: "idlt/", prefixDecisionByUser: "idlu/", prefixDecisionByOrg: "idlc/",
	}
	if len(prefixes) != 48 {
		t.Errorf("%d distinct prefixes, want 48: two constants share a value", len(prefixes))
	}
	for got, want := range prefixes {
		if got != want {
			t.Errorf("prefix %q, want %q", got, want)
		}
		if strings.Count(got, "/") != 1 || !strings.HasSuffix(got, "/") {
			t.Errorf("prefix %q: want one slash, at the end", got)
		}
	}
	for got, want := range map[string]string{
		keyRevision: "m/rev", keyCPRKeyCheck: "m/cpr-key-check", keyGrantRightIndex: "m/index/grants-by-right",
		keyCPRPerOrgIndex: "m/index/cpr-per-org", keyMailPendingIndex: "m/index/mail-pending",
		keyUserLoginIndex: "m/index/user-login",
	} {
		if got != want {
			t.Errorf("key %q, want %q", got, want)
		}
	}
	if markers := []string{keyGrantRightIndex, keyCPRPerOrgIndex, keyMailPendingIndex, keyUserLoginIndex}; SchemaVersion != len(markers) {
		t.Errorf("SchemaVersion %d, but %d migration markers", SchemaVersion, len(markers))
	}
	if got := auditKey(0x1f, 2); got != "a/000000000000001f/0002" {
		t.Errorf("auditKey: %q", got)
	}
}
