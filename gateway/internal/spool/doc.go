// Package spool is the gateway's durable queue on local disk, between the
// ingest (which acknowledges an MQTT message only once its readings are
// here) and the sink (which sends them to InfluxDB). It is built for a
// Raspberry Pi on an SD card: bounded in bytes, few and grouped writes, and
// a start that always succeeds after a crash or a power cut.
//
// # Guarantees
//
//   - [Spool.Append] returns nil only once the batch is on disk: written and
//     fsynced; so does the Wait of the [Ticket] that [Spool.AppendAsync]
//     returns. The ingest acknowledges the batch's messages after that, so a
//     reading whose message was acknowledged survives a crash, a kill -9 or
//     a power cut (as far as the storage honours fsync).
//   - Records are read in the order they were appended, each at least once.
//     The reader's position is written to disk (the checkpoint) at most
//     every CheckpointInterval (5 s) while it moves, when a segment is
//     finished, and at Close; after a crash the records sent since the last
//     checkpoint are sent again. InfluxDB keeps one point per series and
//     timestamp, and readings keep their own timestamps, so sending again
//     writes the same points: nothing is doubled.
//   - Open never refuses to start because of what a crash left, and never
//     asks for a file to be deleted by hand: a torn tail (a record cut in
//     the middle, or garbage after the last record of the last segment) is
//     truncated, counted (civisens_gateway_spool_torn_tails_total) and
//     logged; such a record was never fsynced, so never acknowledged. A
//     corrupt record elsewhere is skipped up to the next valid record, a
//     segment without a valid header is renamed *.seg.corrupt and not read,
//     an unreadable checkpoint means reading again from the oldest segment;
//     each is counted (civisens_gateway_spool_corrupt_skipped_total) and
//     logged.
//
// # Limits
//
//   - The segment files never exceed MaxBytes (256 MiB by default) but by
//     one record: an append into a spool with nothing unsent is always
//     taken. When an append does not fit, it fails with [ErrFull]: the
//     ingest does not acknowledge, stops reading, and the broker keeps the
//     messages (in a persistent session: check the broker's own queue
//     limits, e.g. Mosquitto's max_queued_messages). Only with EvictOldest
//     does a full spool delete its oldest segment, unsent readings
//     included, counted in civisens_gateway_spool_evicted_records_total
//     and logged as an error.
//   - Durability is the storage's: an SD card or a USB stick that
//     acknowledges a flush it has not done can lose the last records at a
//     power cut. Corruption inside older records is detected (CRC-32C), not
//     repaired: the readings of such a record are lost, counted.
//   - One reader. Appenders may be many.
//
// # Group commit
//
// Appenders write their record (one write call each) and wait for the next
// fsync — at once (Append), or later, having gone on with other work
// (AppendAsync, then Ticket.Wait: the ingest's pipeline) — which one
// goroutine makes for all of them: as soon as a record
// waits and the previous fsync is at least SyncInterval (50 ms) old, or at
// once when SyncRecords (1000) records wait. At low rates a record is thus
// fsynced at once; under load there are at most about 1/SyncInterval
// fsyncs a second, whatever the message rate, which spares SD cards.
//
// # On disk
//
// Dir (the gateway's <data-dir>/spool) holds segment files and one
// checkpoint file:
//
//	00000000000000000000.seg   segments, named by the sequence number of
//	00000000000000001742.seg   their first record; written in order
//	checkpoint                 the reader's position
//
// A segment is a 16-byte header (the magic "CVSPOOL", a version byte 1, the
// first sequence number as u64 little-endian) followed by records; a new
// segment is started when the next record would take the current one past
// SegmentBytes (8 MiB). A segment is created durably (written to a
// temporary file, fsynced, renamed, folder fsynced) and deleted once the
// checkpoint is past it. A record is
//
//	u32 LE   n, the payload's length (1 to 64 MiB)
//	u32 LE   CRC-32C of the four length bytes and the payload
//	n bytes  payload
//
// and its payload, version 1, is a batch of accepted readings: a version
// byte, the time of the append, a table of the register entries the
// readings belong to (id, category, site, retention, tags), a table of
// (quantity, unit), then each reading as entry index, quantity index,
// float64 value and time as a signed delta from the previous reading's, in
// varints. Writing the entries in the record keeps what the register said
// when the reading was accepted, whatever it says when the record is sent.
// The checkpoint is 36 bytes: "CVSCKPT" and a version byte, segment,
// offset and sequence number (u64 LE each), and their CRC-32C; it is
// replaced atomically (temporary file, fsync, rename, folder fsync).
package spool
