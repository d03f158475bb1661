# METADATA
# title: Adgang login decision
# description: >-
#   May this identity use this service, and on which organisational units?
#   Every rule below (D1-D15 of SPEC §2) adds reasons; allow is true only when
#   no reason denies. The input and output are described in
#   policies/README.md.
# scope: package
package adgang.login

import data.adgang.lib

# ---------------------------------------------------------------------------
# Entrypoints
# ---------------------------------------------------------------------------

# decision is the answer the decision service reads.
decision := {
	"allow": allow,
	"rights": _answer_rights,
	"reasons": reasons,
	"knock": knock,
	"valid_until_ns": valid_until_ns,
}

# allow is true only when no reason denies (reasons with info: true never
# deny). "Why" and "whether" come from the same set, so they cannot disagree.
# Nothing allows without a valid grant: that is itself a reason (D1).
default allow := false

allow if count(_denying) == 0

# _denying: the reasons without info: true (any other value of info, or
# none, denies).
_denying := {r | some r in _reasons; object.get(r, "info", false) != true}

# _answer_rights: a denied login answers no rights (SPEC §8); the grants
# that were ignored or did not suffice still appear as reasons.
_answer_rights := rights if {
	allow
} else := []

# reasons, sorted so that equal inputs give equal answers.
reasons := sort(_reasons)

# rights lists the considered rights with a non-empty effective scope,
# sorted by right id, then by the CVR of the scope: the identity's own
# org, and each org whose custom groups give it the right (M16).
rights := [{"right": x[0], "scope": x[2]} | some x in _right_rows]

_right_rows := sort(array.concat(
	[[r, s.cvr, s] | some r, s in _scopes],
	[[k[0], k[1], s] | some k, s in _ext_scopes],
))

_reasons := union({
	no_grant, unknown_user, user_inactive, not_employee, cpr_not_linked,
	org_mismatch, grant_via_group, grant_on_se, forbidden_right,
	deprecated_right, cvr_overrides_p, outside_scope, grant_expired,
	certificate_revoked, password_change_required, password_blocked,
})

# METADATA
# title: Decision validity
# description: >-
#   The earliest future time (Unix nanoseconds) at which the passing of time
#   alone could change this decision: the expiry of a grant (D13) or the end
#   of the local password's maximum age (D15). 0 means no such time. The
#   decision service caches a decision for at most this long (and never
#   across a store or policy change). A rule that reads the clock must add
#   its deadline here.
valid_until_ns := min(_deadlines) if {
	count(_deadlines) > 0
} else := 0

_deadlines contains t if {
	some g in _all_grants
	t := g.expires_at_ns
	is_number(t)
	t > _now
}

_deadlines contains t if {
	t := input.certificate.expires_at_ns
	is_number(t)
	t > _now
}

_deadlines contains t if {
	c := input.user.password.changed_at_ns
	is_number(c)
	t := c + (_password_max_age_days * lib.ns_per_day)
	t > _now
}

# ---------------------------------------------------------------------------
# Facts from the input (all undefined-safe: missing input denies, never errors)
# ---------------------------------------------------------------------------

_now := lib.now_ns

# Values shown in messages. They fall back to "(none)", so a reason is
# produced even when the input (or the field) is absent.
_subject_id := s if {
	s := input.subject.id
	lib.non_empty_string(s)
} else := "(none)"

_subject_cvr := s if {
	s := input.subject.cvr
	lib.non_empty_string(s)
} else := "(none)"

_service := s if {
	s := input.service
	lib.non_empty_string(s)
} else := "(none)"

# _cvr is the CVR the identity logs in with.
_cvr := c if {
	c := input.subject.cvr
	lib.non_empty_string(c)
}

# _asked is the one right the application asks for, if any.
_asked := r if {
	r := input.right
	lib.non_empty_string(r)
}

# _target_p is the P-unit the application asks about, if any (D12).
_target_p := p if {
	p := input.p_number
	lib.non_empty_string(p)
}

# _org is the identity's organisation, only if it is the subject's CVR.
_org := o if {
	o := input.org
	is_object(o)
	o.cvr == _cvr
}

_p_units := ps if {
	ps := _org.p_units
	is_object(ps)
} else := {}

_se_numbers := se if {
	se := _org.se_numbers
	is_object(se)
} else := {}

# Performance: the login decision is on the hot path, and OPA's evaluator
# pays for every expression it evaluates (about 2 allocations each). Sets
# that are looked up by key are complete rules (a look-up in a computed set
# is a hash probe; in a partial set it re-evaluates the rule); the grants
# are walked once into _own_grants; set operations and builtins
# (object.remove, count) replace iteration under "not"; reasons are object
# literals (the shape of lib.reason and lib.info_reason) rather than
# function calls with object.union. The rules for ignored grants (D7-D10)
# walk the considered rights first and look at grants only for a right
# with the flag: most rights have none, so most logins walk no grant
# there. docs/decision-path.md has the figures.

# _considered: the asked right, or else every right of the service; only
# rights in the catalogue (a grant of an unknown right gives nothing).
_considered := {r |
	r := _asked
	is_object(input.rights[r])
} if {
	_asked
} else := {id |
	some id, right in input.rights
	right.service == input.service
}

# _own_grants: id -> grant for the grants of the considered rights that
# belong to the subject's CVR: the one walk over all grants. Grants of other
# organisations (e.g. through another org's group) never count here.
# (Performance: the decision service passes only the considered rights'
# grants, so most often every grant is an own one and the input's object is
# the answer; only otherwise is a new object built.)
_own_grants := input.grants if {
	is_object(input.grants)
	cvr := _cvr
	considered := _considered
	every g in input.grants {
		considered[g.right]
		g.org == cvr
	}
} else := {id: g |
	cvr := _cvr
	considered := _considered
	some id, g in input.grants
	considered[g.right]
	g.org == cvr
}

# _ext_grants: id -> grant for the grants of the considered rights that
# come to a user logging in with its own CVR through the custom groups of
# other organisations (M16 external group members). They are scoped to
# the granting org's units and shown with its CVR.
_ext_grants := {id: g |
	count(input.grant_orgs) > 0
	cvr := _cvr
	input.user.org == cvr
	considered := _considered
	some id, g in input.grants
	considered[g.right]
	g.org != cvr
	g.source != "direct"
	is_object(input.grant_orgs[g.org])
}

# _all_grants: the grants the rules for ignored grants look at.
_all_grants := _own_grants if {
	count(_ext_grants) == 0
} else := object.union(_own_grants, _ext_grants)

# _ignored: grants some rule ignores (each ignored grant has a reason with
# its id: D7, D8, D9, D10, D13).
_ignored := {r.grant | some r in _grant_reasons}

_grant_reasons := union({grant_via_group, grant_on_se, forbidden_right, deprecated_right, grant_expired})

# _valid_grants: id -> grant for the own grants that count.
_valid_grants := object.remove(_own_grants, _ignored)

# ---------------------------------------------------------------------------
# D2 / D3 / D6 / D14 / D15: who is logging in
# ---------------------------------------------------------------------------

_known_user if {
	is_object(input.user)
	input.user.org == _cvr
}

_known_user if {
	is_object(input.user)
	_external_member
}

# _external_member: the identity logs in with the CVR of another
# organisation whose custom groups it is a member of (M16): it acts there
# with the rights those groups give.
_external_member if {
	input.user.org != _cvr
	is_object(input.grant_orgs[_cvr])
}

# METADATA
# title: D2 unknown user
# description: >-
#   The identity must be a stored user of the CVR it logs in with, or an
#   external member of a custom group of that organisation (M16: "rettigheder
#   kan være både interne og eksterne"). An identity that is not stored, or
#   is stored under another organisation without such a membership, is
#   denied. Employees of an organisation that allows it are put in the
#   knock queue (see knock) so an administrator can create them.
# custom:
#   seed: 000_7043272af43671e9.txt
unknown_user contains {"code": "unknown_user", "rule": "D2", "message": msg} if {
	not _known_user
	msg := sprintf("identity %v is not a user of organisation %v", [_subject_id, _subject_cvr])
}

default knock := false

# METADATA
# title: D2 knock queue
# description: >-
#   When D2 denies an employee (not a private person or a function
#   certificate) of an existing organisation whose settings allow it, the
#   answer says knock: the decision service records the attempt in the
#   organisation's knock queue ("banke-på"). An identity already stored
#   as a user of another organisation does not knock: its id is taken,
#   so accepting the knock could only fail.
# custom:
#   seed: 000_7043272af43671e9.txt
knock if {
	count(unknown_user) > 0
	not is_object(input.user)
	is_object(_org)
	_org.settings.allow_knock == true
	input.subject.kind == "employee"
}

_usable_status := {"active", "new"}

# Helpers used under "not" are rules: OPA hoists refs out of a negated
# call, so "not f(input.x)" would be undefined, not true, when x is missing.
_usable_status_set if input.user.status in _usable_status

_has_org if is_object(_org)

_has_password if is_object(input.user.password)

_has_password_time if is_number(input.user.password.changed_at_ns)

# METADATA
# title: D3 user not active
# description: >-
#   Users that are inactive, deactivated or deleted are denied. Only the
#   statuses active and new (created, not logged in yet) may log in; any
#   other or missing status is denied too (fail closed).
# custom:
#   seed: 000_7043272af43671e9.txt
user_inactive contains {"code": "user_inactive", "rule": "D3", "message": msg} if {
	is_object(input.user)
	not _usable_status_set
	msg := sprintf("user %v has status %v", [object.get(input.user, "id", ""), object.get(input.user, "status", "")])
}

# METADATA
# title: D6 organisation mismatch
# description: >-
#   The CVR the identity logs in with must be a known organisation.
# custom:
#   seed: 004_68083951c3b3ad85.txt
org_mismatch contains {"code": "org_mismatch", "rule": "D6", "message": msg} if {
	not _has_org
	msg := sprintf("organisation %v is not known", [_subject_cvr])
}

# METADATA
# title: D6 organisation mismatch
# description: >-
#   The P-number on the identity (if any) must be a P-unit of the identity's
#   own CVR ("Alle CVR og P-numre på din medarbejdersignatur skal være i
#   overensstemmelse med institutionsregistret"). An external group member
#   logging in with the group's CVR carries its own org's P-number, which
#   is not checked against the group's org.
# custom:
#   seed: 004_68083951c3b3ad85.txt
org_mismatch contains {"code": "org_mismatch", "rule": "D6", "message": msg} if {
	is_object(_org)
	not _external_member
	p := input.subject.p_number
	lib.non_empty_string(p)
	not lib.member(_p_units, p)
	msg := sprintf("P-number %v does not belong to organisation %v", [p, _cvr])
}

# METADATA
# title: D14 certificate revoked
# description: >-
#   A login with a certificate that has been revoked is denied. Revocation
#   is irreversible.
# custom:
#   seed: 001_3eb8a6ec070b654f.txt
certificate_revoked contains {"code": "certificate_revoked", "rule": "D14", "message": msg} if {
	input.certificate.status == "revoked"
	msg := sprintf("certificate %v is revoked", [object.get(input.certificate, "serial", "")])
}

_certificate_expired if input.certificate.status == "expired"

_certificate_expired if {
	t := input.certificate.expires_at_ns
	is_number(t)
	t <= _now
}

# METADATA
# title: D14 certificate revoked
# description: >-
#   A login with a certificate of the registry that has expired (status
#   expired, or its validity ended) is denied like a revoked one. A serial
#   the registry does not know is not judged here.
# custom:
#   seed: 001_3eb8a6ec070b654f.txt
certificate_revoked contains {"code": "certificate_revoked", "rule": "D14", "message": msg} if {
	input.certificate.status != "revoked"
	_certificate_expired
	msg := sprintf("certificate %v has expired", [object.get(input.certificate, "serial", "")])
}

_password_login if input.subject.auth_method == "password"

_password_max_age_days := lib.password_max_age_days(_org)

_password_stale contains "the password is temporary and must be changed" if {
	input.user.password.temporary == true
}

_password_stale contains msg if {
	t := input.user.password.changed_at_ns
	is_number(t)
	lib.older_than_days(t, _password_max_age_days, _now)
	msg := sprintf("the password is older than %v days and must be changed", [_password_max_age_days])
}

_password_stale contains "the password has no change time and must be changed" if {
	_has_password
	not _has_password_time
}

_password_stale contains "the user has no local password" if {
	is_object(input.user)
	not _has_password
}

# METADATA
# title: D15 password change required
# description: >-
#   A login with a local password (IMI-style account) is denied while the
#   password is temporary (after a reset) or older than the organisation's
#   maximum age (default 180 days), until the user sets a new one. A
#   password login of a user without a local password is denied too.
# custom:
#   seed: 003_5f84fadfd940cc68.txt
password_change_required contains {"code": "password_change_required", "rule": "D15", "message": msg} if {
	_password_login
	some msg in _password_stale
}

# METADATA
# title: L8 password blocked
# description: >-
#   A login with a local password is denied while the password is blocked
#   (after repeated failures) until an administrator lifts the block.
# custom:
#   seed: 003_5f84fadfd940cc68.txt
password_blocked contains {"code": "password_blocked", "rule": "L8", "message": "the password is blocked; an administrator must unblock it"} if {
	_password_login
	input.user.password.blocked == true
}

# ---------------------------------------------------------------------------
# D7 / D8 / D9 / D10 / D13: grants that give nothing
# ---------------------------------------------------------------------------

# METADATA
# title: D7 no grants via groups
# description: >-
#   For rights flagged no_group, a grant that comes through a user group
#   gives nothing; only a grant given directly to the user counts
#   (Eksamensdatabasen: "Rettigheden må ikke tildeles i kraft af
#   brugergrupper"). The ignored grant is reported, without denying by
#   itself.
# custom:
#   seed: 004_68083951c3b3ad85.txt
grant_via_group contains {"right": r, "grant": id, "code": "grant_via_group", "rule": "D7", "message": msg, "info": true} if {
	some k, right in input.rights
	right.no_group == true
	some id, g in _all_grants
	g.right == k
	r := g.right
	source := object.get(g, "source", "")
	source != "direct"
	msg := sprintf("grant %v of %v comes through group %v; this right must be granted directly", [id, r, source])
}

# METADATA
# title: D8 no grants on SE-numbers
# description: >-
#   For rights flagged no_se, a grant scoped to an SE-number gives nothing;
#   the right must be tied to the CVR or a P-number (Eksamensdatabasen:
#   "Rettigheden må ikke tildeles på SE-nummer"). The ignored grant is
#   reported, without denying by itself.
# custom:
#   seed: 004_68083951c3b3ad85.txt
grant_on_se contains {"right": r, "grant": id, "code": "grant_on_se", "rule": "D8", "message": msg, "info": true} if {
	some k, right in input.rights
	right.no_se == true
	some id, g in _all_grants
	g.right == k
	r := g.right
	scope := g.scope
	scope.type == "se"
	msg := sprintf("grant %v of %v is scoped to SE-number %v; this right must be scoped to the CVR or a P-number", [id, r, object.get(scope, "value", "")])
}

# METADATA
# title: D9 forbidden rights never allow
# description: >-
#   A right flagged forbidden (Arbejdsmarkedsportalen's LSS and Webservice)
#   never allows, even when a grant for it exists in the store. Such a grant
#   is ignored and reported, without denying the other rights.
# custom:
#   seed: 000_7043272af43671e9.txt
forbidden_right contains {"right": r, "grant": id, "code": "forbidden_right", "rule": "D9", "message": msg, "info": true} if {
	some k, right in input.rights
	right.forbidden == true
	some id, g in _all_grants
	g.right == k
	r := g.right
	msg := sprintf("grant %v is for %v, which may never be used", [id, r])
}

# METADATA
# title: D9 forbidden rights never allow
# description: >-
#   Asking for a right flagged forbidden (Arbejdsmarkedsportalen's LSS and
#   Webservice) is denied.
# custom:
#   seed: 000_7043272af43671e9.txt
forbidden_right contains {"right": r, "code": "forbidden_right", "rule": "D9", "message": msg} if {
	r := _asked
	input.rights[r].forbidden == true
	msg := sprintf("%v may never be used", [r])
}

# METADATA
# title: D10 deprecated rights never allow
# description: >-
#   A right flagged deprecated (Arbejdsmarkedsportalen's Jobnet jobordrer)
#   gives nothing: its grants are ignored and reported, without denying the
#   other rights.
# custom:
#   seed: 000_7043272af43671e9.txt
deprecated_right contains {"right": r, "grant": id, "code": "deprecated_right", "rule": "D10", "message": msg, "info": true} if {
	some k, right in input.rights
	right.deprecated == true
	some id, g in _all_grants
	g.right == k
	r := g.right
	msg := sprintf("grant %v is for %v, which is deprecated and gives nothing", [id, r])
}

# METADATA
# title: D10 deprecated rights never allow
# description: >-
#   Asking for a right flagged deprecated (Arbejdsmarkedsportalen's Jobnet
#   jobordrer) is denied.
# custom:
#   seed: 000_7043272af43671e9.txt
deprecated_right contains {"right": r, "code": "deprecated_right", "rule": "D10", "message": msg} if {
	r := _asked
	input.rights[r].deprecated == true
	msg := sprintf("%v is deprecated and gives nothing", [r])
}

# METADATA
# title: D13 expired grants are ignored
# description: >-
#   A grant whose expiry time has passed gives nothing (as does one whose
#   expiry is not a time). The ignored grant is reported, without denying
#   by itself.
# custom:
#   seed: SPEC.md
grant_expired contains {"right": r, "grant": id, "code": "grant_expired", "rule": "D13", "message": msg, "info": true} if {
	now := _now
	some id, g in _all_grants
	r := g.right
	expires := g.expires_at_ns
	_expired(expires, now)
	msg := sprintf("grant %v of %v has expired", [id, r])
}

# A grant expires at expires_at_ns (> 0); 0, null or no field means never.
# Any other value is not a time, so the grant is treated as expired.
_expired(expires, now) if {
	is_number(expires)
	expires > 0
	expires <= now
}

_expired(expires, _) if {
	expires != null
	not is_number(expires)
}

# ---------------------------------------------------------------------------
# D11: effective scope of each right
# ---------------------------------------------------------------------------

# _in_unit(type, value): a grant's scope of this type and value is the
# subject's CVR or one of the organisation's P- or SE-numbers. A scope
# outside the organisation gives nothing.
_in_unit("cvr", value) if value == _cvr

_in_unit("p", value) if _p_units[value] == true

_in_unit("se", value) if _se_numbers[value] == true

# _scoped_rights: rights with a valid grant whose scope is in the
# organisation.
_scoped_rights := {g.right | some g in _valid_grants; _in_unit(g.scope.type, g.scope.value)}

# _cvr_rights: rights with a valid grant on the subject's whole CVR.
_cvr_rights := {g.right | some g in _valid_grants; g.scope.type == "cvr"; g.scope.value == _cvr}

_all_p := sort(object.keys(_p_units))

# _scopes: the effective scope of every considered right that has one.
# A CVR grant gives every P-unit of the organisation and overrides P grants;
# P grants add up (D11). (Performance: the valid grants are walked again
# for each right rather than collected into [right, type, value] tuples
# first: a walk costs no allocation, a tuple three.)
_scopes := {r: s |
	cvr := _cvr
	cvr_rights := _cvr_rights
	grants := _valid_grants
	all_p := _all_p
	some r in _scoped_rights
	all := r in cvr_rights
	ps := {v | some g in grants; g.right == r; g.scope.type == "p"; v := g.scope.value; _p_units[v] == true}
	ses := {v | some g in grants; g.right == r; g.scope.type == "se"; v := g.scope.value; _se_numbers[v] == true}
	s := {"all": all, "cvr": cvr, "p_numbers": _p_numbers(all, all_p, ps), "se_numbers": sort(ses)}
}

_p_numbers(true, all_p, _) := all_p

_p_numbers(false, _, ps) := sort(ps)

# _ext_valid_grants: id -> grant for the external group grants that count.
_ext_valid_grants := object.remove(_ext_grants, _ignored)

# _ext_scoped: [right, org, scope type, value] of every valid external
# grant whose scope is a unit of the granting organisation.
_ext_scoped := {[r, org, type, value] |
	some g in _ext_valid_grants
	r := g.right
	org := g.org
	o := input.grant_orgs[org]
	units := {"cvr": {org: true}, "p": object.get(o, "p_units", {}), "se": object.get(o, "se_numbers", {})}
	type := g.scope.type
	value := g.scope.value
	units[type][value] == true
}

# _ext_scopes: [right, org] -> the effective scope of a right in an org
# whose groups give it (M16), by the D11 rules of that org's units.
_ext_scopes := {[r, org]: s |
	scoped := _ext_scoped
	some [r, org] in {[x, o] | some [x, o, _, _] in scoped}
	all := [r, org, "cvr", org] in scoped
	all_p := sort(object.keys(object.get(input.grant_orgs[org], "p_units", {})))
	ps := {v | some [x, o, "p", v] in scoped; x == r; o == org}
	ses := {v | some [x, o, "se", v] in scoped; x == r; o == org}
	s := {"all": all, "cvr": org, "p_numbers": _p_numbers(all, all_p, ps), "se_numbers": sort(ses)}
}

# _granted_rights: the rights with an effective scope, own or external.
_granted_rights := {r | some r, _ in _scopes} | {k[0] | some k, _ in _ext_scopes}

# METADATA
# title: D11 CVR scope overrides P scope
# description: >-
#   A valid grant on the whole CVR gives the right on every P-unit of the
#   organisation and overrides P-scoped grants of the same right; several
#   P-scoped grants add up. When both kinds exist, this information is
#   reported; it never denies.
# custom:
#   seed: 004_68083951c3b3ad85.txt
cvr_overrides_p contains {"right": r, "grant": id, "code": "cvr_overrides_p", "rule": "D11", "message": msg, "info": true} if {
	cvr_rights := _cvr_rights
	some id, g in _valid_grants
	scope := g.scope
	scope.type == "p"
	r := g.right
	cvr_rights[r]
	msg := sprintf("grant %v of %v on P-number %v is covered by a grant on the whole CVR %v", [id, r, scope.value, _cvr])
}

# ---------------------------------------------------------------------------
# D1 / D4 / D5 / D12: does any right allow, for whom, and where
# ---------------------------------------------------------------------------

# METADATA
# title: D1 no valid grant
# description: >-
#   Nothing allows unless a valid grant matches: the asked right has no
#   effective scope from a valid grant.
# custom:
#   seed: 004_68083951c3b3ad85.txt
no_grant contains {"right": r, "code": "no_grant", "rule": "D1", "message": msg} if {
	r := _asked
	not _granted_rights[r]
	msg := sprintf("no valid grant of %v", [r])
}

# METADATA
# title: D1 no valid grant
# description: >-
#   Nothing allows unless a valid grant matches: when no single right is
#   asked for, no right of the service has an effective scope from a valid
#   grant.
# custom:
#   seed: 004_68083951c3b3ad85.txt
no_grant contains {"code": "no_grant", "rule": "D1", "message": msg} if {
	not _asked
	count(_granted_rights) == 0
	msg := sprintf("no valid grant of any right of service %v", [_service])
}

# _checked_rights: the rights D4 and D5 look at. The asked right, whether or
# not it is held; or, when none is asked for, every right of the service
# the user holds through a valid grant.
_checked_rights := {r} if {
	r := _asked
} else := _granted_rights

_employee if {
	input.subject.kind in {"employee", "function"}
	not input.user.kind == "private"
}

# METADATA
# title: D4 employees only
# description: >-
#   Rights flagged employees_only deny private persons (and identities whose
#   kind is missing). This applies to the asked right, or, when no right is
#   asked for, to every right of the service the user holds a valid grant
#   for; if any of them carries the flag, the whole decision is denied.
# custom:
#   seed: 004_68083951c3b3ad85.txt
not_employee contains {"right": r, "code": "not_employee", "rule": "D4", "message": msg} if {
	not _employee
	some r in _checked_rights
	input.rights[r].employees_only == true
	msg := sprintf("%v is for employees only", [r])
}

_cpr_linked if input.subject.cpr_linked == true

# METADATA
# title: D5 CPR must be linked
# description: >-
#   Rights flagged require_cpr deny identities without a linked CPR number
#   ("Personnummer (CPR) skal være tilknyttet medarbejdersignaturen"). This
#   applies to the asked right, or, when no right is asked for, to every
#   right of the service the user holds a valid grant for; if any of them
#   carries the flag, the whole decision is denied.
# custom:
#   seed: 004_68083951c3b3ad85.txt
cpr_not_linked contains {"right": r, "code": "cpr_not_linked", "rule": "D5", "message": msg} if {
	not _cpr_linked
	some r in _checked_rights
	input.rights[r].require_cpr == true
	msg := sprintf("%v requires an identity with a linked CPR number", [r])
}

_target_covered(p) if {
	some s in _scopes
	p in s.p_numbers
}

_target_covered(p) if {
	some s in _ext_scopes
	p in s.p_numbers
}

# METADATA
# title: D12 target P-unit outside scope
# description: >-
#   When the application asks about one P-unit, the login is allowed only if
#   that P-unit is inside the effective scope of the asked right (or of some
#   right of the service). A grant on the whole CVR covers every P-unit of
#   the organisation, and only those.
# custom:
#   seed: 004_68083951c3b3ad85.txt
outside_scope contains {"code": "outside_scope", "rule": "D12", "message": msg} if {
	p := _target_p
	count(_granted_rights) > 0
	not _target_covered(p)
	msg := sprintf("P-number %v is outside the effective scope", [p])
}
