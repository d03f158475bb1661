package store

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters (OWASP's recommendation: 19 MiB, 2 passes, 1 lane).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// PasswordHistory is how many of the latest passwords, the current one
// included, the store keeps hashes of. It is a storage bound, not the
// rule: how many of them may not be reused is adgang.password's
// password_history_depth (L8: "de sidste 5 passwords"), which may ask for
// up to this many. The block threshold is a Rego rule too.
const PasswordHistory = 24

// argonSlots bounds the argon2id computations running at once: each takes
// 19 MiB and tens of milliseconds, and the password and activation routes
// are reachable without credentials, so a burst of requests queues here
// instead of exhausting memory.
var argonSlots = make(chan struct{}, max(2, runtime.NumCPU()))

func argonKey(pw, salt []byte, t, m uint32, threads uint8, keyLen uint32) []byte {
	argonSlots <- struct{}{}
	defer func() { <-argonSlots }()
	return argon2.IDKey(pw, salt, t, m, threads, keyLen)
}

// HashPassword returns an encoded argon2id hash of pw with a random salt.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argonKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether pw matches an encoded argon2id hash, in
// constant time. A malformed hash never matches.
func VerifyPassword(encoded, pw string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var mem, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &time, &threads); err != nil || mem == 0 || time == 0 || threads == 0 || mem > 1<<20 || time > 16 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 64 {
		return false
	}
	got := argonKey([]byte(pw), salt, time, mem, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// PasswordReusedAt is the position of pw among the kept passwords: 1 when
// it is the current one, 2 the one before, …, 0 when it is none of them.
// Whether that is too recent is for the policy (L8) to say.
func (p *Password) PasswordReusedAt(pw string) int {
	if p == nil {
		return 0
	}
	at := 0
	for i, h := range append([]string{p.Hash}, p.History...) {
		if VerifyPassword(h, pw) && at == 0 { // check all: no timing hint which one
			at = i + 1
		}
	}
	return at
}

// SetPassword replaces the password with a new hash, remembering the old
// one (the current and PasswordHistory-1 previous ones are kept),
// clearing failures and blocks.
func (p *Password) SetPassword(hash string, temporary bool, at time.Time) {
	if p.Hash != "" {
		p.History = append([]string{p.Hash}, p.History...)
		if len(p.History) > PasswordHistory-1 {
			p.History = p.History[:PasswordHistory-1]
		}
	}
	p.Hash, p.Temporary, p.ChangedAt, p.Failures, p.Blocked = hash, temporary, at, 0, false
}
