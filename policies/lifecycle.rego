# METADATA
# title: Adgang user lifecycle
# description: >-
#   Which automatic lifecycle action is due for one user at a given time
#   (L1-L5 of SPEC §4). The lifecycle jobs and the preview endpoint
#   (GET /v1/orgs/{cvr}/lifecycle) both ask this package, so what the
#   preview shows is exactly what the jobs do. Thresholds come from the
#   organisation's settings, with the seeds' defaults.
# scope: package
package adgang.lifecycle

import data.adgang.lib

# actions lists the actions due for input.user at input.now_ns, sorted:
# [{"job", "rule", "action", "due_ns"}]. Empty when nothing is due.
actions := sort(_actions)

_actions := union({_kept_removals, deactivation_end, last_admin_skip, last_admin_warning})

# _removals: the actions that would take the user away (or, for the L4
# warning, announce that). The last administrator of an organisation is
# never removed by a job (A10): its removals are listed as skipped instead.
_removals := union({idle_inactivation, inactive_deletion, unconfirmed_deletion, unconfirmed_warning})

default _kept_removals := set()

_kept_removals := _removals if not _last_admin

_now := lib.now_ns

_user := object.get(input, "user", {})

_settings := object.get(object.get(object.get(input, "org", {}), "settings", {}), "lifecycle", {})

# _days is a threshold from the org's lifecycle settings, or its default
# when absent or not a positive number.
_days(name, default_days) := d if {
	d := _settings[name]
	is_number(d)
	d > 0
} else := default_days

_ts(name) := t if {
	t := _user[name]
	is_number(t)
	t > 0
}

_day := lib.ns_per_day

# _last_activity is the last login, or the creation time of a user who
# never logged in.
_last_activity := t if {
	t := _ts("last_login_ns")
} else := t if {
	t := _ts("created_at_ns")
}

# METADATA
# title: L1 inactivate users without logins
# description: >-
#   An active or new user (not a function certificate user) who has not
#   logged in for inactivate_after_days (default 90) becomes inactive. A
#   user who never logged in (status new) counts from its creation, so
#   created users do not stay new forever.
# custom:
#   seed: 000_7043272af43671e9.txt
idle_inactivation contains {"job": "inactivate_idle", "rule": "L1", "action": "inactivate", "due_ns": due} if {
	_user.status in {"active", "new"}
	_user.kind != "function"
	due := _last_activity + (_days("inactivate_after_days", 90) * _day)
	due <= _now
}

# METADATA
# title: L2 delete users inactive too long
# description: >-
#   A user who has been inactive for delete_after_days (default 100) is
#   deleted; its audit history stays. Function certificate users are never
#   deleted automatically.
# custom:
#   seed: 000_7043272af43671e9.txt
inactive_deletion contains {"job": "delete_inactive", "rule": "L2", "action": "delete", "due_ns": due} if {
	_user.status == "inactive"
	_user.kind != "function"
	due := _ts("status_changed_at_ns") + (_days("delete_after_days", 100) * _day)
	due <= _now
}

# METADATA
# title: L3 end of a deactivation period
# description: >-
#   A user deactivated with an end date is reactivated when the date has
#   passed. A deactivation without an end date lasts until an administrator
#   activates the user.
# custom:
#   seed: 001_3eb8a6ec070b654f.txt
deactivation_end contains {"job": "end_deactivation", "rule": "L3", "action": "activate", "due_ns": due} if {
	_user.status == "deactivated"
	due := _ts("deactivated_until_ns")
	due <= _now
}

# _unconfirmed_due is when a manually associated user is deleted unless
# confirmed: unconfirmed_after_days (default 365) after its last
# confirmation, or after its creation if never confirmed.
_unconfirmed_due := t + (_days("unconfirmed_after_days", 365) * _day) if {
	_user.association == "manual"
	t := _ts("confirmed_at_ns")
} else := t + (_days("unconfirmed_after_days", 365) * _day) if {
	_user.association == "manual"
	t := _ts("created_at_ns")
}

# METADATA
# title: L4 delete unconfirmed manual associations
# description: >-
#   A manually associated user (Unilogin) that nobody confirmed for
#   unconfirmed_after_days (default 365) is deleted. Confirming restarts the
#   clock.
# custom:
#   seed: 002_cf0e3ab59867a24b.txt
unconfirmed_deletion contains {"job": "delete_unconfirmed", "rule": "L4", "action": "delete", "due_ns": _unconfirmed_due} if {
	_user.status != "deleted"
	_unconfirmed_due <= _now
}

# METADATA
# title: L4 warn before deleting unconfirmed associations
# description: >-
#   warn_before_days (default 30) before an unconfirmed manual association is
#   deleted, the org's administrators are warned once (a mail in the
#   outbox). A user already warned for the current period is not warned
#   again. event_ns is when the deletion will happen (for the mail).
# custom:
#   seed: 002_cf0e3ab59867a24b.txt
unconfirmed_warning contains {"job": "warn_unconfirmed", "rule": "L4", "action": "warn", "due_ns": due, "event_ns": _unconfirmed_due} if {
	_user.status != "deleted"
	due := _unconfirmed_due - (_days("warn_before_days", 30) * _day)
	due <= _now
	_now < _unconfirmed_due
	not _warned_this_period(due)
}

_warned_this_period(due) if _ts("warned_at_ns") >= due

# _import_due is when an import batch is retired: import_retire_months
# (default 12) calendar months after it was made.
_import_due := time.add_date(input.import.created_at_ns, 0, _days("import_retire_months", 12), 0)

# METADATA
# title: L5 retire old import batches
# description: >-
#   An import batch older than import_retire_months (default 12 calendar
#   months, "Importer, der er over 12 måneder gamle, vil blive slettet") is
#   retired, and the users it brought in that nobody confirmed lose that
#   association.
# custom:
#   seed: 002_cf0e3ab59867a24b.txt
import_retirement := {"job": "retire_import", "rule": "L5", "action": "retire", "due_ns": due} if {
	not input.import.retired
	due := _import_due
	due <= _now
}

# _password_reminder_days: how many days before a local password expires
# its user is reminded by e-mail (once per password).
_password_reminder_days := 14

_pw := object.get(input, "password", {})

# METADATA
# title: L8 password expiry reminder
# description: >-
#   A user with a local password (IMI-style, in an organisation with
#   password_login) gets one reminder e-mail 14 days before the password
#   expires (password_max_age_days, default 180): "Passwords bør ændres
#   hver sjette måned. Brugerne får en påmindelse pr. e-mail". Only an
#   active or new user with an e-mail address and a password that is not
#   temporary is reminded, and only once per password (reminded_for_ns is
#   the change time of the password last reminded about).
# custom:
#   seed: 003_5f84fadfd940cc68.txt
password_reminder := {"job": "remind_password", "rule": "L8", "action": "remind", "due_ns": due, "expires_ns": expires} if {
	input.org.settings.password_login == true
	_user.status in {"active", "new"}
	_user.has_email == true
	_pw.temporary == false
	changed := _pw.changed_at_ns
	is_number(changed)
	changed > 0
	_pw.reminded_for_ns != changed
	expires := changed + (lib.password_max_age_days(input.org) * _day)
	due := expires - (_password_reminder_days * _day)
	due <= _now
	_now < expires
}

# METADATA
# title: L5 warn before retiring an import
# description: >-
#   One calendar month before an import batch is retired, the org's
#   administrators are warned once (a mail in the outbox), and only when the
#   batch still holds users that would lose their association ("1 måned
#   inden sletningen ... udelukkende i de tilfælde hvor forældede importer
#   indeholder brugere"). Confirming those users keeps them. event_ns is
#   when the batch will be retired (for the mail).
# custom:
#   seed: 002_cf0e3ab59867a24b.txt
import_warning := {"job": "warn_import", "rule": "L5", "action": "warn", "due_ns": due, "event_ns": _import_due} if {
	not input.import.retired
	input.import.users > 0
	due := time.add_date(_import_due, 0, -1, 0)
	due <= _now
	_now < _import_due
	not _import_warned(due)
}

_import_warned(due) if {
	t := input.import.warned_at_ns
	is_number(t)
	t >= due
}

# METADATA
# title: L1 a first login makes a new user active
# description: >-
#   A user with status new who logs in successfully becomes active: a user
#   who "har logget ind mindst én gang" is active, one who "aldrig har
#   logget ind" is new. Any successful login counts (also a password
#   login); other statuses are left alone.
# custom:
#   seed: 003_5f84fadfd940cc68.txt
login_activation := {"job": "activate_on_login", "rule": "L1", "action": "activate"} if {
	_user.status == "new"
	is_number(input.login_ns)
	input.login_ns > 0
}

# _last_admin: the user is the only active holder of an administrator role
# in some organisation (its own, or one where it is an external admin).
_last_admin if {
	some h in _user.admin_roles
	h.role in {"org-admin", "user-admin"}
	h.holders == 1
}

# METADATA
# title: A10 lifecycle jobs keep the last administrator
# description: >-
#   The lifecycle jobs (L1, L2, L4) never inactivate or delete the only
#   active holder of an administrator role of an organisation: each such
#   action is listed as skipped with rule A10, and the user stays as it is
#   until another administrator is appointed.
# custom:
#   seed: 003_5f84fadfd940cc68.txt
last_admin_skip contains {"job": a.job, "rule": "A10", "action": "skip", "due_ns": a.due_ns} if {
	_last_admin
	some a in _removals
}

# METADATA
# title: A10 warn about a kept last administrator
# description: >-
#   When a lifecycle job skips the last administrator of an organisation,
#   the operator and the organisation are warned once per due date (a log
#   line, an audit event and a mail to the org's administrators), so that
#   someone appoints another administrator.
# custom:
#   seed: 003_5f84fadfd940cc68.txt
last_admin_warning contains {"job": "warn_last_admin", "rule": "A10", "action": "warn_last_admin", "due_ns": due} if {
	_last_admin
	count(_removals) > 0
	due := min({a.due_ns | some a in _removals})
	not _warned_last_admin(due)
}

_warned_last_admin(due) if _ts("last_admin_warned_ns") >= due

# METADATA
# title: L5 who loses the association when an import is retired
# description: >-
#   When an import batch is retired (by the L5 job or by hand), each user it
#   brought in is kept ("keep", now as a manual association) when someone
#   confirmed it after the import, and otherwise loses the association
#   ("remove", the user is deleted). The organisation's last administrator
#   is always kept (A10).
# custom:
#   seed: 002_cf0e3ab59867a24b.txt
import_user_action := "keep" if {
	_confirmed_since_import
} else := "keep" if {
	_last_admin
} else := "remove"

_confirmed_since_import if _ts("confirmed_at_ns") > input.import.created_at_ns
