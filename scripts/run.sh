#!/usr/bin/env bash
# run.sh — what `make run` does once the programs are built: start InfluxDB
# (unless INFLUX_URL names one), the registry with its demo town, the gateway
# with its embedded MQTT broker (unless BROKER_URL names one) and the firmware
# bridge in simulation mode; print what runs where; on Ctrl-C (or SIGTERM),
# stop every process it started, by PID, and wait for them.
#
# Every address can be moved with the programs' own environment variables
# (see README.md); VAR_DIR (default var) holds data and logs, INFLUXD_PORT and
# INFLUXD_RPC_PORT the local InfluxDB's ports.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

VAR_DIR=${VAR_DIR:-var}
BIN_DIR=${BIN_DIR:-bin}
logs="$VAR_DIR/log"
mkdir -p "$logs"

export REGISTRY_LISTEN=${REGISTRY_LISTEN:-127.0.0.1:8080}
export REGISTRY_DB=${REGISTRY_DB:-$VAR_DIR/registry/registry.db}
export REGISTRY_PUBLIC_URL=${REGISTRY_PUBLIC_URL:-http://$REGISTRY_LISTEN}
export REGISTRY_URL=${REGISTRY_URL:-http://$REGISTRY_LISTEN}
export GATEWAY_MQTT_LISTEN=${GATEWAY_MQTT_LISTEN:-127.0.0.1:1883}
export GATEWAY_HTTP_LISTEN=${GATEWAY_HTTP_LISTEN:-127.0.0.1:9464}
export GATEWAY_DATA_DIR=${GATEWAY_DATA_DIR:-$VAR_DIR/gateway}
export BRIDGE_DATA_DIR=${BRIDGE_DATA_DIR:-$VAR_DIR/firmware-bridge}
INFLUXD_PORT=${INFLUXD_PORT:-8086}
INFLUXD_RPC_PORT=${INFLUXD_RPC_PORT:-8088}

# The gateway's API token on the registry (role gateway): generated once into
# $VAR_DIR/secrets/gateway-token (mode 0600), ensured by the registry at start
# (REGISTRY_GATEWAY_TOKEN) and sent by the gateway (GATEWAY_REGISTRY_TOKEN).
# Set REGISTRY_GATEWAY_TOKEN, or GATEWAY_REGISTRY_TOKEN alone for a token you
# created at /admin/tokens, to use your own.
if [ -z "${REGISTRY_GATEWAY_TOKEN:-}" ] && [ -z "${GATEWAY_REGISTRY_TOKEN:-}" ]; then
	secret="$VAR_DIR/secrets/gateway-token"
	if [ ! -s "$secret" ]; then
		(
			umask 077
			mkdir -p "$VAR_DIR/secrets" &&
				printf 'cvs_%s\n' "$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')" >"$secret.tmp" &&
				mv "$secret.tmp" "$secret"
		) || { printf 'civisens: cannot write %s\n' "$secret" >&2; exit 1; }
	fi
	chmod 600 "$secret"
	REGISTRY_GATEWAY_TOKEN=$(cat "$secret")
fi
if [ -n "${REGISTRY_GATEWAY_TOKEN:-}" ]; then
	export REGISTRY_GATEWAY_TOKEN
	export GATEWAY_REGISTRY_TOKEN=${GATEWAY_REGISTRY_TOKEN:-$REGISTRY_GATEWAY_TOKEN}
fi

# The simulator's MQTT password: the embedded broker admits only the
# credentials the registry issued. Generated once into
# $VAR_DIR/secrets/bridge-password (mode 0600); the registry ensures the demo
# bridge "simulateur" with it (REGISTRY_DEMO_BRIDGE_PASSWORD, given to the
# registry alone) and the firmware bridge publishes as bridge.simulateur
# (BRIDGE_MQTT_USERNAME and BRIDGE_MQTT_PASSWORD, given to it alone). Set
# REGISTRY_DEMO_BRIDGE_PASSWORD to use your own.
if [ -z "${REGISTRY_DEMO_BRIDGE_PASSWORD:-}" ]; then
	secret="$VAR_DIR/secrets/bridge-password"
	if [ ! -s "$secret" ]; then
		(
			umask 077
			mkdir -p "$VAR_DIR/secrets" &&
				printf '%s\n' "$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')" >"$secret.tmp" &&
				mv "$secret.tmp" "$secret"
		) || { printf 'civisens: cannot write %s\n' "$secret" >&2; exit 1; }
	fi
	chmod 600 "$secret"
	REGISTRY_DEMO_BRIDGE_PASSWORD=$(cat "$secret")
fi
bridge_password=$REGISTRY_DEMO_BRIDGE_PASSWORD
unset REGISTRY_DEMO_BRIDGE_PASSWORD

names=()
pids=()
stopping=0

say() { printf 'civisens: %s\n' "$*"; }

stop_all() {
	[ "$stopping" = 1 ] && return
	stopping=1
	trap '' INT TERM
	say "stopping…"
	# Reverse order: producers first, InfluxDB last, so nothing is lost in flight.
	local i
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -TERM "${pids[i]}" 2>/dev/null
		wait_gone "${pids[i]}" 15 || {
			say "${names[i]} (pid ${pids[i]}) did not stop in 15 s; killing it"
			kill -KILL "${pids[i]}" 2>/dev/null
		}
		wait "${pids[i]}" 2>/dev/null
	done
	say "stopped."
}

# running PID: the process exists and is not a zombie awaiting its wait.
running() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# wait_gone PID SECONDS: true once PID has exited.
wait_gone() {
	local pid=$1 n=$(($2 * 10))
	while running "$pid" && [ "$n" -gt 0 ]; do
		sleep 0.1
		n=$((n - 1))
	done
	! running "$pid"
}

on_signal() {
	stop_all
	exit 0
}
trap on_signal INT TERM
trap stop_all EXIT

# start NAME LOGFILE COMMAND…: run in the background, remember its PID.
start() {
	local name=$1 log=$2
	shift 2
	"$@" >>"$log" 2>&1 &
	pids+=($!)
	names+=("$name")
}

# port_free HOST:PORT: nothing listens there yet.
port_free() {
	local host=${1%:*} port=${1##*:}
	! (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

# wait_port NAME HOST:PORT SECONDS: until something listens, or the process died.
wait_port() {
	local name=$1 addr=$2 n=$(($3 * 10)) host=${2%:*} port=${2##*:} i=$((${#pids[@]} - 1))
	while [ "$n" -gt 0 ]; do
		if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
			return 0
		fi
		if ! running "${pids[i]}"; then
			say "$name exited at start; the end of its log ($logs/$name.log):"
			tail -n 20 "$logs/$name.log" >&2
			return 1
		fi
		sleep 0.1
		n=$((n - 1))
	done
	say "$name does not listen on $addr after $3 s; see $logs/$name.log"
	return 1
}

for addr in "$REGISTRY_LISTEN" "$GATEWAY_HTTP_LISTEN"; do
	port_free "$addr" || { say "$addr is already in use: is civisens already running? (see README, Configuration)"; exit 1; }
done
if [ -z "${BROKER_URL:-}" ]; then
	port_free "$GATEWAY_MQTT_LISTEN" || { say "$GATEWAY_MQTT_LISTEN is already in use (another MQTT broker?): stop it, or set BROKER_URL or GATEWAY_MQTT_LISTEN"; exit 1; }
fi

# 1. InfluxDB.
if [ -z "${INFLUX_URL:-}" ]; then
	port_free "127.0.0.1:$INFLUXD_PORT" || { say "127.0.0.1:$INFLUXD_PORT is already in use: stop that InfluxDB, or set INFLUX_URL to use it"; exit 1; }
	start influxd "$logs/influxd.log" scripts/influxd.sh run "$VAR_DIR/influxdb" "$INFLUXD_PORT" "$INFLUXD_RPC_PORT"
	wait_port influxd "127.0.0.1:$INFLUXD_PORT" 60 || exit 1
	export INFLUX_URL="http://127.0.0.1:$INFLUXD_PORT"
	influx_where="$INFLUX_URL (InfluxDB 1.8.10, data in $VAR_DIR/influxdb)"
else
	influx_where="$INFLUX_URL (yours)"
fi

# 2. The registry, seeded with the demo town on its first start.
start registry "$logs/registry.log" env REGISTRY_DEMO_BRIDGE_PASSWORD="$bridge_password" "$BIN_DIR/registry" -demo
wait_port registry "$REGISTRY_LISTEN" 30 || exit 1

# 3. The gateway, with its embedded broker unless BROKER_URL names one.
start gateway "$logs/gateway.log" "$BIN_DIR/gateway"
wait_port gateway "$GATEWAY_HTTP_LISTEN" 30 || exit 1
if [ -z "${BROKER_URL:-}" ]; then
	wait_port gateway "$GATEWAY_MQTT_LISTEN" 30 || exit 1
	broker="tcp://$GATEWAY_MQTT_LISTEN (embedded in the gateway)"
else
	broker="$BROKER_URL (yours)"
fi
bridge_broker=${BROKER_URL:-tcp://$GATEWAY_MQTT_LISTEN}

# 4. The firmware bridge, simulating every published sensor: through the
# embedded broker as the demo bridge bridge.simulateur (unless
# BRIDGE_MQTT_USERNAME says otherwise); an external broker is yours to
# configure.
bridge_env=()
if [ -z "${BROKER_URL:-}" ] && [ -z "${BRIDGE_MQTT_USERNAME:-}" ]; then
	bridge_env=(BRIDGE_MQTT_USERNAME=bridge.simulateur BRIDGE_MQTT_PASSWORD="$bridge_password")
fi
# At the first start, the simulator first publishes two days of history (a
# pack every 5 minutes per sensor, oldest first), so that the register's
# charts and the gateway's aggregates have something to show at once.
if [ -z "${BRIDGE_BACKFILL:-}" ] && [ ! -e "$BRIDGE_DATA_DIR/backfilled" ]; then
	bridge_env+=(BRIDGE_BACKFILL=2d)
	mkdir -p "$BRIDGE_DATA_DIR" && touch "$BRIDGE_DATA_DIR/backfilled"
fi
start firmware-bridge "$logs/firmware-bridge.log" env "${bridge_env[@]}" "$BIN_DIR/firmware-bridge" -mode simulate -broker-url "$bridge_broker"

cat <<EOF

civisens is running:
  public register    http://$REGISTRY_LISTEN/
  register API       http://$REGISTRY_LISTEN/api/v1/sensors
  MQTT broker        $broker
  gateway metrics    http://$GATEWAY_HTTP_LISTEN/metrics   (health: /healthz)
  InfluxDB           $influx_where, database civisens
  simulated sensors  every published sensor, over MQTT (firmware-bridge -mode simulate,
                     as bridge.simulateur; its password: $VAR_DIR/secrets/bridge-password)
  logs               $logs/{influxd,registry,gateway,firmware-bridge}.log

Ctrl-C stops everything.
EOF

# Wait until Ctrl-C (the trap stops everything), or until one of our
# processes dies on its own.
while :; do
	wait -n "${pids[@]}"
	rc=$?
	for i in "${!pids[@]}"; do
		if ! running "${pids[i]}"; then
			case $rc in
			0 | 130 | 143)
				# Ended by the terminal's Ctrl-C, which reaches the whole
				# process group, just before our own trap ran.
				on_signal
				;;
			esac
			say "${names[i]} stopped on its own (exit $rc); the end of its log:"
			tail -n 20 "$logs/${names[i]}.log" >&2
			exit 1
		fi
	done
done
