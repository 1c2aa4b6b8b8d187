#!/usr/bin/env bash
# The cellblock demo: installs what is missing, builds, then shows the main job end to end on
# this machine: a copy-on-write pool on a loop file, an application image, a new tag that
# shares the old one's blocks, an incremental stream shipped to a second "host" (its own data
# dir and pool) and verified there, snapshots, and the image running in a jail with its own IP
# address, limits and a read-only OS, supervised by the agent; a stack file on that host; then
# a cluster of three hosts on this machine (cellblock lab) behind HAProxy and a floating
# address, under load while a host is cut off, a new version rolls out and the address moves.
#
#   scripts/demo.sh          (as root) run it, then remove everything it made
#   scripts/demo.sh --keep   leave the demo's pools and images for you to explore
set -euo pipefail
cd "$(dirname "$0")/.."
keep=0
[ "${1:-}" = "--keep" ] && keep=1
if [ "$(id -u)" -ne 0 ]; then echo "the demo needs root (loop devices, btrfs mounts): run it as root (sudo scripts/demo.sh)" >&2; exit 1; fi
bash scripts/ensure-deps.sh

demo=/var/lib/cellblock-demo
a="$demo/host-a"
b="$demo/host-b"
work=$(mktemp -d)
cb() { echo "+ cellblock $*" >&2; ./bin/cellblock "$@"; }
agent_pid=""
lab_made=0
lp=""
cleanup() {
  # a request loop still running (the demo failed during the rollout) stops at its until-file
  if [ -n "$lp" ]; then touch "$work/rolled" 2>/dev/null || true; wait "$lp" 2>/dev/null || true; fi
  rm -rf "$work"
  if [ "$lab_made" -eq 1 ] && [ "$keep" -eq 0 ]; then ./bin/cellblock lab down demo >/dev/null 2>&1 || true; fi
  if [ "$keep" -eq 0 ]; then
    ./bin/cellblock --data-dir "$a" jail rm --force web >/dev/null 2>&1 || true
    if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; fi
    # the agent's etcd outlives the agent by design (the next agent adopts it): stop it by its PID file
    if [ -s "$a/run/etcd.pid" ]; then kill "$(cat "$a/run/etcd.pid")" 2>/dev/null || true; sleep 0.5; fi
    for d in "$a" "$b"; do ./bin/cellblock --data-dir "$d" pool destroy --yes >/dev/null 2>&1 || true; done
    rm -rf "$demo"
    echo "demo cleaned up (run with --keep to explore: cellblock --data-dir $a image ls)"
  else
    echo "kept: cellblock --data-dir $a image ls; jail ls (agent pid $agent_pid, log $demo/agent.log)"
    echo "remove with: kill $agent_pid; cellblock --data-dir $a jail rm --force web (with an agent running); cellblock --data-dir $a pool destroy --yes; same for $b"
    [ "$lab_made" -eq 1 ] && echo "the lab of section 9 is kept too: cellblock lab ls; remove it with: cellblock lab down demo"
  fi
}
trap cleanup EXIT
for d in "$a" "$b"; do ./bin/cellblock --data-dir "$d" pool destroy --yes >/dev/null 2>&1 || true; done

echo "== 1. a copy-on-write pool: btrfs on a sparse loop file"
cb --data-dir "$a" pool create --size 4G
cb --data-dir "$a" pool ls

echo; echo "== 2. an application image from examples/site"
cb --data-dir "$a" image build site:v1 examples/site
echo "   (a 20 MB asset that v2 will share with v1 instead of copying)"
cp -a examples/site/. "$work/"
head -c 20M /dev/urandom > "$work/asset.bin"
cb --data-dir "$a" image build site:v1.1 "$work"

echo; echo "== 3. a new tag: only the changed file is written; the rest is shared with its parent"
echo "<p>version 2</p>" >> "$work/index.html"
cb --data-dir "$a" image build site:v2 "$work"
cb --data-dir "$a" image ls

echo; echo "== 4. ship to another host: a full stream once, then only the difference"
cb --data-dir "$a" image export site:v1.1 -o "$work/v1.1.cbi"
cb --data-dir "$a" image export site:v2 --since site:v1.1 -o "$work/v2.cbi"
ls -l "$work"/*.cbi | awk '{print "   " $5 " bytes  " $9}'
cb --data-dir "$b" image import "$work/v1.1.cbi"
cb --data-dir "$b" image import "$work/v2.cbi"
cb --data-dir "$b" image ls

echo; echo "== 5. a damaged stream is refused and leaves nothing behind"
head -c 100000 "$work/v1.1.cbi" > "$work/broken.cbi"
./bin/cellblock --data-dir "$b" image rm site:v2 >/dev/null
./bin/cellblock --data-dir "$b" image rm site:v1.1 >/dev/null
echo "+ cellblock image import broken.cbi" >&2
if ./bin/cellblock --data-dir "$b" image import "$work/broken.cbi"; then echo "BUG: a truncated stream was accepted" >&2; exit 1; fi
cb --data-dir "$b" image ls

echo; echo "== 6. snapshots are instant and read-only"
cb --data-dir "$a" dataset create data/app
echo "important" > "$a/pools/default/data/app/state.txt"
cb --data-dir "$a" snapshot create data/app@before
echo "oops" > "$a/pools/default/data/app/state.txt"
cb --data-dir "$a" snapshot rollback data/app@before
echo "   state.txt after rollback: $(cat "$a/pools/default/data/app/state.txt")"
cb --data-dir "$a" snapshot ls

echo; echo "== 7. the image in a jail: its own IP, memory limit, read-only OS, supervised by the agent"
./bin/cellblock --data-dir "$a" agent > "$demo/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 100); do ./bin/cellblock --data-dir "$a" jail ls >/dev/null 2>&1 && break; sleep 0.1; done
cb --data-dir "$a" jail create web --image site:v2 --memory 128M --restart always --start -- /usr/bin/python3 -m http.server 8080 --directory /app
cb --data-dir "$a" jail ls
ip=$(./bin/cellblock --data-dir "$a" --json jail inspect web | python3 -c 'import json,sys; print(json.load(sys.stdin)["ip"])')
echo "+ GET http://$ip:8080/index.html" >&2
for _ in $(seq 50); do python3 -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://$ip:8080/index.html', timeout=2).read().decode())" 2>/dev/null && break; sleep 0.1; done
echo "+ cellblock jail exec web -- touch /usr/x    (the host's OS is read-only inside)" >&2
./bin/cellblock --data-dir "$a" jail exec web -- /usr/bin/touch /usr/x || true
echo "+ kill the jail's process: the agent restarts it (restart policy always)" >&2
kill -9 "$(./bin/cellblock --data-dir "$a" --json jail inspect web | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')"
sleep 2.5
cb --data-dir "$a" jail ls
cb --data-dir "$a" jail logs --tail 3 web

echo; echo "== 8. a stack file: 3 replicas with an HTTP health check, desired state in the agent's etcd"
cb --data-dir "$a" jail rm --force web
cat examples/stack.yml
cb --data-dir "$a" apply -f examples/stack.yml --timeout 120
cb --data-dir "$a" status
cb --data-dir "$a" host ls
echo "(one host, so the replicas share it; on a cluster they spread one per host: docs/cluster.md)"
cb --data-dir "$a" delete -f examples/stack.yml
for _ in $(seq 150); do [ "$(./bin/cellblock --data-dir "$a" --json jail ls 2>/dev/null)" = "[]" ] && break; sleep 0.2; done

echo; echo "== 9. three hosts behind one address: HAProxy on each, keepalived's floating address (VIP),"
echo "      a host cut off and a new version rolled out under load, without a failed request"
./bin/cellblock lab down demo >/dev/null 2>&1 || true
lab_made=1
cb lab up --hosts 3 --name demo
labx() { echo "+ cellblock lab exec --lab demo $*" >&2; ./bin/cellblock lab exec --lab demo "$@"; }
vip=$(awk '$1 == "vip:" {print $2}' examples/shop.yml)
labx h0 -- cellblock image build app:v1 examples/app
cat examples/shop.yml
labx h0 -- cellblock apply -f examples/shop.yml --timeout 120
labx h0 -- cellblock status
# a bounded request loop at the lab's client position (outside every host): prints sent and failed
load() { ./bin/cellblock lab exec --lab demo client -- python3 examples/app/load.py "http://$vip/" --host shop.example "$@"; }
summary() { python3 -c '
import json, sys
r = json.load(sys.stdin)
kinds = " (" + ", ".join(k + ": " + str(n) for k, n in r["kinds"].items()) + ")" if r["failed"] else ""
answers = ", ".join(k + " (" + str(n) + ")" for k, n in r["answers"].items())
print("   " + sys.argv[1] + ": " + str(r["sent"]) + " requests sent, " + str(r["failed"]) + " failed" + kinds + "; answered by " + answers)' "$1"; }
holder() { for h in h0 h1 h2; do ./bin/cellblock lab exec --lab demo "$h" -- ip -o -4 addr show 2>/dev/null | grep -q " $vip/" && { echo "$h"; return; }; done; echo none; }
for _ in $(seq 100); do [ "$(holder)" != none ] && ./bin/cellblock lab exec --lab demo client -- curl -sf -o /dev/null --max-time 2 -H 'Host: shop.example' "http://$vip/" && break; sleep 0.2; done
echo "+ curl -H 'Host: shop.example' http://$vip/   (from the lab's client; three times: HAProxy spreads them)" >&2
for _ in 1 2 3; do ./bin/cellblock lab exec --lab demo client -- curl -sS --max-time 5 -H 'Host: shop.example' "http://$vip/"; done
labx h0 -- cellblock lb status
# the count of healthy replicas of web not on HOST (and on how many hosts the healthy ones are)
healthy_off() { ./bin/cellblock lab exec --lab demo h0 -- cellblock --json status 2>/dev/null | node -e '
  let t = ""; process.stdin.on("data", (d) => { t += d; }).on("end", () => {
    try { const s = JSON.parse(t)[0]; const n = s.instances.filter((x) => x.healthy && x.host !== process.argv[1]).length; console.log(`${n} ${new Set(s.instances.filter((x) => x.healthy).map((x) => x.host)).size}`); } catch { console.log("0 0"); }
  });' "$1"; }

v=$(holder); cut=h2; [ "$v" = h2 ] && cut=h1
echo; echo "-- GETs through the VIP for 10 s; after 2 s, $cut (not the VIP's holder, $v) is cut off"
load --seconds 10 > "$work/cut.json" & lp=$!
sleep 2
cb lab cut --lab demo "$cut"
t0=$(date +%s%N)
end=$((SECONDS + 60))
while [ "$SECONDS" -lt "$end" ] && [ "$(healthy_off "$cut" | cut -d' ' -f1)" != 3 ]; do sleep 0.2; done
echo "$cut cut off: its replica is healthy on another host after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
wait "$lp"
summary "while $cut was cut off" < "$work/cut.json"
labx h0 -- cellblock status
cb lab heal --lab demo "$cut"

echo; echo "-- v2 rolls out (a new replica first, in rotation on every host, then an old one drained and replaced, ...) under GETs"
mkdir -p "$work/v2"
sed 's/APP_VERSION: v1/APP_VERSION: v2/' examples/shop.yml > "$work/v2/shop.yml"
load --seconds 300 --until-file "$work/rolled" > "$work/roll.json" & lp=$!
labx h0 -- cellblock apply -f "$work/v2/shop.yml" --timeout 180
touch "$work/rolled"; wait "$lp"
summary "during the rollout v1 -> v2" < "$work/roll.json"
labx h0 -- cellblock rollout history web

v=$(holder)
echo; echo "-- the VIP's holder $v cut off: another host takes the address (gratuitous ARP)"
load --seconds 6 > "$work/vip.json" & lp=$!
sleep 1.5
cb lab cut --lab demo "$v"
t0=$(date +%s%N)
end=$((SECONDS + 10))
while [ "$SECONDS" -lt "$end" ]; do n=$(holder); [ "$n" != none ] && [ "$n" != "$v" ] && break; sleep 0.05; done
echo "the VIP is on $(holder) $(( ($(date +%s%N) - t0) / 1000000 )) ms after the cut"
wait "$lp"
summary "while the VIP moved (a connection open on $v at the cut is lost with it)" < "$work/vip.json"
load --seconds 3 > "$work/after.json"
summary "after the move" < "$work/after.json"
cb lab heal --lab demo "$v"
if [ "$keep" -eq 0 ]; then cb lab down demo; lab_made=0; fi
