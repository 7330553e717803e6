package mapping

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/civisens/civisens/firmware-bridge/internal/firmware"
	"github.com/civisens/civisens/firmware-bridge/senml"
)

var formats = []string{"tasmota", "chirpstack", "tic"}

func TestParseRefusesWithLineAndField(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"unknown field", "{\"sources\": [\n {\"format\": \"tasmota\", \"source\": \"a\", \"sensor\": \"air-01\", \"colour\": 1}]}", `unknown field "colour"`},
		{"syntax", "{\"sources\": [\n\n {\"format\": }]}", "line 3"},
		{"type", "{\"sources\": [\n {\"format\": 3}]}", "line 2"},
		{"unknown format", `{"sources": [{"format": "sigfox", "source": "a", "sensor": "air-01"}]}`, `unknown format "sigfox"`},
		{"bad sensor", `{"sources": [{"format": "tic", "source": "0212", "sensor": "Air 01"}]}`, `"Air 01" is not a register sensor id`},
		{"bad quantity", `{"sources": [{"format": "tic", "source": "0212", "sensor": "energie-01", "fields": {"EAST": "Energy"}}]}`, `"Energy" is not a quantity name`},
		{"duplicate", `{"sources": [{"format": "tic", "source": "0212", "sensor": "energie-01"}, {"format": "tic", "source": "0212", "sensor": "energie-02"}]}`, "also mapped by sources[0]"},
		{"trailing", `{"sources": []} {}`, "data after the mapping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.in), formats)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v; want one containing %q", err, tc.want)
			}
		})
	}
}

func TestMap(t *testing.T) {
	c, err := Parse(strings.NewReader(`{"sources": [
		{"format": "tasmota", "source": "salle", "sensor": "air-salle-01", "fields": {"SDS0X1.PM2.5": "pm2_5", "SDS0X1.PM10": "pm10"}},
		{"format": "chirpstack", "source": "a84041000181c5e2", "sensor": "parking-gare-07"},
		{"format": "chirpstack", "source": "a84041000181c5e3", "sensor": "parking-gare-08", "health": true}
	]}`), formats)
	if err != nil {
		t.Fatal(err)
	}
	u := NewUnmapped(2)
	m := New(c, u)
	received := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	measured := received.Add(-30 * time.Second)

	packs, skipped := m.Map("tasmota", firmware.Result{Readings: []firmware.Reading{
		{Source: "salle", Field: "SDS0X1.PM2.5", Quantity: "pm2_5", Unit: "ug/m3", Value: 7.5},
		{Source: "salle", Field: "SDS0X1.PM10", Quantity: "pm10", Unit: "ug/m3", Value: 12},
		{Source: "salle", Field: "BME280.Temperature", Quantity: "temperature", Unit: "Cel", Value: 19.5}, // not in fields
		{Source: "cuisine", Field: "AM2301.Humidity", Quantity: "humidity", Unit: "%RH", Value: 55},       // unmapped
	}}, received)
	want := []Packed{{Sensor: "air-salle-01", Pack: senml.Pack{
		{BaseName: "air-salle-01:", BaseTime: float64(received.UnixMilli()) / 1000, Name: "pm2_5", Unit: "ug/m3", Value: senml.Float(7.5)},
		{Name: "pm10", Unit: "ug/m3", Value: senml.Float(12)},
	}}}
	if d := cmp.Diff(want, packs); d != "" {
		t.Errorf("tasmota packs (-want +got):\n%s", d)
	}
	if len(skipped) != 1 || skipped[0].Field != "BME280.Temperature" {
		t.Errorf("skipped %v; want the unmapped field of a mapped source", skipped)
	}

	packs, _ = m.Map("chirpstack", firmware.Result{Readings: []firmware.Reading{
		{Source: "a84041000181c5e2", Field: "object.occupied", Quantity: "occupancy", Unit: "/", Value: 1, Time: measured},
		{Source: "a84041000181c5e2", Field: "rxInfo.rssi", Quantity: "rssi", Unit: "dBW", Value: -142, Time: measured, Health: true},
		{Source: "a84041000181c5e3", Field: "object.occupied", Quantity: "occupancy", Unit: "/", Value: 0, Time: measured},
		{Source: "a84041000181c5e3", Field: "object.battery", Quantity: "battery", Unit: "%", Value: 87, Time: measured, Health: true},
		{Source: "a84041000181c5e3", Field: "object.mode", Value: 2, Time: measured}, // not inferred
	}}, received)
	bt := float64(measured.UnixMilli()) / 1000
	want = []Packed{
		{Sensor: "parking-gare-07", Pack: senml.Pack{{BaseName: "parking-gare-07:", BaseTime: bt, Name: "occupancy", Unit: "/", Value: senml.Float(1)}}},
		{Sensor: "parking-gare-08", Pack: senml.Pack{
			{BaseName: "parking-gare-08:", BaseTime: bt, Name: "occupancy", Unit: "/", Value: senml.Float(0)},
			{Name: "battery", Unit: "%", Value: senml.Float(87)},
		}},
	}
	if d := cmp.Diff(want, packs); d != "" {
		t.Errorf("chirpstack packs (-want +got):\n%s", d)
	}
	// Every pack resolves, under its topic, to its sensor.
	for _, p := range packs {
		if _, err := p.Pack.Resolve(p.Sensor, received); err != nil {
			t.Errorf("%s: %v", p.Sensor, err)
		}
	}

	// The table of unmapped sources is bounded.
	m.Map("tasmota", firmware.Result{Readings: []firmware.Reading{
		{Source: "cuisine", Field: "AM2301.Temperature", Quantity: "temperature", Unit: "Cel", Value: 21},
		{Source: "garage", Field: "DS18B20.Temperature", Quantity: "temperature", Unit: "Cel", Value: 9},
		{Source: "grenier", Field: "DS18B20.Temperature", Quantity: "temperature", Unit: "Cel", Value: 4},
	}}, received.Add(time.Minute))
	seen, dropped := u.Snapshot()
	if len(seen) != 2 || dropped != 1 {
		t.Fatalf("unmapped %v, dropped %d; want cuisine and garage, 1 dropped", seen, dropped)
	}
	c0 := seen[0]
	if c0.Source != "cuisine" || c0.Readings != 2 || !c0.First.Equal(received) || !c0.Last.Equal(received.Add(time.Minute)) ||
		c0.Fields["AM2301.Humidity"] != "humidity %RH" || c0.Fields["AM2301.Temperature"] != "temperature Cel" {
		t.Errorf("cuisine: %+v", c0)
	}
}

func TestInfer(t *testing.T) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	packs := Infer(firmware.Result{Readings: []firmware.Reading{
		{Source: "esp8266-1234", Field: "SDS_P2", Quantity: "pm2_5", Unit: "ug/m3", Value: 4.2},
		{Source: "esp8266-1234", Field: "signal", Quantity: "rssi", Unit: "dBW", Value: -97, Health: true},
		{Source: "esp8266-1234", Field: "samples", Value: 880}, // not inferred
	}}, at)
	if len(packs) != 1 || len(packs[0].Pack) != 2 || packs[0].Pack[0].BaseName != "esp8266-1234:" {
		t.Errorf("inferred %+v", packs)
	}
}
