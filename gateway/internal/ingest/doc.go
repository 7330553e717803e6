// Package ingest takes SenML readings from MQTT and hands the ones the
// register accepts to a [Committer], acknowledging each MQTT message only
// once what it carried is committed.
//
// # From a message to readings
//
// The gateway subscribes to sensors/+/senml at QoS 1 with a persistent
// session (CleanSession false, a fixed client id), so that a broker keeps
// what arrives while the gateway is away, and with automatic
// acknowledgement turned off. For each message, in arrival order:
//
//  1. the sensor id comes from the topic (senml.SensorFromTopic);
//  2. the payload is decoded and resolved (senml.Limits.Decode,
//     senml.Pack.Resolve), relative times against the time of arrival;
//  3. each reading is checked against the sensor's allow-list entry
//     (validate.Rules.Check).
//
// A pack is refused whole when it is not valid SenML of the civisens profile
// (syntax, a record naming another sensor, a non-finite value, a bad name or
// time…): that is senml.Resolve's contract, and such a payload says its
// producer is broken. It is counted once in
// civisens_gateway_payloads_rejected_total{reason}. The register's checks
// are then made record by record: a reading of an undeclared quantity, in
// the wrong unit, out of range or out of the time window is dropped and
// counted in civisens_gateway_readings_rejected_total{reason,sensor}, and
// the other readings of the same pack are kept — one faulty channel of a
// multi-quantity sensor does not silence the others. All readings of a
// sensor missing from the allow-list are counted under reason
// unknown_sensor. The sensor label is set only for sensors in the
// allow-list, so that the number of series stays bounded whatever is
// published. Every refusal is also logged, at most once a minute per reason
// and sensor (package ratelog).
//
// An [Observer] (Config.Seen) hears, with the time of arrival, each message
// of a known sensor that had a reading accepted, and each message of a
// sensor absent from the allow-list, whatever its payload; package lastseen
// reports them to the registry's quality page.
//
// # Commit and acknowledgement
//
// Accepted readings are gathered into a batch, which is appended to the
// Committer (AppendAsync) when it holds BatchSize readings or FlushInterval
// after its first message, whichever comes first — or, with FlushWhenIdle,
// as soon as no message waits in the queue and every batch appended before
// is acknowledged (under load the batch then grows meanwhile). The append
// does not wait for durability: the batch goes to an acknowledger, which
// waits until it is durable (Durable.Wait) and then acknowledges every
// message of the batch (PUBACK), in arrival order, as MQTT requires, while
// the pipeline decodes and appends the next batches. At most MaxInFlight
// batches are held, the one being filled included; then the pipeline waits
// for the acknowledger. A message that carried no accepted reading is
// acknowledged as soon as every message before it is, so it never
// overtakes them.
//
// When the append fails (a full spool), nothing of that batch or after it
// is acknowledged: the same batch is appended again with a backoff that
// doubles from RetryMin up to RetryMax, while the batches appended before
// it are acknowledged once durable. When Wait fails (an fsync failed), the
// acknowledger appends that batch again, with the same backoff, and
// acknowledges nothing more before it is durable. Meanwhile arriving
// messages wait in a bounded queue (QueueSize messages); when it is full the
// MQTT client stops reading from the network and the broker holds the rest
// (TCP back-pressure). If the gateway stops or its connection drops before
// a batch is durable, the broker redelivers the unacknowledged messages to
// the next session (an external broker; the embedded one keeps sessions in
// memory only). A redelivered reading is written again with the same series
// and timestamp, which InfluxDB treats as the same point.
//
// What counts as durable is the Committer's to say. In the gateway it is
// the spool (package spool): AppendAsync writes one record, its Ticket's
// Wait returns once the group commit fsynced it, and AppendAsync fails with
// spool.ErrFull while the spool is full, which stops acknowledgements until
// the sink has sent enough to InfluxDB.
//
// # Shutdown
//
// When its context ends, Run stops taking messages, appends what it holds,
// acknowledges what becomes durable, in order, all within ShutdownTimeout,
// and disconnects. The rest stays unacknowledged.
package ingest
