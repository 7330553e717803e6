// Package auth holds the registry's security primitives: who may do what
// (roles), how secrets are kept (passwords and tokens), and how guessing is
// slowed down (the login rate limiter). It does no I/O beyond reading
// crypto/rand: the store keeps accounts, sessions and API tokens, and
// package httpapi applies them to requests.
//
// # Roles
//
// Four roles, from [Roles]:
//
//   - [RoleAdministrator] manages the register and the accounts and API
//     tokens;
//   - [RoleTechnician] installs and provisions sensors;
//   - [RoleEnergyManager] reads the energy dashboards and the register's
//     staff pages;
//   - [RoleGateway] is the machine role of gateways and firmware bridges:
//     it only ever authenticates with an API token.
//
// People's accounts take one of [AccountRoles] (the first three); API tokens
// one of [TokenRoles] (gateway, and technician for automation). A request's
// [Principal] says who made it: an account through its session, or an API
// token.
//
// # Passwords
//
// [HashPassword] derives an argon2id key (RFC 9106) and encodes it as a
// PHC string, "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>" (unpadded
// standard base64), so that the parameters travel with each hash and can be
// raised later ([NeedsRehash]). [VerifyPassword] recomputes and compares in
// constant time.
//
// [DefaultParams] are OWASP's minimum for argon2id: 19 MiB of memory, two
// passes, one lane. The registry runs on Raspberry Pis, down to a Pi Zero
// with 512 MB of RAM shared with the gateway, InfluxDB and the broker: each
// login in progress holds the whole memory cost, so 64 MiB (RFC 9106's
// second recommendation) would let eight simultaneous logins take half of a
// Pi Zero's memory. 19 MiB with t=2 costs about 50 ms on a Pi 4 and
// 0.3–0.5 s on a Pi Zero, which a person logging in does not notice, while
// each guess costs an attacker the same 19 MiB. The HTTP layer also bounds
// how many hashes run at once.
//
// [CheckPassword] is the password policy: at least [MinPasswordLength]
// characters (Unicode code points, so that "é" counts as one), at most
// [MaxPasswordLength], not blank and not the user name. Length is what
// NIST SP 800-63B asks for; composition rules are not.
//
// # Tokens
//
// [NewToken] returns 32 random bytes from crypto/rand as unpadded base64url
// (43 characters); [NewAPIToken] prefixes them with "cvs_" so that secret
// scanners and people recognise a civisens API token. [HashToken] is
// SHA-256 in hex: a 256-bit random token cannot be guessed, so a slow hash
// adds nothing, and a fast one lets every request be checked cheaply. The
// store keeps only the hashes of session ids and API tokens; the token
// itself is shown once.
//
// # Login rate limiting
//
// A [Limiter] counts failed logins per key (the user name, and the client
// address — an IPv6 address by its /64, see [ClientKey]) in a sliding
// window, and refuses further attempts for a key that has reached its
// maximum until the oldest failure leaves the window; it says how long to
// wait (the Retry-After). Its memory is bounded: at most MaxKeys keys, each
// with at most Max timestamps; when full it drops expired keys, then the
// key whose latest failure is the oldest. Time comes from an injected
// clock.
package auth
