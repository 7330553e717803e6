package civisens

import (
	_ "github.com/eclipse/paho.mqtt.golang"
	_ "github.com/gin-gonic/gin"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/influxdata/influxdb-client-go/v2"
	_ "github.com/mochi-mqtt/server/v2"
	_ "github.com/mochi-mqtt/server/v2/hooks/auth"
	_ "github.com/mochi-mqtt/server/v2/listeners"
	_ "modernc.org/sqlite"
	_ "periph.io/x/conn/v3"
	_ "golang.org/x/crypto/bcrypt"
)
