#!/usr/bin/env bash
# web-assets.sh — the registry's third-party browser files, from npm, for
# `make build` (and so `make run`) and `make test`:
#
#   1. installs Debian's nodejs and npm with apt-get when absent;
#   2. runs `npm ci` in registry/internal/web/assets/ when node_modules is
#      missing or package-lock.json changed since the last install;
#   3. copies Leaflet (leaflet.js, leaflet.css, images/, LICENSE) into
#      registry/internal/web/static/vendor/leaflet/, which the registry
#      embeds (gitignored), and axe-core's axe.min.js into
#      var/vendor/axe.min.js, for the browser tests only: it is not
#      embedded.
#
# No CDN: the browser loads everything from the registry.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
assets="$root/registry/internal/web/assets"
vendor="$root/registry/internal/web/static/vendor"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "web-assets: installing Debian's nodejs and npm" >&2
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 || { echo "web-assets: need root (or sudo) to apt-get install nodejs and npm" >&2; exit 1; }
		sudo=sudo
	fi
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq nodejs npm >/dev/null
fi

# npm ci when node_modules is missing or the lock file changed: the lock's
# checksum is kept in node_modules after a successful install.
stamp="$assets/node_modules/.civisens-lock.sha256"
want=$(sha256sum "$assets/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
	echo "web-assets: npm ci in registry/internal/web/assets" >&2
	(cd "$assets" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
	printf '%s\n' "$want" >"$stamp"
fi

# copy SRC DST: only when different, so that builds stay cached.
copy() {
	mkdir -p "$(dirname "$2")"
	cmp -s "$1" "$2" 2>/dev/null || cp "$1" "$2"
}
leaflet="$assets/node_modules/leaflet"
copy "$leaflet/dist/leaflet.js" "$vendor/leaflet/leaflet.js"
copy "$leaflet/dist/leaflet.css" "$vendor/leaflet/leaflet.css"
copy "$leaflet/LICENSE" "$vendor/leaflet/LICENSE"
for img in "$leaflet"/dist/images/*.png; do
	copy "$img" "$vendor/leaflet/images/$(basename "$img")"
done
copy "$assets/node_modules/axe-core/axe.min.js" "$root/var/vendor/axe.min.js"
