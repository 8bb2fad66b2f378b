#!/usr/bin/env bash
# Fetches ptxas (CUDA 11.8, from Debian bookworm's non-free nvidia-cuda-toolkit) into a user
# cache, without touching the system's apt configuration: apt runs with private source lists and
# state under the cache folder, downloads the .deb files and unpacks them with dpkg -x.
# Idempotent; prints the path of ptxas. Exits 0 with a message when it cannot install, because
# the PTX tests that need ptxas skip without it.
set -uo pipefail

cache="${KEN_CUDA_CACHE:-${HOME:-/tmp}/.cache/ken/cuda-11.8}"
root="$cache/root"

find_ptxas() {
  for p in "$root/usr/lib/nvidia-cuda-toolkit/bin/ptxas" "$root/usr/bin/ptxas"; do
    if [ -x "$p" ] && "$p" --version >/dev/null 2>&1; then echo "$p"; return 0; fi
  done
  return 1
}

if p="$(find_ptxas)"; then
  echo "install-ptxas: ptxas present at $p"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
  echo "install-ptxas: apt-get/dpkg not available; PTX assembly tests will skip (set KEN_PTXAS to a ptxas binary to run them)."
  exit 0
fi

# Reuse the URIs of the machine's own Debian sources (a mirror or snapshot), defaulting to deb.debian.org.
uri="$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | awk '{print $2}' | head -n 1)"
uri="${uri:-http://deb.debian.org/debian}"

mkdir -p "$cache/apt/lists/partial" "$cache/apt/archives/partial" "$cache/debs" "$root"
cat > "$cache/apt/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri bookworm main contrib non-free
SRC

apt_opts=(
  -o "Dir::Etc::SourceList=$cache/apt/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$cache/apt/lists"
  -o "Dir::State::Status=/dev/null"
  -o "Dir::Cache=$cache/apt"
  -o "Debug::NoLocking=1"
  # Downloads go to a folder this user owns, so apt's _apt sandbox user would be refused.
  -o "APT::Sandbox::User=$(id -un)"
)

if ! apt-get "${apt_opts[@]}" -qq update >"$cache/apt-update.log" 2>&1; then
  echo "install-ptxas: apt-get update failed (see $cache/apt-update.log); PTX assembly tests will skip."
  exit 0
fi

# ptxas ships in nvidia-cuda-toolkit; its binaries link to libraries from these packages.
cd "$cache/debs" || exit 0
for pkg in nvidia-cuda-toolkit; do
  if ! apt-get "${apt_opts[@]}" -qq download "$pkg" >>"$cache/apt-download.log" 2>&1; then
    echo "install-ptxas: could not download $pkg (see $cache/apt-download.log); PTX assembly tests will skip."
    exit 0
  fi
done
for deb in "$cache"/debs/*.deb; do
  dpkg -x "$deb" "$root"
done

if p="$(find_ptxas)"; then
  echo "install-ptxas: ptxas installed at $p"
else
  echo "install-ptxas: unpacked nvidia-cuda-toolkit but found no working ptxas under $root; PTX assembly tests will skip."
fi
exit 0
