# METADATA
# title: Adgang administration checks
# description: >-
#   Every proposed change made through the admin API (after the role check
#   of A1/A14) is checked by these rules (A2-A13 of SPEC §3) before anything
#   is stored. allow is true only when no rule gives a reason. The input is
#   described in policies/README.md.
# scope: package
package adgang.admin

import data.adgang.lib

# ---------------------------------------------------------------------------
# Entrypoints
# ---------------------------------------------------------------------------

# decision is the answer the admin API reads.
decision := {"allow": allow, "reasons": reasons}

default allow := false

allow if count(lib.deny_reasons(_reasons)) == 0

reasons := sort(_reasons)

_reasons := union({
	input_incomplete, function_cert_immutable, forbidden_right,
	deprecated_right, group_grant_not_allowed, se_scope_not_allowed,
	scope_not_in_org, anonymity_immutable, delete_not_allowed, last_admin,
	escalation, duplicate, system_group_immutable, activation_not_possible,
	activation_one_at_a_time, already_active, password_login_not_enabled,
	not_manual_association, external_grant_not_admin,
	anonymity_request,
	identification_means_not_allowed, must_have_role, admin_not_cpr_identified,
	import_not_allowed, certificate_type_not_allowed, certificate_state,
	import_retired,
})

# ---------------------------------------------------------------------------
# Facts
# ---------------------------------------------------------------------------

_actions := {
	"user.create", "user.update", "user.delete", "user.inactivate",
	"user.activate", "user.deactivate", "grant.create", "grant.delete",
	"group.create", "group.delete", "group.member.add",
	"group.member.remove", "org.update", "user.activation", "user.confirm",
	"user.password.reset", "user.password.unblock",
	"user.anonymity.request", "user.anonymity.approve", "user.anonymity.reject",
	"user.import",
	"certificate.order", "certificate.issue", "certificate.revoke",
	"certificate.renew", "certificate.delete",
	"import.retire",
}

_certificate_actions := {
	"certificate.issue", "certificate.revoke", "certificate.renew",
	"certificate.delete",
}

_user_actions := {
	"user.update", "user.delete", "user.inactivate", "user.activate", "user.deactivate",
	"user.activation", "user.confirm", "user.password.reset", "user.password.unblock",
}

_grant_actions := {"grant.create", "grant.delete"}

_needs_target := ((_user_actions | _grant_actions) | _certificate_actions) | {"group.member.add", "group.member.remove"}

_superadmin if input.actor.superadmin == true

_action := a if {
	a := input.action
	lib.non_empty_string(a)
} else := "(none)"

_target_id := id if {
	id := input.target.id
	lib.non_empty_string(id)
} else := "(none)"

_right_id := id if {
	id := input.right.id
	lib.non_empty_string(id)
} else := "(none)"

# Helpers used under "not" are rules: OPA hoists refs out of a negated
# call, so "not f(input.x)" would be undefined, not true, when x is missing.
_known_action if input.action in _actions

_has_actor if is_object(input.actor)

_has_org if is_object(input.org)

_has_target if is_object(input.target)

_has_grant if is_object(input.grant)

_has_right if is_object(input.right)

# ---------------------------------------------------------------------------
# Fail closed
# ---------------------------------------------------------------------------

_missing contains "actor" if not _has_actor

_missing contains "org" if not _has_org

_missing contains "target" if {
	input.action in _needs_target
	not _has_target
}

_missing contains "grant" if {
	input.action in _grant_actions
	not _has_grant
}

_missing contains "right" if {
	input.action in _grant_actions
	not _has_right
}

# METADATA
# title: fail_closed incomplete input
# description: >-
#   A change is refused when the facts the rules need are missing: an
#   unknown action; no actor or organisation; no current target object for
#   a change of a user, a group's membership or a grant (the user, the
#   group, or the grant's holder); no grant or catalogue entry of its right
#   for a grant change. Without them the other rules could not see a
#   violation, so the answer is no.
# custom:
#   seed: SPEC.md
input_incomplete contains lib.reason("input_incomplete", "fail_closed", msg) if {
	not _known_action
	msg := sprintf("unknown action %v", [_action])
}

# METADATA
# title: fail_closed incomplete input
# description: >-
#   A change is refused when an object the rules need is missing (see
#   above).
# custom:
#   seed: SPEC.md
input_incomplete contains lib.reason("input_incomplete", "fail_closed", msg) if {
	some name in _missing
	msg := sprintf("%v is missing for action %v", [name, _action])
}

# ---------------------------------------------------------------------------
# A2: function certificate users
# ---------------------------------------------------------------------------

_function_user_target if {
	input.action in _user_actions
	input.target.kind == "function"
}

_function_user_target if {
	input.action in _grant_actions
	input.grant.holder_type == "user"
	input.target.kind == "function"
}

# A group membership changes a user's effective rights, so adding a
# function certificate user to a group, or removing it, is an edit too.
_function_user_target if {
	input.action in {"group.member.add", "group.member.remove"}
	input.member.kind == "function"
}

# METADATA
# title: A2 function certificate users are immutable
# description: >-
#   A function certificate user (a system user, "funktionscertifikat") cannot
#   be edited, inactivated, activated, deactivated or deleted, nor have its
#   grants created or deleted, nor be added to or removed from a group
#   (which changes its effective rights), by organisation administrators.
#   Only a superadmin may change it.
# custom:
#   seed: 000_7043272af43671e9.txt
function_cert_immutable contains lib.reason("function_cert_immutable", "A2", msg) if {
	_function_user_target
	not _superadmin
	msg := sprintf("user %v is a function certificate user and cannot be changed by an administrator (%v)", [_target_id, input.action])
}

# ---------------------------------------------------------------------------
# A3-A7, A11: what may be granted, to whom, where
# ---------------------------------------------------------------------------

# METADATA
# title: A3 forbidden rights cannot be granted
# description: >-
#   A right flagged forbidden (Arbejdsmarkedsportalen's LSS and Webservice)
#   can never be granted.
# custom:
#   seed: 000_7043272af43671e9.txt
forbidden_right contains lib.reason("forbidden_right", "A3", msg) if {
	input.action == "grant.create"
	input.right.forbidden == true
	msg := sprintf("%v may never be granted", [_right_id])
}

# METADATA
# title: A4 deprecated rights cannot be newly granted
# description: >-
#   A right flagged deprecated (Arbejdsmarkedsportalen's Jobnet jobordrer)
#   cannot be granted any more. Existing grants may still be deleted.
# custom:
#   seed: 000_7043272af43671e9.txt
deprecated_right contains lib.reason("deprecated_right", "A4", msg) if {
	input.action == "grant.create"
	input.right.deprecated == true
	msg := sprintf("%v is deprecated and cannot be granted", [_right_id])
}

# METADATA
# title: A5 no grants to groups for no_group rights
# description: >-
#   A right flagged no_group cannot be granted to a user group; it must be
#   granted to each user directly (Eksamensdatabasen: "Rettigheden må ikke
#   tildeles i kraft af brugergrupper").
# custom:
#   seed: 004_68083951c3b3ad85.txt
group_grant_not_allowed contains lib.reason("group_grant_not_allowed", "A5", msg) if {
	input.action == "grant.create"
	input.right.no_group == true
	input.grant.holder_type == "group"
	msg := sprintf("%v cannot be granted to a group", [_right_id])
}

# METADATA
# title: A6 no SE-number scope for no_se rights
# description: >-
#   A right flagged no_se cannot be scoped to an SE-number; it must be
#   scoped to the CVR or a P-number (Eksamensdatabasen: "Rettigheden må ikke
#   tildeles på SE-nummer").
# custom:
#   seed: 004_68083951c3b3ad85.txt
se_scope_not_allowed contains lib.reason("se_scope_not_allowed", "A6", msg) if {
	input.action == "grant.create"
	input.right.no_se == true
	input.grant.scope.type == "se"
	msg := sprintf("%v cannot be scoped to an SE-number", [_right_id])
}

_org_cvr := c if {
	c := input.org.cvr
	lib.non_empty_string(c)
}

_org_text := c if {
	c := _org_cvr
} else := "(none)"

_p_units := ps if {
	ps := input.org.p_units
	is_object(ps)
} else := {}

_se_numbers := se if {
	se := input.org.se_numbers
	is_object(se)
} else := {}

_scope_in_org if {
	input.grant.scope.type == "cvr"
	input.grant.scope.value == _org_cvr
}

_scope_in_org if {
	input.grant.scope.type == "p"
	lib.member(_p_units, input.grant.scope.value)
}

_scope_in_org if {
	input.grant.scope.type == "se"
	lib.member(_se_numbers, input.grant.scope.value)
}

_scope_text := sprintf("%v %v", [t, v]) if {
	t := input.grant.scope.type
	v := input.grant.scope.value
} else := "(none)"

# METADATA
# title: A7 scope must belong to the grant's organisation
# description: >-
#   A grant's scope must be the organisation's own CVR, one of its
#   P-numbers or one of its SE-numbers. A missing or unknown scope is
#   refused too.
# custom:
#   seed: 001_3eb8a6ec070b654f.txt
scope_not_in_org contains lib.reason("scope_not_in_org", "A7", msg) if {
	input.action == "grant.create"
	_has_grant
	not _scope_in_org
	msg := sprintf("scope %v is not a unit of organisation %v", [_scope_text, _org_text])
}

# METADATA
# title: A7 scope must belong to the grant's organisation
# description: >-
#   A grant made in one organisation cannot belong to another.
# custom:
#   seed: 001_3eb8a6ec070b654f.txt
scope_not_in_org contains lib.reason("scope_not_in_org", "A7", msg) if {
	input.action == "grant.create"
	g := input.grant.org
	lib.non_empty_string(g)
	g != _org_cvr
	msg := sprintf("the grant's organisation %v is not %v", [g, _org_text])
}

_unit_known("p_number", v) if lib.member(_p_units, v)

_unit_known("se_number", v) if lib.member(_se_numbers, v)

# METADATA
# title: A7 user's P-/SE-number must belong to the organisation
# description: >-
#   A user created or updated with a P-number or SE-number gets only one of
#   its own organisation's units.
# custom:
#   seed: 001_3eb8a6ec070b654f.txt
scope_not_in_org contains lib.reason("scope_not_in_org", "A7", msg) if {
	input.action in {"user.create", "user.update"}
	some field in {"p_number", "se_number"}
	v := input.change[field]
	lib.non_empty_string(v)
	not _unit_known(field, v)
	msg := sprintf("%v %v is not a unit of organisation %v", [field, v, _org_text])
}

_actor_holds(role) if role in input.actor.roles

# METADATA
# title: A11 no privilege escalation
# description: >-
#   An administrator cannot grant an admin role (user-admin, org-admin, …)
#   that it does not hold itself in the organisation. A superadmin may.
# custom:
#   seed: SPEC.md
escalation contains lib.reason("escalation", "A11", msg) if {
	input.action == "grant.create"
	role := input.right.admin_role
	lib.non_empty_string(role)
	not _superadmin
	not _actor_holds(role)
	msg := sprintf("%v gives the admin role %v, which the administrator does not hold", [_right_id, role])
}

# _role_changes: the users whose effective admin roles in the organisation
# the change alters, {user_id, before, after} (policies/README.md).
_role_changes := rc if {
	rc := input.role_changes
	is_array(rc)
} else := []

# _roles_at(ch, k): the roles of a role change at k ("before", "after"); a
# missing list is empty, so a change without "before" gains all of "after".
_roles_at(ch, k) := r if {
	r := ch[k]
	is_array(r)
} else := []

_gained(ch) := {role |
	some role in _roles_at(ch, "after")
	not role in _roles_at(ch, "before")
}

_lost(ch) := {role |
	some role in _roles_at(ch, "before")
	not role in _roles_at(ch, "after")
}

# An administrator may take an admin role away when it holds that role
# itself; an org-admin manages every user of its organisation (A14), the
# other administrators included.
_may_remove(role) if _actor_holds(role)

_may_remove(_) if _actor_holds("org-admin")

_change_user(ch) := id if {
	id := ch.user_id
	lib.non_empty_string(id)
} else := "(none)"

# METADATA
# title: A11 no privilege escalation
# description: >-
#   Nobody gains an admin role that the administrator making the change
#   does not hold in the organisation, whatever the path: a grant to the
#   user or to one of its groups, a group membership, a new home P-unit
#   whose system group holds an admin right, the creation of a user in such
#   a P-unit (by hand, knock acceptance or CSV import), a reactivation. The
#   facts are the user's effective admin roles before and after the change
#   (role_changes). A superadmin may.
# custom:
#   seed: SPEC.md
escalation contains lib.reason("escalation", "A11", msg) if {
	some ch in _role_changes
	some role in _gained(ch)
	not _superadmin
	not _actor_holds(role)
	msg := sprintf("user %v would gain the admin role %v, which the administrator does not hold (%v)", [_change_user(ch), role, _action])
}

# METADATA
# title: A11 no privilege escalation
# description: >-
#   An administrator cannot take an admin role it does not hold away from
#   a user (a user-admin cannot demote, inactivate, deactivate or delete an
#   org-admin, nor move it off the P-unit or out of the group that makes
#   it one). An org-admin and a superadmin may.
# custom:
#   seed: SPEC.md
escalation contains lib.reason("escalation", "A11", msg) if {
	some ch in _role_changes
	some role in _lost(ch)
	not _superadmin
	not _may_remove(role)
	msg := sprintf("user %v would lose the admin role %v, which the administrator does not hold (%v)", [_change_user(ch), role, _action])
}

# METADATA
# title: A11 no privilege escalation
# description: >-
#   An administrator cannot revoke a grant of an admin role it does not
#   hold (from a user or from a group, whose members all hold it). An
#   org-admin and a superadmin may.
# custom:
#   seed: SPEC.md
escalation contains lib.reason("escalation", "A11", msg) if {
	input.action == "grant.delete"
	role := input.right.admin_role
	lib.non_empty_string(role)
	not _superadmin
	not _may_remove(role)
	msg := sprintf("%v gives the admin role %v, which the administrator does not hold; it cannot revoke it", [_right_id, role])
}

# METADATA
# title: A11 no privilege escalation
# description: >-
#   An administrator cannot revoke the certificate of a user who holds an
#   admin role the administrator may not take away: revocation is
#   irreversible and locks the holder out (D14), so a user-admin cannot
#   revoke an org-admin's certificate. An org-admin and a superadmin may.
# custom:
#   seed: SPEC.md
escalation contains lib.reason("escalation", "A11", msg) if {
	input.action == "certificate.revoke"
	some role in _cert_holder_roles
	not _superadmin
	not _may_remove(role)
	msg := sprintf("the certificate's holder %v is %v, which the administrator does not hold; it cannot revoke the certificate", [input.target.user_id, role])
}

_cert_holder_roles := r if {
	r := input.target.holder_roles
	is_array(r)
} else := []

# ---------------------------------------------------------------------------
# A8, A9, A10, A12: users
# ---------------------------------------------------------------------------

_target_anonymous := a if {
	a := input.target.anonymous
	is_boolean(a)
} else := false

# METADATA
# title: A8 anonymity is set at creation only
# description: >-
#   Whether a user is anonymous is decided when the user is created and
#   cannot be changed later ("anonymisering kan ikke tilføjes senere"); a
#   user who wants anonymity is created anew.
# custom:
#   seed: 001_3eb8a6ec070b654f.txt
anonymity_immutable contains lib.reason("anonymity_immutable", "A8", msg) if {
	input.action == "user.update"
	is_object(input.change)
	"anonymous" in object.keys(input.change)
	input.change.anonymous != _target_anonymous
	msg := sprintf("anonymity of user %v cannot be changed after creation", [_target_id])
}

# METADATA
# title: A9 inactivate, never delete
# description: >-
#   In organisations whose settings say deletion inactivate_only (as on
#   Arbejdsmarkedsportalen), users are inactivated, never deleted by an
#   administrator; automatic deletion after inactivity (L2) still applies.
# custom:
#   seed: 000_7043272af43671e9.txt
delete_not_allowed contains lib.reason("delete_not_allowed", "A9", msg) if {
	input.action == "user.delete"
	input.org.settings.deletion == "inactivate_only"
	msg := sprintf("organisation %v inactivates users; it does not delete them", [_org_text])
}

# _must_have_roles: admin roles that must keep at least one holder in an org.
_must_have_roles := {"org-admin", "user-admin"}

_removing_user_actions := {"user.inactivate", "user.deactivate", "user.delete"}

_sole_holder(role, user_id) if {
	holders := input.admin_holders[role]
	{h | some h in holders} == {user_id}
}

_keeps_role(role) if role in input.remaining_roles

_gained_by_another(role, user_id) if {
	some other in _role_changes
	other.user_id != user_id
	role in _gained(other)
}

# METADATA
# title: A10 the last administrator stays
# description: >-
#   The only active holder of an admin role (org-admin, user-admin) in an
#   organisation cannot be inactivated, deactivated or deleted; another
#   administrator must be appointed first ("Visse brugerroller skal gives
#   til mindst én bruger i myndigheden").
# custom:
#   seed: 003_5f84fadfd940cc68.txt
last_admin contains lib.reason("last_admin", "A10", msg) if {
	input.action in _removing_user_actions
	some role in _must_have_roles
	_sole_holder(role, input.target.id)
	msg := sprintf("user %v is the last %v of the organisation", [_target_id, role])
}

# METADATA
# title: A10 the last administrator stays
# description: >-
#   An update that sets the status of the only active holder of an admin
#   role to inactive, deactivated or deleted is refused.
# custom:
#   seed: 003_5f84fadfd940cc68.txt
last_admin contains lib.reason("last_admin", "A10", msg) if {
	input.action == "user.update"
	input.change.status in {"inactive", "deactivated", "deleted"}
	some role in _must_have_roles
	_sole_holder(role, input.target.id)
	msg := sprintf("user %v is the last %v of the organisation", [_target_id, role])
}

# METADATA
# title: A10 the last administrator stays
# description: >-
#   Deleting a grant of an admin role is refused when its holder is the
#   only holder of that role in the organisation and does not keep the role
#   through another grant.
# custom:
#   seed: 003_5f84fadfd940cc68.txt
last_admin contains lib.reason("last_admin", "A10", msg) if {
	input.action == "grant.delete"
	role := input.right.admin_role
	role in _must_have_roles
	input.grant.holder_type == "user"
	holder := input.grant.holder_id
	not _keeps_role(role)
	_sole_holder(role, holder)
	msg := sprintf("user %v is the last %v of the organisation", [holder, role])
}

# METADATA
# title: A10 the last administrator stays
# description: >-
#   Any change that takes an admin role away from its only holder in the
#   organisation (a group membership removed, a move to another P-unit) is
#   refused (role_changes), unless the same change gives the role to
#   another user (a transfer: "Rollen som administrator kan også
#   overdrages").
# custom:
#   seed: 003_5f84fadfd940cc68.txt
last_admin contains lib.reason("last_admin", "A10", msg) if {
	some ch in _role_changes
	some role in _lost(ch)
	role in _must_have_roles
	_sole_holder(role, ch.user_id)
	not _gained_by_another(role, ch.user_id)
	msg := sprintf("user %v is the last %v of the organisation", [ch.user_id, role])
}

# METADATA
# title: A12 email and username are unique
# description: >-
#   A user cannot be created or changed to have the e-mail address of
#   another user ("Du kan ikke registrere en ny IMI-bruger med samme
#   e-mailadresse som en eksisterende bruger").
# custom:
#   seed: 003_5f84fadfd940cc68.txt
duplicate contains lib.reason("duplicate", "A12", "the e-mail address is already used by another user") if {
	input.action in {"user.create", "user.update"}
	input.conflicts.email == true
}

# METADATA
# title: A12 email and username are unique
# description: >-
#   A user cannot be created or changed to have the username of another
#   user ("Systemet accepterer ikke brugernavne, der allerede er i brug").
# custom:
#   seed: 003_5f84fadfd940cc68.txt
duplicate contains lib.reason("duplicate", "A12", "the username is already used by another user") if {
	input.action in {"user.create", "user.update"}
	input.conflicts.username == true
}

# ---------------------------------------------------------------------------
# A13: groups
# ---------------------------------------------------------------------------

# METADATA
# title: A13 system groups are read-only
# description: >-
#   The membership of a system group (one per P-unit, kept automatically)
#   cannot be changed by hand ("Du kan ikke tilføje brugere til en
#   systemoprettet brugergruppe").
# custom:
#   seed: 001_3eb8a6ec070b654f.txt
system_group_immutable contains lib.reason("system_group_immutable", "A13", msg) if {
	input.action in {"group.member.add", "group.member.remove"}
	input.target.kind == "system"
	msg := sprintf("group %v is a system group; its members cannot be changed by hand", [_target_id])
}

# METADATA
# title: A13 system groups are read-only
# description: >-
#   A system group goes only with its P-unit: it cannot be deleted by hand
#   (the organisation's units decide which system groups exist).
# custom:
#   seed: 001_3eb8a6ec070b654f.txt
system_group_immutable contains lib.reason("system_group_immutable", "A13", msg) if {
	input.action == "group.delete"
	input.target.kind == "system"
	msg := sprintf("group %v is a system group; it follows the organisation's P-units and cannot be deleted by hand", [_target_id])
}

# ---------------------------------------------------------------------------
# L7: activation, L8: local passwords
# ---------------------------------------------------------------------------

# METADATA
# title: L7 activation needs a CPR number or a birth date
# description: >-
#   A user is activated either by an activation mail (created with a CPR
#   number) or by a one-time activation code (created with a birth date).
#   A user with neither cannot be sent an activation.
# custom:
#   seed: 001_3eb8a6ec070b654f.txt
activation_not_possible contains lib.reason("activation_not_possible", "L7", msg) if {
	input.action == "user.activation"
	not _target_cpr_linked
	not _target_has_birth_date
	msg := sprintf("user %v has neither a CPR number nor a birth date to activate with", [_target_id])
}

_target_has_birth_date if lib.non_empty_string(input.target.birth_date)

_target_cpr_linked if input.target.cpr_linked == true

_org_uses_passwords if input.org.settings.password_login == true

# METADATA
# title: L7 bulk activation only for CPR users
# description: >-
#   Bulk activation sends activation mails to users created with a CPR
#   number. A user created with a birth date gets a one-time code, which is
#   issued one user at a time only ("Aktivering af brugere oprettet med
#   fødselsdato skal ske enkeltvis").
# custom:
#   seed: 001_3eb8a6ec070b654f.txt
activation_one_at_a_time contains lib.reason("activation_one_at_a_time", "L7", msg) if {
	input.action == "user.activation"
	input.change.bulk == true
	not _target_cpr_linked
	msg := sprintf("user %v was created with a birth date; its activation code is issued one user at a time", [_target_id])
}

# METADATA
# title: L7 only new users are activated
# description: >-
#   An activation (mail or code) is sent, resent or regenerated only while
#   the user's status is new; an active, inactive or deactivated user is
#   handled with activate/inactivate instead.
# custom:
#   seed: 001_3eb8a6ec070b654f.txt
already_active contains lib.reason("already_active", "L7", msg) if {
	input.action == "user.activation"
	input.target.status != "new"
	msg := sprintf("user %v is %v, not new; it needs no activation", [_target_id, input.target.status])
}

# METADATA
# title: L8 local passwords only where the org uses them
# description: >-
#   Passwords are reset or unblocked only for users of an organisation with
#   local password login (IMI-style, settings.password_login).
# custom:
#   seed: 003_5f84fadfd940cc68.txt
password_login_not_enabled contains lib.reason("password_login_not_enabled", "L8", msg) if {
	input.action in {"user.password.reset", "user.password.unblock"}
	not _org_uses_passwords
	msg := sprintf("organisation %v does not use local passwords", [input.org.cvr])
}

# METADATA
# title: L4 only manual associations and imported users are confirmed
# description: >-
#   Confirming restarts the L4 clock of a manually associated user
#   (Unilogin, source manual with a user type), and keeps a user an import
#   batch brought in when that batch is retired (L5: "Det er muligt at
#   undgå sletningen ved at bekræfte de i mailen nævnte brugere"). Other
#   users have no such clock to restart.
# custom:
#   seed: 002_cf0e3ab59867a24b.txt
not_manual_association contains lib.reason("not_manual_association", "L4", msg) if {
	input.action == "user.confirm"
	not _target_manual
	msg := sprintf("user %v is not a manual association; there is nothing to confirm", [_target_id])
}

_target_manual if input.target.association in {"manual", "import"}

# METADATA
# title: M17 users of another org get admin roles only
# description: >-
#   An organisation may make a user of another organisation its
#   supplementary (external) administrator: the grant belongs to the
#   granting org, so the external admin acts only there. Such a grant must
#   be an administrator role; ordinary rights are given by the user's own
#   organisation.
# custom:
#   seed: 002_cf0e3ab59867a24b.txt
external_grant_not_admin contains lib.reason("external_grant_not_admin", "M17", msg) if {
	input.action == "grant.create"
	input.grant.holder_type == "user"
	lib.non_empty_string(input.target.org)
	input.target.org != input.org.cvr
	not _admin_role_right
	msg := sprintf("user %v belongs to another organisation; it can only be given an administrator role here, not %v", [_target_id, _right_id])
}

_admin_role_right if lib.non_empty_string(input.right.admin_role)

# ---------------------------------------------------------------------------
# A8: anonymity requests (an existing user asks; an approval re-creates it)
# ---------------------------------------------------------------------------

_anonymity_actions := {"user.anonymity.request", "user.anonymity.approve", "user.anonymity.reject"}

_has_anonymity if is_object(input.anonymity)

_missing contains "target" if {
	input.action in _anonymity_actions
	not _has_target
}

_missing contains "anonymity" if {
	input.action in _anonymity_actions
	not _has_anonymity
}

_offers_anonymity if {
	some r in input.anonymity.rights
	lib.non_empty_string(r)
}

_request_status := st if {
	st := input.anonymity.request.status
	lib.non_empty_string(st)
} else := "(none)"

# _asks_anonymity: a request, or the approval of a pending one (a decided
# request is refused by its state alone).
_asks_anonymity if input.action == "user.anonymity.request"

_asks_anonymity if {
	input.action == "user.anonymity.approve"
	_request_status == "pending"
}

# METADATA
# title: A8 anonymity only for services using NemLog-in as broker
# description: >-
#   Anonymity works only on services that use NemLog-in as broker
#   ("Anonymisering kun fungerer på tjenester, der anvender NemLog-in som
#   Broker"): a user may ask for anonymity, and an administrator may
#   approve it, only while the user holds some right flagged
#   anonymity_allowed. Function certificate users are systems, never
#   anonymous persons.
# custom:
#   seed: 001_3eb8a6ec070b654f.txt
anonymity_request contains lib.reason("anonymity_not_offered", "A8", msg) if {
	_asks_anonymity
	not _offers_anonymity
	msg := sprintf("user %v holds no right of a service that uses NemLog-in as broker (anonymity_allowed); anonymity is not offered", [_target_id])
}

# METADATA
# title: A8 anonymity only for services using NemLog-in as broker
# description: >-
#   A function certificate user cannot ask for anonymity or be made
#   anonymous.
# custom:
#   seed: 001_3eb8a6ec070b654f.txt
anonymity_request contains lib.reason("anonymity_not_offered", "A8", msg) if {
	_asks_anonymity
	input.target.kind == "function"
	msg := sprintf("user %v is a function certificate user; it cannot be anonymous", [_target_id])
}

# METADATA
# title: A8 an anonymous user is not made anonymous again
# description: >-
#   A user created anonymous (or already re-created as anonymous) has
#   nothing to ask for.
# custom:
#   seed: 001_3eb8a6ec070b654f.txt
anonymity_request contains lib.reason("already_anonymous", "A8", msg) if {
	_asks_anonymity
	_target_anonymous == true
	msg := sprintf("user %v is already anonymous", [_target_id])
}

# METADATA
# title: A8 one pending anonymity request per user
# description: >-
#   While a user's request waits for the administrators ("én mail og én
#   notifikation …, som du skal godkende"), it cannot ask again.
# custom:
#   seed: 001_3eb8a6ec070b654f.txt
anonymity_request contains lib.reason("anonymity_request_pending", "A8", msg) if {
	input.action == "user.anonymity.request"
	input.anonymity.pending == true
	msg := sprintf("user %v already has a pending anonymity request", [_target_id])
}

# METADATA
# title: A8 only a pending anonymity request is decided
# description: >-
#   An anonymity request is approved or rejected once; an approved or
#   rejected request (or a missing one) cannot be decided again.
# custom:
#   seed: 001_3eb8a6ec070b654f.txt
anonymity_request contains lib.reason("anonymity_request_state", "A8", msg) if {
	input.action in {"user.anonymity.approve", "user.anonymity.reject"}
	_request_status != "pending"
	msg := sprintf("the anonymity request is %v, not pending; it cannot be decided again", [_request_status])
}

# ---------------------------------------------------------------------------
# Issue 17: A16-A19, certificates (C1, C2)
# ---------------------------------------------------------------------------

_org_setting(name) := v if {
	v := input.org.settings[name]
}

_allowed_means := {m | some m in _org_setting("identification_means")}

_org_limits_means if count(_allowed_means) > 0

# METADATA
# title: A16 identification means within the organisation's
# description: >-
#   A user's identification means must be among those the organisation's
#   settings allow (settings.identification_means). An organisation without
#   that setting (or with an empty list) allows any.
# custom:
#   seed: 001_3eb8a6ec070b654f.txt
identification_means_not_allowed contains lib.reason("identification_means_not_allowed", "A16", msg) if {
	input.action in {"user.create", "user.update"}
	_org_limits_means
	some m in input.change.identification_means
	not m in _allowed_means
	msg := sprintf("identification means %v is not allowed by organisation %v", [m, _org_text])
}

# _must_have: per right the organisation marks must-have (after the
# change), whether it was marked and held before and is held after
# (policies/README.md).
_must_have := mh if {
	mh := input.must_have
	is_array(mh)
} else := []

_left_without_holder(m) if {
	m.held_after == false
	m.held_before == true
}

_left_without_holder(m) if {
	m.held_after == false
	m.marked_before == false
}

# METADATA
# title: A17 must-have roles keep a holder
# description: >-
#   An organisation may mark rights (settings.must_have_roles) that must
#   always have at least one active holder: a user whose login decision for
#   that right allows. A change that would leave such a right without a
#   holder (a revoke, an inactivation, a move, marking a right nobody holds)
#   is refused; another holder must be appointed first ("Visse brugerroller
#   skal gives til mindst én bruger i myndigheden").
# custom:
#   seed: 003_5f84fadfd940cc68.txt
must_have_role contains lib.reason("must_have_role", "A17", msg) if {
	some m in _must_have
	_left_without_holder(m)
	msg := sprintf("the right %v must keep at least one active holder in organisation %v (%v)", [m.right, _org_text, _action])
}

_actor_cpr_linked if input.actor.cpr_linked == true

# METADATA
# title: A18 administrators are CPR-identified
# description: >-
#   In an organisation whose settings require it (admins_cpr_identified),
#   every administrative change must be made by an administrator whose own
#   user has a linked CPR number (Unilogin: administrators log in
#   CPR-identified). It does not bind a superadmin.
# custom:
#   seed: 002_cf0e3ab59867a24b.txt
admin_not_cpr_identified contains lib.reason("admin_not_cpr_identified", "A18", msg) if {
	input.org.settings.admins_cpr_identified == true
	not _superadmin
	not _actor_cpr_linked
	msg := sprintf("organisation %v requires CPR-identified administrators", [_org_text])
}

# METADATA
# title: A19 no CSV import for a-kasser
# description: >-
#   Organisations of type a-kasse cannot create, update or delete users by
#   CSV import (Arbejdsmarkedsportalen: "Importér bruger: kan ikke benyttes
#   af a-kasser").
# custom:
#   seed: 000_7043272af43671e9.txt
import_not_allowed contains lib.reason("import_not_allowed", "A19", msg) if {
	input.action == "user.import"
	input.org.type == "a-kasse"
	msg := sprintf("organisation %v is an a-kasse; it cannot import users from CSV", [_org_text])
}

_allowed_cert_types := {t | some t in _org_setting("certificate_types")}

_cert_type := t if {
	t := input.change.type
	is_string(t)
} else := "(none)"

_cert_type_allowed if count(_allowed_cert_types) == 0

_cert_type_allowed if _cert_type in _allowed_cert_types

# METADATA
# title: C1 certificate types the organisation allows
# description: >-
#   A certificate (MitID Erhverv: user, organisation or function
#   certificate) is ordered only of a type the organisation's settings
#   allow (settings.certificate_types; no list allows every type).
# custom:
#   seed: 001_3eb8a6ec070b654f.txt
certificate_type_not_allowed contains lib.reason("certificate_type_not_allowed", "C1", msg) if {
	input.action == "certificate.order"
	not _cert_type_allowed
	msg := sprintf("organisation %v does not allow %v certificates", [_org_text, _cert_type])
}

_cert_holder_kind := {"user": "employee", "function": "function"}

# METADATA
# title: C1 certificate types the organisation allows
# description: >-
#   A user certificate belongs to an employee, a function certificate to a
#   function certificate user (system user) of the organisation; an
#   organisation certificate to the organisation itself.
# custom:
#   seed: 001_3eb8a6ec070b654f.txt
certificate_type_not_allowed contains lib.reason("certificate_type_not_allowed", "C1", msg) if {
	input.action == "certificate.order"
	want := _cert_holder_kind[_cert_type]
	input.change.holder.kind != want
	msg := sprintf("a %v certificate needs a holder of kind %v", [_cert_type, want])
}

# _cert_from: the states each certificate action starts from.
_cert_from := {
	"certificate.issue": {"ordered"},
	"certificate.delete": {"ordered"},
	"certificate.revoke": {"issued", "expired"},
	"certificate.renew": {"issued", "expired"},
}

_cert_serial := s if {
	s := input.target.serial
	is_string(s)
} else := "(none)"

_cert_status := s if {
	s := input.target.status
	is_string(s)
} else := "(none)"

# METADATA
# title: C2 certificate life cycle
# description: >-
#   A certificate is ordered, then issued, and may be revoked (for good) or
#   renewed (a new certificate) once issued or expired. An order can be
#   deleted only before it is issued; a revoked certificate changes no more.
# custom:
#   seed: 001_3eb8a6ec070b654f.txt
certificate_state contains lib.reason("certificate_state", "C2", msg) if {
	from := _cert_from[input.action]
	not _cert_status in from
	msg := sprintf("certificate %v is %v; %v is not possible", [_cert_serial, _cert_status, _action])
}

# METADATA
# title: L5 an import is retired once
# description: >-
#   An administrator may retire an import batch by hand ("Nedlæg import"):
#   its users that nobody confirmed lose their association, confirmed ones
#   stay. A batch that is already retired (by hand or by the L5 job) cannot
#   be retired again.
# custom:
#   seed: 002_cf0e3ab59867a24b.txt
import_retired contains lib.reason("import_retired", "L5", msg) if {
	input.action == "import.retire"
	input.target.retired == true
	msg := sprintf("import %v is already retired", [_target_id])
}

# METADATA
# title: L7 activation at creation
# description: >-
#   How a user created by an administrator (POST /v1/orgs/{cvr}/users) is
#   activated at once: "mail" for a user created with a CPR number and an
#   e-mail address (the activation mail is queued in the outbox), "code"
#   for one created with a birth date (a one-time code shown once in the
#   create answer, stored hashed). Undefined otherwise (no activation; it
#   can be sent later with /activation). Function certificate users are
#   not activated. Users created by a CSV import get no activation at
#   creation ("Hvis du opretter brugere via brugerimport, modtager
#   brugerne ikke automatisk en aktiveringsmail"): the import does not ask.
# custom:
#   seed: 001_3eb8a6ec070b654f.txt
activation_at_creation := "mail" if {
	input.action == "user.create"
	input.change.kind != "function"
	input.change.cpr_linked == true
	lib.non_empty_string(input.change.email)
} else := "code" if {
	input.action == "user.create"
	input.change.kind != "function"
	not input.change.cpr_linked == true
	lib.non_empty_string(input.change.birth_date)
}

# ---------------------------------------------------------------------------
# A15: the first user of an organisation
# ---------------------------------------------------------------------------

# METADATA
# title: A15 the first user gets every admin role
# description: >-
#   The first user created in an organisation gets every admin role, scoped
#   to the whole organisation (IMI's superuser): org-admin and user-admin.
#   An a-kasse's user-admin right is Arbejdsmarkedsportalen's LBA, every
#   other organisation's is MitID Erhverv's user administrator; both get
#   MitID Erhverv's organisation administrator. Later users get none.
#   Input: {org: {type}, org_has_users}. Rights missing from the catalogue
#   are skipped by the caller; each grant is still checked by the rules above.
# custom:
#   seed: 003_5f84fadfd940cc68.txt
first_user_rights := [] if {
	not _org_without_users
} else := r if {
	r := _first_user_rights_by_type[input.org.type]
} else := ["mitid_erhverv.org_admin", "mitid_erhverv.user_admin"]

_org_without_users if input.org_has_users == false

_first_user_rights_by_type := {"a-kasse": ["amp.lba", "mitid_erhverv.org_admin"]}
