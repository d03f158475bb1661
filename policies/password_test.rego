package adgang.password_test

import data.adgang.password

codes(d) := {r.code | some r in d.reasons}

check(pw) := d if {
	d := password.decision with input as {"password": pw, "reused_at": 0}
}

test_l8_good_password_allowed if {
	d := check("Sommer2025")
	d == {"allow": true, "reasons": []}
}

test_l8_danish_letters_count_as_upper_and_lower if {
	d := check("ÆBLEgrød7")
	d.allow == true
	e := check("æblegrød7x")
	"password_needs_upper" in codes(e)
	f := check("Øresund7")
	f.allow == true
}

test_l8_too_short_denied if {
	d := check("Kort1ab")
	d.allow == false
	codes(d) == {"password_too_short"}
	every r in d.reasons {
		r.rule == "L8"
	}
}

test_l8_length_counts_characters_not_bytes if {
	# 8 characters, 11 bytes in UTF-8.
	d := check("Åbenrå1ø")
	d.allow == true
	e := check("Åbenrå1")
	"password_too_short" in codes(e)
}

test_l8_needs_upper_denied if {
	d := check("sommer2025")
	d.allow == false
	codes(d) == {"password_needs_upper"}
}

test_l8_needs_lower_denied if {
	d := check("SOMMER2025")
	d.allow == false
	codes(d) == {"password_needs_lower"}
}

test_l8_needs_digit_denied if {
	d := check("SommerTid")
	d.allow == false
	codes(d) == {"password_needs_digit"}
}

test_l8_reused_denied if {
	d := password.decision with input as {"password": "Sommer2025", "reused_at": 5}
	d.allow == false
	codes(d) == {"password_reused"}
}

test_l8_reused_current_denied if {
	d := password.decision with input as {"password": "Sommer2025", "reused_at": 1}
	codes(d) == {"password_reused"}
}

test_l8_reused_sixth_allowed if {
	d := password.decision with input as {"password": "Sommer2025", "reused_at": 6}
	d.allow == true
}

test_l8_reused_at_missing_denied if {
	d := password.decision with input as {"password": "Sommer2025"}
	"password_reused" in codes(d)
}

test_l8_not_reused_allowed if {
	d := password.decision with input as {"password": "Sommer2025", "reused_at": 0}
	d.allow == true
}

test_l8_blocked_password_not_changed if {
	d := password.decision with input as {"password": "Sommer2025", "reused_at": 0, "blocked": true}
	d.allow == false
	codes(d) == {"password_blocked"}
	d.reasons[0].rule == "L8"
}

test_l8_unblocked_password_changed if {
	d := password.decision with input as {"password": "Sommer2025", "reused_at": 0, "blocked": false}
	d.allow == true
}

test_l8_every_failure_reported if {
	d := check("abc")
	codes(d) == {"password_too_short", "password_needs_upper", "password_needs_digit"}
	d.reasons == sort(d.reasons)
}

test_l8_empty_input_denied if {
	d := password.decision with input as {}
	d.allow == false
	codes(d) == {"password_too_short", "password_needs_upper", "password_needs_lower", "password_needs_digit", "password_reused"}
}

test_l8_missing_input_denied if {
	d := password.decision
	d.allow == false
}

test_l8_non_string_password_denied if {
	d := password.decision with input as {"password": 12345678, "reused_at": 0}
	d.allow == false
	"password_too_short" in codes(d)
}

test_l8_block_after_five_failures if {
	not password.block_after_failures with input as {"failures": 4}
	password.block_after_failures with input as {"failures": 5}
	password.block_after_failures with input as {"failures": 6}
	not password.block_after_failures with input as {}
	not password.block_after_failures with input as {"failures": "5"}
}

day := 86400000000000

pw_status(p, now) := s if {
	s := password.status with input as {"password": p, "now_ns": now}
}

test_l8_status_valid_until_180_days if {
	pw_status({"changed_at_ns": day}, day + (180 * day)) == "valid"
	pw_status({"changed_at_ns": day}, (day + (180 * day)) + 1) == "expired"
}

test_l8_status_org_max_age if {
	s := password.status with input as {
		"password": {"changed_at_ns": day},
		"org": {"settings": {"password_max_age_days": 30}},
		"now_ns": day + (31 * day),
	}
	s == "expired"
}

test_l8_status_order if {
	pw_status({"changed_at_ns": day, "blocked": true, "temporary": true}, day) == "blocked"
	pw_status({"changed_at_ns": day, "temporary": true}, day) == "temporary"
	pw_status({}, day) == "expired"
}
