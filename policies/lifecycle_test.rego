package adgang.lifecycle_test

import data.adgang.lifecycle

_day := 86400000000000

_t0 := 1700000000000000000

_user(extra) := object.union(
	{"id": "u1", "kind": "employee", "status": "active", "source": "manual", "created_at_ns": _t0},
	extra,
)

_jobs(user, now) := {a.job | some a in lifecycle.actions with input as {"now_ns": now, "user": user}}

_jobs_org(user, now, settings) := {a.job | some a in lifecycle.actions with input as {"now_ns": now, "user": user, "org": {"settings": {"lifecycle": settings}}}}

test_l1_idle_user_inactivated_after_90_days if {
	_jobs(_user({"last_login_ns": _t0}), _t0 + (90 * _day)) == {"inactivate_idle"}
}

test_l1_login_the_day_before_keeps_user_active if {
	# logged in on day 1, so on day 90 the 90 days are not yet over
	_jobs(_user({"last_login_ns": _t0 + _day}), _t0 + (90 * _day)) == set()
}

test_l1_never_logged_in_counts_from_creation if {
	_jobs(_user({}), _t0 + (91 * _day)) == {"inactivate_idle"}
}

test_l1_function_users_never_inactivated if {
	_jobs(_user({"kind": "function"}), _t0 + (900 * _day)) == set()
}

test_l1_org_threshold_overrides_default if {
	_jobs_org(_user({"last_login_ns": _t0}), _t0 + (31 * _day), {"inactivate_after_days": 30}) == {"inactivate_idle"}
	_jobs_org(_user({"last_login_ns": _t0}), _t0 + (29 * _day), {"inactivate_after_days": 30}) == set()
}

test_l2_inactive_user_deleted_after_100_days if {
	u := _user({"status": "inactive", "status_changed_at_ns": _t0})
	_jobs(u, _t0 + (100 * _day)) == {"delete_inactive"}
	_jobs(u, _t0 + (99 * _day)) == set()
}

test_l2_reactivated_user_not_deleted if {
	u := _user({"status": "active", "status_changed_at_ns": _t0, "last_login_ns": _t0 + (150 * _day)})
	_jobs(u, _t0 + (160 * _day)) == set()
}

test_l3_deactivation_ends_on_its_date if {
	u := _user({"status": "deactivated", "deactivated_until_ns": _t0 + (10 * _day)})
	_jobs(u, _t0 + (10 * _day)) == {"end_deactivation"}
	_jobs(u, _t0 + (9 * _day)) == set()
}

test_l3_deactivation_without_end_lasts if {
	_jobs(_user({"status": "deactivated"}), _t0 + (1000 * _day)) == set()
}

test_l4_unconfirmed_association_deleted_after_365_days if {
	u := _user({"association": "manual", "last_login_ns": _t0 + (364 * _day)})
	_jobs(u, _t0 + (365 * _day)) == {"delete_unconfirmed"}
}

test_l4_warning_30_days_before if {
	u := _user({"association": "manual", "last_login_ns": _t0 + (334 * _day)})
	_jobs(u, _t0 + (335 * _day)) == {"warn_unconfirmed"}
	_jobs(u, _t0 + (334 * _day)) == set()
}

test_l4_warning_names_the_deletion_date if {
	u := _user({"association": "manual", "last_login_ns": _t0 + (334 * _day)})
	some a in lifecycle.actions with input as {"now_ns": _t0 + (335 * _day), "user": u}
	a.job == "warn_unconfirmed"
	a.event_ns == _t0 + (365 * _day)
}

test_l4_warning_date_follows_the_org_setting if {
	u := _user({"association": "manual", "last_login_ns": _t0 + (300 * _day)})
	s := {"warn_before_days": 60}
	some a in lifecycle.actions with input as {"now_ns": _t0 + (306 * _day), "user": u, "org": {"settings": {"lifecycle": s}}}
	a.job == "warn_unconfirmed"
	a.event_ns == _t0 + (365 * _day)
	not _jobs_org(u, _t0 + (304 * _day), s).warn_unconfirmed
}

test_l4_warning_sent_once if {
	u := _user({"association": "manual", "last_login_ns": _t0 + (340 * _day), "warned_at_ns": _t0 + (336 * _day)})
	_jobs(u, _t0 + (340 * _day)) == set()
}

test_l4_confirming_restarts_the_clock if {
	u := _user({"association": "manual", "confirmed_at_ns": _t0 + (200 * _day), "last_login_ns": _t0 + (560 * _day)})
	_jobs(u, _t0 + (400 * _day)) == set()
	_jobs(u, _t0 + (565 * _day)) == {"delete_unconfirmed"}
}

test_l4_ordinary_users_never_unconfirmed if {
	u := _user({"last_login_ns": _t0 + (999 * _day)})
	_jobs(u, _t0 + (1000 * _day)) == set()
}

test_l5_import_retired_after_12_calendar_months if {
	# _t0 is 2023-11-14T22:13:20Z; 12 calendar months later is
	# 2024-11-14, 366 days (2024 is a leap year), not 360.
	b := {"id": "b1", "created_at_ns": _t0, "retired": false}
	r := lifecycle.import_retirement with input as {"now_ns": _t0 + (366 * _day), "import": b}
	r.rule == "L5"
	not lifecycle.import_retirement with input as {"now_ns": _t0 + (365 * _day), "import": b}
	not lifecycle.import_retirement with input as {"now_ns": _t0 + (360 * _day), "import": b}
}

test_l5_warning_a_month_before_retirement if {
	# 2024-10-14T22:13:20Z, one calendar month before the retirement
	b := {"id": "b1", "created_at_ns": _t0, "retired": false, "users": 3}
	w := lifecycle.import_warning with input as {"now_ns": _t0 + (335 * _day), "import": b}
	w.job == "warn_import"
	w.event_ns == time.add_date(_t0, 1, 0, 0)
	not lifecycle.import_warning with input as {"now_ns": _t0 + (334 * _day), "import": b}
	not lifecycle.import_warning with input as {"now_ns": _t0 + (366 * _day), "import": b}
}

test_l5_no_warning_without_users_or_when_warned if {
	b := {"id": "b1", "created_at_ns": _t0, "retired": false, "users": 0}
	not lifecycle.import_warning with input as {"now_ns": _t0 + (340 * _day), "import": b}
	warned := object.union(b, {"users": 2, "warned_at_ns": _t0 + (336 * _day)})
	not lifecycle.import_warning with input as {"now_ns": _t0 + (340 * _day), "import": warned}
}

test_l1_new_user_counts_from_creation if {
	_jobs(_user({"status": "new"}), _t0 + (90 * _day)) == {"inactivate_idle"}
	_jobs(_user({"status": "new"}), _t0 + (89 * _day)) == set()
}

test_l1_first_login_activates_new_user if {
	a := lifecycle.login_activation with input as {"login_ns": _t0, "user": {"id": "u1", "status": "new"}}
	a.action == "activate"
	a.rule == "L1"
}

test_l1_login_leaves_other_statuses if {
	every st in ["active", "inactive", "deactivated"] {
		not lifecycle.login_activation with input as {"login_ns": _t0, "user": {"id": "u1", "status": st}}
	}
	not lifecycle.login_activation with input as {"user": {"id": "u1", "status": "new"}}
}

_last := [{"org": "12345674", "role": "org-admin", "holders": 1}]

_two := [{"org": "12345674", "role": "org-admin", "holders": 2}]

_acts(user, now) := {[a.job, a.rule, a.action] | some a in lifecycle.actions with input as {"now_ns": now, "user": user}}

test_a10_lifecycle_skips_last_admin if {
	idle := _user({"last_login_ns": _t0, "admin_roles": _last})
	_acts(idle, _t0 + (90 * _day)) == {
		["inactivate_idle", "A10", "skip"],
		["warn_last_admin", "A10", "warn_last_admin"],
	}
	unconfirmed := _user({"association": "manual", "last_login_ns": _t0 + (364 * _day), "admin_roles": _last})
	_acts(unconfirmed, _t0 + (365 * _day)) == {
		["delete_unconfirmed", "A10", "skip"],
		["warn_last_admin", "A10", "warn_last_admin"],
	}
}

test_a10_last_admin_warned_once if {
	u := _user({"last_login_ns": _t0, "admin_roles": _last, "last_admin_warned_ns": _t0 + (90 * _day)})
	_acts(u, _t0 + (95 * _day)) == {["inactivate_idle", "A10", "skip"]}
}

test_a10_lifecycle_removes_admin_with_other_holders if {
	u := _user({"last_login_ns": _t0, "admin_roles": _two})
	_acts(u, _t0 + (90 * _day)) == {["inactivate_idle", "L1", "inactivate"]}
}

test_l5_retired_import_not_retired_again if {
	b := {"id": "b1", "created_at_ns": _t0, "retired": true}
	not lifecycle.import_retirement with input as {"now_ns": _t0 + (900 * _day), "import": b}
}

test_empty_input_no_actions if {
	lifecycle.actions == [] with input as {}
}

_pw_input(now, pw, user, settings) := {
	"now_ns": now,
	"org": {"cvr": "12345674", "settings": object.union({"password_login": true}, settings)},
	"user": object.union({"id": "u1", "kind": "employee", "status": "active", "has_email": true}, user),
	"password": object.union({"changed_at_ns": _t0, "temporary": false, "reminded_for_ns": 0}, pw),
}

test_l8_password_reminder_14_days_before_expiry if {
	r := lifecycle.password_reminder with input as _pw_input(_t0 + (166 * _day), {}, {}, {})
	r.rule == "L8"
	r.expires_ns == _t0 + (180 * _day)
}

test_l8_password_reminder_not_before_day_166 if {
	not lifecycle.password_reminder with input as _pw_input(_t0 + (165 * _day), {}, {}, {})
}

test_l8_password_reminder_once_per_password if {
	not lifecycle.password_reminder with input as _pw_input(_t0 + (170 * _day), {"reminded_for_ns": _t0}, {}, {})
}

test_l8_password_reminder_follows_org_max_age if {
	lifecycle.password_reminder with input as _pw_input(_t0 + (17 * _day), {}, {}, {"password_max_age_days": 30})
}

test_l8_password_reminder_not_after_expiry if {
	not lifecycle.password_reminder with input as _pw_input(_t0 + (181 * _day), {}, {}, {})
}

test_l8_password_reminder_needs_password_login_email_and_final_password if {
	not lifecycle.password_reminder with input as _pw_input(_t0 + (170 * _day), {}, {}, {"password_login": false})
	not lifecycle.password_reminder with input as _pw_input(_t0 + (170 * _day), {}, {"has_email": false}, {})
	not lifecycle.password_reminder with input as _pw_input(_t0 + (170 * _day), {"temporary": true}, {}, {})
	not lifecycle.password_reminder with input as _pw_input(_t0 + (170 * _day), {}, {"status": "inactive"}, {})
}

test_l5_retirement_keeps_confirmed_users_and_the_last_admin if {
	b := {"id": "b1", "created_at_ns": _t0}
	lifecycle.import_user_action == "remove" with input as {"import": b, "user": _user({})}
	lifecycle.import_user_action == "remove" with input as {"import": b, "user": _user({"confirmed_at_ns": _t0 - _day})}
	lifecycle.import_user_action == "keep" with input as {"import": b, "user": _user({"confirmed_at_ns": _t0 + _day})}
	lifecycle.import_user_action == "keep" with input as {"import": b, "user": _user({"admin_roles": _last})}
	lifecycle.import_user_action == "remove" with input as {"import": b, "user": _user({"admin_roles": _two})}
}
