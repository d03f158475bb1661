package store

import (
	"encoding/json"
	"time"
)

// MarshalJSON writes an organisation with p_units and se_numbers as []
// when it has none, never null (an org made without SE-numbers, by the
// store, the demo or an import, has a nil slice).
func (o Org) MarshalJSON() ([]byte, error) {
	type plain Org
	p := plain(o)
	if p.PUnits == nil {
		p.PUnits = []PUnit{}
	}
	if p.SENumbers == nil {
		p.SENumbers = []string{}
	}
	return json.Marshal(p)
}

// MarshalJSON writes a knock with first_at and last_at, the names every
// other time of the API has, beside first and last, kept for clients
// written before.
func (k Knock) MarshalJSON() ([]byte, error) {
	type plain Knock
	return json.Marshal(struct {
		plain
		FirstAt string `json:"first_at"`
		LastAt  string `json:"last_at"`
	}{plain(k), k.First.UTC().Format(time.RFC3339Nano), k.Last.UTC().Format(time.RFC3339Nano)})
}
