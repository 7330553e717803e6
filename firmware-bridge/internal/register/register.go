// Package register reads the sensors of the public register: from the
// registry's API (GET /api/v1/sensors, a [registryapi.SensorList]) or from
// a file holding the same JSON, for a bridge that runs without a registry.
//
// It returns the entries as the register publishes them; choosing which to
// simulate is the simulator's business.
package register

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/civisens/civisens/registry/registryapi"
)

// maxList bounds the size of a sensor list, from a file or the registry:
// some 10 000 entries.
const maxList = 64 << 20

// File is a sensor list in a JSON file. It is read again at each call, so
// that editing the file adds or removes sensors on the fly.
type File struct {
	Path string
}

// Sensors reads the file. Decoding is strict: an unknown field is an error
// that names it, and a syntax error names its line.
func (f File) Sensors(ctx context.Context) ([]registryapi.Sensor, error) {
	b, err := os.ReadFile(f.Path)
	if err != nil {
		return nil, err
	}
	if len(b) > maxList {
		return nil, fmt.Errorf("%s: %d bytes, more than %d", f.Path, len(b), maxList)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var list registryapi.SensorList
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("%s%s: %w", f.Path, lineOf(b, err), err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: data after the sensor list", f.Path)
	}
	return list.Sensors, nil
}

// lineOf returns ":line" for a JSON error that knows where it happened.
func lineOf(b []byte, err error) string {
	var off int64
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		off = syn.Offset
	case errors.As(err, &typ):
		off = typ.Offset
	default:
		return ""
	}
	off = min(off, int64(len(b)))
	return fmt.Sprintf(":%d", 1+bytes.Count(b[:off], []byte("\n")))
}

// Client reads the registry's public sensor list. It sends the ETag of the
// last list it read, and reuses that list when the registry answers 304
// Not Modified. It is safe for concurrent use.
type Client struct {
	url  string
	http *http.Client

	mu   sync.Mutex
	etag string
	last []registryapi.Sensor
}

// NewClient returns a client of the registry at baseURL (http://host:port);
// hc nil means a client with a 15 s timeout.
func NewClient(baseURL string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("registry URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("registry URL %q: want http://host[:port] or https://…", baseURL)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	return &Client{url: strings.TrimSuffix(baseURL, "/") + registryapi.PathSensors, http: hc}, nil
}

// Sensors returns the register's published sensors.
func (c *Client) Sensors(ctx context.Context) ([]registryapi.Sensor, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	c.mu.Lock()
	if c.etag != "" {
		req.Header.Set("If-None-Match", c.etag)
	}
	c.mu.Unlock()
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err // already "GET url: …"
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotModified:
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.last == nil {
			return nil, fmt.Errorf("GET %s: 304 Not Modified without a list to reuse", c.url)
		}
		return c.last, nil
	default:
		return nil, fmt.Errorf("GET %s: %s%s", c.url, resp.Status, problemOf(resp))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxList+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", c.url, err)
	}
	if len(b) > maxList {
		return nil, fmt.Errorf("GET %s: answer larger than %d bytes", c.url, maxList)
	}
	// Not strict: the registry may add fields to its answer (the contract
	// adds, never renames).
	var list registryapi.SensorList
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("GET %s: %w", c.url, err)
	}
	if list.Sensors == nil {
		list.Sensors = []registryapi.Sensor{}
	}
	c.mu.Lock()
	c.etag, c.last = resp.Header.Get("ETag"), list.Sensors
	c.mu.Unlock()
	return list.Sensors, nil
}

// problemOf returns ": title: detail" of an RFC 9457 problem body, if the
// answer is one.
func problemOf(resp *http.Response) string {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "application/problem+json" && mt != "application/json" {
		return ""
	}
	var p registryapi.Problem
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&p); err != nil || p.Title == "" {
		return ""
	}
	if p.Detail != "" {
		return ": " + p.Title + ": " + p.Detail
	}
	return ": " + p.Title
}
