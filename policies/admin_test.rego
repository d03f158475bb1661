package adgang.admin_test

import data.adgang.admin

# ---------------------------------------------------------------------------
# Base inputs: A-kasse B (CVR 55133018, modulus-11 valid) with one P-unit and
# one SE-number; the actor is a user-admin (LBA) of that org.
# ---------------------------------------------------------------------------

cvr := "55133018"

p1 := "2000000001"

se := "29190003"

other_p := "1000000001"

actor := {"id": "lba-1", "superadmin": false, "roles": ["user-admin"]}

org := {
	"cvr": cvr,
	"p_units": {p1: true},
	"se_numbers": {se: true},
	"settings": {"deletion": "allowed"},
}

employee := {"id": "u-1", "kind": "employee", "anonymous": false, "status": "active", "org": cvr}

function_user := object.union(employee, {"id": "u-func", "kind": "function"})

holders := {"org-admin": ["oa-1"], "user-admin": ["lba-1", "lba-2"]}

base := {
	"action": "user.update",
	"actor": actor,
	"org": org,
	"target": employee,
	"change": {"name": "Ny Navn"},
	"right": null,
	"admin_holders": holders,
	"remaining_roles": [],
	"conflicts": {"email": false, "username": false},
}

right(id, flags) := object.union(
	{
		"id": id, "service": "amp", "title": id,
		"forbidden": false, "deprecated": false, "no_group": false, "no_se": false,
		"require_cpr": false, "employees_only": false, "admin_role": "",
	},
	flags,
)

sagsbehandler := right("amp.sagsbehandler", {})

grant_of(r, holder_type, holder_id, type, value) := {
	"id": "g-new", "right": r.id, "org": cvr,
	"holder_type": holder_type, "holder_id": holder_id,
	"scope": {"type": type, "value": value},
}

# grant_create: a proposed grant of right r to the employee, scoped to the CVR.
grant_create(r) := json.patch(base, [
	{"op": "replace", "path": "/action", "value": "grant.create"},
	{"op": "replace", "path": "/right", "value": r},
	{"op": "add", "path": "/grant", "value": grant_of(r, "user", employee.id, "cvr", cvr)},
	{"op": "replace", "path": "/change", "value": null},
])

# with_ replaces top-level fields of an input.
with_(inp, fields) := object.union(object.remove(inp, object.keys(fields)), fields)

codes(d) := {sprintf("%s/%s", [r.code, r.rule]) | some r in d.reasons}

# ---------------------------------------------------------------------------
# Shape and fail closed
# ---------------------------------------------------------------------------

test_decision_shape if {
	d := admin.decision with input as base
	d == {"allow": true, "reasons": []}
}

test_empty_input_denied if {
	d := admin.decision with input as {}
	d.allow == false
	"input_incomplete/fail_closed" in codes(d)
}

test_missing_input_denied if {
	d := admin.decision
	d.allow == false
	count(d.reasons) > 0
}

test_unknown_action_denied if {
	d := admin.decision with input as with_(base, {"action": "user.explode"})
	d.allow == false
	"input_incomplete/fail_closed" in codes(d)
}

test_grant_without_right_denied if {
	d := admin.decision with input as with_(grant_create(sagsbehandler), {"right": null})
	d.allow == false
	"input_incomplete/fail_closed" in codes(d)
}

test_user_update_without_target_denied if {
	d := admin.decision with input as with_(base, {"target": null})
	d.allow == false
	"input_incomplete/fail_closed" in codes(d)
}

test_create_without_target_allowed if {
	inp := with_(base, {"action": "user.create", "target": null, "change": {"name": "Ny", "email": "ny@example.dk"}})
	d := admin.decision with input as inp
	d.allow == true
}

# ---------------------------------------------------------------------------
# A2 function certificate users are immutable
# ---------------------------------------------------------------------------

test_a2_employee_update_allowed if {
	d := admin.decision with input as base
	d.allow == true
}

test_a2_function_user_update_denied if {
	d := admin.decision with input as with_(base, {"target": function_user})
	d.allow == false
	"function_cert_immutable/A2" in codes(d)
}

test_a2_function_user_status_changes_denied if {
	every action in ["user.inactivate", "user.activate", "user.deactivate", "user.delete"] {
		d := admin.decision with input as with_(base, {"action": action, "target": function_user, "change": null})
		"function_cert_immutable/A2" in codes(d)
	}
}

test_a2_function_user_grant_denied if {
	inp := json.patch(grant_create(sagsbehandler), [
		{"op": "replace", "path": "/target", "value": function_user},
		{"op": "replace", "path": "/grant/holder_id", "value": function_user.id},
	])
	d := admin.decision with input as inp
	d.allow == false
	"function_cert_immutable/A2" in codes(d)
}

test_a2_function_user_grant_delete_denied if {
	inp := json.patch(grant_create(sagsbehandler), [
		{"op": "replace", "path": "/action", "value": "grant.delete"},
		{"op": "replace", "path": "/target", "value": function_user},
		{"op": "replace", "path": "/grant/holder_id", "value": function_user.id},
	])
	d := admin.decision with input as inp
	"function_cert_immutable/A2" in codes(d)
}

test_a2_function_user_group_membership_denied if {
	every action in ["group.member.add", "group.member.remove"] {
		inp := with_(member_change(action, custom_group), {"member": {"id": function_user.id, "kind": "function", "org": cvr}})
		d := admin.decision with input as inp
		d.allow == false
		"function_cert_immutable/A2" in codes(d)
	}
}

test_a2_employee_group_membership_allowed if {
	every action in ["group.member.add", "group.member.remove"] {
		inp := with_(member_change(action, custom_group), {"member": {"id": employee.id, "kind": "employee", "org": cvr}})
		d := admin.decision with input as inp
		d.allow == true
	}
}

test_a2_superadmin_may_change_function_user if {
	inp := with_(base, {"target": function_user, "actor": object.union(actor, {"superadmin": true})})
	d := admin.decision with input as inp
	d.allow == true
}

# ---------------------------------------------------------------------------
# A3 forbidden, A4 deprecated
# ---------------------------------------------------------------------------

test_a3_ordinary_right_allowed if {
	d := admin.decision with input as grant_create(sagsbehandler)
	d.allow == true
}

test_a3_lss_denied if {
	d := admin.decision with input as grant_create(right("amp.lss", {"forbidden": true}))
	d.allow == false
	"forbidden_right/A3" in codes(d)
}

test_a3_webservice_denied if {
	d := admin.decision with input as grant_create(right("amp.webservice", {"forbidden": true}))
	"forbidden_right/A3" in codes(d)
}

test_a4_deprecated_denied if {
	d := admin.decision with input as grant_create(right("amp.jobnet_jobordrer", {"deprecated": true}))
	d.allow == false
	"deprecated_right/A4" in codes(d)
}

test_a4_deprecated_grant_may_be_deleted if {
	r := right("amp.jobnet_jobordrer", {"deprecated": true})
	inp := with_(grant_create(r), {"action": "grant.delete"})
	d := admin.decision with input as inp
	d.allow == true
}

# ---------------------------------------------------------------------------
# A5 no group grants, A6 no SE scope
# ---------------------------------------------------------------------------

eks := right("eksamensdatabasen.view", {"no_group": true, "no_se": true})

custom_group := {"id": "grp-1", "kind": "custom", "org": cvr}

test_a5_group_grant_denied if {
	inp := json.patch(grant_create(eks), [
		{"op": "replace", "path": "/target", "value": custom_group},
		{"op": "replace", "path": "/grant/holder_type", "value": "group"},
		{"op": "replace", "path": "/grant/holder_id", "value": custom_group.id},
	])
	d := admin.decision with input as inp
	d.allow == false
	"group_grant_not_allowed/A5" in codes(d)
}

test_a5_direct_grant_allowed if {
	d := admin.decision with input as grant_create(eks)
	d.allow == true
}

test_a5_group_grant_of_ordinary_right_allowed if {
	inp := json.patch(grant_create(sagsbehandler), [
		{"op": "replace", "path": "/target", "value": custom_group},
		{"op": "replace", "path": "/grant/holder_type", "value": "group"},
		{"op": "replace", "path": "/grant/holder_id", "value": custom_group.id},
	])
	d := admin.decision with input as inp
	d.allow == true
}

test_a6_se_scope_denied if {
	inp := json.patch(grant_create(eks), [{"op": "replace", "path": "/grant/scope", "value": {"type": "se", "value": se}}])
	d := admin.decision with input as inp
	d.allow == false
	"se_scope_not_allowed/A6" in codes(d)
}

test_a6_p_scope_allowed if {
	inp := json.patch(grant_create(eks), [{"op": "replace", "path": "/grant/scope", "value": {"type": "p", "value": p1}}])
	d := admin.decision with input as inp
	d.allow == true
}

test_a6_se_scope_of_ordinary_right_allowed if {
	inp := json.patch(grant_create(sagsbehandler), [{"op": "replace", "path": "/grant/scope", "value": {"type": "se", "value": se}}])
	d := admin.decision with input as inp
	d.allow == true
}

# ---------------------------------------------------------------------------
# A7 scope must belong to the org
# ---------------------------------------------------------------------------

scoped(type, value) := json.patch(grant_create(sagsbehandler), [
	{"op": "replace", "path": "/grant/scope", "value": {"type": type, "value": value}},
])

test_a7_own_units_allowed if {
	every s in [["cvr", cvr], ["p", p1], ["se", se]] {
		d := admin.decision with input as scoped(s[0], s[1])
		d.allow == true
	}
}

test_a7_other_cvr_denied if {
	d := admin.decision with input as scoped("cvr", "12345674")
	d.allow == false
	"scope_not_in_org/A7" in codes(d)
}

test_a7_other_p_denied if {
	d := admin.decision with input as scoped("p", other_p)
	d.allow == false
	"scope_not_in_org/A7" in codes(d)
}

test_a7_other_se_denied if {
	d := admin.decision with input as scoped("se", "12345674")
	"scope_not_in_org/A7" in codes(d)
}

test_a7_unknown_scope_type_denied if {
	d := admin.decision with input as scoped("kommune", cvr)
	"scope_not_in_org/A7" in codes(d)
}

test_a7_grant_of_other_org_denied if {
	inp := json.patch(grant_create(sagsbehandler), [{"op": "replace", "path": "/grant/org", "value": "12345674"}])
	d := admin.decision with input as inp
	"scope_not_in_org/A7" in codes(d)
}

test_a7_user_with_own_p_and_se_allowed if {
	inp := with_(base, {"action": "user.create", "target": null, "change": {"name": "Ny", "p_number": p1, "se_number": se}})
	d := admin.decision with input as inp
	d.allow == true
}

test_a7_user_with_other_p_denied if {
	inp := with_(base, {"action": "user.create", "target": null, "change": {"name": "Ny", "p_number": other_p}})
	d := admin.decision with input as inp
	d.allow == false
	"scope_not_in_org/A7" in codes(d)
}

test_a7_user_update_with_other_se_denied if {
	d := admin.decision with input as with_(base, {"change": {"se_number": "12345674"}})
	"scope_not_in_org/A7" in codes(d)
}

# ---------------------------------------------------------------------------
# A8 anonymity at creation only
# ---------------------------------------------------------------------------

test_a8_anonymous_at_creation_allowed if {
	inp := with_(base, {"action": "user.create", "target": null, "change": {"name": "Ny", "anonymous": true}})
	d := admin.decision with input as inp
	d.allow == true
}

test_a8_make_anonymous_later_denied if {
	d := admin.decision with input as with_(base, {"change": {"anonymous": true}})
	d.allow == false
	"anonymity_immutable/A8" in codes(d)
}

test_a8_remove_anonymity_denied if {
	inp := with_(base, {"target": object.union(employee, {"anonymous": true}), "change": {"anonymous": false}})
	d := admin.decision with input as inp
	"anonymity_immutable/A8" in codes(d)
}

test_a8_unchanged_anonymity_allowed if {
	d := admin.decision with input as with_(base, {"change": {"anonymous": false, "name": "X"}})
	d.allow == true
}

# ---------------------------------------------------------------------------
# A9 inactivate, never delete
# ---------------------------------------------------------------------------

inactivate_only := object.union(org, {"settings": {"deletion": "inactivate_only"}})

test_a9_delete_denied_in_inactivate_only_org if {
	d := admin.decision with input as with_(base, {"action": "user.delete", "org": inactivate_only, "change": null})
	d.allow == false
	"delete_not_allowed/A9" in codes(d)
}

test_a9_inactivate_allowed_in_inactivate_only_org if {
	d := admin.decision with input as with_(base, {"action": "user.inactivate", "org": inactivate_only, "change": null})
	d.allow == true
}

test_a9_delete_allowed_when_org_allows if {
	d := admin.decision with input as with_(base, {"action": "user.delete", "change": null})
	d.allow == true
}

# ---------------------------------------------------------------------------
# A10 the last administrator stays
# ---------------------------------------------------------------------------

org_admin := object.union(employee, {"id": "oa-1"})

test_a10_last_org_admin_inactivate_denied if {
	d := admin.decision with input as with_(base, {"action": "user.inactivate", "target": org_admin, "change": null})
	d.allow == false
	"last_admin/A10" in codes(d)
}

test_a10_last_org_admin_delete_and_deactivate_denied if {
	every action in ["user.delete", "user.deactivate"] {
		d := admin.decision with input as with_(base, {"action": action, "target": org_admin, "change": null})
		"last_admin/A10" in codes(d)
	}
}

test_a10_last_admin_status_update_denied if {
	d := admin.decision with input as with_(base, {"target": org_admin, "change": {"status": "inactive"}})
	"last_admin/A10" in codes(d)
}

test_a10_one_of_two_user_admins_inactivate_allowed if {
	inp := with_(base, {"action": "user.inactivate", "target": object.union(employee, {"id": "lba-2"}), "change": null})
	d := admin.decision with input as inp
	d.allow == true
}

admin_role_right := right("amp.lba", {"admin_role": "org-admin"})

revoke_org_admin(remaining) := json.patch(grant_create(admin_role_right), [
	{"op": "replace", "path": "/action", "value": "grant.delete"},
	{"op": "replace", "path": "/target", "value": org_admin},
	{"op": "replace", "path": "/grant/holder_id", "value": "oa-1"},
	{"op": "replace", "path": "/remaining_roles", "value": remaining},
	{"op": "replace", "path": "/actor", "value": object.union(actor, {"roles": ["org-admin"]})},
])

test_a10_last_org_admin_grant_delete_denied if {
	d := admin.decision with input as revoke_org_admin([])
	d.allow == false
	"last_admin/A10" in codes(d)
}

test_a10_grant_delete_allowed_when_role_kept if {
	d := admin.decision with input as revoke_org_admin(["org-admin"])
	d.allow == true
}

test_a10_grant_delete_allowed_with_other_holder if {
	inp := json.patch(revoke_org_admin([]), [
		{"op": "replace", "path": "/admin_holders/org-admin", "value": ["oa-1", "oa-2"]},
	])
	d := admin.decision with input as inp
	d.allow == true
}

# ---------------------------------------------------------------------------
# A11 no privilege escalation
# ---------------------------------------------------------------------------

test_a11_grant_unheld_admin_role_denied if {
	d := admin.decision with input as grant_create(admin_role_right)
	d.allow == false
	"escalation/A11" in codes(d)
}

test_a11_grant_held_admin_role_allowed if {
	d := admin.decision with input as grant_create(right("amp.lba", {"admin_role": "user-admin"}))
	d.allow == true
}

test_a11_superadmin_may_grant_any_role if {
	inp := with_(grant_create(admin_role_right), {"actor": {"id": "root", "superadmin": true, "roles": []}})
	d := admin.decision with input as inp
	d.allow == true
}

# role_change: the input of action with the effective admin roles of user
# u-1 before and after the change (the check runPlan makes after apply).
role_change(action, before, after) := with_(base, {
	"action": action,
	"role_changes": [{"user_id": "u-1", "before": before, "after": after}],
})

org_admin_actor := object.union(actor, {"roles": ["org-admin"]})

test_a11_member_add_gaining_unheld_role_denied if {
	inp := with_(role_change("group.member.add", [], ["org-admin"]), {"target": {"id": "grp-1", "kind": "custom", "org": cvr}})
	d := admin.decision with input as inp
	d.allow == false
	"escalation/A11" in codes(d)
}

test_a11_member_add_gaining_held_role_allowed if {
	inp := with_(role_change("group.member.add", [], ["user-admin"]), {"target": {"id": "grp-1", "kind": "custom", "org": cvr}})
	d := admin.decision with input as inp
	d.allow == true
}

test_a11_p_unit_move_gaining_unheld_role_denied if {
	d := admin.decision with input as role_change("user.update", ["user-admin"], ["org-admin", "user-admin"])
	d.allow == false
	"escalation/A11" in codes(d)
}

test_a11_p_unit_move_by_org_admin_allowed if {
	inp := with_(role_change("user.update", ["user-admin"], ["org-admin", "user-admin"]), {"actor": object.union(actor, {"roles": ["org-admin", "user-admin"]})})
	d := admin.decision with input as inp
	d.allow == true
}

test_a11_create_in_admin_p_unit_denied if {
	inp := with_(role_change("user.create", [], ["org-admin"]), {"target": null})
	d := admin.decision with input as inp
	d.allow == false
	"escalation/A11" in codes(d)
}

test_a11_create_in_admin_p_unit_by_superadmin_allowed if {
	inp := with_(role_change("user.create", [], ["org-admin", "auditor"]), {
		"target": null,
		"actor": {"id": "root", "superadmin": true, "roles": []},
	})
	d := admin.decision with input as inp
	d.allow == true
}

test_a11_reactivating_org_admin_denied if {
	d := admin.decision with input as role_change("user.activate", [], ["org-admin"])
	d.allow == false
	"escalation/A11" in codes(d)
}

test_a11_removing_unheld_role_denied if {
	every action in ["user.inactivate", "user.deactivate", "user.delete", "user.update", "group.member.remove"] {
		d := admin.decision with input as role_change(action, ["org-admin"], [])
		d.allow == false
		"escalation/A11" in codes(d)
	}
}

test_a11_removing_held_role_allowed if {
	every action in ["user.inactivate", "user.deactivate", "user.delete"] {
		d := admin.decision with input as role_change(action, ["user-admin"], [])
		d.allow == true
	}
}

test_a11_org_admin_removes_other_roles_allowed if {
	inp := with_(role_change("user.delete", ["auditor", "user-admin"], []), {"actor": org_admin_actor})
	d := admin.decision with input as inp
	d.allow == true
}

test_a11_missing_before_counts_as_gain_denied if {
	inp := with_(base, {"role_changes": [{"user_id": "u-1", "after": ["org-admin"]}]})
	d := admin.decision with input as inp
	d.allow == false
	"escalation/A11" in codes(d)
}

test_a11_no_role_change_allowed if {
	d := admin.decision with input as with_(base, {"role_changes": []})
	d.allow == true
}

test_a11_revoke_unheld_admin_grant_denied if {
	inp := json.patch(revoke_org_admin(["org-admin"]), [{"op": "replace", "path": "/actor", "value": actor}])
	d := admin.decision with input as inp
	d.allow == false
	"escalation/A11" in codes(d)
}

test_a11_revoke_unheld_admin_group_grant_denied if {
	inp := json.patch(revoke_org_admin(["org-admin"]), [
		{"op": "replace", "path": "/actor", "value": actor},
		{"op": "replace", "path": "/grant/holder_type", "value": "group"},
		{"op": "replace", "path": "/target", "value": {"id": "grp-1", "kind": "custom", "org": cvr}},
	])
	d := admin.decision with input as inp
	d.allow == false
	"escalation/A11" in codes(d)
}

test_a11_revoke_admin_grant_by_org_admin_allowed if {
	d := admin.decision with input as revoke_org_admin(["org-admin"])
	d.allow == true
}

test_a11_revoke_held_admin_grant_allowed if {
	inp := json.patch(revoke_org_admin(["user-admin"]), [
		{"op": "replace", "path": "/actor", "value": actor},
		{"op": "replace", "path": "/right/admin_role", "value": "user-admin"},
	])
	d := admin.decision with input as inp
	d.allow == true
}

test_a11_group_grant_of_unheld_role_denied if {
	inp := json.patch(grant_create(admin_role_right), [
		{"op": "replace", "path": "/grant/holder_type", "value": "group"},
		{"op": "replace", "path": "/target", "value": {"id": "grp-1", "kind": "custom", "org": cvr}},
	])
	d := admin.decision with input as inp
	d.allow == false
	"escalation/A11" in codes(d)
}

test_a10_sole_holder_losing_role_by_move_denied if {
	inp := with_(role_change("group.member.remove", ["org-admin"], []), {
		"actor": org_admin_actor,
		"role_changes": [{"user_id": "oa-1", "before": ["org-admin"], "after": []}],
	})
	d := admin.decision with input as inp
	d.allow == false
	"last_admin/A10" in codes(d)
}

test_a10_transfer_from_sole_holder_allowed if {
	inp := with_(role_change("user.update", ["org-admin"], []), {
		"actor": org_admin_actor,
		"role_changes": [
			{"user_id": "oa-1", "before": ["org-admin"], "after": []},
			{"user_id": "u-1", "before": [], "after": ["org-admin"]},
		],
	})
	d := admin.decision with input as inp
	d.allow == true
}

test_a10_holder_losing_role_with_other_holder_allowed if {
	inp := with_(role_change("user.update", ["user-admin"], []), {
		"role_changes": [{"user_id": "lba-2", "before": ["user-admin"], "after": []}],
	})
	d := admin.decision with input as inp
	d.allow == true
}

# ---------------------------------------------------------------------------
# A12 unique e-mail and username
# ---------------------------------------------------------------------------

test_a12_unique_allowed if {
	d := admin.decision with input as with_(base, {"action": "user.create", "target": null})
	d.allow == true
}

test_a12_duplicate_email_denied if {
	inp := with_(base, {"action": "user.create", "target": null, "conflicts": {"email": true, "username": false}})
	d := admin.decision with input as inp
	d.allow == false
	"duplicate/A12" in codes(d)
}

test_a12_duplicate_username_on_update_denied if {
	d := admin.decision with input as with_(base, {"conflicts": {"email": false, "username": true}})
	d.allow == false
	"duplicate/A12" in codes(d)
}

test_a12_both_duplicates_reported if {
	d := admin.decision with input as with_(base, {"conflicts": {"email": true, "username": true}})
	count([r | some r in d.reasons; r.code == "duplicate"]) == 2
}

# ---------------------------------------------------------------------------
# A13 system groups are read-only
# ---------------------------------------------------------------------------

member_change(action, group) := with_(base, {"action": action, "target": group, "change": {"user_id": employee.id}})

test_a13_custom_group_member_add_allowed if {
	d := admin.decision with input as member_change("group.member.add", custom_group)
	d.allow == true
}

test_a13_system_group_member_add_denied if {
	d := admin.decision with input as member_change("group.member.add", {"id": "sys-1", "kind": "system", "org": cvr})
	d.allow == false
	"system_group_immutable/A13" in codes(d)
}

test_a13_system_group_member_remove_denied if {
	d := admin.decision with input as member_change("group.member.remove", {"id": "sys-1", "kind": "system", "org": cvr})
	"system_group_immutable/A13" in codes(d)
}

test_a13_system_group_delete_denied if {
	d := admin.decision with input as object.union(base, {"action": "group.delete", "target": {"id": "sys-1", "kind": "system", "org": cvr}})
	d.allow == false
	"system_group_immutable/A13" in codes(d)
}

test_a13_custom_group_delete_allowed if {
	d := admin.decision with input as object.union(base, {"action": "group.delete", "target": custom_group})
	d.allow == true
}

# ---------------------------------------------------------------------------
# L7 activation, L8 password administration
# ---------------------------------------------------------------------------

new_cpr_user := object.union(employee, {"status": "new", "cpr_linked": true, "birth_date": ""})

new_birth_user := object.union(employee, {"status": "new", "cpr_linked": false, "birth_date": "1990-02-03"})

activation(target, bulk) := object.union(base, {"action": "user.activation", "target": target, "change": {"bulk": bulk}})

activation_codes(target, bulk) := c if {
	d := admin.decision with input as activation(target, bulk)
	c := {r.code | some r in d.reasons}
}

test_l7_single_activation_allowed_for_cpr_and_birth_date_users if {
	admin.allow with input as activation(new_cpr_user, false)
	admin.allow with input as activation(new_birth_user, false)
}

test_l7_bulk_activation_only_for_cpr_users if {
	admin.allow with input as activation(new_cpr_user, true)
	activation_codes(new_birth_user, true) == {"activation_one_at_a_time"}
}

test_l7_activation_needs_cpr_or_birth_date if {
	neither := object.union(new_cpr_user, {"cpr_linked": false})
	activation_codes(neither, false) == {"activation_not_possible"}
	missing := object.remove(neither, ["birth_date"])
	"activation_not_possible" in activation_codes(missing, false)
}

test_l7_only_new_users_are_activated if {
	activation_codes(object.union(new_cpr_user, {"status": "active"}), false) == {"already_active"}
}

test_l7_a2_function_users_get_no_activation if {
	f := object.union(new_cpr_user, {"kind": "function"})
	"function_cert_immutable" in activation_codes(f, false)
}

pw_org := object.union(org, {"settings": {"deletion": "allowed", "password_login": true}})

test_l8_password_reset_and_unblock_only_with_password_login if {
	every action in {"user.password.reset", "user.password.unblock"} {
		admin.allow with input as object.union(base, {"action": action, "org": pw_org, "change": {}})
		d := admin.decision with input as object.union(base, {"action": action, "change": {}})
		{r.code | some r in d.reasons} == {"password_login_not_enabled"}
	}
}

test_l8_a2_function_users_passwords_untouchable if {
	d := admin.decision with input as object.union(base, {"action": "user.password.reset", "org": pw_org, "target": function_user, "change": {}})
	{r.code | some r in d.reasons} == {"function_cert_immutable"}
}

test_l4_confirm_only_manual_associations if {
	manual := object.union(employee, {"association": "manual"})
	admin.allow with input as object.union(base, {"action": "user.confirm", "target": manual, "change": {}})
	d := admin.decision with input as object.union(base, {"action": "user.confirm", "change": {}})
	{r.code | some r in d.reasons} == {"not_manual_association"}
}

test_l4_imported_users_confirmable if {
	imported := object.union(employee, {"association": "import", "source": "import:b1"})
	admin.allow with input as object.union(base, {"action": "user.confirm", "target": imported, "change": {}})
	plain := object.union(employee, {"association": "", "source": "manual"})
	d := admin.decision with input as object.union(base, {"action": "user.confirm", "target": plain, "change": {}})
	{r.code | some r in d.reasons} == {"not_manual_association"}
}

test_m17_external_users_get_admin_roles_only if {
	outsider := object.union(employee, {"id": "u-ext", "org": "12345674"})
	lba := right("amp.lba", {"admin_role": "user-admin"})
	ok := object.union(base, {"action": "grant.create", "target": outsider, "right": lba, "grant": grant_of(lba, "user", "u-ext", "cvr", cvr)})
	admin.allow with input as ok
	bad := object.union(base, {"action": "grant.create", "target": outsider, "right": sagsbehandler, "grant": grant_of(sagsbehandler, "user", "u-ext", "cvr", cvr)})
	d := admin.decision with input as bad
	{r.code | some r in d.reasons} == {"external_grant_not_admin"}
}

# ---------------------------------------------------------------------------
# A8 anonymity requests (an existing user asks; approval re-creates it)
# ---------------------------------------------------------------------------

anon_facts := {"rights": ["nemlogin.service"], "pending": false, "request": null}

anon_request := with_(base, {"action": "user.anonymity.request", "change": null, "anonymity": anon_facts})

anon_pending_req := {"id": "r-1", "status": "pending", "user_id": "u-1"}

anon_approve := with_(base, {
	"action": "user.anonymity.approve", "change": null,
	"anonymity": object.union(anon_facts, {"pending": true, "request": anon_pending_req}),
})

test_a8_anonymity_request_with_broker_right_allowed if {
	d := admin.decision with input as anon_request
	d.allow == true
}

test_a8_anonymity_request_without_broker_right_denied if {
	d := admin.decision with input as json.patch(anon_request, [{"op": "replace", "path": "/anonymity/rights", "value": []}])
	d.allow == false
	"anonymity_not_offered/A8" in codes(d)
}

test_a8_anonymity_request_function_user_denied if {
	d := admin.decision with input as with_(anon_request, {"target": function_user})
	"anonymity_not_offered/A8" in codes(d)
}

test_a8_anonymity_request_already_anonymous_denied if {
	d := admin.decision with input as with_(anon_request, {"target": object.union(employee, {"anonymous": true})})
	"already_anonymous/A8" in codes(d)
}

test_a8_anonymity_request_twice_denied if {
	d := admin.decision with input as json.patch(anon_request, [{"op": "replace", "path": "/anonymity/pending", "value": true}])
	"anonymity_request_pending/A8" in codes(d)
}

test_a8_anonymity_request_missing_facts_fail_closed if {
	d := admin.decision with input as object.remove(anon_request, ["anonymity"])
	d.allow == false
	"input_incomplete/fail_closed" in codes(d)
}

test_a8_anonymity_approve_pending_allowed if {
	d := admin.decision with input as anon_approve
	d.allow == true
}

test_a8_anonymity_approve_decided_denied if {
	inp := json.patch(anon_approve, [{"op": "replace", "path": "/anonymity/request/status", "value": "approved"}])
	d := admin.decision with input as inp
	"anonymity_request_state/A8" in codes(d)
}

test_a8_anonymity_approve_lost_broker_right_denied if {
	d := admin.decision with input as json.patch(anon_approve, [{"op": "replace", "path": "/anonymity/rights", "value": []}])
	"anonymity_not_offered/A8" in codes(d)
}

test_a8_anonymity_reject_pending_allowed if {
	inp := with_(anon_approve, {"action": "user.anonymity.reject"})
	d := admin.decision with input as json.patch(inp, [{"op": "replace", "path": "/anonymity/rights", "value": []}])
	d.allow == true
}

test_a8_anonymity_reject_twice_denied if {
	inp := json.patch(with_(anon_approve, {"action": "user.anonymity.reject"}), [{"op": "replace", "path": "/anonymity/request/status", "value": "rejected"}])
	d := admin.decision with input as inp
	"anonymity_request_state/A8" in codes(d)
}

test_a8_anonymity_approve_last_admin_denied if {
	inp := with_(anon_approve, {"role_changes": [{"user_id": "oa-1", "before": ["org-admin"], "after": []}], "actor": object.union(actor, {"roles": ["org-admin", "user-admin"]})})
	d := admin.decision with input as inp
	"last_admin/A10" in codes(d)
}

test_a8_anonymity_decided_request_refused_by_state_only if {
	inp := json.patch(anon_approve, [
		{"op": "replace", "path": "/anonymity/request/status", "value": "rejected"},
		{"op": "replace", "path": "/anonymity/rights", "value": []},
	])
	d := admin.decision with input as inp
	codes(d) == {"anonymity_request_state/A8"}
}

# ---------------------------------------------------------------------------
# Issue 17: A16-A19, C1, C2
# ---------------------------------------------------------------------------

with_settings(inp, settings) := json.patch(inp, [{"op": "replace", "path": "/org/settings", "value": object.union(inp.org.settings, settings)}])

means_change(action, means) := with_(base, {"action": action, "change": {"identification_means": means}})

test_a16_means_within_org_allowed if {
	d := admin.decision with input as with_settings(means_change("user.update", ["mitid"]), {"identification_means": ["mitid", "nemid"]})
	d.allow == true
}

test_a16_means_outside_org_denied if {
	d := admin.decision with input as with_settings(means_change("user.create", ["mitid", "token"]), {"identification_means": ["mitid"]})
	d.allow == false
	"identification_means_not_allowed/A16" in codes(d)
}

test_a16_org_without_setting_allows_any if {
	d := admin.decision with input as means_change("user.update", ["anything"])
	d.allow == true
}

must_have(marked, before, after) := with_(base, {"must_have": [{"right": "imi.admin", "marked_before": marked, "held_before": before, "held_after": after}]})

test_a17_holder_kept_allowed if {
	d := admin.decision with input as must_have(true, true, true)
	d.allow == true
}

test_a17_last_holder_lost_denied if {
	d := admin.decision with input as must_have(true, true, false)
	d.allow == false
	"must_have_role/A17" in codes(d)
}

test_a17_marking_unheld_right_denied if {
	d := admin.decision with input as must_have(false, false, false)
	"must_have_role/A17" in codes(d)
}

test_a17_already_unheld_does_not_block_other_changes if {
	d := admin.decision with input as must_have(true, false, false)
	d.allow == true
}

test_a18_cpr_identified_admin_allowed if {
	inp := json.patch(with_settings(base, {"admins_cpr_identified": true}), [{"op": "add", "path": "/actor/cpr_linked", "value": true}])
	d := admin.decision with input as inp
	d.allow == true
}

test_a18_admin_without_cpr_denied if {
	d := admin.decision with input as with_settings(base, {"admins_cpr_identified": true})
	d.allow == false
	"admin_not_cpr_identified/A18" in codes(d)
}

test_a18_superadmin_not_bound if {
	inp := json.patch(with_settings(base, {"admins_cpr_identified": true}), [{"op": "replace", "path": "/actor/superadmin", "value": true}])
	d := admin.decision with input as inp
	d.allow == true
}

import_in(type) := json.patch(with_(base, {"action": "user.import", "target": null, "change": {"mode": "create"}}), [{"op": "add", "path": "/org/type", "value": type}])

test_a19_akasse_import_denied if {
	d := admin.decision with input as import_in("a-kasse")
	d.allow == false
	"import_not_allowed/A19" in codes(d)
}

test_a19_institution_import_allowed if {
	d := admin.decision with input as import_in("institution")
	d.allow == true
}

cert_order(type, holder) := with_(base, {"action": "certificate.order", "target": null, "change": {"type": type, "holder": holder}})

test_c1_allowed_type_ordered if {
	d := admin.decision with input as with_settings(cert_order("user", {"kind": "employee"}), {"certificate_types": ["user"]})
	d.allow == true
}

test_c1_type_not_in_settings_denied if {
	d := admin.decision with input as with_settings(cert_order("org", null), {"certificate_types": ["user", "function"]})
	d.allow == false
	"certificate_type_not_allowed/C1" in codes(d)
}

test_c1_no_setting_allows_every_type if {
	d := admin.decision with input as cert_order("org", null)
	d.allow == true
}

test_c1_function_certificate_needs_function_user if {
	d := admin.decision with input as cert_order("function", {"kind": "employee"})
	"certificate_type_not_allowed/C1" in codes(d)
	e := admin.decision with input as cert_order("function", {"kind": "function"})
	e.allow == true
}

cert_action(action, status) := with_(base, {"action": action, "target": {"serial": "S1", "status": status}, "change": null})

test_c2_legal_transitions_allowed if {
	every pair in [["certificate.issue", "ordered"], ["certificate.delete", "ordered"], ["certificate.revoke", "issued"], ["certificate.renew", "expired"]] {
		d := admin.decision with input as cert_action(pair[0], pair[1])
		d.allow == true
	}
}

test_c2_wrong_state_denied if {
	every pair in [["certificate.issue", "revoked"], ["certificate.delete", "issued"], ["certificate.revoke", "revoked"], ["certificate.renew", "ordered"]] {
		d := admin.decision with input as cert_action(pair[0], pair[1])
		"certificate_state/C2" in codes(d)
	}
}

test_c2_certificate_action_without_target_fails_closed if {
	d := admin.decision with input as with_(cert_action("certificate.revoke", "issued"), {"target": null})
	d.allow == false
}

test_l5_import_retire_allowed_once if {
	retire := object.union(base, {"action": "import.retire", "target": {"id": "b1", "kind": "import", "org": cvr, "retired": false}, "change": {}})
	admin.allow with input as retire
	again := json.patch(retire, [{"op": "replace", "path": "/target/retired", "value": true}])
	d := admin.decision with input as again
	{r.code | some r in d.reasons} == {"import_retired"}
}

_create(change) := object.union(base, {"action": "user.create", "target": null, "change": change})

test_l7_activation_at_creation_mail_for_cpr_users if {
	admin.activation_at_creation == "mail" with input as _create({"kind": "employee", "cpr_linked": true, "email": "a@b.dk"})
}

test_l7_activation_at_creation_code_for_birth_date_users if {
	admin.activation_at_creation == "code" with input as _create({"kind": "employee", "cpr_linked": false, "birth_date": "1990-01-01"})
}

test_l7_no_activation_at_creation_otherwise if {
	not admin.activation_at_creation with input as _create({"kind": "employee", "cpr_linked": true, "email": ""})
	not admin.activation_at_creation with input as _create({"kind": "function", "cpr_linked": true, "email": "f@b.dk"})
	not admin.activation_at_creation with input as _create({"kind": "employee", "cpr_linked": false, "birth_date": ""})
	not admin.activation_at_creation with input as object.union(_create({"kind": "employee", "cpr_linked": true, "email": "a@b.dk"}), {"action": "user.update"})
}

cert_of(roles) := {"serial": "S1", "type": "user", "status": "issued", "org": cvr, "user_id": "u-9", "holder_roles": roles}

test_a11_certificate_revoke_of_org_admin_denied if {
	d := admin.decision with input as with_(cert_action("certificate.revoke", "issued"), {"target": cert_of(["org-admin"])})
	d.allow == false
	"escalation/A11" in codes(d)
}

test_a11_certificate_revoke_of_org_admin_by_org_admin_allowed if {
	inp := with_(cert_action("certificate.revoke", "issued"), {"target": cert_of(["org-admin"]), "actor": org_admin_actor})
	d := admin.decision with input as inp
	d.allow == true
}

test_a11_certificate_revoke_of_user_admin_or_plain_user_allowed if {
	every roles in [["user-admin"], []] {
		d := admin.decision with input as with_(cert_action("certificate.revoke", "issued"), {"target": cert_of(roles)})
		d.allow == true
	}
}

# ---------------------------------------------------------------------------
# A15 first user
# ---------------------------------------------------------------------------

test_a15_first_user_of_an_institution if {
	admin.first_user_rights == ["mitid_erhverv.org_admin", "mitid_erhverv.user_admin"] with input as {"org": {"type": "institution"}, "org_has_users": false}
}

test_a15_first_user_of_an_a_kasse if {
	admin.first_user_rights == ["amp.lba", "mitid_erhverv.org_admin"] with input as {"org": {"type": "a-kasse"}, "org_has_users": false}
}

test_a15_later_users_get_nothing if {
	admin.first_user_rights == [] with input as {"org": {"type": "institution"}, "org_has_users": true}
}

test_a15_unknown_whether_first_gets_nothing if {
	admin.first_user_rights == [] with input as {"org": {"type": "institution"}}
}
