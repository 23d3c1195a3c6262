#!/usr/bin/env bash
# Installs the Debian packages drover needs (build, tests, demo; --bench adds the
# benchmark peers). As root it runs apt-get; otherwise it prints the command and fails.
set -euo pipefail

packages=(
  build-essential cmake make pkg-config
  libboost1.81-dev libboost-json1.81-dev
  libfmt-dev zlib1g-dev libtomlplusplus-dev doctest-dev
  python3 gzip procps
  openssh-client openssh-server
)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(parallel hyperfine)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

echo "drover: installing missing Debian packages: ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "drover: not root; run this and try again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
