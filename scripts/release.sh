#!/usr/bin/env bash
# make release / make snapshot: idcon's release artefacts in $DIST (dist/):
#   idcon_VERSION_OS_ARCH.tar.gz  for each of $TARGETS: the binary, README,
#                                 LICENSES.txt (the licenses of the modules
#                                 compiled in), man pages, completions, the
#                                 systemd unit and docs/OPERATING.md
#   idcon_VERSION_ARCH.deb/.rpm   for each linux target, built by nfpm
#   SHA256SUMS
# A release needs a tag on HEAD and a clean tree (SNAPSHOT=1 builds from
# any commit, for CI). Builds are reproducible: -trimpath, no VCS stamp,
# the commit's date everywhere a date goes.
#
# Why a script and not goreleaser: goreleaser v2.18.2 (the one the module
# proxy has) needs Go >= 1.27.1 and this project is held at Go 1.26
# (GOTOOLCHAIN=local); its binary releases can't be downloaded here; and
# building it would cost CI minutes. nfpm, the packager goreleaser itself
# uses, is installed pinned through the module proxy (35 s).
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
SNAPSHOT=${SNAPSHOT:-0}
TARGETS=${TARGETS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64}
PACKAGES=${PACKAGES:-deb rpm}
DIST=${DIST:-dist}
NFPM=${NFPM:-.tools/bin/nfpm}

die() { echo "release: $*" >&2; exit 1; }

COMMIT=$(git rev-parse HEAD)
DATE=$(TZ=UTC git log -1 --date=format-local:%Y-%m-%dT%H:%M:%SZ --format=%cd)
EPOCH=$(git log -1 --format=%ct)
if [ "$SNAPSHOT" = 1 ]; then
    VERSION=${VERSION:-$(git describe --tags --always --dirty)}
    # Debian and RPM versions start with a digit: a snapshot sorts below
    # every release.
    PKG_VERSION="0.0.0~snapshot.$(git rev-parse --short=12 HEAD)"
else
    VERSION=${VERSION:-$(git describe --tags --exact-match 2>/dev/null)} ||
        die "HEAD has no tag: tag it (git tag v1.2.3), or run make snapshot"
    [ -z "$(git status --porcelain)" ] || die "the tree has uncommitted changes: commit or stash them, or run make snapshot"
    case "$VERSION" in v[0-9]*) ;; *) die "the tag $VERSION is not vMAJOR.MINOR.PATCH" ;; esac
    PKG_VERSION=${VERSION#v}
    PKG_VERSION=${PKG_VERSION//-/\~} # v1.2.0-rc1 sorts before 1.2.0
fi
LDFLAGS="-s -w -X github.com/idcon/idcon/cli.Version=$VERSION -X github.com/idcon/idcon/cli.Commit=$COMMIT -X github.com/idcon/idcon/cli.Date=$DATE"
export SOURCE_DATE_EPOCH=$EPOCH CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false"

rm -rf "$DIST"
mkdir -p "$DIST"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "release: idcon $VERSION ($COMMIT, $DATE)"
"$GO" run ./tools/gendocs -o "$work/docs" -version "$VERSION" -date "$DATE"

# reproducible tar.gz of folder $2 (under $1) as $3
pack() {
    tar -C "$1" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$EPOCH" -cf - "$2" | gzip -9n > "$3"
}

for target in $TARGETS; do
    os=${target%/*} arch=${target#*/}
    name="idcon_${VERSION}_${os}_${arch}"
    stage="$work/$name"
    mkdir -p "$stage/doc"
    echo "release: $target"
    GOOS=$os GOARCH=$arch "$GO" build -trimpath -ldflags "$LDFLAGS" -o "$stage/idcon" .
    # The licenses of every module compiled into this target's binary.
    {
        echo "idcon $VERSION for $os/$arch is built from these Go modules; their licenses follow."
        echo
        GOOS=$os GOARCH=$arch "$GO" list -deps -f '{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}} {{.Dir}}{{end}}{{end}}' . | sort -u |
        while read -r path version dir; do
            [ -n "$path" ] || continue
            echo "================================================================"
            echo "$path $version"
            echo "================================================================"
            found=0
            for f in "$dir"/LICENSE* "$dir"/LICENCE* "$dir"/COPYING* "$dir"/NOTICE* "$dir"/PATENTS*; do
                [ -f "$f" ] || continue
                echo "--- $(basename "$f")"; cat "$f"; echo; found=1
            done
            [ $found = 1 ] || echo "(no license file in the module)"
            echo
        done
    } > "$stage/LICENSES.txt"
    cp README.md "$stage/"
    cp docs/OPERATING.md docs/SSH.md "$stage/doc/"
    cp -r "$work/docs/man" "$work/docs/completions" "$stage/"
    cp packaging/idcon-serve.service "$stage/"
    pack "$work" "$name" "$DIST/$name.tar.gz"

    if [ "$os" = linux ]; then
        for p in $PACKAGES; do
            if [ ! -x "$NFPM" ]; then
                die "no nfpm at $NFPM: make release installs it (make .tools/bin/nfpm), or set NFPM"
            fi
            pkgstage="$work/pkg-$arch"
            rm -rf "$pkgstage"; mkdir -p "$pkgstage/man" "$pkgstage/doc"
            cp "$stage/idcon" "$pkgstage/"
            cp -r "$stage/completions" "$pkgstage/"
            for m in "$stage"/man/*.1; do gzip -9n < "$m" > "$pkgstage/man/$(basename "$m").gz"; done
            cp README.md "$stage/LICENSES.txt" docs/OPERATING.md docs/SSH.md "$pkgstage/doc/"
            case "$p:$arch" in
                deb:*) pkgarch=$arch ;;
                rpm:amd64) pkgarch=x86_64 ;;
                rpm:arm64) pkgarch=aarch64 ;;
                *) pkgarch=$arch ;;
            esac
            # nfpm reads no variables in contents: fill them in.
            sed -e "s|\${STAGE}|$pkgstage|g" -e "s|\${PKG_ARCH}|$arch|g" -e "s|\${PKG_VERSION}|$PKG_VERSION|g" \
                packaging/nfpm.yaml > "$work/nfpm.yaml"
            "$NFPM" package --config "$work/nfpm.yaml" --packager "$p" \
                --target "$DIST/idcon_${PKG_VERSION}_${pkgarch}.$p" >/dev/null
        done
    fi
done

(cd "$DIST" && sha256sum -- *.tar.gz $(ls *.deb *.rpm 2>/dev/null) > SHA256SUMS)
echo "release: $(ls "$DIST" | wc -l) files in $DIST:"
(cd "$DIST" && ls -l)
