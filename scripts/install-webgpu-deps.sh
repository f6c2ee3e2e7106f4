#!/usr/bin/env bash
# System libraries for the webgpu backend on a machine without a GPU: Dawn (the `webgpu` npm package) runs on
# Mesa's software OpenGL ES driver (llvmpipe) in compatibility mode, with EGL_PLATFORM=surfaceless.
#   libegl1         libEGL.so.1, the GL vendor-neutral dispatch library (glvnd)
#   libegl-dev      libEGL.so: Dawn dlopens the unversioned name, which only the -dev package provides
#   libegl-mesa0    Mesa's EGL vendor library (libEGL_mesa.so.0, with libgbm1)
#   libgl1-mesa-dri the drivers themselves (swrast_dri.so: llvmpipe)
# Debian/Ubuntu only; elsewhere it says so and does nothing. Idempotent: installed packages are left alone.
set -euo pipefail

PACKAGES=(libegl1 libegl-dev libegl-mesa0 libgl1-mesa-dri)

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-webgpu-deps: no apt-get here; install EGL and Mesa's software drivers with the system's package manager" >&2
  exit 0
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then missing+=("$p"); fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-webgpu-deps: ${PACKAGES[*]} already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-webgpu-deps: installing ${missing[*]}"
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${PACKAGES[@]}"
