#!/usr/bin/env bash
# arm-tests.sh — run the tests of the ARM builds, not only compile them, for
# `make test` (and so CI):
#
#   1. installs Debian's qemu-user-static with apt-get (as root, or with
#      sudo) when qemu-arm-static / qemu-aarch64-static are absent; where the
#      Debian release has no qemu-user-static, qemu-user's qemu-arm /
#      qemu-aarch64 serve;
#   2. compiles, with `go test -c` and CGO_ENABLED=0, the test binaries of the
#      packages below for the Raspberry Pi targets of `make cross`:
#      linux/arm GOARM=6 (Pi Zero, Pi 1), linux/arm GOARM=7 (Pi 2, 3) and
#      linux/arm64 (Pi 3, 4, 5 on a 64-bit OS), into var/arm-tests/;
#   3. runs each binary under qemu-user, called explicitly (binfmt_misc is
#      neither needed nor used, so it works in a container), in its package's
#      folder so that testdata/ (golden files, fuzz seed corpora) is found.
#
# The CPU is named so that each build is exercised on the oldest core it
# targets: arm1176 (ARMv6, Pi Zero/1) for GOARM=6 — qemu-arm otherwise
# emulates an ARMv7+ core and an ARMv7-only instruction would pass unseen —,
# cortex-a7 (Pi 2) for GOARM=7, cortex-a53 (Pi 3) for arm64.
#
# These packages need no server; ARM_TESTS_FLAGS adds test flags (for
# example ARM_TESTS_FLAGS=-test.short or -test.run=...). Exits non-zero if a
# binary fails to build or a test fails; prints pass/fail and time per
# target and package.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
GO=${GO:-go}
out="$root/var/arm-tests"

packages=(
	gateway/internal/spool
	gateway/internal/validate
	gateway/internal/aggregate
	firmware-bridge/senml
	firmware-bridge/internal/firmware
	firmware-bridge/internal/mapping
)
# name GOARCH GOARM qemu CPU
targets=(
	"arm6  arm   6 arm     arm1176"
	"arm7  arm   7 arm     cortex-a7"
	"arm64 arm64 - aarch64 cortex-a53"
)

# qemu_bin NAME prints the path of qemu-NAME-static (Debian's
# qemu-user-static), else of qemu-NAME (qemu-user).
qemu_bin() { command -v "qemu-$1-static" 2>/dev/null || command -v "qemu-$1" 2>/dev/null; }
have_static() { command -v qemu-arm-static && command -v qemu-aarch64-static; } >/dev/null 2>&1
have_qemu() { qemu_bin arm && qemu_bin aarch64; } >/dev/null 2>&1
static_available() { [[ $(apt-cache policy qemu-user-static 2>/dev/null) == *'Candidate: '[0-9]* ]]; }

# Install qemu-user-static unless it is there, or qemu-user is there and this
# Debian release has no qemu-user-static.
if ! have_static && { ! have_qemu || static_available; }; then
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 || sudo=none
		[ "$sudo" = none ] || sudo=sudo
	fi
	if [ "$sudo" = none ]; then
		have_qemu || { echo "arm-tests: need root (or sudo) to apt-get install qemu-user-static" >&2; exit 1; }
		echo "arm-tests: no root to install qemu-user-static; using $(qemu_bin arm)" >&2
	else
		export DEBIAN_FRONTEND=noninteractive
		$sudo apt-get update -qq
		pkg=qemu-user-static
		static_available || pkg=qemu-user
		echo "arm-tests: installing Debian's $pkg" >&2
		$sudo apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
	fi
fi
have_qemu || { echo "arm-tests: qemu-arm or qemu-aarch64 still missing" >&2; exit 1; }

# ms prints the milliseconds since the epoch.
ms() { echo $(($(date +%s%N) / 1000000)); }
# secs MS prints MS milliseconds as seconds with one decimal.
secs() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); }

start=$(ms)
rm -rf "$out"
echo "arm-tests: building test binaries into ${out#"$root/"}/"
for t in "${targets[@]}"; do
	read -r name goarch goarm _ _ <<<"$t"
	mkdir -p "$out/$name"
	for p in "${packages[@]}"; do
		# One binary per package: its name, not its import path's last element.
		CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=${goarm#-} \
			$GO test -c -vet=off -o "$out/$name/$(echo "$p" | tr / _).test" "./$p"
	done
done
echo "arm-tests: built in $(secs $(($(ms) - start))) s"

failed=0
results=()
for t in "${targets[@]}"; do
	read -r name _ _ qemu cpu <<<"$t"
	q=$(qemu_bin "$qemu")
	for p in "${packages[@]}"; do
		bin="$out/$name/$(echo "$p" | tr / _).test"
		log="${bin%.test}.log"
		t0=$(ms)
		status=ok
		# shellcheck disable=SC2086 # ARM_TESTS_FLAGS is a list of flags
		(cd "$root/$p" && "$q" -cpu "$cpu" "$bin" -test.count=1 -test.timeout=10m ${ARM_TESTS_FLAGS:-}) >"$log" 2>&1 || status=FAIL
		took=$(secs $(($(ms) - t0)))
		line=$(printf '%-5s %-4s %6s s  %s' "$name" "$status" "$took" "$p")
		echo "arm-tests: $line"
		results+=("$line")
		if [ "$status" != ok ]; then
			failed=1
			tail -n 40 "$log" | sed 's/^/    /'
		fi
	done
done

echo "arm-tests: summary (qemu: $(qemu_bin arm), $(qemu_bin aarch64); logs in ${out#"$root/"}/)"
printf '  %s\n' "${results[@]}"
echo "arm-tests: total $(secs $(($(ms) - start))) s"
if [ "$failed" -ne 0 ]; then
	echo "arm-tests: FAIL" >&2
	exit 1
fi
