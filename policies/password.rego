# METADATA
# title: Adgang local password rules
# description: >-
#   Whether a new local (IMI-style) password is acceptable (L8 of SPEC §4).
#   allow is true only when no rule gives a reason. The caller compares the
#   password with the hashes it keeps and passes the position of the one it
#   matches as reused_at (1: the current password, 2: the one before, …;
#   0: none); how many may not be reused is decided here. The password
#   itself never reaches a log.
# scope: package
package adgang.password

import data.adgang.lib

# decision is the answer the caller reads.
decision := {"allow": allow, "reasons": reasons}

default allow := false

allow if count(lib.deny_reasons(_reasons)) == 0

reasons := sort(_reasons)

_reasons := union({
	password_too_short, password_needs_upper, password_needs_lower,
	password_needs_digit, password_reused, password_blocked,
})

# _min_length is the minimum number of characters (not bytes: Æ is one).
_min_length := 8

# _password is the proposed password; a missing or non-string value is
# treated as empty, so it fails every rule instead of erroring.
_password := p if {
	p := input.password
	is_string(p)
} else := ""

# METADATA
# title: L8 password length
# description: >-
#   A password has at least 8 characters ("Passwordet skal indeholde mindst
#   8 tegn"). Characters are counted, not bytes, so æ, ø and å count as one.
# custom:
#   seed: 003_5f84fadfd940cc68.txt
password_too_short contains lib.reason("password_too_short", "L8", msg) if {
	count(_password) < _min_length
	msg := sprintf("the password must have at least %d characters", [_min_length])
}

# METADATA
# title: L8 password needs an upper-case letter
# description: >-
#   A password has at least one upper-case letter ("1 tegn skrevet med
#   stort"); Danish Æ, Ø and Å count.
# custom:
#   seed: 003_5f84fadfd940cc68.txt
password_needs_upper contains lib.reason("password_needs_upper", "L8", "the password must contain an upper-case letter") if {
	not regex.match(`\p{Lu}`, _password)
}

# METADATA
# title: L8 password needs a lower-case letter
# description: >-
#   A password has at least one lower-case letter ("1 tegn skrevet med
#   småt"); Danish æ, ø and å count.
# custom:
#   seed: 003_5f84fadfd940cc68.txt
password_needs_lower contains lib.reason("password_needs_lower", "L8", "the password must contain a lower-case letter") if {
	not regex.match(`\p{Ll}`, _password)
}

# METADATA
# title: L8 password needs a digit
# description: >-
#   A password has at least one digit ("1 numerisk tegn").
# custom:
#   seed: 003_5f84fadfd940cc68.txt
password_needs_digit contains lib.reason("password_needs_digit", "L8", "the password must contain a digit") if {
	not regex.match(`\p{Nd}`, _password)
}

# METADATA
# title: L8 how many earlier passwords may not come back
# description: >-
#   How many of the latest passwords, the current one included, may not be
#   used again ("De sidste 5 passwords kan ikke bruges igen"). The store
#   keeps more hashes than this; password_reused decides with this number.
# custom:
#   seed: 003_5f84fadfd940cc68.txt
password_history_depth := 5

# METADATA
# title: L8 password not reused
# description: >-
#   A password cannot be one of the user's last 5 passwords ("De sidste 5
#   passwords kan ikke bruges igen"). The caller says which of the kept
#   hashes matched (reused_at); a missing or malformed position counts as
#   reused, so an incomplete input is refused.
# custom:
#   seed: 003_5f84fadfd940cc68.txt
password_reused contains lib.reason("password_reused", "L8", msg) if {
	_reused
	msg := sprintf("the password was one of the last %d passwords", [password_history_depth])
}

_reused if {
	is_number(input.reused_at)
	input.reused_at >= 1
	input.reused_at <= password_history_depth
}

_reused if not _reused_at_given

_reused_at_given if is_number(input.reused_at)

# METADATA
# title: L8 a blocked password is not changed
# description: >-
#   While the password is blocked (input.blocked, after repeated failures)
#   it cannot be replaced at login, not even with the right old password;
#   an administrator must unblock it first. The login decision denies the
#   same login (adgang.login password_blocked).
# custom:
#   seed: 003_5f84fadfd940cc68.txt
password_blocked contains lib.reason("password_blocked", "L8", "the password is blocked; an administrator must unblock it") if {
	input.blocked == true
}

# _max_failures is how many wrong passwords in a row block an account.
_max_failures := 5

# METADATA
# title: L8 block after repeated failures
# description: >-
#   After 5 wrong passwords in a row (input.failures, counted by the
#   caller and reset by a correct password) the account is blocked until
#   an administrator unblocks it (POST /v1/users/{id}/unblock).
# custom:
#   seed: 003_5f84fadfd940cc68.txt
block_after_failures if {
	is_number(input.failures)
	input.failures >= _max_failures
}

# METADATA
# title: L8 password status shown to administrators
# description: >-
#   The status of a stored local password: blocked (too many failures),
#   temporary (after a reset, must be changed at the next login), expired
#   (older than the org's password_max_age_days, default 180) or valid.
#   Input: {password: {blocked, temporary, changed_at_ns}, org, now_ns}.
# custom:
#   seed: 003_5f84fadfd940cc68.txt
status := "blocked" if {
	input.password.blocked == true
} else := "temporary" if {
	input.password.temporary == true
} else := "expired" if {
	not _fresh
} else := "valid"

_fresh if {
	t := input.password.changed_at_ns
	is_number(t)
	t > 0
	not lib.older_than_days(t, lib.password_max_age_days(object.get(input, "org", {})), input.now_ns)
}
