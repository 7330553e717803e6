package bench

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// load is one stream of SenML messages at QoS 1 over several connections
// (lean publishers: see publisher).
//
// Message i goes over connection i mod Conns, for sensor i mod 10,000 (so
// that a sensor's messages share a connection and stay in order), at time
// T0 + (i div 10,000) ms: every (sensor, time) is unique, every message one
// point of three readings. With SampleEvery > 0, message i with
// i mod SampleEvery = 0 is instead for the connection's latency sensor, at
// T0 + (i div SampleEvery) ms, and its send time is recorded.
type load struct {
	Addr, User, Pass string
	Conns            int
	N                int     // messages
	Rate             float64 // messages per second in all; 0: full speed
	Window           int     // unacknowledged messages per connection
	T0               time.Time
	// TopicOf overrides the topic (the publishers' ceiling: a topic the
	// gateway does not read).
	TopicOf     func(sensor string) string
	SampleEvery int
	// OnSample is called with a sampled message's time and send time.
	OnSample func(ts int64, sent time.Time)
}

type loadResult struct {
	Acked, Errors int64
	PayloadBytes  int64
	Start         time.Time
	LastAck       time.Time
	AckLatency    []time.Duration // publish → PUBACK, every message
}

// AckRate is messages acknowledged per second, first publish to last ack.
func (r loadResult) AckRate() float64 {
	return float64(r.Acked) / r.LastAck.Sub(r.Start).Seconds()
}

func payload(buf []byte, sensor string, ts time.Time, i int) []byte {
	ms := ts.UnixMilli()
	buf = append(buf[:0], `[{"bn":"`...)
	buf = append(buf, sensor...)
	buf = append(buf, `:","bt":`...)
	buf = strconv.AppendInt(buf, ms/1000, 10)
	buf = append(buf, '.')
	frac := ms % 1000
	buf = append(buf, byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	buf = append(buf, `,"n":"pm10","u":"ug/m3","v":`...)
	buf = strconv.AppendInt(buf, int64(i%1000), 10)
	buf = append(buf, `},{"n":"pm2_5","u":"ug/m3","v":`...)
	buf = strconv.AppendFloat(buf, float64(i%500)/2, 'f', -1, 64)
	buf = append(buf, `},{"n":"temperature","u":"Cel","v":`...)
	buf = strconv.AppendFloat(buf, 15+float64(i%100)/10, 'f', -1, 64)
	buf = append(buf, `}]`...)
	return buf
}

func (l load) run(t *testing.T) loadResult {
	t.Helper()
	if l.Conns <= 0 || l.Conns > maxConns || nSensors%l.Conns != 0 {
		t.Fatalf("bench: %d connections", l.Conns)
	}
	if l.Window <= 0 {
		l.Window = 200
	}
	var (
		res     loadResult
		mu      sync.Mutex
		acked   atomic.Int64
		errs    atomic.Int64
		bytes   atomic.Int64
		lastAck atomic.Int64
		wg      sync.WaitGroup
	)
	type conn struct {
		pub *publisher
		mu  sync.Mutex
		lat []time.Duration
	}
	conns := make([]*conn, l.Conns)
	for c := range conns {
		cn := &conn{lat: make([]time.Duration, 0, l.N/l.Conns+1)}
		pub, err := dialPublisher(l.Addr, fmt.Sprintf("bench-pub-%d-%d", time.Now().UnixNano(), c), l.User, l.Pass, l.Window, func(sent time.Time) {
			now := time.Now()
			cn.mu.Lock()
			cn.lat = append(cn.lat, now.Sub(sent))
			cn.mu.Unlock()
			acked.Add(1)
			for n := now.UnixNano(); ; {
				last := lastAck.Load()
				if n <= last || lastAck.CompareAndSwap(last, n) {
					break
				}
			}
		})
		if err != nil {
			t.Fatalf("bench: publisher %d connect to %s: %v", c, l.Addr, err)
		}
		cn.pub = pub
		conns[c] = cn
	}
	defer func() {
		for _, cn := range conns {
			cn.pub.close()
		}
	}()

	res.Start = time.Now()
	perConn := l.Rate / float64(l.Conns)
	for c := 0; c < l.Conns; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			pub := conns[c].pub
			buf := make([]byte, 0, 256)
			j := 0
			for i := c; i < l.N; i += l.Conns {
				if perConn > 0 {
					next := res.Start.Add(time.Duration(float64(j) / perConn * float64(time.Second)))
					if d := time.Until(next); d > 0 {
						pub.flush()
						time.Sleep(d)
					}
				}
				j++
				sensor := sensorID(i % nSensors)
				ts := l.T0.Add(time.Duration(i/nSensors) * time.Millisecond)
				sample := l.SampleEvery > 0 && i%l.SampleEvery == 0
				if sample {
					sensor = fmt.Sprintf(latSensorFmt, c)
					ts = l.T0.Add(time.Duration(i/l.SampleEvery) * time.Millisecond)
				}
				buf = payload(buf, sensor, ts, i)
				topic := "sensors/" + sensor + "/senml"
				if l.TopicOf != nil {
					topic = l.TopicOf(sensor)
				}
				bytes.Add(int64(len(buf)))
				sent, err := pub.publish(topic, buf)
				if err != nil {
					errs.Add(int64((l.N - i + l.Conns - 1) / l.Conns))
					return
				}
				if sample && l.OnSample != nil {
					l.OnSample(ts.UnixMilli()*int64(time.Millisecond), sent)
				}
			}
			errs.Add(int64(pub.drain(120 * time.Second)))
		}(c)
	}
	wg.Wait()
	for _, cn := range conns {
		mu.Lock()
		cn.mu.Lock()
		res.AckLatency = append(res.AckLatency, cn.lat...)
		cn.mu.Unlock()
		mu.Unlock()
	}
	res.Acked, res.Errors, res.PayloadBytes = acked.Load(), errs.Load(), bytes.Load()
	res.LastAck = time.Unix(0, lastAck.Load())
	return res
}
