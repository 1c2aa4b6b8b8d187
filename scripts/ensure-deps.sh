#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, test and demo cellblock:
# Debian packages (only the missing ones), npm packages (npm ci), then compiles to dist/.
# Idempotent; safe to run again. Needs root for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

# tool -> Debian package, for what the tests and the demo run for real; the second line is
# the software the jail tests run inside jails as the host has it (test/jail/software.int.test.ts,
# test/jail/os-view.int.test.ts): Debian's own servers, the CA bundle, the time zone data
PKGS=(btrfs-progs runc conmon tini iproute2 rsync tar util-linux mount python3 acl etcd-server etcd-client openssl
  nginx gunicorn python3-flask postgresql-15 postgresql-client-15 ca-certificates tzdata media-types netbase
  haproxy keepalived wrk curl)
# Debian starts (and enables) a service for each of these when it installs them; cellblock's
# tests run them inside jails only, and a host copy would hold their ports
SERVICES=(etcd nginx postgresql haproxy keepalived)
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
  # policy-rc.d exit 101 tells Debian's maintainer scripts not to start services (on systemd and
  # sysvinit hosts alike); only ours is removed afterwards, a host's own is left as it was
  own_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# cellblock ensure-deps: no service starts while it installs packages\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
  # Debian's etcd would hold 127.0.0.1:2379, which cellblock's own members need; nginx and
  # PostgreSQL run in jails only. Switch off (now and at boot) each service we just installed.
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    for svc in "${SERVICES[@]}"; do
      pkg=$svc; [ "$svc" = etcd ] && pkg=etcd-server; [ "$svc" = postgresql ] && pkg=postgresql-15
      if [[ " ${missing[*]} " == *" $pkg "* ]]; then
        systemctl disable --now "$svc" >/dev/null 2>&1 || true # best effort: the unit may not exist on this release
      fi
    done
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
