package pdp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/adgang/adgang/store"
)

// NemLog-in privilege lists: the OIO Basic Privilege Profile (OIO BPP)
// 1.2 PrivilegeList an identity broker carries as base64 in
// dk:gov:saml:attribute:Privileges_intermediate (OIDC
// privileges_intermediate). One PrivilegeGroup per scope, each Privilege
// a right's privilege URI:
//
//	<PrivilegeList xmlns="http://digst.dk/oiosaml/basic_privilege_profile">
//	  <PrivilegeGroup Scope="urn:dk:gov:saml:cvrNumberIdentifier:12345674">
//	    <Privilege>urn:dk:adgang:eksamensdatabasen.view</Privilege>
//	  </PrivilegeGroup>
//	</PrivilegeList>

// BPP namespaces: 1.2 (written) and 1.1 (also read).
const (
	BPPNamespace   = "http://digst.dk/oiosaml/basic_privilege_profile"
	BPPNamespace11 = "http://itst.dk/oiosaml/basic_privilege_profile"
)

// BPP scope prefixes for Adgang's grant scopes.
const (
	BPPScopeCVR = "urn:dk:gov:saml:cvrNumberIdentifier:"
	BPPScopeP   = "urn:dk:gov:saml:productionUnitIdentifier:"
	BPPScopeSE  = "urn:dk:gov:saml:seNumberIdentifier:"
)

// MaxPrivilegeList bounds a privilege list read by ParsePrivilegeList.
const MaxPrivilegeList = 1 << 20

// PrivilegeList is an OIO BPP PrivilegeList.
type PrivilegeList struct {
	XMLName xml.Name         `xml:"PrivilegeList"`
	Groups  []PrivilegeGroup `xml:"PrivilegeGroup"`
}

// PrivilegeGroup is the privileges of one scope; Constraints narrow it.
type PrivilegeGroup struct {
	Scope       string          `xml:"Scope,attr"`
	Constraints []BPPConstraint `xml:"Constraint,omitempty"`
	Privileges  []string        `xml:"Privilege"`
}

// BPPConstraint is a PrivilegeGroup constraint (Name attribute, value).
type BPPConstraint struct {
	Name  string `xml:"Name,attr"`
	Value string `xml:",chardata"`
}

// MarshalBPP writes the list as OIO BPP 1.2 XML, with the XML declaration.
func (l *PrivilegeList) MarshalBPP() []byte {
	out := struct {
		XMLName xml.Name         `xml:"http://digst.dk/oiosaml/basic_privilege_profile PrivilegeList"`
		Groups  []PrivilegeGroup `xml:"PrivilegeGroup"`
	}{Groups: l.Groups}
	b, err := xml.MarshalIndent(out, "", "  ")
	if err != nil {
		// Only strings and slices of strings: marshalling cannot fail.
		panic(err)
	}
	return append([]byte(xml.Header), append(b, '\n')...)
}

// ScopeURI is the BPP scope of a grant scope.
func ScopeURI(s store.Scope) string {
	switch s.Type {
	case store.ScopeCVR:
		return BPPScopeCVR + s.Value
	case store.ScopeP:
		return BPPScopeP + s.Value
	case store.ScopeSE:
		return BPPScopeSE + s.Value
	}
	return ""
}

// ParseScopeURI is the grant scope of a BPP scope; the number must be
// well-formed (CVR and SE modulus-11, P 10 digits).
func ParseScopeURI(uri string) (store.Scope, error) {
	for _, c := range []struct {
		prefix, typ string
		valid       func(string) error
	}{
		{BPPScopeCVR, store.ScopeCVR, store.ValidCVR},
		{BPPScopeP, store.ScopeP, store.ValidPNumber},
		{BPPScopeSE, store.ScopeSE, store.ValidSE},
	} {
		if v, ok := strings.CutPrefix(uri, c.prefix); ok {
			if err := c.valid(v); err != nil {
				return store.Scope{}, fmt.Errorf("scope %q: %v", uri, err)
			}
			return store.Scope{Type: c.typ, Value: v}, nil
		}
	}
	return store.Scope{}, fmt.Errorf("scope %q is not a CVR, P-unit or SE scope", uri)
}

// ParsePrivilegeList reads a PrivilegeList given as XML or as its base64
// (standard or URL alphabet, padded or not, whitespace ignored). The root
// must be PrivilegeList in the BPP 1.2 or 1.1 namespace. encoding/xml
// expands no external entities.
func ParsePrivilegeList(data []byte) (*PrivilegeList, error) {
	if len(data) > MaxPrivilegeList {
		return nil, fmt.Errorf("privilege list larger than %d bytes", MaxPrivilegeList)
	}
	text := bytes.TrimSpace(data)
	if len(text) > 0 && text[0] != '<' {
		compact := strings.Join(strings.Fields(string(text)), "")
		var dec []byte
		var err error
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if dec, err = enc.DecodeString(compact); err == nil {
				break
			}
		}
		if err != nil {
			return nil, errors.New("privilege list is neither XML nor base64")
		}
		text = bytes.TrimSpace(dec)
	}
	var l PrivilegeList
	d := xml.NewDecoder(bytes.NewReader(text))
	d.Strict = true
	if err := d.Decode(&l); err != nil {
		return nil, fmt.Errorf("privilege list is not well-formed XML: %v", err)
	}
	if l.XMLName.Space != BPPNamespace && l.XMLName.Space != BPPNamespace11 {
		return nil, fmt.Errorf("root element must be PrivilegeList in namespace %s", BPPNamespace)
	}
	// Nothing may follow the root element but whitespace and comments.
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("privilege list is not well-formed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.Comment, xml.ProcInst:
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, errors.New("privilege list has data after its root element")
			}
		default:
			return nil, errors.New("privilege list has data after its root element")
		}
	}
	for i := range l.Groups {
		for j, p := range l.Groups[i].Privileges {
			l.Groups[i].Privileges[j] = strings.TrimSpace(p)
		}
		l.Groups[i].Scope = strings.TrimSpace(l.Groups[i].Scope)
	}
	return &l, nil
}

// PrivilegeURI is the BPP privilege of a right: its catalogue field, or
// urn:dk:adgang:<right id> when that is empty.
func PrivilegeURI(r *store.Right) string {
	if r.Privilege != "" {
		return r.Privilege
	}
	return "urn:dk:adgang:" + r.ID
}

// PrivilegesOf turns a login decision into a PrivilegeList: nothing for a
// denied login; for each right of an allowed one, one group per scope of
// its effective scope — the CVR when it covers the whole organisation
// (and no P- or SE-groups beside it, D11), else each P-unit and SE-number.
// privilege maps a right id to its URI. It never lists more than the
// decision allows.
func PrivilegesOf(d *Decision, privilege func(right string) string) *PrivilegeList {
	l := &PrivilegeList{Groups: []PrivilegeGroup{}}
	if d == nil || !d.Allow {
		return l
	}
	groups := map[string]map[string]bool{}
	add := func(scope, right string) {
		if groups[scope] == nil {
			groups[scope] = map[string]bool{}
		}
		groups[scope][privilege(right)] = true
	}
	for _, rs := range d.Rights {
		if rs.Scope.All {
			if rs.Scope.CVR != "" {
				add(BPPScopeCVR+rs.Scope.CVR, rs.Right)
			}
			continue
		}
		for _, p := range rs.Scope.PNumbers {
			add(BPPScopeP+p, rs.Right)
		}
		for _, se := range rs.Scope.SENumbers {
			add(BPPScopeSE+se, rs.Right)
		}
	}
	scopes := make([]string, 0, len(groups))
	for s := range groups {
		scopes = append(scopes, s)
	}
	sort.Strings(scopes)
	for _, s := range scopes {
		privs := make([]string, 0, len(groups[s]))
		for p := range groups[s] {
			privs = append(privs, p)
		}
		sort.Strings(privs)
		l.Groups = append(l.Groups, PrivilegeGroup{Scope: s, Privileges: privs})
	}
	return l
}

// PrivilegesAnswer is the JSON answer of POST /v1/privileges.
type PrivilegesAnswer struct {
	DecisionID string `json:"decision_id"`
	Allow      bool   `json:"allow"`
	Privileges string `json:"privileges"`
	Revision   uint64 `json:"revision"`
}

// Privileges is the login decision of req and its OIO BPP PrivilegeList
// (POST /v1/privileges). Without the rights catalogue the decision fails
// closed: no privilege is named.
func (e *Engine) Privileges(ctx context.Context, req *LoginRequest, m RequestMeta) (*Decision, *PrivilegeList, error) {
	d, err := e.Login(ctx, req, m)
	if err != nil {
		return nil, nil, err
	}
	uris, err := e.PrivilegeURIs(ctx)
	if err != nil {
		d = failClosed(d, ReasonStoreUnavailable, "the rights catalogue could not be read")
	}
	list := PrivilegesOf(d, func(right string) string {
		if u, ok := uris[right]; ok {
			return u
		}
		return "urn:dk:adgang:" + right
	})
	return d, list, nil
}

// PrivilegeURIs maps every right of the catalogue to its privilege URI.
func (e *Engine) PrivilegeURIs(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	err := e.store.View(ctx, func(tx *store.Tx) error {
		rights, err := tx.ListRights()
		if err != nil {
			return err
		}
		for _, r := range rights {
			out[r.ID] = PrivilegeURI(r)
		}
		return nil
	})
	return out, err
}

// PrivilegeGrant is one grant a PrivilegeList corresponds to.
type PrivilegeGrant struct {
	Right     string      `json:"right"`
	Privilege string      `json:"privilege"`
	Scope     store.Scope `json:"scope"`
}

// PrivilegeRefusal is an entry of a PrivilegeList that corresponds to no
// grant: a reason code, the rule that refused it (if a rule did) and why.
type PrivilegeRefusal struct {
	Scope     string `json:"scope"`
	Privilege string `json:"privilege,omitempty"`
	Right     string `json:"right,omitempty"`
	Code      string `json:"code"`
	Rule      string `json:"rule,omitempty"`
	Message   string `json:"message"`
}

// GrantsOfPrivileges reads which grants a PrivilegeList corresponds to,
// looking privileges up in the rights catalogue. What has no grant shape
// is refused: an unknown scope or privilege, or a group with constraints
// (a narrower scope than a grant can express). Whether a grant may be
// given (A3–A7, A11) is for adgang.admin to decide, not here.
func GrantsOfPrivileges(l *PrivilegeList, rights []*store.Right) ([]PrivilegeGrant, []PrivilegeRefusal) {
	byURI := map[string]string{}
	for _, r := range rights {
		byURI[PrivilegeURI(r)] = r.ID
	}
	grants := []PrivilegeGrant{}
	refused := []PrivilegeRefusal{}
	seen := map[string]bool{}
	for _, g := range l.Groups {
		scope, err := ParseScopeURI(g.Scope)
		if err != nil {
			refused = append(refused, PrivilegeRefusal{Scope: g.Scope, Code: "invalid_scope", Message: err.Error()})
			continue
		}
		if len(g.Constraints) > 0 {
			refused = append(refused, PrivilegeRefusal{Scope: g.Scope, Code: "constraint_not_supported",
				Message: "a privilege group with constraints is narrower than any grant scope"})
			continue
		}
		for _, p := range g.Privileges {
			right, ok := byURI[p]
			if !ok {
				refused = append(refused, PrivilegeRefusal{Scope: g.Scope, Privilege: p, Code: "unknown_privilege",
					Message: "no right of the catalogue has this privilege"})
				continue
			}
			k := right + "\x00" + scope.Type + "\x00" + scope.Value
			if seen[k] {
				continue
			}
			seen[k] = true
			grants = append(grants, PrivilegeGrant{Right: right, Privilege: p, Scope: scope})
		}
	}
	return grants, refused
}

// privilegesJSON is the JSON body form of a privilege list: the answer of
// POST /v1/privileges (or just its privileges field).
type privilegesJSON struct {
	Privileges string `json:"privileges"`
}

// PrivilegeListFromBody reads a privilege list from a request body: the
// XML, its base64, or a JSON object with "privileges" (base64), as
// POST /v1/privileges answers it.
func PrivilegeListFromBody(body []byte) (*PrivilegeList, error) {
	t := bytes.TrimSpace(body)
	if len(t) > 0 && t[0] == '{' {
		var pj privilegesJSON
		if err := json.Unmarshal(t, &pj); err != nil || pj.Privileges == "" {
			return nil, errors.New(`a JSON body must be {"privileges": "<base64>"}`)
		}
		t = []byte(pj.Privileges)
	}
	return ParsePrivilegeList(t)
}
