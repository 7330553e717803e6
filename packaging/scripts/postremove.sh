#!/bin/sh
# postrm of the civisens package. remove: systemd forgets the units;
# /etc/civisens and /var/lib/civisens stay. purge: the configuration and the
# generated secrets go too; the data in /var/lib/civisens (the register, the
# spool) and the user civisens stay, as Debian keeps a system user's files:
# `rm -rf /var/lib/civisens && deluser --system civisens` to remove them.
set -e
case "$1" in
remove | purge)
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload || true
	fi
	;;
esac
if [ "$1" = purge ]; then
	rm -rf /etc/civisens/secrets
	rmdir /etc/civisens 2>/dev/null || true
	if [ -d /var/lib/civisens ]; then
		echo "civisens: the data in /var/lib/civisens and the user civisens are kept" >&2
	fi
fi
exit 0
