#!/usr/bin/env bash
# Makes the aarch64 sysroot that --config=aarch64 compiles and links against:
# Debian bookworm's arm64 builds of the libraries in third_party/ (LibTorch
# aside) with their runtime dependencies, unpacked into a folder outside the
# source tree.
#
#   third_party/aarch64/make_sysroot.sh [SYSROOT]
#
# The default SYSROOT is AARCH64_SYSROOT of sysroot.bzl, where the toolchain
# and the qemu wrapper look; another folder is for inspection only.
#
# Packages are fetched with `apt-get download` and unpacked with `dpkg -x`,
# never installed: `apt-get install <pkg>:arm64` beside the amd64 packages
# makes apt remove libtorch-dev and libxnnpack-dev (their pthreadpool
# conflicts). The C and C++ runtimes come from the cross compiler's own
# packages (g++-aarch64-linux-gnu), so those are left out.
#
# Reproducible and idempotent: the arm64 -dev packages must have the upstream
# versions of the installed amd64 ones (the build sees the same headers), and
# a stamp listing every package and version makes a second run with nothing
# changed a no-op.
set -euo pipefail

SYSROOT=${1:-/opt/edgecompress/aarch64-sysroot}

# Every library of third_party/ except LibTorch (targets that need it are
# incompatible with aarch64), so that //inference/..., //tools/bench and the
# other framework-free packages build with their tests; the walk adds the
# shared libraries these depend on.
ROOTS=(
  libabsl-dev
  libxnnpack-dev libpthreadpool-dev libcpuinfo-dev
  libonnx-dev libprotobuf-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcurl4-openssl-dev libcpp-httplib-dev
  libyaml-cpp-dev libsqlite3-dev
)
# Architecture-independent packages (headers only, or googletest's sources
# behind libgtest-dev): no :arm64 suffix.
declare -A ARCH_INDEPENDENT=([googletest]=1 [nlohmann-json3-dev]=1 [libeigen3-dev]=1)

# Provided by the cross toolchain under /usr/aarch64-linux-gnu, or pulled in
# only by libc6-dev (not needed to link): left out of the sysroot.
declare -A TOOLCHAIN_PACKAGES=()
for name in libc6 libc6-dev libgcc-s1 libstdc++6 gcc-12-base linux-libc-dev libc-dev-bin \
            libcrypt1 libcrypt-dev libnsl2 libnsl-dev libtirpc3 libtirpc-dev libtirpc-common \
            rpcsvc-proto; do
  TOOLCHAIN_PACKAGES[$name]=1
done

log() { echo "make_sysroot: $*" >&2; }
die() { echo "make_sysroot: error: $*" >&2; exit 1; }

[[ "$(dpkg --print-foreign-architectures)" == *arm64* ]] ||
  die "dpkg does not know arm64; run: dpkg --add-architecture arm64 && apt-get update"

# The dependency closure in one apt-cache call (each call reads the whole
# two-architecture cache, ~1.5 s). The other names without ":arm64" are the
# host's packages that satisfy a Multi-Arch: foreign dependency.
roots=("${ROOTS[@]/%/:arm64}" nlohmann-json3-dev libeigen3-dev)
packages=()
while read -r name; do
  case "$name" in
    '<'*) continue ;;                  # virtual: a real provider is listed too
    *:arm64)
      [[ -n "${TOOLCHAIN_PACKAGES[${name%:arm64}]:-}" ]] || packages+=("$name") ;;
    *)
      [[ -z "${ARCH_INDEPENDENT[$name]:-}" ]] || packages+=("$name") ;;
  esac
done < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
           --no-breaks --no-replaces --no-enhances "${roots[@]}" | grep -v '^ ' | sort -u)
((${#packages[@]} > ${#ROOTS[@]})) || die "apt knows no arm64 packages (run apt-get update)"

# Pin: each arm64 -dev package must be the upstream version of the amd64 one
# the host build uses, or the two builds would compile against different
# headers (Debian revisions, security fixes, may differ).
declare -A candidate=()
while read -r name version; do
  candidate[$name]=$version
done < <(apt-cache policy "${packages[@]}" |
         awk '/^[^ ]/ {sub(":$", ""); name=$0} /^ *Candidate:/ {print name, $2}')
declare -A host_version=()
while read -r name version; do
  host_version[$name]=$version
done < <(dpkg-query -W -f='${Package} ${Version}\n' "${ROOTS[@]}" 2>/dev/null || true)
stamp_lines=()
for spec in "${packages[@]}"; do
  version=${candidate[$spec]:-}
  [[ -n "$version" && "$version" != "(none)" ]] || die "no candidate version for $spec"
  host=${host_version[${spec%:arm64}]:-}
  [[ -z "$host" || "${host%-*}" == "${version%-*}" ]] ||
    die "$spec is $version but the host has ${spec%:arm64} $host; run apt-get update and upgrade"
  stamp_lines+=("$spec=$version")
done
stamp=$(printf '%s\n' "${stamp_lines[@]}" | sort)

if [[ -f "$SYSROOT/.packages" && "$(cat "$SYSROOT/.packages")" == "$stamp" ]]; then
  log "$SYSROOT is up to date (${#packages[@]} packages)"
  exit 0
fi

log "unpacking ${#packages[@]} arm64 packages into $SYSROOT"
mkdir -p "$(dirname "$SYSROOT")"
work=$(mktemp -d "${SYSROOT%/}.tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs" "$work/root"
# apt-get download, run as root, fetches as the unprivileged _apt user into
# the current directory.
chmod 755 "$work"
if ((EUID == 0)) && id _apt &>/dev/null; then chown _apt "$work/debs"; fi
(cd "$work/debs" && apt-get download -qq "${stamp_lines[@]}") ||
  die "apt-get download failed for some of: ${stamp_lines[*]}"
for deb in "$work"/debs/*.deb; do
  dpkg -x "$deb" "$work/root"
done

# Merge /lib into /usr/lib as a usrmerged system has it, so one -L covers all.
if [[ -d "$work/root/lib" && ! -L "$work/root/lib" ]]; then
  cp -a "$work/root/lib/." "$work/root/usr/lib/"
  rm -rf "$work/root/lib"
fi
# Development symlinks may be absolute (libz.so -> /lib/aarch64-linux-gnu/...):
# point them inside the sysroot, or the linker would find the host's x86 file.
while IFS= read -r link; do
  target=$(readlink "$link")
  target=${target#/}
  target=usr/${target#usr/}
  ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$work/root/$target")" "$link"
done < <(find "$work/root" -type l -lname '/*')

printf '%s\n' "$stamp" >"$work/root/.packages"
rm -rf "$SYSROOT"
mv "$work/root" "$SYSROOT"
log "done: $SYSROOT ($(du -sh "$SYSROOT" | cut -f1))"
