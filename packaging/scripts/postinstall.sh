#!/bin/sh
# postinst of the civisens package: the system user civisens, the data
# folders, the secrets the programs share, and systemd told of the units.
# It enables and starts nothing: the administrator configures
# /etc/civisens/ first, then `systemctl enable --now civisens.target`
# (README.md, "On a Raspberry Pi"). It tolerates a machine where systemd
# does not run (a container, a chroot, an image being built).
set -e

case "$1" in
configure) ;;
*) exit 0 ;;
esac

# The user and group civisens, without a shell or a home of its own.
if ! getent passwd civisens >/dev/null; then
	if command -v adduser >/dev/null 2>&1; then
		adduser --quiet --system --group --home /var/lib/civisens --no-create-home \
			--shell /usr/sbin/nologin --gecos "civisens services" civisens
	else
		useradd --system --user-group --home-dir /var/lib/civisens --no-create-home \
			--shell /usr/sbin/nologin --comment "civisens services" civisens
	fi
fi

# The data folders (the units' StateDirectory= would make them too).
for d in /var/lib/civisens /var/lib/civisens/registry /var/lib/civisens/gateway /var/lib/civisens/firmware-bridge; do
	install -d -o civisens -g civisens -m 0750 "$d"
done

# The secrets, generated once, readable by root only: systemd reads them
# (EnvironmentFile=) before it drops to the user civisens, and gives each
# program only its own. What scripts/run.sh does for `make run`: the
# gateway's API token on the registry, and the MQTT password of the demo's
# firmware bridge.
secrets=/etc/civisens/secrets
install -d -o root -g root -m 0700 "$secrets"
umask 077
random() { head -c "$1" /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }
value() { [ -f "$2" ] && sed -n "s/^#\{0,1\}$1=//p" "$2" | head -n 1 || true; }

token=$(value REGISTRY_GATEWAY_TOKEN "$secrets/registry.env")
[ -n "$token" ] || token=$(value GATEWAY_REGISTRY_TOKEN "$secrets/gateway.env")
[ -n "$token" ] || token="cvs_$(random 32)"
password=$(value BRIDGE_MQTT_PASSWORD "$secrets/firmware-bridge.env")
[ -n "$password" ] || password=$(value REGISTRY_DEMO_BRIDGE_PASSWORD "$secrets/registry.env")
[ -n "$password" ] || password=$(random 24)

if [ ! -e "$secrets/registry.env" ]; then
	cat >"$secrets/registry.env.tmp" <<END
# Secrets of civisens-registry.service, generated at installation.
# The gateway's API token (role gateway), the same as in gateway.env.
REGISTRY_GATEWAY_TOKEN=$token
# With REGISTRY_DEMO=true only: the MQTT password of the demo's bridge
# bridge.simulateur, the same as in firmware-bridge.env.
#REGISTRY_DEMO_BRIDGE_PASSWORD=$password
END
	mv "$secrets/registry.env.tmp" "$secrets/registry.env"
fi
if [ ! -e "$secrets/gateway.env" ]; then
	cat >"$secrets/gateway.env.tmp" <<END
# Secrets of civisens-gateway.service, generated at installation.
# Its API token on the registry, the same as in registry.env.
GATEWAY_REGISTRY_TOKEN=$token
END
	mv "$secrets/gateway.env.tmp" "$secrets/gateway.env"
fi
if [ ! -e "$secrets/firmware-bridge.env" ]; then
	cat >"$secrets/firmware-bridge.env.tmp" <<END
# Secrets of civisens-firmware-bridge.service, generated at installation.
# The MQTT password of BRIDGE_MQTT_USERNAME (the demo's bridge.simulateur,
# or the one POST /api/v1/bridges/<id>/credentials gave).
BRIDGE_MQTT_PASSWORD=$password
END
	mv "$secrets/firmware-bridge.env.tmp" "$secrets/firmware-bridge.env"
fi
chown root:root "$secrets"/*.env
chmod 0600 "$secrets"/*.env

# systemd, when it runs: read the units again; after an upgrade, restart
# the programs that were running.
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
	if [ -n "$2" ]; then
		systemctl try-restart civisens-registry.service civisens-gateway.service civisens-firmware-bridge.service || true
	fi
fi
exit 0
