#!/usr/bin/env bash
# CPU profile of the bridge under the load test's load. The product has no
# pprof endpoint, so this runs bench/profbridge (the bridge's serve wired the
# same way, plus net/http/pprof on a second loopback port) with the load
# test's config, drives it with wrk exactly as load.sh does, and takes a CPU
# profile of the middle of the run, then a 3 s execution trace, from which it
# prints where goroutines wait (go tool trace -pprof=sync and =syscall): what
# the CPU profile cannot show when the bridge leaves cores idle. It also
# CPU-profiles the start (config load, store open, service build).
#
# Output: pprof -top (flat and cumulative) on stdout; the profiles are kept in
# OUT (default bench/out/, which is not committed).
#
# Knobs: THREADS=2 CONNS=64 DURATION=16 (seconds; the CPU profile is DURATION-7 s)
# RULES=1000 PACING=fast|default FIXTURE=... OUT=... BRIDGE_PORT=18080 GEWE_PORT=18082 PPROF_PORT=16060
set -euo pipefail

THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
DURATION=${DURATION:-16}
RULES=${RULES:-1000}
PACING=${PACING:-fast}
BRIDGE_PORT=${BRIDGE_PORT:-18080}
GEWE_PORT=${GEWE_PORT:-18082}
PPROF_PORT=${PPROF_PORT:-16060}
AM_TOKEN=bench-am-token

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
FIXTURE=${FIXTURE:-$ROOT/testdata/alertmanager/firing.json}
OUT=${OUT:-$BENCH/out}
mkdir -p "$OUT"

TMP=$(mktemp -d /tmp/gewe-bridge-prof.XXXXXX)
PIDS=()
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

(cd "$ROOT" && go build -o "$TMP/bin/" ./bench/profbridge ./tools/fakegewe ./bench/gen-rules)
BIN=$TMP/bin
"$BIN/gen-rules" -n "$RULES" -gewe "http://127.0.0.1:$GEWE_PORT" -listen "127.0.0.1:$BRIDGE_PORT" \
	-am-token "$AM_TOKEN" -pacing "$PACING" -o "$TMP/rules.yaml"
"$BIN/fakegewe" -addr "127.0.0.1:$GEWE_PORT" >"$TMP/fakegewe.log" 2>&1 &
PIDS+=($!)

BENCH_STORAGE="$TMP/data/gewe-bridge.db" "$BIN/profbridge" -config "$TMP/rules.yaml" \
	-pprof "127.0.0.1:$PPROF_PORT" -startprofile "$OUT/start.pprof" >"$TMP/bridge.log" 2>&1 &
BRIDGE=$!
PIDS+=("$BRIDGE")
for _ in $(seq 300); do
	curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$BRIDGE_PORT/-/ready" 2>/dev/null && break
	kill -0 "$BRIDGE" 2>/dev/null || { cat "$TMP/bridge.log" >&2; exit 1; }
	sleep 0.05
done
echo "== start phases: $(grep -m1 'start phases' "$TMP/bridge.log" | sed 's/.*follow)" //')"

wrk "-t$THREADS" "-c$CONNS" "-d${DURATION}s" --latency -s "$BENCH/alertmanager.lua" \
	"http://127.0.0.1:$BRIDGE_PORT/hooks/alertmanager" -- "$FIXTURE" "$AM_TOKEN" >"$TMP/wrk.txt" 2>&1 &
WRK=$!
sleep 2
curl -fsS -o "$OUT/load.pprof" "http://127.0.0.1:$PPROF_PORT/debug/pprof/profile?seconds=$((DURATION - 7))"
curl -fsS -o "$OUT/load.trace" "http://127.0.0.1:$PPROF_PORT/debug/pprof/trace?seconds=3"
wait "$WRK"
echo "== wrk, pacing $PACING (profiling costs a few %):"
grep -E 'Requests/sec|^ +(50|99)%|Non-2xx' "$TMP/wrk.txt"
cp "$BIN/profbridge" "$OUT/profbridge"

echo
echo "== CPU under load, flat (top 30)"
go tool pprof -top -nodecount=30 "$OUT/profbridge" "$OUT/load.pprof" 2>/dev/null
echo
echo "== CPU under load, cumulative (top 45)"
go tool pprof -top -cum -nodecount=45 "$OUT/profbridge" "$OUT/load.pprof" 2>/dev/null
for kind in sync syscall; do
	go tool trace -pprof=$kind "$OUT/load.trace" >"$OUT/load-$kind.pprof" 2>/dev/null || true
	echo
	echo "== time goroutines spent blocked in $kind under load (3 s trace), cumulative (top 30)"
	go tool pprof -top -cum -nodecount=30 "$OUT/profbridge" "$OUT/load-$kind.pprof" 2>/dev/null || echo "(no $kind profile)"
done
echo
echo "== CPU of the start, cumulative (top 25)"
go tool pprof -top -cum -nodecount=25 "$OUT/profbridge" "$OUT/start.pprof" 2>/dev/null
