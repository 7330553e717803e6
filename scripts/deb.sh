#!/usr/bin/env bash
# deb.sh — what `make deb` does: build the three programs for each Debian
# architecture (amd64; arm64: Raspberry Pi 3, 4, 5 on a 64-bit OS; armhf:
# Raspberry Pi OS 32-bit, built for ARMv6 so that the Pi Zero and Pi 1 run
# it too) and package each set with nfpm (packaging/nfpm.yaml) into
# var/dist/civisens_<version>_<arch>.deb.
#
#   DEB_ARCHES   the architectures (default "amd64 arm64 armhf")
#   DEB_VERSION  the package's version (default: from `git describe --tags`
#                when a tag v1.2.3 exists, else 0.0.0+<date>.<commit>)
#   DEB_OUT      where the .deb files go (default var/dist)
#   NFPM         the nfpm command (default: nfpm v2.45.2 through `go run`,
#                which fetches it through the Go module proxy once; it is
#                not a dependency of the module)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

GO=${GO:-go}
DEB_ARCHES=${DEB_ARCHES:-amd64 arm64 armhf}
DEB_OUT=${DEB_OUT:-var/dist}
NFPM=${NFPM:-$GO run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2}

# version: a Debian version, which starts with a digit.
version() {
	local d
	if d=$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null); then
		d=${d#v}
		# v1.2.3-4-gabcdef → 1.2.3+4.gabcdef (newer than 1.2.3, older than 1.2.4)
		d=${d/-/+}
		echo "${d//-/.}"
		return
	fi
	local commit
	commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
		commit=$commit.dirty
	fi
	echo "0.0.0+$(date -u +%Y%m%d%H%M).$commit"
}
DEB_VERSION=${DEB_VERSION:-$(version)}
export DEB_VERSION

mkdir -p "$DEB_OUT"
for arch in $DEB_ARCHES; do
	case $arch in
	amd64) goarch=amd64 goarm= ;;
	arm64) goarch=arm64 goarm= ;;
	armhf) goarch=arm goarm=6 ;;
	*)
		echo "deb: unknown architecture $arch (amd64, arm64, armhf)" >&2
		exit 2
		;;
	esac
	build=var/deb/$arch
	rm -rf "$build"
	mkdir -p "$build"
	echo "deb: building the programs for $arch (GOARCH=$goarch${goarm:+ GOARM=$goarm})"
	for p in registry gateway firmware-bridge; do
		CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=$goarm \
			$GO build -trimpath -ldflags "-s -w -X main.version=$DEB_VERSION" -o "$build/civisens-$p" "./$p"
	done
	rm -f "$DEB_OUT/civisens_${DEB_VERSION}_$arch.deb"
	# nfpm expands ${DEB_ARCH} and ${DEB_VERSION} itself, not the sources'
	# paths: ${DEB_BUILD} is replaced here.
	sed "s|\${DEB_BUILD}|$build|g" packaging/nfpm.yaml >"$build/nfpm.yaml"
	DEB_ARCH=$arch $NFPM package --config "$build/nfpm.yaml" --packager deb --target "$DEB_OUT/"
done
ls -l "$DEB_OUT"/civisens_"${DEB_VERSION}"_*.deb
