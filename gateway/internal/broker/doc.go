// Package broker is the gateway's embedded MQTT broker: a mochi-mqtt v2
// server, started when the gateway is not told to use an external broker,
// that admits only the credentials the register issued and lets each
// client publish only where the register says.
//
// # Listeners
//
//   - tcp: plain MQTT on Config.Addr (127.0.0.1:1883 by default);
//   - tls: MQTT over TLS on Config.TLSAddr, from a certificate and key in
//     PEM files, when set (off by default): TLS 1.2 at least, no client
//     certificate asked for — clients authenticate with their password;
//   - internal: plain MQTT on a free loopback port, for the gateway's own
//     subscriber only ([Policy.ReaderURL]).
//
// # Who may connect
//
// [Access] is the broker's authentication and authorisation policy; the
// gateway runs [Policy]:
//
//   - sensors and firmware bridges authenticate with the MQTT credentials
//     of the register's allow-list (registryapi.Credential): a sensor's
//     username is its id, a bridge's "bridge.{id}"; the password is checked
//     against the credential's hash, bcrypt ($2a$…) or argon2id (PHC form).
//     Anonymous clients are refused.
//   - A bcrypt check costs about 60 ms of a Raspberry Pi's CPU, too much for
//     every reconnection of every sensor, so a successful check is cached:
//     per username, the hash it matched and an HMAC-SHA-256 of the password
//     under a key drawn at start and kept in memory only. The next
//     connection with the same password costs a MAC; a new hash for the
//     username (rotation) or its removal drops the entry. Failures are never
//     cached. The cache holds at most one entry per credential.
//   - Failures are limited per client address and per username: each may
//     fail [FailureBurst] times in a row, then once every [FailureRefill];
//     beyond that, attempts are refused (reason rate_limited) without a
//     bcrypt. A password already in the cache still gets in, so that a
//     sensor is not locked out by someone guessing its username.
//   - The gateway's own subscriber has a credential of its own
//     ([ReaderUsername]), with a random password drawn at start and kept in
//     memory only, accepted on the internal listener only (the internal
//     listener accepts no other username). Its client id (the gateway's
//     -client-id) may be used by no other credential, and a client id in
//     use by a connected client of another username is refused, so that no
//     one takes the gateway's session or a sensor's connection.
//   - Credentials change with the allow-list ([Policy.SetCredentials]); the
//     gateway then calls [Broker.Revalidate], which disconnects the
//     sessions admitted with a credential since revoked or rotated.
//
// # Where clients may publish
//
// A sensor may publish only to its own sensors/{id}/senml, a bridge only to
// the topics of the sensors assigned to it (the credential's Sensors, read
// at each publication, so that assignments apply at the next refresh
// without reconnecting). Nobody but the gateway's reader may subscribe,
// and the reader may only subscribe to sensors/+/senml. A publication
// that is denied is dropped and counted; an MQTT 5 client gets a PUBACK
// "not authorized" (0x87), an MQTT 3.1.1 client a plain PUBACK, as
// Mosquitto does — so that a bridge with one unassigned sensor keeps
// publishing the others instead of being disconnected again and again. A
// will message on a topic the client may not publish to is dropped at
// connection. The retain flag is cleared: the broker keeps no retained
// message. Only the reader keeps a session across connections; the
// sessions of publishers end with their connection.
//
// Denials and refusals are counted by reason (see the Auth… and ACL…
// constants) and logged at most once a minute per reason and client.
//
// # Limits
//
//   - Packets are bounded to Config.MaxPacketSize ([DefaultMaxPacketSize]);
//     a client that sends more is disconnected.
//   - Connections are accepted at most Config.MaxConnRate per second (a
//     token bucket with a burst of twice the rate, shared by the tcp and
//     tls listeners); beyond it, connections are closed as soon as they are
//     accepted, before a TLS handshake or a CONNECT costs anything. An
//     accepted connection has [DefaultHandshakeTimeout] to complete its
//     TLS handshake and send CONNECT.
//   - Each client may have Config.ReceiveMaximum QoS 1/2 messages of its
//     own unacknowledged (announced to MQTT 5 clients), and
//     Config.MaxInflight messages towards it awaiting its acknowledgement;
//     beyond that, and beyond Config.MaxPendingWrites messages queued for
//     one slow subscriber, the broker drops messages and counts them
//     ([Stats]): an MQTT 3.1.1 subscriber (the gateway) cannot announce a
//     receive window, so these bounds are what protects the broker's
//     memory.
//
// mochi's own log lines go to the gateway's logger at warning level and
// above; its line about each connection that ended in an error is written
// at most once a minute.
package broker
