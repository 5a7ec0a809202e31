#!/usr/bin/env bash
# Installs everything edgecompress needs on Debian bookworm, from Debian's
# archive only, then checks the versions the build is written against.
#
#   third_party/setup.sh            # build, test and run dependencies
#   third_party/setup.sh --peers    # also PyTorch/ONNX in Python, for side-by-side checks
#   third_party/setup.sh --aarch64  # also the aarch64 cross compiler, qemu and sysroot
#                                   # (bazel build --config=aarch64)
#
# Idempotent: when every package is present it only checks versions (about a
# second) and never touches the network.
set -euo pipefail

# One line per package family; third_party/<name>.BUILD glues each into Bazel.
PACKAGES=(
  bazel-bootstrap                                     # Bazel 4.2.3
  g++ zlib1g-dev python3                              # compiler, gzip'd datasets, test scripts
  libtorch-dev libopenblas0-pthread                   # LibTorch 1.13 CPU + fast BLAS
  libgloo-dev                                         # c10d's Gloo headers (data parallel)
  libxnnpack-dev libpthreadpool-dev libcpuinfo-dev    # XNNPACK inference
  libeigen3-dev libabsl-dev                           # Eigen, Abseil
  libgtest-dev libgmock-dev libbenchmark-dev          # tests and benchmarks
  libyaml-cpp-dev nlohmann-json3-dev                  # recipes, results
  libcpp-httplib-dev libcurl4-openssl-dev             # metrics client and test server
  libonnx-dev libprotobuf-dev protobuf-compiler       # ONNX interchange
  libsqlite3-dev                                      # sweep database
  slurm-wlm munge                                     # sweep --backend=slurm and its one-node test cluster
  python3-torchvision                                 # inference/testdata: PyTorch-exported models (pulls python3-torch)
  dataset-fashion-mnist                               # the default job's data
)
PEER_PACKAGES=(python3-torch python3-torchvision python3-onnx)
AARCH64_PACKAGES=(g++-aarch64-linux-gnu qemu-user)

# Versions the code is written against: package, then a dpkg version prefix.
EXPECTED_VERSIONS=(
  "bazel-bootstrap 4.2."
  "libtorch-dev 1.13."
  "libabsl-dev 20220623"
  "libgtest-dev 1.12."
  "libxnnpack-dev 0.0~git20220216"
)

log() { echo "setup: $*" >&2; }
die() { echo "setup: error: $*" >&2; exit 1; }

packages=("${PACKAGES[@]}")
aarch64=false
for arg in "$@"; do
  case "$arg" in
    --peers) packages+=("${PEER_PACKAGES[@]}") ;;
    --aarch64) packages+=("${AARCH64_PACKAGES[@]}"); aarch64=true ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) die "unknown argument '$arg' (expected --peers or --aarch64)" ;;
  esac
done

[[ -r /etc/debian_version ]] || die "this script needs Debian bookworm (no /etc/debian_version)"

# One dpkg-query for all packages keeps the no-op path fast.
declare -A installed=()
while read -r package status; do
  [[ "$status" == installed ]] && installed[$package]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${packages[@]}" 2>/dev/null || true)
missing=()
for package in "${packages[@]}"; do
  [[ -n "${installed[$package]:-}" ]] || missing+=("$package")
done

if ((${#missing[@]})); then
  SUDO=""
  if ((EUID != 0)); then
    command -v sudo >/dev/null || die "missing ${missing[*]}; run as root or install sudo"
    SUDO=sudo
  fi
  log "installing ${#missing[@]} package(s): ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

for expected in "${EXPECTED_VERSIONS[@]}"; do
  read -r package prefix <<<"$expected"
  version=$(dpkg-query -W -f='${Version}' "$package")
  [[ "$version" == "$prefix"* ]] ||
    die "$package is $version; edgecompress is written against $prefix*"
done

# LibTorch links the generic libblas.so.3: make sure it resolves to OpenBLAS,
# which trains LeNet about 2x faster than the reference BLAS.
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)
[[ "$blas" == *openblas* ]] ||
  log "warning: libblas.so.3 is $blas, not OpenBLAS; training will be slow" \
      "(update-alternatives --config libblas.so.3-x86_64-linux-gnu)"

# ONNX Runtime for Node.js, the independent runtime of the ONNX round-trip
# tests (training/onnx/). It comes from the npm registry with its CPU binaries
# inside the package; --ignore-scripts skips its postinstall, which only
# fetches GPU providers. It lives outside the source tree, at the fixed path
# third_party/repositories.bzl declares as @onnxruntime_node.
ORT_NODE_VERSION=1.30.0
ORT_NODE_DIR=/opt/edgecompress/npm
ort_package="$ORT_NODE_DIR/node_modules/onnxruntime-node/package.json"
if ! grep -qs "\"version\": \"$ORT_NODE_VERSION\"" "$ort_package"; then
  SUDO=""
  if ((EUID != 0)); then
    command -v sudo >/dev/null || die "cannot write $ORT_NODE_DIR; run as root or install sudo"
    SUDO=sudo
  fi
  if ! command -v npm >/dev/null; then
    log "installing Debian's nodejs and npm"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      nodejs npm >/dev/null
  fi
  log "installing onnxruntime-node@$ORT_NODE_VERSION into $ORT_NODE_DIR"
  $SUDO mkdir -p "$ORT_NODE_DIR"
  $SUDO npm install --prefix "$ORT_NODE_DIR" --ignore-scripts --save-exact --no-audit --no-fund \
    --loglevel=error "onnxruntime-node@$ORT_NODE_VERSION" >/dev/null ||
    die "npm could not install onnxruntime-node@$ORT_NODE_VERSION into $ORT_NODE_DIR"
fi

# The aarch64 sysroot: arm64 packages unpacked, never installed (see
# aarch64/make_sysroot.sh); apt must know the architecture to download them.
if [[ "$aarch64" == true ]]; then
  SUDO=""
  ((EUID == 0)) || SUDO=sudo
  # (Captured, not piped into grep -q: under pipefail its early exit would
  # fail the pipeline.)
  foreign=$(dpkg --print-foreign-architectures)
  arm64_policy=$(apt-cache policy libxnnpack-dev:arm64 2>/dev/null)
  if [[ "$foreign" != *arm64* || "$arm64_policy" != *"Candidate: "[0-9]* ]]; then
    log "adding Debian's arm64 package lists (nothing arm64 gets installed)"
    $SUDO dpkg --add-architecture arm64
    $SUDO apt-get update -qq
  fi
  $SUDO "$(dirname "$0")/aarch64/make_sysroot.sh"
fi

log "all ${#packages[@]} packages present; versions checked"
