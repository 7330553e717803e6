package metrics

import (
	"encoding/json"
	"net/http"
	"time"
)

// Health is the report served at /healthz. The gateway can ingest when its
// MQTT subscription is up, it holds an allow-list, InfluxDB took its last
// write (or answered at start) and the spool is not full; otherwise /healthz
// answers 503 and Problems says why.
type Health struct {
	OK        bool            `json:"ok"`
	Problems  []string        `json:"problems,omitempty"`
	Version   string          `json:"version"`
	MQTT      MQTTHealth      `json:"mqtt"`
	Influx    InfluxHealth    `json:"influx"`
	AllowList AllowListHealth `json:"allowlist"`
	Spool     *SpoolHealth    `json:"spool,omitempty"`
}

// SpoolHealth is the state of the spool: what was acknowledged and is not
// yet in InfluxDB.
type SpoolHealth struct {
	Dir       string `json:"dir"`
	Records   uint64 `json:"records"`    // unsent records (batches)
	Bytes     int64  `json:"bytes"`      // their size
	DiskBytes int64  `json:"disk_bytes"` // size of the segment files
	MaxBytes  int64  `json:"max_bytes"`
	Segments  int    `json:"segments"`
	// OldestUnsentSeconds is the age of the oldest unsent reading.
	OldestUnsentSeconds float64 `json:"oldest_unsent_seconds"`
	// Full is true while the spool refuses appends: acknowledgements stop.
	Full bool `json:"full"`
}

// MQTTHealth is the state of the gateway's subscription.
type MQTTHealth struct {
	Broker    string `json:"broker"`    // the broker URL the gateway subscribes through
	Embedded  bool   `json:"embedded"`  // true when that broker is the gateway's own
	Connected bool   `json:"connected"` // connected and subscribed
	// Pending counts messages received and not yet acknowledged.
	Pending int `json:"pending"`
}

// InfluxHealth is the state of the InfluxDB writer.
type InfluxHealth struct {
	URL       string     `json:"url"`
	Reachable bool       `json:"reachable"` // the last request succeeded
	LastWrite *time.Time `json:"last_write,omitempty"`
	LastError string     `json:"last_error,omitempty"`
}

// AllowListHealth is the state of the allow-list.
type AllowListHealth struct {
	Loaded     bool    `json:"loaded"`
	Source     string  `json:"source,omitempty"` // "registry" or "disk"
	Sensors    int     `json:"sensors"`
	AgeSeconds float64 `json:"age_seconds"` // since the registry last confirmed it
	LastError  string  `json:"last_error,omitempty"`
}

// Check sets OK and Problems from the parts' states.
func (h *Health) Check() {
	h.Problems = h.Problems[:0]
	if !h.MQTT.Connected {
		h.Problems = append(h.Problems, "not subscribed to the MQTT broker")
	}
	if !h.AllowList.Loaded {
		h.Problems = append(h.Problems, "no allow-list: the registry has not answered and there is no copy on disk")
	}
	if !h.Influx.Reachable {
		h.Problems = append(h.Problems, "InfluxDB does not take writes")
	}
	if h.Spool != nil && h.Spool.Full {
		h.Problems = append(h.Problems, "spool full: messages are not acknowledged until InfluxDB takes the backlog")
	}
	h.OK = len(h.Problems) == 0
}

// Readiness is the report served at /readyz: whether a reading published
// now would be accepted end to end — the allow-list is loaded, the gateway
// is subscribed, the spool takes appends. InfluxDB being away does not make
// the gateway unready: the spool holds the readings.
type Readiness struct {
	Ready    bool     `json:"ready"`
	Problems []string `json:"problems,omitempty"`
}

// Readiness derives the readiness from the parts' states.
func (h *Health) Readiness() Readiness {
	var r Readiness
	if !h.AllowList.Loaded {
		r.Problems = append(r.Problems, "no allow-list yet")
	}
	if !h.MQTT.Connected {
		r.Problems = append(r.Problems, "not subscribed to the MQTT broker")
	}
	if h.Spool != nil && h.Spool.Full {
		r.Problems = append(r.Problems, "spool full")
	}
	r.Ready = len(r.Problems) == 0
	return r
}

// NewHandler returns the gateway's HTTP surface:
//
//	GET /metrics  the exposition of reg
//	GET /healthz  the JSON report of health(), checked; 200 if OK, else 503
//	GET /readyz   the JSON readiness of health(); 200 if ready, else 503
func NewHandler(reg *Registry, health func() Health) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", reg)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		h := health()
		rd := h.Readiness()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if !rd.Ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(rd)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		h := health()
		h.Check()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if !h.OK {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(h)
	})
	return mux
}
