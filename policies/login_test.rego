package adgang.login_test

import data.adgang.login

# ---------------------------------------------------------------------------
# A realistic base input: Gymnasium A (CVR 12345674, modulus-11 valid) with
# two P-units and one SE-number (29190003, valid); employee Alice holds
# "Eksamensdatabasen: Giv rettigheder til at se data" directly on P-unit
# 1000000001. Tests vary it with object.union / json.patch.
# ---------------------------------------------------------------------------

now := 1763899200000000000 # 2025-11-23T12:00:00Z

day := 86400000000000

cvr := "12345674"

other_cvr := "55133018"

p1 := "1000000001"

p2 := "1000000002"

p_other := "2000000001"

se := "29190003"

eks := "eksamensdatabasen.view"

group_id := "00000000-0000-4000-9000-000000000001"

alice := "00000000-0000-4000-8000-000000000001"

right(id, service, flags) := object.union(
	{
		"id": id, "service": service, "title": id,
		"forbidden": false, "deprecated": false, "no_group": false, "no_se": false,
		"require_cpr": false, "employees_only": false, "admin_role": "",
	},
	flags,
)

catalogue := {
	eks: right(eks, "eksamensdatabasen", {
		"title": "Eksamensdatabasen: Giv rettigheder til at se data",
		"no_group": true, "no_se": true, "require_cpr": true, "employees_only": true,
	}),
	"eksamensdatabasen.report": right("eksamensdatabasen.report", "eksamensdatabasen", {}),
	"amp.sagsbehandler": right("amp.sagsbehandler", "amp", {"title": "Sagsbehandler"}),
	"amp.lba": right("amp.lba", "amp", {"title": "LBA", "admin_role": "user-admin"}),
	"amp.lss": right("amp.lss", "amp", {"title": "LSS", "forbidden": true}),
	"amp.webservice": right("amp.webservice", "amp", {"title": "Webservice", "forbidden": true}),
	"amp.jobnet_jobordrer": right("amp.jobnet_jobordrer", "amp", {"title": "Jobnet jobordrer", "deprecated": true}),
	"imi.case_worker": right("imi.case_worker", "imi", {}),
}

grant(id, r, type, value) := {
	"id": id, "right": r, "org": cvr,
	"scope": {"type": type, "value": value},
	"source": "direct", "expires_at_ns": 0,
}

via_group(g) := object.union(g, {"source": group_id})

expiring(g, t) := object.union(g, {"expires_at_ns": t})

base := {
	"subject": {
		"id": alice, "cvr": cvr, "kind": "employee",
		"cpr_linked": true, "auth_method": "mitid",
	},
	"service": "eksamensdatabasen",
	"now_ns": now,
	"user": {
		"id": alice, "org": cvr, "kind": "employee", "status": "active",
		"cpr_linked": true, "p_number": p1, "se_number": "", "password": null,
	},
	"org": {
		"cvr": cvr, "type": "institution",
		"p_units": {p1: true, p2: true},
		"se_numbers": {se: true},
		"settings": {"allow_knock": true, "deletion": "allowed"},
	},
	"grants": {"g-p1": grant("g-p1", eks, "p", p1)},
	"rights": catalogue,
	"certificate": null,
}

# with_grants replaces the grants (object.union would merge them).
with_grants(gs) := json.patch(base, [{"op": "replace", "path": "/grants", "value": gs}])

# merged merges a patch into the base input.
merged(patch) := object.union(base, patch)

codes(d) := {sprintf("%s/%s", [r.code, r.rule]) | some r in d.reasons}

reason_for(d, code, grant_id) := r if {
	some r in d.reasons
	r.code == code
	r.grant == grant_id
}

scope_of(d, r) := s if {
	some x in d.rights
	x.right == r
	s := x.scope
}

# ---------------------------------------------------------------------------
# Fail closed on missing input
# ---------------------------------------------------------------------------

test_empty_input_denied if {
	d := login.decision with input as {}
	d.allow == false
	"unknown_user/D2" in codes(d)
	"no_grant/D1" in codes(d)
	d.rights == []
	d.knock == false
	not login.allow with input as {}
}

test_missing_input_denied if {
	d := login.decision
	d.allow == false
	count(d.reasons) > 0
}

test_malformed_input_denied if {
	d := login.decision with input as {"subject": "x", "user": 5, "org": [], "grants": null, "rights": "y"}
	d.allow == false
	"no_grant/D1" in codes(d)
}

test_malformed_grants_give_nothing if {
	inp := with_grants({
		"g-noscope": {"id": "g-noscope", "right": eks, "org": cvr, "source": "direct"},
		"g-string": "x",
		"g-badexp": object.union(grant("g-badexp", eks, "p", p1), {"expires_at_ns": "never"}),
		"g-notype": {"id": "g-notype", "right": eks, "org": cvr, "source": "direct", "scope": {"value": cvr}},
	})
	d := login.decision with input as inp
	d.allow == false
	"no_grant/D1" in codes(d)
}

# The decision service passes only the considered rights' grants, so the
# input's grants are most often all own ones (_own_grants is then the
# input's object); grants of other services or of other organisations
# beside them change nothing.
test_other_services_and_orgs_grants_change_nothing if {
	own := with_grants({"g-p1": grant("g-p1", eks, "p", p1), "g-cvr": grant("g-cvr", "eksamensdatabasen.report", "cvr", cvr)})
	mixed := with_grants({
		"g-p1": grant("g-p1", eks, "p", p1),
		"g-cvr": grant("g-cvr", "eksamensdatabasen.report", "cvr", cvr),
		"g-amp": grant("g-amp", "amp.sagsbehandler", "cvr", cvr),
		"g-other": object.union(grant("g-other", eks, "cvr", other_cvr), {"org": other_cvr}),
	})
	d_own := login.decision with input as own
	d_own.allow == true
	count(d_own.rights) == 2
	d_mixed := login.decision with input as mixed
	d_mixed == d_own
}

test_decision_shape if {
	d := login.decision with input as base
	object.keys(d) == {"allow", "rights", "reasons", "knock", "valid_until_ns"}
	d.allow == true
	login.allow with input as base
	d.reasons == []
	d.knock == false
}

test_rights_sorted_by_id if {
	inp := with_grants({
		"g-r": grant("g-r", "eksamensdatabasen.report", "cvr", cvr),
		"g-v": grant("g-v", eks, "p", p1),
	})
	d := login.decision with input as inp
	[r.right | some r in d.rights] == ["eksamensdatabasen.report", eks]
}

test_reasons_sorted if {
	inp := json.patch(base, [
		{"op": "replace", "path": "/user", "value": null},
		{"op": "replace", "path": "/grants", "value": {}},
	])
	d := login.decision with input as inp
	d.reasons == sort(d.reasons)
	count(d.reasons) >= 2
}

# ---------------------------------------------------------------------------
# D1 no valid grant
# ---------------------------------------------------------------------------

test_d1_direct_p_grant_allowed if {
	d := login.decision with input as base
	d.allow == true
	d.rights == [{"right": eks, "scope": {"all": false, "cvr": cvr, "p_numbers": [p1], "se_numbers": []}}]
}

test_d1_no_grant_denied if {
	d := login.decision with input as with_grants({})
	d.allow == false
	"no_grant/D1" in codes(d)
	d.rights == []
}

test_d1_asked_right_not_held_denied if {
	d := login.decision with input as merged({"service": "amp", "right": "amp.lba"})
	d.allow == false
	some r in d.reasons
	r.code == "no_grant"
	r.right == "amp.lba"
}

test_d1_grant_of_other_service_denied if {
	d := login.decision with input as merged({"service": "imi"})
	d.allow == false
	"no_grant/D1" in codes(d)
}

test_d1_grant_of_other_org_denied if {
	inp := with_grants({"g-x": object.union(grant("g-x", eks, "cvr", other_cvr), {"org": other_cvr})})
	d := login.decision with input as inp
	d.allow == false
	"no_grant/D1" in codes(d)
}

test_d1_uncatalogued_right_denied if {
	inp := json.patch(base, [
		{"op": "add", "path": "/right", "value": "ukendt.ret"},
		{"op": "replace", "path": "/grants", "value": {"g-u": grant("g-u", "ukendt.ret", "cvr", cvr)}},
	])
	d := login.decision with input as inp
	d.allow == false
	"no_grant/D1" in codes(d)
}

# ---------------------------------------------------------------------------
# D2 unknown user and the knock queue
# ---------------------------------------------------------------------------

test_d2_known_user_allowed if {
	d := login.decision with input as base
	not "unknown_user/D2" in codes(d)
	d.knock == false
}

test_d2_unknown_user_denied_and_knocks if {
	inp := json.patch(base, [{"op": "replace", "path": "/user", "value": null}])
	d := login.decision with input as inp
	d.allow == false
	"unknown_user/D2" in codes(d)
	d.knock == true
}

test_d2_user_of_other_org_denied if {
	d := login.decision with input as merged({"user": {"org": other_cvr}})
	d.allow == false
	"unknown_user/D2" in codes(d)
}

test_d2_no_knock_for_user_of_other_org if {
	d := login.decision with input as merged({"user": {"org": other_cvr}})
	"unknown_user/D2" in codes(d)
	d.knock == false
}

test_d2_no_knock_when_org_does_not_allow if {
	inp := json.patch(base, [
		{"op": "replace", "path": "/user", "value": null},
		{"op": "replace", "path": "/org/settings/allow_knock", "value": false},
	])
	d := login.decision with input as inp
	d.allow == false
	d.knock == false
}

test_d2_no_knock_for_private_person if {
	inp := json.patch(base, [
		{"op": "replace", "path": "/user", "value": null},
		{"op": "replace", "path": "/subject/kind", "value": "private"},
	])
	d := login.decision with input as inp
	"unknown_user/D2" in codes(d)
	d.knock == false
}

test_d2_no_knock_for_function_certificate if {
	inp := json.patch(base, [
		{"op": "replace", "path": "/user", "value": null},
		{"op": "replace", "path": "/subject/kind", "value": "function"},
	])
	d := login.decision with input as inp
	d.knock == false
}

test_d2_no_knock_without_org if {
	inp := json.patch(base, [
		{"op": "replace", "path": "/user", "value": null},
		{"op": "replace", "path": "/org", "value": null},
	])
	d := login.decision with input as inp
	"unknown_user/D2" in codes(d)
	d.knock == false
}

# ---------------------------------------------------------------------------
# D3 user not active
# ---------------------------------------------------------------------------

test_d3_active_user_allowed if {
	d := login.decision with input as base
	not "user_inactive/D3" in codes(d)
	d.allow == true
}

test_d3_new_user_allowed if {
	d := login.decision with input as merged({"user": {"status": "new"}})
	d.allow == true
}

test_d3_inactive_deactivated_deleted_denied if {
	every status in ["inactive", "deactivated", "deleted"] {
		d := login.decision with input as merged({"user": {"status": status}})
		d.allow == false
		"user_inactive/D3" in codes(d)
	}
}

test_d3_denied_answer_has_no_rights if {
	base.user.status == "active"
	count(login.decision.rights) > 0 with input as base
	d := login.decision with input as merged({"user": {"status": "inactive"}})
	d.allow == false
	d.rights == []
	count(login.rights) > 0 with input as merged({"user": {"status": "inactive"}})
}

test_d3_missing_status_denied if {
	inp := json.patch(base, [{"op": "remove", "path": "/user/status"}])
	d := login.decision with input as inp
	d.allow == false
	"user_inactive/D3" in codes(d)
}

# ---------------------------------------------------------------------------
# D4 employees only
# ---------------------------------------------------------------------------

test_d4_employee_allowed if {
	d := login.decision with input as merged({"right": eks})
	d.allow == true
	not "not_employee/D4" in codes(d)
}

test_d4_private_person_asking_denied if {
	d := login.decision with input as merged({"right": eks, "subject": {"kind": "private"}, "user": {"kind": "private"}})
	d.allow == false
	"not_employee/D4" in codes(d)
}

test_d4_private_person_holding_right_denied if {
	d := login.decision with input as merged({"subject": {"kind": "private"}})
	d.allow == false
	"not_employee/D4" in codes(d)
}

test_d4_private_user_record_denied if {
	d := login.decision with input as merged({"user": {"kind": "private"}})
	d.allow == false
	"not_employee/D4" in codes(d)
}

test_d4_private_person_on_ordinary_right_allowed if {
	inp := json.patch(merged({"service": "amp", "subject": {"kind": "private"}}), [
		{"op": "replace", "path": "/grants", "value": {"g-s": grant("g-s", "amp.sagsbehandler", "cvr", cvr)}},
	])
	d := login.decision with input as inp
	d.allow == true
}

test_d4_function_certificate_allowed if {
	d := login.decision with input as merged({"right": eks, "subject": {"kind": "function"}, "user": {"kind": "function"}})
	d.allow == true
}

# ---------------------------------------------------------------------------
# D5 CPR must be linked
# ---------------------------------------------------------------------------

test_d5_cpr_linked_allowed if {
	d := login.decision with input as merged({"right": eks})
	not "cpr_not_linked/D5" in codes(d)
}

test_d5_no_cpr_denied if {
	d := login.decision with input as merged({"right": eks, "subject": {"cpr_linked": false}})
	d.allow == false
	"cpr_not_linked/D5" in codes(d)
}

test_d5_no_cpr_without_asked_right_denied if {
	d := login.decision with input as merged({"subject": {"cpr_linked": false}})
	d.allow == false
	"cpr_not_linked/D5" in codes(d)
}

test_d5_right_without_flag_allowed_without_cpr if {
	inp := json.patch(merged({"service": "amp", "right": "amp.sagsbehandler", "subject": {"cpr_linked": false}}), [
		{"op": "replace", "path": "/grants", "value": {"g-s": grant("g-s", "amp.sagsbehandler", "cvr", cvr)}},
	])
	d := login.decision with input as inp
	d.allow == true
}

# ---------------------------------------------------------------------------
# D6 organisation mismatch
# ---------------------------------------------------------------------------

test_d6_own_p_number_allowed if {
	d := login.decision with input as merged({"subject": {"p_number": p1}})
	d.allow == true
}

test_d6_unknown_org_denied if {
	inp := json.patch(base, [{"op": "replace", "path": "/org", "value": null}])
	d := login.decision with input as inp
	d.allow == false
	"org_mismatch/D6" in codes(d)
}

test_d6_p_number_of_other_org_denied if {
	d := login.decision with input as merged({"subject": {"p_number": p_other}})
	d.allow == false
	"org_mismatch/D6" in codes(d)
}

test_d6_org_of_other_cvr_denied if {
	d := login.decision with input as merged({"org": {"cvr": other_cvr}})
	d.allow == false
	"org_mismatch/D6" in codes(d)
}

# ---------------------------------------------------------------------------
# D7 no grants via groups
# ---------------------------------------------------------------------------

test_d7_group_grant_denied if {
	inp := with_grants({"g-grp": via_group(grant("g-grp", eks, "cvr", cvr))})
	d := login.decision with input as inp
	d.allow == false
	"grant_via_group/D7" in codes(d)
	"no_grant/D1" in codes(d)
	r := reason_for(d, "grant_via_group", "g-grp")
	r.info == true
	r.right == eks
}

test_d7_asked_group_grant_denied if {
	inp := json.patch(merged({"right": eks}), [
		{"op": "replace", "path": "/grants", "value": {"g-grp": via_group(grant("g-grp", eks, "cvr", cvr))}},
	])
	d := login.decision with input as inp
	d.allow == false
	"grant_via_group/D7" in codes(d)
}

test_d7_same_right_direct_allowed if {
	inp := json.patch(merged({"right": eks}), [
		{"op": "replace", "path": "/grants", "value": {"g-dir": grant("g-dir", eks, "cvr", cvr)}},
	])
	d := login.decision with input as inp
	d.allow == true
	not "grant_via_group/D7" in codes(d)
}

test_d7_group_grant_on_ordinary_right_allowed if {
	inp := json.patch(merged({"service": "imi"}), [
		{"op": "replace", "path": "/grants", "value": {"g-imi": via_group(grant("g-imi", "imi.case_worker", "p", p2))}},
	])
	d := login.decision with input as inp
	d.allow == true
	scope_of(d, "imi.case_worker").p_numbers == [p2]
}

# ---------------------------------------------------------------------------
# D8 no grants on SE-numbers
# ---------------------------------------------------------------------------

test_d8_se_grant_denied if {
	inp := with_grants({"g-se": grant("g-se", eks, "se", se)})
	d := login.decision with input as inp
	d.allow == false
	"grant_on_se/D8" in codes(d)
	"no_grant/D1" in codes(d)
	reason_for(d, "grant_on_se", "g-se").info == true
}

test_d8_se_grant_on_ordinary_right_allowed if {
	inp := json.patch(merged({"service": "imi"}), [
		{"op": "replace", "path": "/grants", "value": {"g-se": grant("g-se", "imi.case_worker", "se", se)}},
	])
	d := login.decision with input as inp
	d.allow == true
	scope_of(d, "imi.case_worker") == {"all": false, "cvr": cvr, "p_numbers": [], "se_numbers": [se]}
}

# ---------------------------------------------------------------------------
# D9 forbidden rights never allow
# ---------------------------------------------------------------------------

amp_grants := {
	"g-lss": grant("g-lss", "amp.lss", "cvr", cvr),
	"g-ws": grant("g-ws", "amp.webservice", "cvr", cvr),
}

test_d9_lss_in_store_still_denied if {
	inp := json.patch(merged({"service": "amp", "right": "amp.lss"}), [
		{"op": "replace", "path": "/grants", "value": amp_grants},
	])
	d := login.decision with input as inp
	d.allow == false
	"forbidden_right/D9" in codes(d)
	d.rights == []
}

test_d9_webservice_in_store_still_denied if {
	inp := json.patch(merged({"service": "amp", "right": "amp.webservice"}), [
		{"op": "replace", "path": "/grants", "value": amp_grants},
	])
	d := login.decision with input as inp
	d.allow == false
	some r in d.reasons
	r.code == "forbidden_right"
	not r.info
}

test_d9_forbidden_grants_only_denied if {
	inp := json.patch(merged({"service": "amp"}), [
		{"op": "replace", "path": "/grants", "value": amp_grants},
	])
	d := login.decision with input as inp
	d.allow == false
	"forbidden_right/D9" in codes(d)
	"no_grant/D1" in codes(d)
}

test_d9_forbidden_grants_reported_while_other_right_allows if {
	inp := json.patch(merged({"service": "amp"}), [
		{"op": "replace", "path": "/grants", "value": object.union(amp_grants, {"g-s": grant("g-s", "amp.sagsbehandler", "cvr", cvr)})},
	])
	d := login.decision with input as inp
	d.allow == true
	reason_for(d, "forbidden_right", "g-lss").info == true
	reason_for(d, "forbidden_right", "g-ws").info == true
	[r.right | some r in d.rights] == ["amp.sagsbehandler"]
}

# ---------------------------------------------------------------------------
# D10 deprecated rights never allow
# ---------------------------------------------------------------------------

test_d10_deprecated_grant_denied if {
	inp := json.patch(merged({"service": "amp"}), [
		{"op": "replace", "path": "/grants", "value": {"g-job": grant("g-job", "amp.jobnet_jobordrer", "cvr", cvr)}},
	])
	d := login.decision with input as inp
	d.allow == false
	"deprecated_right/D10" in codes(d)
	"no_grant/D1" in codes(d)
}

test_d10_asked_deprecated_right_denied if {
	inp := json.patch(merged({"service": "amp", "right": "amp.jobnet_jobordrer"}), [
		{"op": "replace", "path": "/grants", "value": {"g-job": grant("g-job", "amp.jobnet_jobordrer", "cvr", cvr)}},
	])
	d := login.decision with input as inp
	d.allow == false
	"deprecated_right/D10" in codes(d)
}

test_d10_other_right_allowed if {
	inp := json.patch(merged({"service": "amp", "right": "amp.sagsbehandler"}), [
		{"op": "replace", "path": "/grants", "value": {
			"g-job": grant("g-job", "amp.jobnet_jobordrer", "cvr", cvr),
			"g-s": grant("g-s", "amp.sagsbehandler", "cvr", cvr),
		}},
	])
	d := login.decision with input as inp
	d.allow == true
	not "deprecated_right/D10" in codes(d)
}

# ---------------------------------------------------------------------------
# D11 CVR scope overrides P scope; P scopes add up
# ---------------------------------------------------------------------------

test_d11_cvr_grant_overrides_p_grants if {
	inp := json.patch(merged({"right": eks}), [
		{"op": "replace", "path": "/grants", "value": {
			"g-cvr": grant("g-cvr", eks, "cvr", cvr),
			"g-p1": grant("g-p1", eks, "p", p1),
		}},
	])
	d := login.decision with input as inp
	d.allow == true
	scope_of(d, eks) == {"all": true, "cvr": cvr, "p_numbers": [p1, p2], "se_numbers": []}
	r := reason_for(d, "cvr_overrides_p", "g-p1")
	r.info == true
	r.rule == "D11"
}

test_d11_two_p_grants_add_up if {
	inp := with_grants({
		"g-p1": grant("g-p1", eks, "p", p1),
		"g-p2": grant("g-p2", eks, "p", p2),
	})
	d := login.decision with input as inp
	d.allow == true
	scope_of(d, eks) == {"all": false, "cvr": cvr, "p_numbers": [p1, p2], "se_numbers": []}
	not "cvr_overrides_p/D11" in codes(d)
}

test_d11_cvr_grant_alone_no_info if {
	d := login.decision with input as with_grants({"g-cvr": grant("g-cvr", eks, "cvr", cvr)})
	d.allow == true
	scope_of(d, eks).all == true
	d.reasons == []
}

test_d11_p_of_other_org_gives_nothing if {
	d := login.decision with input as with_grants({"g-px": grant("g-px", eks, "p", p_other)})
	d.allow == false
	"no_grant/D1" in codes(d)
}

# ---------------------------------------------------------------------------
# D12 target P-unit outside scope
# ---------------------------------------------------------------------------

test_d12_target_inside_scope_allowed if {
	d := login.decision with input as merged({"p_number": p1})
	d.allow == true
}

test_d12_target_outside_scope_denied if {
	d := login.decision with input as merged({"p_number": p2})
	d.allow == false
	"outside_scope/D12" in codes(d)
}

test_d12_cvr_scope_covers_every_p_unit if {
	d := login.decision with input as json.patch(merged({"p_number": p2}), [
		{"op": "replace", "path": "/grants", "value": {"g-cvr": grant("g-cvr", eks, "cvr", cvr)}},
	])
	d.allow == true
}

test_d12_cvr_scope_does_not_cover_other_org if {
	d := login.decision with input as json.patch(merged({"p_number": p_other}), [
		{"op": "replace", "path": "/grants", "value": {"g-cvr": grant("g-cvr", eks, "cvr", cvr)}},
	])
	d.allow == false
	"outside_scope/D12" in codes(d)
}

test_d12_asked_right_scope_only if {
	inp := json.patch(merged({"p_number": p2, "right": eks}), [
		{"op": "replace", "path": "/grants", "value": {
			"g-p1": grant("g-p1", eks, "p", p1),
			"g-r": grant("g-r", "eksamensdatabasen.report", "p", p2),
		}},
	])
	d := login.decision with input as inp
	d.allow == false
	"outside_scope/D12" in codes(d)
}

# ---------------------------------------------------------------------------
# D13 expired grants are ignored
# ---------------------------------------------------------------------------

test_d13_expired_grant_denied if {
	d := login.decision with input as with_grants({"g-old": expiring(grant("g-old", eks, "cvr", cvr), now - 60000000000)})
	d.allow == false
	"grant_expired/D13" in codes(d)
	"no_grant/D1" in codes(d)
	reason_for(d, "grant_expired", "g-old").info == true
}

test_d13_expiring_exactly_now_denied if {
	d := login.decision with input as with_grants({"g-now": expiring(grant("g-now", eks, "cvr", cvr), now)})
	d.allow == false
	"grant_expired/D13" in codes(d)
}

test_d13_future_expiry_allowed if {
	d := login.decision with input as with_grants({"g-later": expiring(grant("g-later", eks, "cvr", cvr), now + day)})
	d.allow == true
	not "grant_expired/D13" in codes(d)
}

test_d13_null_expiry_allowed if {
	d := login.decision with input as with_grants({"g-x": expiring(grant("g-x", eks, "p", p1), null)})
	d.allow == true
}

test_d13_no_expiry_field_allowed if {
	g := object.remove(grant("g-x", eks, "p", p1), ["expires_at_ns"])
	d := login.decision with input as with_grants({"g-x": g})
	d.allow == true
}

# ---------------------------------------------------------------------------
# Ignored grants are reported even when another grant allows
# ---------------------------------------------------------------------------

test_ignored_grants_reported_while_allowed if {
	inp := with_grants({
		"g-p1": grant("g-p1", eks, "p", p1),
		"g-grp": via_group(grant("g-grp", eks, "cvr", cvr)),
		"g-se": grant("g-se", eks, "se", se),
		"g-old": expiring(grant("g-old", eks, "p", p2), now - day),
	})
	d := login.decision with input as inp
	d.allow == true
	reason_for(d, "grant_via_group", "g-grp").rule == "D7"
	reason_for(d, "grant_on_se", "g-se").rule == "D8"
	reason_for(d, "grant_expired", "g-old").rule == "D13"
	scope_of(d, eks) == {"all": false, "cvr": cvr, "p_numbers": [p1], "se_numbers": []}
}

# ---------------------------------------------------------------------------
# D14 certificate revoked
# ---------------------------------------------------------------------------

cert_login(status) := merged({
	"subject": {"auth_method": "certificate", "certificate_serial": "C-1"},
	"certificate": {"serial": "C-1", "status": status},
})

test_d14_issued_certificate_allowed if {
	d := login.decision with input as cert_login("issued")
	d.allow == true
}

test_d14_revoked_certificate_denied if {
	d := login.decision with input as cert_login("revoked")
	d.allow == false
	"certificate_revoked/D14" in codes(d)
}

test_d14_expired_status_denied if {
	d := login.decision with input as cert_login("expired")
	d.allow == false
	"certificate_revoked/D14" in codes(d)
}

test_d14_validity_ended_denied if {
	inp := json.patch(cert_login("issued"), [{"op": "add", "path": "/certificate/expires_at_ns", "value": now - day}])
	d := login.decision with input as inp
	d.allow == false
	"certificate_revoked/D14" in codes(d)
}

test_d14_valid_until_expiry_allowed if {
	inp := json.patch(cert_login("issued"), [{"op": "add", "path": "/certificate/expires_at_ns", "value": now + day}])
	d := login.decision with input as inp
	d.allow == true
	d.valid_until_ns <= now + day
}

test_d14_unknown_serial_not_judged if {
	inp := json.patch(cert_login("issued"), [{"op": "replace", "path": "/certificate", "value": null}])
	d := login.decision with input as inp
	d.allow == true
}

# ---------------------------------------------------------------------------
# D15 password change required, L8 blocked password
# ---------------------------------------------------------------------------

password_login(pw) := json.patch(merged({"subject": {"auth_method": "password"}}), [
	{"op": "replace", "path": "/user/password", "value": pw},
])

fresh := {"temporary": false, "changed_at_ns": now - (10 * day), "blocked": false}

test_d15_fresh_password_allowed if {
	d := login.decision with input as password_login(fresh)
	d.allow == true
}

test_d15_temporary_password_denied if {
	d := login.decision with input as password_login(object.union(fresh, {"temporary": true}))
	d.allow == false
	"password_change_required/D15" in codes(d)
}

test_d15_expired_password_denied if {
	d := login.decision with input as password_login(object.union(fresh, {"changed_at_ns": now - (181 * day)}))
	d.allow == false
	"password_change_required/D15" in codes(d)
}

test_d15_org_max_age_applies if {
	inp := json.patch(password_login(object.union(fresh, {"changed_at_ns": now - (31 * day)})), [
		{"op": "add", "path": "/org/settings/password_max_age_days", "value": 30},
	])
	d := login.decision with input as inp
	d.allow == false
	"password_change_required/D15" in codes(d)
}

test_d15_no_local_password_denied if {
	d := login.decision with input as password_login(null)
	d.allow == false
	"password_change_required/D15" in codes(d)
}

test_d15_only_password_logins if {
	inp := json.patch(base, [
		{"op": "replace", "path": "/user/password", "value": object.union(fresh, {"temporary": true})},
	])
	d := login.decision with input as inp
	d.allow == true
}

test_l8_blocked_password_denied if {
	d := login.decision with input as password_login(object.union(fresh, {"blocked": true}))
	d.allow == false
	"password_blocked/L8" in codes(d)
}

test_l8_unblocked_password_allowed if {
	d := login.decision with input as password_login(fresh)
	not "password_blocked/L8" in codes(d)
}

test_d11_scopes_are_per_right if {
	inp := with_grants({
		"g-v": grant("g-v", eks, "p", p1),
		"g-r": grant("g-r", "eksamensdatabasen.report", "p", p2),
		"g-r-se": grant("g-r-se", "eksamensdatabasen.report", "se", se),
	})
	d := login.decision with input as inp
	scope_of(d, eks) == {"all": false, "cvr": cvr, "p_numbers": [p1], "se_numbers": []}
	scope_of(d, "eksamensdatabasen.report") == {"all": false, "cvr": cvr, "p_numbers": [p2], "se_numbers": [se]}
}

# ---------------------------------------------------------------------------
# valid_until_ns: how long the decision may be cached
# ---------------------------------------------------------------------------

test_valid_until_no_deadline if {
	login.decision.valid_until_ns == 0 with input as base
}

test_valid_until_earliest_future_grant_expiry if {
	d := login.decision with input as with_grants({
		"g-a": expiring(grant("g-a", eks, "p", p1), now + (3 * day)),
		"g-b": expiring(grant("g-b", eks, "p", p2), now + day),
		"g-old": expiring(grant("g-old", eks, "p", p2), now - day),
		"g-c": grant("g-c", eks, "cvr", cvr),
	})
	d.valid_until_ns == now + day
}

test_valid_until_password_age_limit if {
	d := login.decision with input as password_login(fresh)
	d.valid_until_ns == (now - (10 * day)) + (180 * day)
}

test_valid_until_password_already_stale_has_no_deadline if {
	d := login.decision with input as password_login(object.union(fresh, {"changed_at_ns": now - (181 * day)}))
	d.valid_until_ns == 0
}

test_valid_until_decision_changes_at_deadline if {
	t := now + day
	inp := with_grants({"g-a": expiring(grant("g-a", eks, "p", p1), t)})
	before := login.decision with input as json.patch(inp, [{"op": "replace", "path": "/now_ns", "value": t - 1}])
	at := login.decision with input as json.patch(inp, [{"op": "replace", "path": "/now_ns", "value": t}])
	before.allow == true
	before.valid_until_ns == t
	at.allow == false
}

# ---------------------------------------------------------------------------
# M16 external group members: Alice (org cvr) is a member of a custom group
# of other_cvr that holds amp.sagsbehandler on other_cvr's whole CVR.
# ---------------------------------------------------------------------------

other_org := {
	"cvr": other_cvr, "type": "a-kasse",
	"p_units": {p_other: true}, "se_numbers": {},
	"settings": {"allow_knock": false, "deletion": "allowed"},
}

ext_grant := object.union(grant("g-ext", "amp.sagsbehandler", "cvr", other_cvr), {"org": other_cvr, "source": group_id})

ext_input := object.union(
	json.patch(base, [
		{"op": "replace", "path": "/grants", "value": {"g-ext": ext_grant}},
		{"op": "replace", "path": "/service", "value": "amp"},
	]),
	{"grant_orgs": {other_cvr: other_org}},
)

test_m16_external_member_own_cvr_gets_granting_org_scope if {
	d := login.decision with input as ext_input
	d.allow == true
	d.rights == [{"right": "amp.sagsbehandler", "scope": {"all": true, "cvr": other_cvr, "p_numbers": [p_other], "se_numbers": []}}]
}

test_m16_external_member_group_cvr_gets_rights_there if {
	inp := json.patch(ext_input, [
		{"op": "replace", "path": "/subject/cvr", "value": other_cvr},
		{"op": "add", "path": "/subject/p_number", "value": p1},
		{"op": "replace", "path": "/org", "value": other_org},
	])
	d := login.decision with input as inp
	d.allow == true
	d.rights == [{"right": "amp.sagsbehandler", "scope": {"all": true, "cvr": other_cvr, "p_numbers": [p_other], "se_numbers": []}}]
}

test_d2_external_group_membership_needed_for_other_cvr if {
	# without the group's grants the other org does not know Alice
	inp := json.patch(ext_input, [
		{"op": "replace", "path": "/subject/cvr", "value": other_cvr},
		{"op": "replace", "path": "/org", "value": other_org},
		{"op": "replace", "path": "/grant_orgs", "value": {}},
		{"op": "replace", "path": "/grants", "value": {}},
	])
	d := login.decision with input as inp
	d.allow == false
	"unknown_user" in {r.code | some r in d.reasons}
}

test_m16_external_grant_ignored_rules_apply if {
	# a group grant of a no_group right gives nothing in the other org either
	g := object.union(ext_grant, {"right": eks, "scope": {"type": "cvr", "value": other_cvr}})
	inp := json.patch(ext_input, [
		{"op": "replace", "path": "/grants", "value": {"g-ext": g}},
		{"op": "replace", "path": "/service", "value": "eksamensdatabasen"},
	])
	d := login.decision with input as inp
	d.allow == false
	d.rights == []
	"grant_via_group" in {r.code | some r in d.reasons}
}

test_m16_external_grant_outside_granting_org_gives_nothing if {
	# a scope that is not a unit of the granting org gives nothing
	g := object.union(ext_grant, {"scope": {"type": "p", "value": p1}})
	d := login.decision with input as json.patch(ext_input, [{"op": "replace", "path": "/grants", "value": {"g-ext": g}}])
	d.allow == false
	d.rights == []
}

test_m16_no_external_rights_without_grant_org if {
	d := login.decision with input as json.patch(ext_input, [{"op": "replace", "path": "/grant_orgs", "value": {}}])
	d.allow == false
	"no_grant" in {r.code | some r in d.reasons}
}

test_m16_own_and_external_scopes_listed_separately if {
	own := object.union(grant("g-own", "amp.sagsbehandler", "p", p2), {})
	d := login.decision with input as json.patch(ext_input, [{"op": "add", "path": "/grants/g-own", "value": own}])
	d.allow == true
	[x.scope.cvr | some x in d.rights] == [cvr, other_cvr]
}
