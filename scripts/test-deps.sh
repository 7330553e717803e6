#!/usr/bin/env bash
# test-deps.sh — install what civisens' tests need when it is absent:
# Debian's mosquitto (the external broker of the interoperability tests, and
# mosquitto_pub, a real client), Debian's chromium (the browser tests) and
# InfluxDB 1.8.10 in bin/.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

"$root/scripts/influxd.sh" install

have_mosquitto() {
	command -v mosquitto_pub >/dev/null 2>&1 &&
		{ command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]; }
}
have_chromium() { command -v chromium >/dev/null 2>&1; }

if ! have_mosquitto || ! have_chromium; then
	echo "test-deps: installing Debian's mosquitto, mosquitto-clients and chromium" >&2
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 || { echo "test-deps: need root (or sudo) to apt-get install mosquitto and chromium" >&2; exit 1; }
		sudo=sudo
	fi
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	fresh_mosquitto=0
	have_mosquitto || fresh_mosquitto=1
	$sudo apt-get install -y -qq mosquitto mosquitto-clients chromium >/dev/null
	# Debian starts a system broker on 1883 when it installs one; the tests
	# run their own on free ports, and `make run` needs 1883 for the
	# gateway's embedded broker.
	if [ "$fresh_mosquitto" = 1 ] && command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet mosquitto 2>/dev/null; then
		$sudo systemctl stop mosquitto || true
		$sudo systemctl disable mosquitto >/dev/null 2>&1 || true
	fi
fi
have_mosquitto || { echo "test-deps: mosquitto still missing" >&2; exit 1; }
have_chromium || { echo "test-deps: chromium still missing" >&2; exit 1; }
