#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, then runs unit, integration and
# end-to-end tests with Node's test runner. Integration tests need root (loop devices, btrfs,
# runc, network namespaces); as another user they are skipped, each with its reason.
# Extra arguments filter test files by path, e.g. scripts/test.sh storage/btrfs
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
exec node scripts/run-tests.mjs "$@"
