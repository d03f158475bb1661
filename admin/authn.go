package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/adgang/adgang/store"
)

// TokenPrefix starts every API token this package makes.
const TokenPrefix = "adg_"

// minBootstrapLen is the shortest plaintext Bootstrap accepts.
const minBootstrapLen = 16

// hashToken is the stored form of an API token: hex SHA-256. Tokens are
// 32 random bytes (or an operator's bootstrap secret), so a fast hash is
// enough; nothing is gained from a slow password hash.
func hashToken(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}

// newTokenSecret returns a fresh token: TokenPrefix + 32 random bytes,
// base64url without padding.
func newTokenSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("token randomness: %w", err)
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

func unauthorized(msg string) error { return store.Errorf(store.EUnauthorized, "%s", msg) }

var errNothingToDo = errors.New("nothing to do")

// bootstrappedMeta is the store meta record that says the store has been
// bootstrapped: ADGANG_BOOTSTRAP_TOKEN is honoured once per store, ever.
const bootstrappedMeta = "admin/bootstrapped"

// Bootstrap stores plaintext as a superadmin API token when the store has
// never been bootstrapped and holds no token at all (first start; SPEC §5
// ADGANG_BOOTSTRAP_TOKEN). It reports whether it created the token. The
// first call on a store records that the store is bootstrapped, whether
// it created the token or found tokens already there, so a bootstrap token
// that was later deleted never comes back, even when no token is left.
// Only the hash of plaintext is stored.
func Bootstrap(ctx context.Context, st *store.Store, plaintext string) (created bool, err error) {
	if len(plaintext) < minBootstrapLen {
		return false, fmt.Errorf("admin: the bootstrap token must be at least %d characters", minBootstrapLen)
	}
	_, err = st.Update(ctx, "system:bootstrap", func(tx *store.Tx) error {
		var at time.Time
		switch err := tx.GetMeta(bootstrappedMeta, &at); {
		case err == nil:
			return errNothingToDo
		case !store.IsNotFound(err):
			return err
		}
		if err := tx.PutMeta(bootstrappedMeta, tx.Now()); err != nil {
			return err
		}
		tokens, err := tx.ListTokens()
		if err != nil {
			return err
		}
		if len(tokens) > 0 {
			return nil // set up already: only the marker is recorded
		}
		created = true
		return tx.PutToken(&store.Token{ID: uuid.NewString(), Hash: hashToken(plaintext), Superadmin: true,
			CreatedBy: "system:bootstrap", CreatedAt: tx.Now()})
	})
	if errors.Is(err, errNothingToDo) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("admin: bootstrap token: %w", err)
	}
	return created, nil
}

// CreateToken makes an API token for userID (acting with that user's
// admin roles) and/or a superadmin token, stored hashed, as actor. The
// plaintext is returned once and never stored. It does no authorisation:
// it is for the command line (`adgang token create`), which has the store.
func CreateToken(ctx context.Context, st *store.Store, actor string, userID string, superadmin bool, expiresAt *time.Time) (id, plaintext string, err error) {
	_, err = st.Update(ctx, actor, func(tx *store.Tx) error {
		t, p, err := createTokenTx(tx, actor, userID, superadmin, expiresAt)
		if err == nil {
			id, plaintext = t.ID, p
		}
		return err
	})
	if err != nil {
		return "", "", err
	}
	return id, plaintext, nil
}

// createTokenTx stores a new token in tx and returns it with its plaintext.
func createTokenTx(tx *store.Tx, createdBy, userID string, superadmin bool, expiresAt *time.Time) (*store.Token, string, error) {
	if userID == "" && !superadmin {
		return nil, "", invalid("a token needs a user_id or superadmin: true")
	}
	if userID != "" {
		if err := store.ValidUUID(userID); err != nil {
			return nil, "", fieldErr("user_id", err)
		}
		if _, err := loadUser(tx, userID); err != nil {
			return nil, "", err
		}
	}
	if expiresAt != nil && !expiresAt.After(tx.Now()) {
		return nil, "", invalid("expires_at must be in the future")
	}
	plain, err := newTokenSecret()
	if err != nil {
		return nil, "", err
	}
	t := &store.Token{ID: uuid.NewString(), Hash: hashToken(plain), UserID: userID, Superadmin: superadmin,
		CreatedBy: createdBy, CreatedAt: tx.Now(), ExpiresAt: expiresAt}
	if err := tx.PutToken(t); err != nil {
		return nil, "", err
	}
	return t, plain, nil
}

// Authenticate resolves bearer credentials (an API token, or a JWT when
// JWT authentication is configured) to a caller, or refuses them with an
// unauthorized error (401).
func (s *Service) Authenticate(ctx context.Context, cred string) (*Caller, error) {
	if cred == "" {
		return nil, unauthorized("a bearer token is required")
	}
	if s.jwt != nil && looksLikeJWT(cred) {
		return s.authJWT(ctx, cred)
	}
	return s.authToken(ctx, cred)
}

// authToken looks an API token up by its hash. The look-up key is the
// hash, so the time taken does not depend on how much of a guess matches.
func (s *Service) authToken(ctx context.Context, plain string) (*Caller, error) {
	h := hashToken(plain)
	if c, ok := s.tokens.get(s.st, h); ok {
		// As the store read would: a closed or unusable store fails the
		// request (500) rather than letting a cached caller through.
		if err := s.st.Healthy(); err != nil {
			return nil, store.Errorf(store.EInternal, "%s", err.Error())
		}
		if err := s.checkExpiry(c); err != nil {
			return nil, err
		}
		return c, nil
	}
	// The revision is read before the store is: the read is then at least
	// as new as the label its cache entry gets (tokenCache).
	rev := s.st.Revision()
	var t *store.Token
	var u *store.User
	err := s.st.View(ctx, func(tx *store.Tx) error {
		var err error
		if t, err = tx.TokenByHash(h); err != nil {
			return err
		}
		if t.UserID != "" {
			if u, err = tx.GetUser(t.UserID); err != nil {
				return err
			}
		}
		return nil
	})
	if store.IsNotFound(err) {
		return nil, unauthorized("invalid token")
	}
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(t.Hash), []byte(h)) != 1 {
		return nil, unauthorized("invalid token")
	}
	c := &Caller{tokenID: t.ID, superadmin: t.Superadmin, expires: t.ExpiresAt}
	if err := s.checkExpiry(c); err != nil {
		return nil, err
	}
	if u != nil {
		c.userID, c.cprLinked = u.ID, u.CPRLinked
	}
	switch {
	case t.Superadmin:
		c.subject, c.actor = tokenSubject(t.ID), tokenSubject(t.ID)
	case u != nil:
		c.subject, c.actor = u.ID, u.ID
	default:
		return nil, unauthorized("invalid token")
	}
	s.tokens.put(h, rev, t, c)
	return c, nil
}

// checkExpiry refuses a token caller whose token has expired.
func (s *Service) checkExpiry(c *Caller) error {
	if c.expires != nil && !c.expires.After(s.now()) {
		return unauthorized("token expired")
	}
	return nil
}

// --- JWT ---

// jwtVerifier checks JWT bearer tokens against a JWKS file.
type jwtVerifier struct {
	keys     jwk.Set
	issuer   string
	audience string
}

// looksLikeJWT reports whether cred has the shape of a compact JWS.
func looksLikeJWT(cred string) bool {
	return strings.HasPrefix(cred, "eyJ") && strings.Count(cred, ".") == 2
}

// loadJWKS reads the public RS256/ES256 keys of a JWKS file. Keys of other
// types or algorithms are left out (no HMAC, no "none"); a file without a
// usable key is an error.
func loadJWKS(path string) (jwk.Set, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("admin: read JWKS: %w", err)
	}
	set, err := jwk.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("admin: parse JWKS %s: %w", path, err)
	}
	out := jwk.NewSet()
	for i := range set.Len() {
		k, _ := set.Key(i)
		var want jwa.SignatureAlgorithm
		switch k.KeyType() {
		case jwa.RSA():
			want = jwa.RS256()
		case jwa.EC():
			ec, ok := k.(interface {
				Crv() (jwa.EllipticCurveAlgorithm, bool)
			})
			if !ok {
				continue
			}
			if crv, ok := ec.Crv(); !ok || crv != jwa.P256() {
				continue
			}
			want = jwa.ES256()
		default:
			continue
		}
		if alg, ok := k.Algorithm(); ok && alg.String() != want.String() {
			continue
		}
		pub, err := k.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("admin: JWKS key %d: %w", i, err)
		}
		if err := pub.Set(jwk.AlgorithmKey, want); err != nil {
			return nil, fmt.Errorf("admin: JWKS key %d: %w", i, err)
		}
		if err := out.AddKey(pub); err != nil {
			return nil, fmt.Errorf("admin: JWKS key %d: %w", i, err)
		}
	}
	if out.Len() == 0 {
		return nil, fmt.Errorf("admin: JWKS %s has no RS256 or ES256 public key", path)
	}
	return out, nil
}

// authJWT verifies a JWT (signature by a JWKS key, RS256/ES256 only,
// issuer, audience, exp required, nbf/iat honoured) whose `sub` is a
// stored user; the caller acts with that user's admin roles.
func (s *Service) authJWT(ctx context.Context, cred string) (*Caller, error) {
	msg, err := jws.Parse([]byte(cred))
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, unauthorized("invalid token")
	}
	hdr := msg.Signatures()[0].ProtectedHeaders()
	alg, ok := hdr.Algorithm()
	if !ok || (alg.String() != jwa.RS256().String() && alg.String() != jwa.ES256().String()) {
		return nil, unauthorized("invalid token: only RS256 and ES256 are accepted")
	}
	// RFC 7515 §4.1.11: a recipient must reject a JWS whose "crit" header
	// lists an extension it does not understand. Adgang understands none,
	// so any "crit" is refused (an empty list is malformed as well).
	if hdr.Has(jws.CriticalKey) {
		return nil, unauthorized("invalid token: unsupported critical header")
	}
	tok, err := jwt.ParseString(cred,
		jwt.WithKeySet(s.jwt.keys, jws.WithUseDefault(true)),
		jwt.WithValidate(true),
		jwt.WithIssuer(s.jwt.issuer),
		jwt.WithAudience(s.jwt.audience),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithClock(jwt.ClockFunc(s.now)),
		jwt.WithAcceptableSkew(30*time.Second),
	)
	if err != nil {
		return nil, unauthorized("invalid or expired token")
	}
	sub, _ := tok.Subject()
	if store.ValidUUID(sub) != nil {
		return nil, unauthorized("invalid token: sub must be a user id")
	}
	cprLinked := false
	err = s.st.View(ctx, func(tx *store.Tx) error {
		u, err := tx.GetUser(sub)
		if err == nil {
			cprLinked = u.CPRLinked
		}
		return err
	})
	if store.IsNotFound(err) {
		return nil, unauthorized("invalid token: unknown user")
	}
	if err != nil {
		return nil, err
	}
	c := &Caller{subject: sub, actor: sub, userID: sub, cprLinked: cprLinked}
	if exp, ok := tok.Expiration(); ok {
		c.expires = &exp
	}
	return c, nil
}
