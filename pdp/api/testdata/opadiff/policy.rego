# Policy of the OPA differential test (pdp/opadiff_test.go): served by
# stock `opa run --server` and by Adgang, which must answer alike.
package difftest

default allow := false

allow if {
	some u in data.difftest.users
	u.name == input.user
	"admin" in u.roles
}

deny contains msg if {
	not allow
	msg := sprintf("user %v is not an admin", [input.user])
}

greeting := sprintf("hello %v", [input.user]) if input.user

echo := input

count_users := count(data.difftest.users)

over_limit if count(object.get(input, "items", [])) > data.difftest.limits.max

# Undefined without strict builtin errors, an error with them.
bad_number := to_number(input.user)

# Two values for one complete rule: an evaluation error (500).
conflict := 1 if input.conflict
conflict := 2 if input.conflict

main := {"allow": allow, "deny": deny}
