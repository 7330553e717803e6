package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/civisens/civisens/firmware-bridge/senml"
	"github.com/civisens/civisens/gateway/internal/metrics"
	"github.com/civisens/civisens/gateway/internal/ratelog"
	"github.com/civisens/civisens/gateway/internal/validate"
	"github.com/civisens/civisens/registry/registryapi"
)

// Committer makes batches of accepted readings durable, in two steps so
// that the ingest decodes and appends the next batch while one waits for
// its fsync. AppendAsync writes batch (and must not keep it) and returns
// what to wait for; an error means nothing of the batch may be assumed
// durable, and the same batch will be handed again. Batches become durable
// in the order they were appended, or their Wait fails.
type Committer interface {
	AppendAsync(batch []validate.Accepted) (Durable, error)
}

// Durable is an appended batch on its way to durability. Wait returns nil
// once the batch is durable, or refused for good by the store (the
// Committer counts and logs such refusals); another error (not ctx's) means
// nothing of the batch may be assumed durable: the batch will be appended
// again.
type Durable interface {
	Wait(ctx context.Context) error
}

// AllowList is the register's allow-list.
type AllowList interface {
	// Entry returns the entry of sensor id, nil if there is none; the
	// caller does not modify it.
	Entry(id string) *registryapi.GatewaySensor
}

// Observer hears which sensors the ingester accepts readings from, and
// which sensors absent from the allow-list publish; package lastseen
// reports them to the registry. Its methods must not block.
type Observer interface {
	Accepted(sensor string, at time.Time)
	Unknown(sensor string, at time.Time)
}

// Message is what the ingester needs of an MQTT message; paho's Message
// satisfies it.
type Message interface {
	Topic() string
	Payload() []byte
	Ack()
}

// Defaults of [Config].
const (
	DefaultClientID             = "civisens-gateway"
	DefaultBatchSize            = 500
	DefaultFlushInterval        = time.Second
	DefaultQueueSize            = 256
	DefaultRetryMin             = 100 * time.Millisecond
	DefaultRetryMax             = 10 * time.Second
	DefaultMaxReconnectInterval = 30 * time.Second
	DefaultShutdownTimeout      = 5 * time.Second
	DefaultMaxInFlight          = 32
)

// Config configures an [Ingester]. The zero value of each field means its
// default.
type Config struct {
	// BrokerURL is the MQTT broker, e.g. tcp://127.0.0.1:1883; it may carry
	// user:password.
	BrokerURL string
	// ClientID is the MQTT client id, fixed so that the broker keeps the
	// gateway's session; DefaultClientID if empty.
	ClientID string
	// BatchSize is the number of readings that triggers a commit.
	BatchSize int
	// FlushInterval is the longest a message waits for its batch.
	FlushInterval time.Duration
	// FlushWhenIdle appends as soon as no message waits in the queue and
	// every batch appended before is acknowledged, without waiting for
	// FlushInterval: for a Committer that groups work itself (the spool's
	// group commit). Under load the batch grows while the appended ones
	// wait for their fsync.
	FlushWhenIdle bool
	// QueueSize bounds the messages waiting to be decoded.
	QueueSize int
	// MaxInFlight bounds the batches the pipeline holds: appended and not
	// yet acknowledged (waiting for their fsync), and the one being
	// filled. When all are in flight, the pipeline waits, then the queue.
	// With BatchSize, it bounds the readings held in memory; 1 makes each
	// batch wait for its fsync before the next is appended.
	MaxInFlight int
	// RetryMin and RetryMax bound the backoff between commit attempts.
	RetryMin, RetryMax time.Duration
	// MaxReconnectInterval caps the backoff between MQTT reconnections.
	MaxReconnectInterval time.Duration
	// ShutdownTimeout bounds the last append and the wait for what was
	// appended to be durable and acknowledged, when Run ends.
	ShutdownTimeout time.Duration
	// Rules are the reading checks that do not come from the register.
	Rules validate.Rules
	// Limits bound a SenML payload.
	Limits senml.Limits
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// Seen, when not nil, hears each message of a known sensor with an
	// accepted reading, and each message of an unknown sensor, with its
	// time of arrival.
	Seen Observer
}

func (c Config) withDefaults() Config {
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.QueueSize <= 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.RetryMin <= 0 {
		c.RetryMin = DefaultRetryMin
	}
	if c.RetryMax <= 0 {
		c.RetryMax = DefaultRetryMax
	}
	c.RetryMax = max(c.RetryMax, c.RetryMin)
	if c.MaxReconnectInterval <= 0 {
		c.MaxReconnectInterval = DefaultMaxReconnectInterval
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Ingester subscribes to the sensors' topics and feeds the Committer.
type Ingester struct {
	cfg    Config
	allow  AllowList
	commit Committer
	log    *slog.Logger
	rl     *ratelog.Limiter

	queue    chan inbound
	stopping chan struct{} // closed when Run stops taking messages

	free     chan *batch   // empty batches for the pipeline to fill
	flight   chan *batch   // appended batches, in order, for the acknowledger
	idle     chan struct{} // the acknowledger acknowledged every appended batch
	inflight atomic.Int64  // batches handed to the acknowledger, not yet acknowledged

	connected atomic.Bool
	pending   atomic.Int64

	received         *metrics.Counter
	acked            *metrics.Counter
	payloadsRejected *metrics.CounterVec
	readingsRejected *metrics.CounterVec
	readingsAccepted *metrics.Counter
	commitErrors     *metrics.Counter
	commitSeconds    *metrics.Histogram
	batchReadings    *metrics.Histogram
}

// inbound is a message and the time it arrived.
type inbound struct {
	msg Message
	at  time.Time
}

// New returns an ingester; Run starts it.
func New(cfg Config, allow AllowList, commit Committer, log *slog.Logger, reg *metrics.Registry) *Ingester {
	cfg = cfg.withDefaults()
	in := &Ingester{
		cfg:      cfg,
		allow:    allow,
		commit:   commit,
		log:      log,
		rl:       ratelog.New(log, ratelog.DefaultInterval, cfg.Now),
		queue:    make(chan inbound, cfg.QueueSize),
		stopping: make(chan struct{}),
		free:     make(chan *batch, cfg.MaxInFlight),
		flight:   make(chan *batch, cfg.MaxInFlight),
		idle:     make(chan struct{}, 1),

		received:         reg.Counter("civisens_gateway_messages_received_total", "MQTT messages received on sensors/+/senml."),
		acked:            reg.Counter("civisens_gateway_messages_acknowledged_total", "MQTT messages acknowledged (after their readings were committed)."),
		payloadsRejected: reg.CounterVec("civisens_gateway_payloads_rejected_total", "MQTT payloads refused whole, by reason; sensor is set for sensors in the allow-list only.", "reason", "sensor"),
		readingsRejected: reg.CounterVec("civisens_gateway_readings_rejected_total", "Readings refused, by reason; sensor is set for sensors in the allow-list only.", "reason", "sensor"),
		readingsAccepted: reg.Counter("civisens_gateway_readings_accepted_total", "Readings accepted and handed to the committer."),
		commitErrors:     reg.Counter("civisens_gateway_commit_errors_total", "Failed commits of a batch (retried; its messages stay unacknowledged)."),
		commitSeconds: reg.Histogram("civisens_gateway_ingest_commit_seconds", "Time from the start of a batch's commit to its durability, retries after failures included.",
			[]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}),
		batchReadings: reg.Histogram("civisens_gateway_ingest_batch_readings", "Readings per committed batch.",
			[]float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000}),
	}
	for range cfg.MaxInFlight { // the one being filled, and those in flight
		in.free <- &batch{}
	}
	reg.GaugeFunc("civisens_gateway_messages_pending", "Messages received and not yet acknowledged.", func() float64 { return float64(in.pending.Load()) })
	reg.GaugeFunc("civisens_gateway_mqtt_connected", "1 when subscribed to the MQTT broker, else 0.", func() float64 {
		if in.connected.Load() {
			return 1
		}
		return 0
	})
	return in
}

// Connected reports whether the ingester is connected and subscribed.
func (in *Ingester) Connected() bool { return in.connected.Load() }

// Pending returns the number of messages received and not yet acknowledged.
func (in *Ingester) Pending() int { return int(in.pending.Load()) }

// Run connects to the broker, subscribes, and feeds the committer until ctx
// ends; then it commits what it holds, acknowledges it and disconnects. It
// keeps reconnecting while the broker is away. Call it once.
func (in *Ingester) Run(ctx context.Context) error {
	u, err := url.Parse(in.cfg.BrokerURL)
	if err != nil {
		return fmt.Errorf("ingest: broker URL: %w", err)
	}
	broker := u.Redacted()
	log := in.log.With("broker", broker)

	opts := paho.NewClientOptions().
		AddBroker(in.cfg.BrokerURL).
		SetClientID(in.cfg.ClientID).
		SetCleanSession(false).
		SetOrderMatters(true).
		SetAutoAckDisabled(true).
		SetStore(newOutboundStore()).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(2 * time.Second).
		SetMaxReconnectInterval(in.cfg.MaxReconnectInterval).
		SetConnectTimeout(10 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { in.deliver(m) }).
		SetOnConnectHandler(func(c paho.Client) { in.subscribe(c, log) }).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			in.connected.Store(false)
			log.Warn("mqtt connection lost; reconnecting", "err", err)
		}).
		SetReconnectingHandler(func(paho.Client, *paho.ClientOptions) { log.Debug("mqtt reconnecting") })
	if buffered(u) {
		opts.SetCustomOpenConnectionFn(openConn)
	}
	client := paho.NewClient(opts)

	done := make(chan struct{})
	go func() {
		defer close(done)
		in.pipeline(ctx)
	}()
	log.Info("mqtt connecting", "client_id", in.cfg.ClientID)
	client.Connect() // with ConnectRetry, it retries in the background

	<-ctx.Done()
	log.Info("stopping: committing and acknowledging what is held", "pending", in.Pending())
	close(in.stopping)
	<-done
	in.connected.Store(false)
	client.Disconnect(500)
	log.Info("mqtt disconnected")
	return nil
}

// subscribe runs on every (re)connection: with a persistent session the
// broker usually remembers the subscription, but asking again is harmless
// and covers a broker that lost it.
func (in *Ingester) subscribe(c paho.Client, log *slog.Logger) {
	tok := c.Subscribe(senml.Subscription, 1, nil) // messages go to the default handler
	if !tok.WaitTimeout(30 * time.Second) {
		log.Error("mqtt subscribe timed out", "topic", senml.Subscription)
		return
	}
	if err := tok.Error(); err != nil {
		log.Error("mqtt subscribe failed", "topic", senml.Subscription, "err", err)
		return
	}
	if st, ok := tok.(*paho.SubscribeToken); ok {
		if qos := st.Result()[senml.Subscription]; qos > 2 {
			log.Error("mqtt broker refused the subscription", "topic", senml.Subscription, "code", qos)
			return
		}
	}
	in.connected.Store(true)
	log.Info("mqtt subscribed", "topic", senml.Subscription, "qos", 1)
}

// deliver hands a message to the pipeline, waiting while the queue is full
// (which stops the MQTT client from reading: back-pressure). After Run
// stopped taking messages it leaves them unacknowledged.
func (in *Ingester) deliver(m Message) {
	in.received.Inc()
	in.pending.Add(1)
	select {
	case in.queue <- inbound{msg: m, at: in.cfg.Now()}:
	case <-in.stopping:
		in.pending.Add(-1)
	}
}

// process appends the accepted readings of a message to dst, counting and
// logging whatever it refuses.
func (in *Ingester) process(ctx context.Context, m inbound, dst []validate.Accepted) []validate.Accepted {
	topic := m.msg.Topic()
	sensor, err := senml.SensorFromTopic(topic)
	if err != nil {
		in.refusePayload(ctx, topic, "", "", err)
		return dst
	}
	entry := in.allow.Entry(sensor)
	known := entry != nil
	label := ""
	if known {
		label = sensor
	} else if in.cfg.Seen != nil {
		in.cfg.Seen.Unknown(sensor, m.at) // whatever its payload: the id is what the register lacks
	}
	pack, err := in.cfg.Limits.Decode(m.msg.Payload())
	if err != nil {
		in.refusePayload(ctx, topic, sensor, label, err)
		return dst
	}
	readings, err := pack.Resolve(sensor, m.at)
	if err != nil {
		in.refusePayload(ctx, topic, sensor, label, err)
		return dst
	}
	if !known {
		in.readingsRejected.With("unknown_sensor", "").Add(uint64(len(readings)))
		in.rl.Log(ctx, slog.LevelWarn, "unknown_sensor/"+sensor, "readings refused: sensor not in the register's allow-list",
			"sensor", sensor, "readings", len(readings), "reason", "unknown_sensor")
		return dst
	}
	n := len(dst)
	for _, r := range readings {
		a, err := in.cfg.Rules.Check(entry, r, m.at)
		if err != nil {
			reason := validate.Reason(err)
			in.readingsRejected.With(reason, sensor).Inc()
			in.rl.Log(ctx, slog.LevelWarn, reason+"/"+sensor, "reading refused", "sensor", sensor, "reason", reason, "err", err)
			continue
		}
		dst = append(dst, a)
	}
	in.readingsAccepted.Add(uint64(len(dst) - n))
	if len(dst) > n && in.cfg.Seen != nil {
		in.cfg.Seen.Accepted(sensor, m.at)
	}
	return dst
}

func (in *Ingester) refusePayload(ctx context.Context, topic, sensor, label string, err error) {
	reason := validate.Reason(err)
	in.payloadsRejected.With(reason, label).Inc()
	in.rl.Log(ctx, slog.LevelWarn, reason+"/"+sensor, "payload refused", "topic", topic, "reason", reason, "err", err)
}
