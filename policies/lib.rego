# METADATA
# title: Adgang shared helpers
# description: >-
#   Helpers shared by the adgang.login, adgang.admin and adgang.password
#   policies: the shape of a reason, and time arithmetic on nanosecond
#   timestamps. Nothing here decides anything on its own.
package adgang.lib

# ns_per_day is one day in nanoseconds (the unit of every *_ns field).
ns_per_day := 86400000000000

# now_ns is the decision time: input.now_ns when the caller passes it (tests
# and decisions stay reproducible), otherwise the evaluation clock.
now_ns := n if {
	n := input.now_ns
	is_number(n)
} else := time.now_ns()

# reason is a deny reason: a SPEC reason code, its rule ID and a message.
reason(code, rule, message) := {"code": code, "rule": rule, "message": message}

# reason_with is a reason with extra fields (right, grant, info, …) beside.
reason_with(code, rule, message, extra) := object.union(extra, reason(code, rule, message))

# info_reason is a reason that explains but never denies ("info": true).
info_reason(code, rule, message, extra) := object.union(extra, {
	"code": code,
	"rule": rule,
	"message": message,
	"info": true,
})

# is_info holds for reasons that never deny.
is_info(r) if r.info == true

# deny_reasons are the reasons of a set that deny (every one without info).
deny_reasons(reasons) := {r | some r in reasons; not is_info(r)}

# older_than_days holds when timestamp t lies more than days days before now.
older_than_days(t, days, now) if now - t > days * ns_per_day

# password_max_age_days is how many days a local password lasts (L8, D15):
# the org's settings.password_max_age_days, default 180.
password_max_age_days(org) := d if {
	d := org.settings.password_max_age_days
	is_number(d)
	d > 0
} else := 180

# non_empty_string holds for a string with at least one character.
non_empty_string(s) if {
	is_string(s)
	s != ""
}

# member holds when key is a key of a {"key": true} look-up object.
member(keyed, key) if keyed[key] == true
