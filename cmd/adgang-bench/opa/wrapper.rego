# METADATA
# title: Benchmark wrapper for a stock OPA server
# description: >-
#   Gives a stock `opa run --server` the same decisions as Adgang: it looks
#   the user, its organisation and its grants up in data.bench (written by
#   adgang-bench from the same data set as Adgang's store) and evaluates
#   the unchanged adgang.login rules over that input.
package adgang_bench

import data.adgang.login

_direct := {id: object.union(g, {"source": "direct"}) |
	some id, g in object.get(data.bench.user_grants, input.subject.id, {})
}

_via_groups := {id: object.union(g, {"source": gid}) |
	some gid in object.get(data.bench.member_of, input.subject.id, [])
	some id, g in object.get(data.bench.group_grants, gid, {})
}

_enriched := object.union(input, {
	"user": object.get(data.bench.users, input.subject.id, null),
	"org": object.get(data.bench.orgs, input.subject.cvr, null),
	"grants": object.union(_direct, _via_groups),
	"rights": data.bench.rights,
	"certificate": null,
})

decision := d if {
	d := login.decision with input as _enriched
}

allow := decision.allow
