package store

import (
	"encoding/json"
	"fmt"
	"unsafe"
)

// decodeGrant reads a grant record (encoding/json of Grant). A login read
// at a million users decodes a few grants from the store for most
// decisions (its grant cache holds 64k of 4.7M), and encoding/json's
// reflection was 5% of the uncached server's CPU there; decodeGrantFast
// reads the records Adgang writes without it, and everything else goes to
// encoding/json as before.
func decodeGrant(b []byte) (*Grant, error) {
	if g, ok := decodeGrantFast(b); ok {
		return g, nil
	}
	g := new(Grant)
	if err := json.Unmarshal(b, g); err != nil {
		return nil, fmt.Errorf("decode grant: %w", err)
	}
	return g, nil
}

// decodeGrantFast reads a grant record with recordDecoder's rules (as
// decodeUserFast): only Grant's own keys as written, strings without
// escapes, the JSON literals; false on anything else. b may be Badger's
// memory: every field is a string of its own.
func decodeGrantFast(b []byte) (*Grant, bool) {
	d := recordDecoder{s: unsafe.String(unsafe.SliceData(b), len(b))}
	g := &Grant{}
	if !d.whole(func(key string) bool { return d.grantField(g, key) }) {
		return nil, false
	}
	return g, true
}

// grantField reads the value of key into g.
func (d *recordDecoder) grantField(g *Grant, key string) bool {
	switch key {
	case "id":
		return d.strInto(&g.ID)
	case "right":
		return d.strInto(&g.Right)
	case "holder_type":
		return d.strInto(&g.HolderType)
	case "holder_id":
		return d.strInto(&g.HolderID)
	case "org":
		return d.strInto(&g.Org)
	case "scope":
		if d.null() { // null leaves the scope, as encoding/json does
			return true
		}
		return d.object(func(key string) bool {
			switch key {
			case "type":
				return d.strInto(&g.Scope.Type)
			case "value":
				return d.strInto(&g.Scope.Value)
			}
			return false
		})
	case "granted_by":
		return d.strInto(&g.GrantedBy)
	case "granted_at":
		return d.timeInto(&g.GrantedAt)
	case "expires_at":
		return d.timePtr(&g.ExpiresAt)
	case "justification":
		return d.strInto(&g.Justification)
	}
	return false
}
