#!/bin/sh
# prerm of the civisens package: on removal, stop and disable the units
# (an upgrade keeps them running; the new postinst restarts them).
set -e
units="civisens.target civisens-firmware-bridge.service civisens-gateway.service civisens-registry.service"
case "$1" in
remove | deconfigure)
	if [ -d /run/systemd/system ]; then
		systemctl stop $units || true
	fi
	# Offline too: systemctl disable only removes the symlinks.
	systemctl disable $units >/dev/null 2>&1 || true
	;;
esac
exit 0
