#!/usr/bin/env bash
# Builds the Debian package mosquitto-shadow_<version>_<arch>.deb from this
# source tree: the plugin and shadowctl compiled with Debian's build flags,
# the configuration snippet that loads the plugin into Debian's mosquitto
# service, a drop-in for mosquitto.service, the shadowctl man page and the
# documentation. docs/debian-package.md describes the package.
#
# Usage: scripts/package.sh [--revision N] [--build-dir DIR] [--out DIR]
#   --revision N     Debian revision, default 1 (or $SHADOW_DEB_REVISION).
#                    The package version is <project version>-N, where the
#                    project version is the one of project() in CMakeLists.txt.
#                    A higher N rebuilds the same source as an upgrade.
#   --build-dir DIR  CMake build tree of the package, default build-deb. It
#                    is configured for the prefix /usr with Debian's flags,
#                    so it is separate from the development tree build/.
#   --out DIR        where the .deb is written, default the current directory
# Maintainer: $DEBFULLNAME <$DEBEMAIL>, as for Debian's own tools, when set.
#
# The package is assembled with dpkg-deb, and its Depends come from
# dpkg-shlibdeps, rather than with CPack: every file, mode and maintainer
# script is then visible here and in scripts/debian/, and what lintian
# expects (compressed changelog and man page without timestamps, a copyright
# file, root-owned files) needs no CPack variables to work around.
set -euo pipefail

log() { echo "package: $*"; }
die() { echo "package: error: $*" >&2; exit 1; }

umask 022
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
caller_dir=$PWD
revision=${SHADOW_DEB_REVISION:-1}
build_dir=build-deb
out_dir=$PWD
while [[ $# -gt 0 ]]; do
  case "$1" in
    --revision) revision=${2:?--revision needs a value}; shift 2 ;;
    --build-dir) build_dir=${2:?--build-dir needs a value}; shift 2 ;;
    --out) out_dir=${2:?--out needs a value}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
# Characters Debian allows in a revision; it must start with a digit.
[[ $revision =~ ^[0-9][A-Za-z0-9.+~]*$ ]] ||
  die "--revision '$revision' is not a Debian revision (a digit, then letters, digits, '.', '+' or '~')"
mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)
cd "$repo"
[[ $build_dir = /* ]] || build_dir=$repo/$build_dir

for tool in cmake:cmake dpkg-deb:dpkg dpkg-shlibdeps:dpkg-dev dpkg-buildflags:dpkg-dev \
            dpkg-architecture:dpkg-dev help2man:help2man strip:binutils; do
  command -v "${tool%%:*}" >/dev/null 2>&1 ||
    die "${tool%%:*} is missing: run scripts/install-deps.sh (as root), or apt-get install ${tool#*:}"
done
mosquitto_dev=$(dpkg-query -W -f='${Version}' mosquitto-dev 2>/dev/null) ||
  die "mosquitto-dev is not installed: run scripts/install-deps.sh (as root)"

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

# --- build ------------------------------------------------------------------
# Debian's compiler and linker flags with every hardening feature (stack
# protector, fortify, relro, bind now). CMake does not read CPPFLAGS, so they
# join the compiler flags as debhelper does it. The build type None adds no
# flags of its own.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cppflags=$(dpkg-buildflags --get CPPFLAGS)
cflags="$(dpkg-buildflags --get CFLAGS) $cppflags"
cxxflags="$(dpkg-buildflags --get CXXFLAGS) $cppflags"
ldflags=$(dpkg-buildflags --get LDFLAGS)
log "configuring $build_dir (prefix /usr, Debian build flags)"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=None -DCMAKE_INSTALL_PREFIX=/usr \
  -DSHADOW_BUILD_TESTS=OFF -DSHADOW_BUILD_BENCHMARKS=OFF \
  -DCMAKE_C_FLAGS="$cflags" -DCMAKE_CXX_FLAGS="$cxxflags" \
  -DCMAKE_EXE_LINKER_FLAGS="$ldflags" -DCMAKE_MODULE_LINKER_FLAGS="$ldflags" \
  -DCMAKE_SHARED_LINKER_FLAGS="$ldflags" >/dev/null
log "building the plugin and shadowctl (a few minutes the first time)"
cmake --build "$build_dir" -j"$(nproc)" --target mosquitto_shadow shadowctl

upstream=$(cat "$build_dir/project-version.txt")
version=$upstream-$revision
deb=$out_dir/mosquitto-shadow_${version}_${arch}.deb

# --- files ------------------------------------------------------------------
# The package's tree is laid out as Debian's tools expect it:
# deb/debian/control (for dpkg-shlibdeps) and deb/debian/mosquitto-shadow/.
workdir=$build_dir/deb
stage=$workdir/debian/mosquitto-shadow
rm -rf "$workdir"
DESTDIR=$stage cmake --install "$build_dir" >/dev/null
plugin=/usr/lib/$multiarch/mosquitto-shadow/mosquitto_shadow.so
[[ -f $stage$plugin ]] || die "cmake --install did not put the plugin at $plugin"
[[ -x $stage/usr/bin/shadowctl ]] || die "cmake --install did not put shadowctl in /usr/bin"
# Stripped as dh_strip does it: no debug information, no .comment and .note
# sections. A plugin is loaded with dlopen, never executed: mode 0644.
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$stage$plugin"
strip --remove-section=.comment --remove-section=.note "$stage/usr/bin/shadowctl"
chmod 0644 "$stage$plugin"

pkg=scripts/debian
doc=$stage/usr/share/doc/mosquitto-shadow
install -d -m 0755 "$stage/etc/mosquitto/conf.d" "$stage/lib/systemd/system/mosquitto.service.d" \
  "$doc/docs" "$stage/usr/share/man/man1"
sed "s|@PLUGIN_PATH@|$plugin|" $pkg/mosquitto-shadow.conf.in >"$stage/etc/mosquitto/conf.d/mosquitto-shadow.conf"
chmod 0644 "$stage/etc/mosquitto/conf.d/mosquitto-shadow.conf"
install -m 0644 $pkg/mosquitto.service.d.conf \
  "$stage/lib/systemd/system/mosquitto.service.d/mosquitto-shadow.conf"
install -m 0644 $pkg/copyright "$doc/copyright"
install -m 0644 README.md "$doc/README.md"
install -m 0644 docs/*.md "$doc/docs/"
install -d -m 0755 "$stage/usr/share/lintian/overrides"
install -m 0644 $pkg/lintian-overrides "$stage/usr/share/lintian/overrides/mosquitto-shadow"
# lintian expects the first revision of a package to close the bug that
# announced it for Debian, and says so only for revision 1.
if [[ $revision == 1 ]]; then
  printf '\n%s\n%s\n%s\n' "# Built outside the Debian archive: there is no ITP bug for the first" \
    "# changelog entry to close." "mosquitto-shadow: initial-upload-closes-no-bugs" \
    >>"$stage/usr/share/lintian/overrides/mosquitto-shadow"
fi

# The changelog Debian requires: one entry for this build. The date and the
# commit come from git when the tree is a checkout.
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
commit=$(git rev-parse --short HEAD 2>/dev/null || true)
# The project has no public contact address yet (.invalid says so): set
# DEBFULLNAME and DEBEMAIL when you distribute the package.
maintainer="${DEBFULLNAME:-mosquitto-shadow developers} <${DEBEMAIL:-dev@mosquitto-shadow.invalid}>"
{
  echo "mosquitto-shadow ($version) bookworm; urgency=medium"
  echo
  echo "  * Built by scripts/package.sh from mosquitto-shadow $upstream${commit:+ (commit $commit)}."
  echo
  echo " -- $maintainer  $(date -u -R -d "@$epoch")"
} | gzip -9n >"$doc/changelog.Debian.gz"
chmod 0644 "$doc/changelog.Debian.gz"

# shadowctl(1) from its own --help: the global options, then one section per
# command with that command's --help.
shadowctl=$stage/usr/bin/shadowctl
man_include=$build_dir/shadowctl.h2m
{
  echo "[COMMANDS]"
  for command in $("$shadowctl" --help | sed -n '/^Subcommands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'); do
    echo ".SS \"shadowctl $command\""
    echo ".nf"
    "$shadowctl" "$command" --help | sed 's/\\/\\e/g; s/^\([.'"'"']\)/\\\&\1/'
    echo ".fi"
  done
  echo "[SEE ALSO]"
  echo "The full manual is /usr/share/doc/mosquitto-shadow/docs/shadowctl.md;"
  echo "the REST API it uses is described in /usr/share/doc/mosquitto-shadow/docs/rest-api.md."
} >"$man_include"
help2man --no-info --version-string="$upstream" --include="$man_include" \
  --name="read, change, watch and back up the device shadows of mosquitto-shadow" \
  "$shadowctl" | gzip -9n >"$stage/usr/share/man/man1/shadowctl.1.gz"
chmod 0644 "$stage/usr/share/man/man1/shadowctl.1.gz"

# --- control ----------------------------------------------------------------
# Libraries: what dpkg-shlibdeps derives from the ELF files. The broker:
# the plugin API of the Mosquitto series whose headers (mosquitto-dev) it was
# compiled against, from that release on. Its broker functions are resolved
# from the mosquitto executable at load time, which shlibs cannot see.
install -d -m 0755 "$stage/DEBIAN"
printf 'Source: mosquitto-shadow\n\nPackage: mosquitto-shadow\nArchitecture: any\n' >"$workdir/debian/control"
shlibs=$(cd "$workdir" && dpkg-shlibdeps -O -e"debian/mosquitto-shadow$plugin" -edebian/mosquitto-shadow/usr/bin/shadowctl)
shlibs=${shlibs#shlibs:Depends=}
[[ -n $shlibs ]] || die "dpkg-shlibdeps found no library dependencies"
mosquitto_upstream=${mosquitto_dev#*:}
mosquitto_upstream=${mosquitto_upstream%-*}
IFS=. read -r major minor _ <<<"$mosquitto_upstream"
depends="mosquitto (>= $mosquitto_upstream), mosquitto (<< $major.$((minor + 1))~), $shlibs"

installed_size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@MAINTAINER@|$maintainer|" \
    -e "s|@INSTALLED_SIZE@|$installed_size|" -e "s|@DEPENDS@|$depends|" \
    $pkg/control.in >"$stage/DEBIAN/control"
install -m 0644 $pkg/conffiles "$stage/DEBIAN/conffiles"
install -m 0755 $pkg/postinst $pkg/postrm "$stage/DEBIAN/"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
   xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums"

dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
log "built $deb ($(du -h "$deb" | cut -f1))"
log "  Depends: $depends"
shown=$deb
[[ $deb != "$caller_dir"/* ]] || shown=./${deb#"$caller_dir"/}
log "install it with: sudo apt install $shown"
