#!/usr/bin/env bash
# Installs the Debian packages drover needs: every scripts/deps/*.txt except the optional
# ones, which flags add: --bench for bench.txt (the benchmark peers), --fuzz for fuzz.txt
# (clang and libFuzzer). One file per part of drover, so parts can add packages without
# touching each other. As root it runs apt-get; otherwise it prints the command and fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

optional=(bench fuzz)
wanted=()
for arg in "$@"; do
  case $arg in
    --bench | --fuzz) wanted+=("${arg#--}") ;;
    *) echo "usage: install-deps.sh [--bench] [--fuzz]" >&2; exit 2 ;;
  esac
done

packages=()
for f in "$here"/deps/*.txt; do
  part=$(basename "$f" .txt)
  if [[ " ${optional[*]} " == *" $part "* && " ${wanted[*]:-} " != *" $part "* ]]; then continue; fi
  while read -r line; do
    line=${line%%#*}
    # "?cmd: pkgs" installs pkgs only when the command cmd is missing.
    if [[ $line =~ ^\?([A-Za-z0-9_.+-]+):(.*)$ ]]; then
      command -v "${BASH_REMATCH[1]}" >/dev/null 2>&1 && continue
      line=${BASH_REMATCH[2]}
    fi
    for p in $line; do packages+=("$p"); done
  done <"$f"
done

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
# Packages such as docker.io and openssh-server start their system services when installed:
# a dockerd with the default bridge network, an sshd on port 22. drover's tests start their own
# daemons on loopback, so forbid service starts for the duration of the install.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\n# drover install-deps: no service starts during package installation\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
