#!/usr/bin/env bash
# Debian packages the tests need.
# The webgpu backend on a machine without a GPU: Dawn (the `webgpu` npm package) runs on Mesa's software
# OpenGL ES driver (llvmpipe) in compatibility mode, with EGL_PLATFORM=surfaceless.
#   libegl1         libEGL.so.1, the GL vendor-neutral dispatch library (glvnd)
#   libegl-dev      libEGL.so: Dawn dlopens the unversioned name, which only the -dev package provides
#   libegl-mesa0    Mesa's EGL vendor library (libEGL_mesa.so.0, with libgbm1)
#   libgl1-mesa-dri the drivers themselves (swrast_dri.so: llvmpipe)
# The llama.cpp reference checks: a C compiler for test/reference/ggml-cpu-harness.c, which calls ggml's own
# activation packers in each of its CPU libraries.
#   gcc, libc6-dev  cc and the C library headers
# The client-matrix test talks to the server with curl, as scripts do.
#   curl
# The code sandbox (src/sandbox/, `hearth exec`, test/sandbox/): bubblewrap is the Linux sandbox (namespaces, a
# seccomp filter on an fd); prlimit (util-linux) and setpriv (util-linux) set resource limits and drop root to an
# unprivileged uid; python3 is one of the sandbox's languages (the one at /usr/bin, visible inside the sandbox).
#   bubblewrap, util-linux, python3
# The assistant (src/agent/, `hearth agent`, test/agent/) commits every change to the workspace's git repository.
#   git
# The web UI's browser tests (test/ui) drive Chromium through playwright-core; Playwright's own browser download
# needs its CDN, so the browser comes from Debian instead.
#   chromium
# Debian/Ubuntu only; elsewhere it says so and does nothing. Idempotent: installed packages are left alone.
set -euo pipefail

PACKAGES=(libegl1 libegl-dev libegl-mesa0 libgl1-mesa-dri gcc libc6-dev curl bubblewrap util-linux python3 git chromium)

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-deps: no apt-get here; install EGL, Mesa's software drivers and a C compiler with the system's package manager" >&2
  exit 0
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then missing+=("$p"); fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-system-deps: ${PACKAGES[*]} already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-system-deps: installing ${missing[*]}"
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${PACKAGES[@]}"
