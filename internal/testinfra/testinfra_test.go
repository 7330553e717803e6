package testinfra

import (
	"net"
	"testing"
)

func TestInfluxDBStartsAndAnswers(t *testing.T) {
	in := StartInfluxDB(t)
	in.Exec(t, "CREATE DATABASE probe")
	rows, err := in.Query("", "SHOW DATABASES")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rows {
		if r["name"] == "probe" {
			found = true
		}
	}
	if !found {
		t.Fatalf("SHOW DATABASES = %v, want probe among them", rows)
	}
}

func TestMosquittoStarts(t *testing.T) {
	m := StartMosquitto(t)
	c, err := net.Dial("tcp", m.Addr)
	if err != nil {
		t.Fatalf("mosquitto at %s does not accept connections: %v", m.Addr, err)
	}
	c.Close()
}
