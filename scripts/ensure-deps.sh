#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, test and demo cellblock:
# Debian packages (only the missing ones), npm packages (npm ci), then compiles to dist/.
# Idempotent; safe to run again. Needs root for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

# tool -> Debian package, for what the tests and the demo run for real
PKGS=(btrfs-progs runc conmon tini iproute2 rsync tar util-linux mount python3 acl etcd-server etcd-client openssl)
missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]}; run this as root (sudo) so they can be installed" >&2
    exit 1
  fi
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts its own etcd on 127.0.0.1:2379 when etcd-server is installed; cellblock runs
  # its own members (and a cluster member needs that port), so switch off the one we installed
  if [[ " ${missing[*]} " == *" etcd-server "* ]] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now etcd >/dev/null 2>&1 || true
  fi
fi

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "cellblock needs Node.js 20 or newer on PATH (Debian 12: install it from your usual Node.js source)" >&2
  exit 1
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
