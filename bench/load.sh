#!/usr/bin/env bash
# Load test for gewe-bridge (issue 6). In one run on this machine it:
#   1. builds the bridge and the helpers in bench/ (go build);
#   2. measures exec -> /-/ready == 200 with 1,000 rules, READY_RUNS times
#      (fresh store each time), and reports the median;
#   3. starts the fake GeWe, the bridge (1,000 rules, one matching, durable
#      store on, -log.level warn) and a bare Fiber server that only reads the
#      body and answers 200;
#   4. drives each with wrk (-t$THREADS -c$CONNS -d$DURATION --latency),
#      POSTing the Alertmanager fixture in testdata/ with the bearer token,
#      interleaving bare/bridge ROUNDS times; the bridge is SIGSTOPped while
#      bare Fiber is measured so that its sender draining the outbox does not
#      steal the ceiling's CPU;
#   5. prints requests/s, p50 and p99 latency per run, the medians, the ratio
#      bridge/bare, the bridge's idle RSS (ready + 2 s, 1,000 rules) and peak
#      RSS (VmHWM after the load), and the time to ready after a restart on
#      the store the load filled.
# Everything it starts it stops. Loopback only. About 1.5 minutes with the
# defaults (plus the first build).
#
# Knobs (environment): THREADS=2 CONNS=64 DURATION=10s WARMUP=2s ROUNDS=3
# READY_RUNS=5 RULES=1000 FIXTURE=testdata/alertmanager/firing.json
# PACING=fast (the sender drains the outbox as fast as it can, as much as the
# load allows) or default (the etiquette defaults, 20 messages a minute: the
# sender mostly sleeps and the figure is ingest alone)
# BRIDGE_PORT=18080 BARE_PORT=18081 GEWE_PORT=18082 KEEP=1 (keep the temp dir)
# STORAGE_URL=postgres://... also runs a bridge on the PostgreSQL store
# (PG_PORT=18083), measured in the same interleaved rounds as the others;
# with PG_REPLICAS=2 a second one on the same database (PG_PORT+1), and a
# round of both at once (two wrk, half the connections each, req/s summed).
set -euo pipefail

THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
ROUNDS=${ROUNDS:-3}
READY_RUNS=${READY_RUNS:-5}
RULES=${RULES:-1000}
PACING=${PACING:-fast}
BRIDGE_PORT=${BRIDGE_PORT:-18080}
PG_PORT=${PG_PORT:-18083}
PG_REPLICAS=${PG_REPLICAS:-1}
STORAGE_URL=${STORAGE_URL:-}
BARE_PORT=${BARE_PORT:-18081}
GEWE_PORT=${GEWE_PORT:-18082}
AM_TOKEN=bench-am-token

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
FIXTURE=${FIXTURE:-$ROOT/testdata/alertmanager/firing.json}
[[ -f $FIXTURE ]] || { echo "fixture not found: $FIXTURE (set FIXTURE=)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }

TMP=$(mktemp -d /tmp/gewe-bridge-bench.XXXXXX)
PIDS=()
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -CONT "$pid" 2>/dev/null || true
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	if [[ ${KEEP:-0} == 1 ]]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '== %s\n' "$*" >&2; }

for port in "$BRIDGE_PORT" "$BARE_PORT" "$GEWE_PORT"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "port $port is in use: set BRIDGE_PORT/BARE_PORT/GEWE_PORT" >&2
		exit 1
	fi
done

# --- 1. build -----------------------------------------------------------------
log "building into $TMP/bin"
(cd "$ROOT" && go build -o "$TMP/bin/gewe-bridge" . &&
	go build -o "$TMP/bin/" ./bench/bare ./tools/fakegewe ./bench/gen-rules ./bench/readytime)
BIN=$TMP/bin

# --- machine ------------------------------------------------------------------
CPU=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "machine: $(nproc) cores, $CPU, $(go version | cut -d' ' -f3), load average $LOAD_BEFORE"
if awk -v l="${LOAD_BEFORE%% *}" -v n="$(nproc)" 'BEGIN {exit !(l > n/2)}'; then
	log "WARNING: load average ${LOAD_BEFORE%% *} on $(nproc) cores: something else is running; figures will be low and noisy"
fi

# --- helpers ------------------------------------------------------------------
wait_ready() { # url pid name
	for _ in $(seq 300); do
		if curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null; then return 0; fi
		kill -0 "$2" 2>/dev/null || { echo "$3 exited; its log:" >&2; tail -20 "$TMP/$3.log" >&2; exit 1; }
		sleep 0.05
	done
	echo "$3 not ready at $1 after 15 s" >&2
	exit 1
}
# cpu_ticks: user+system clock ticks of a process (or of the whole machine's
# busy time with "all").
cpu_ticks() {
	if [[ $1 == all ]]; then awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat
	else awk '{print $14 + $15}' "/proc/$1/stat"; fi
}
TCK=$(getconf CLK_TCK)
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
median() { sort -g | awk '{a[NR] = $1} END {if (NR == 0) {print "nan"} else if (NR % 2) {print a[(NR + 1) / 2]} else {print (a[NR / 2] + a[NR / 2 + 1]) / 2}}'; }
# to_ms converts wrk's durations (123.45us, 1.23ms, 1.02s, 1.00m) to ms.
to_ms() { awk '{v = $1 + 0; u = $1; sub(/^[0-9.]+/, "", u);
	f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : (u == "h") ? 3600000 : 1;
	printf "%.2f\n", v * f}'; }

# --- 2. config and start to ready ----------------------------------------------
"$BIN/gen-rules" -n "$RULES" -gewe "http://127.0.0.1:$GEWE_PORT" -listen "127.0.0.1:$BRIDGE_PORT" \
	-am-token "$AM_TOKEN" -pacing "$PACING" -o "$TMP/rules.yaml"
"$BIN/gewe-bridge" check -config "$TMP/rules.yaml" >&2

"$BIN/fakegewe" -addr "127.0.0.1:$GEWE_PORT" >"$TMP/fakegewe.log" 2>&1 &
GEWE_PID=$!
PIDS+=("$GEWE_PID")

log "start to ready with $RULES rules, $READY_RUNS runs (fresh store each)"
: >"$TMP/ready.txt"
for i in $(seq "$READY_RUNS"); do
	BENCH_STORAGE="$TMP/ready-$i/gewe-bridge.db" BENCH_LISTEN="127.0.0.1:$BRIDGE_PORT" \
		"$BIN/readytime" -url "http://127.0.0.1:$BRIDGE_PORT/-/ready" -- \
		"$BIN/gewe-bridge" serve -config "$TMP/rules.yaml" -log.level warn \
		>>"$TMP/ready.txt" 2>>"$TMP/ready.log"
	sleep 0.2
done
READY_MS=$(cut -d' ' -f1 "$TMP/ready.txt" | median)
log "start to ready (ms): $(cut -d' ' -f1 "$TMP/ready.txt" | tr '\n' ' ')-> median $READY_MS"

# --- 3. servers ---------------------------------------------------------------
export BENCH_STORAGE="$TMP/data/gewe-bridge.db" BENCH_LISTEN="127.0.0.1:$BRIDGE_PORT"
"$BIN/gewe-bridge" serve -config "$TMP/rules.yaml" -log.level warn >"$TMP/bridge.log" 2>&1 &
BRIDGE_PID=$!
PIDS+=("$BRIDGE_PID")
"$BIN/bare" -addr "127.0.0.1:$BARE_PORT" >"$TMP/bare.log" 2>&1 &
BARE_PID=$!
PIDS+=("$BARE_PID")
wait_ready "http://127.0.0.1:$BRIDGE_PORT/-/ready" "$BRIDGE_PID" bridge
wait_ready "http://127.0.0.1:$BARE_PORT/-/ready" "$BARE_PID" bare
PG_PID=
if [[ -n $STORAGE_URL ]]; then
	BENCH_STORAGE_URL="$STORAGE_URL" BENCH_LISTEN="127.0.0.1:$PG_PORT" \
		"$BIN/gewe-bridge" serve -config "$TMP/rules.yaml" -log.level warn >"$TMP/bridge-pg.log" 2>&1 &
	PG_PID=$!
	PIDS+=("$PG_PID")
	wait_ready "http://127.0.0.1:$PG_PORT/-/ready" "$PG_PID" bridge-pg
fi
PG2_PID=
if [[ -n $STORAGE_URL && $PG_REPLICAS == 2 ]]; then
	BENCH_STORAGE_URL="$STORAGE_URL" BENCH_LISTEN="127.0.0.1:$((PG_PORT + 1))" \
		"$BIN/gewe-bridge" serve -config "$TMP/rules.yaml" -log.level warn >"$TMP/bridge-pg2.log" 2>&1 &
	PG2_PID=$!
	PIDS+=("$PG2_PID")
	wait_ready "http://127.0.0.1:$((PG_PORT + 1))/-/ready" "$PG2_PID" bridge-pg2
fi
grep -q '^URL ' "$TMP/fakegewe.log" || { echo "fake GeWe did not start:" >&2; cat "$TMP/fakegewe.log" >&2; exit 1; }

# One request through the bridge, checked: 202 and one message queued.
ONE=$(sed 's/a29c402ab1f673f9/00000000000000ff/' "$FIXTURE" | curl -sS -o "$TMP/one.json" -w '%{http_code}' \
	-H 'Content-Type: application/json' -H "Authorization: Bearer $AM_TOKEN" --data-binary @- \
	"http://127.0.0.1:$BRIDGE_PORT/hooks/alertmanager")
[[ $ONE == 202 ]] && grep -q '"queued":1' "$TMP/one.json" || {
	echo "the bridge answered $ONE $(cat "$TMP/one.json"); expected 202 with one message queued" >&2; exit 1; }
grep -q '"matched":\["infra"\]' "$TMP/one.json" || { echo "unexpected match: $(cat "$TMP/one.json")" >&2; exit 1; }

sleep 2
IDLE_RSS=$(status_kb "$BRIDGE_PID" VmRSS)
START_HWM=$(status_kb "$BRIDGE_PID" VmHWM)
log "bridge idle RSS ${IDLE_RSS} kB (peak so far ${START_HWM} kB)"

# --- 4. load ------------------------------------------------------------------
WRK=(wrk "-t$THREADS" "-c$CONNS" --latency -s "$BENCH/alertmanager.lua")
# run_wrk also records how many cores the server ($5) and the whole machine
# were busy on average during the run, as "server machine" in $4.cpu.
run_wrk() { # name url duration out server_pid
	local p0 a0 t0 p1 a1 t1
	p0=$(cpu_ticks "$5"); a0=$(cpu_ticks all); t0=$(date +%s%N)
	"${WRK[@]}" "-d$3" "$2" -- "$FIXTURE" "$AM_TOKEN" >"$4" 2>&1 || { cat "$4" >&2; exit 1; }
	p1=$(cpu_ticks "$5"); a1=$(cpu_ticks all); t1=$(date +%s%N)
	awk -v p=$((p1 - p0)) -v a=$((a1 - a0)) -v ns=$((t1 - t0)) -v hz="$TCK" \
		'BEGIN {s = ns / 1e9; printf "%.2f %.2f\n", p / hz / s, a / hz / s}' >"$4.cpu"
}
parse() { # file -> "rps p50ms p99ms non2xx errors server_cores machine_cores"
	local rps p50 p99 non2xx errs
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$1")
	p50=$(awk '$1 == "50%" {print $2}' "$1" | to_ms)
	p99=$(awk '$1 == "99%" {print $2}' "$1" | to_ms)
	non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$1")
	errs=$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$1")
	echo "$rps $p50 $p99 ${non2xx:-0} ${errs:-0} $(cat "$1.cpu")"
}

URL_BARE="http://127.0.0.1:$BARE_PORT/hooks/alertmanager"
URL_BRIDGE="http://127.0.0.1:$BRIDGE_PORT/hooks/alertmanager"
URL_PG="http://127.0.0.1:$PG_PORT/hooks/alertmanager"
# stop_others PID...: SIGSTOP every server under test but the given ones.
URL_PG2="http://127.0.0.1:$((PG_PORT + 1))/hooks/alertmanager"
stop_all() { for p in "$BRIDGE_PID" $PG_PID $PG2_PID; do kill -STOP "$p"; done; }
cont_all() { for p in "$BRIDGE_PID" $PG_PID $PG2_PID; do kill -CONT "$p"; done; }
log "warm-up ($WARMUP each)"
stop_all
run_wrk bare "$URL_BARE" "$WARMUP" "$TMP/warm-bare.txt" "$BARE_PID"
cont_all
[[ -n $PG_PID ]] && kill -STOP "$PG_PID"
run_wrk bridge "$URL_BRIDGE" "$WARMUP" "$TMP/warm-bridge.txt" "$BRIDGE_PID"
if [[ -n $PG_PID ]]; then
	kill -CONT "$PG_PID"; kill -STOP "$BRIDGE_PID"
	run_wrk bridge-pg "$URL_PG" "$WARMUP" "$TMP/warm-pg.txt" "$PG_PID"
	kill -CONT "$BRIDGE_PID"
fi

: >"$TMP/results.txt"
for r in $(seq "$ROUNDS"); do
	stop_all
	run_wrk bare "$URL_BARE" "$DURATION" "$TMP/bare-$r.txt" "$BARE_PID"
	cont_all
	read -r rps p50 p99 n2 se sc mc < <(parse "$TMP/bare-$r.txt")
	echo "bare $r $rps $p50 $p99 $n2 $se $sc $mc" >>"$TMP/results.txt"
	log "round $r bare:   $rps req/s  p50 ${p50} ms  p99 ${p99} ms  non-2xx $n2  socket errors $se  cores: server $sc machine $mc  (load $(cut -d' ' -f1 /proc/loadavg))"

	kill -0 "$BRIDGE_PID" || { echo "bridge died" >&2; tail -20 "$TMP/bridge.log" >&2; exit 1; }
	for p in $PG_PID $PG2_PID; do kill -STOP "$p"; done
	run_wrk bridge "$URL_BRIDGE" "$DURATION" "$TMP/bridge-$r.txt" "$BRIDGE_PID"
	for p in $PG_PID $PG2_PID; do kill -CONT "$p"; done
	read -r rps p50 p99 n2 se sc mc < <(parse "$TMP/bridge-$r.txt")
	echo "bridge $r $rps $p50 $p99 $n2 $se $sc $mc" >>"$TMP/results.txt"
	log "round $r bridge: $rps req/s  p50 ${p50} ms  p99 ${p99} ms  non-2xx $n2  socket errors $se  cores: server $sc machine $mc  RSS $(status_kb "$BRIDGE_PID" VmRSS) kB"
	if [[ -n $PG_PID ]]; then
		kill -STOP "$BRIDGE_PID"
		[[ -n $PG2_PID ]] && kill -STOP "$PG2_PID"
		run_wrk bridge-pg "$URL_PG" "$DURATION" "$TMP/pg-$r.txt" "$PG_PID"
		[[ -n $PG2_PID ]] && kill -CONT "$PG2_PID"
		kill -CONT "$BRIDGE_PID"
		read -r rps p50 p99 n2 se sc mc < <(parse "$TMP/pg-$r.txt")
		echo "postgres $r $rps $p50 $p99 $n2 $se $sc $mc" >>"$TMP/results.txt"
		log "round $r postgres: $rps req/s  p50 ${p50} ms  p99 ${p99} ms  non-2xx $n2  socket errors $se  cores: server $sc machine $mc"
	fi
	if [[ -n $PG2_PID ]]; then
		kill -STOP "$BRIDGE_PID"
		WRK_HALF=(wrk "-t1" "-c$((CONNS / 2))" --latency -s "$BENCH/alertmanager.lua")
		"${WRK_HALF[@]}" "-d$DURATION" "$URL_PG" -- "$FIXTURE" "$AM_TOKEN" >"$TMP/pg2a-$r.txt" 2>&1 &
		WA=$!
		"${WRK_HALF[@]}" "-d$DURATION" "$URL_PG2" -- "$FIXTURE" "$AM_TOKEN" >"$TMP/pg2b-$r.txt" 2>&1
		wait "$WA"
		kill -CONT "$BRIDGE_PID"
		echo "0 0" >"$TMP/pg2a-$r.txt.cpu"; echo "0 0" >"$TMP/pg2b-$r.txt.cpu"
		read -r ra _ pa _ < <(parse "$TMP/pg2a-$r.txt")
		read -r rb _ pb _ < <(parse "$TMP/pg2b-$r.txt")
		rps=$(awk -v a="$ra" -v b="$rb" 'BEGIN {print a + b}')
		p99=$(awk -v a="$pa" -v b="$pb" 'BEGIN {print (a > b) ? a : b}')
		echo "postgres2 $r $rps 0 $p99 0 0 0 0" >>"$TMP/results.txt"
		log "round $r postgres x2: $rps req/s (${ra} + ${rb})  p99 ${p99} ms"
	fi
done
PEAK_RSS=$(status_kb "$BRIDGE_PID" VmHWM)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

METRICS=$(curl -sS "http://127.0.0.1:$BRIDGE_PORT/metrics" | grep -E '^gewe_bridge_(webhooks_received_total|webhooks_deduplicated_total|messages_queued_total|messages_sent_total|messages_coalesced_total|outbox_commits_total|outbox_committed_writes_total)' || true)
DB_BYTES=$(du -cb "$TMP/data" | awk 'END {print $1}')

# --- 5. restart on the loaded store --------------------------------------------
kill -TERM "$BRIDGE_PID"
for _ in $(seq 150); do kill -0 "$BRIDGE_PID" 2>/dev/null || break; sleep 0.1; done
RESTART=$("$BIN/readytime" -url "http://127.0.0.1:$BRIDGE_PORT/-/ready" -- \
	"$BIN/gewe-bridge" serve -config "$TMP/rules.yaml" -log.level warn 2>>"$TMP/ready.log" | cut -d' ' -f1)

kill -TERM "$GEWE_PID"
for _ in $(seq 50); do kill -0 "$GEWE_PID" 2>/dev/null || break; sleep 0.1; done

# --- summary ------------------------------------------------------------------
col() { awk -v s="$1" -v c="$2" '$1 == s {print $c}' "$TMP/results.txt"; }
BARE_RPS=$(col bare 3 | median)
BRIDGE_RPS=$(col bridge 3 | median)
RATIOS=$(paste <(col bridge 3) <(col bare 3) | awk '{printf "%.3f\n", $1 / $2}')
MKB() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

echo
echo "gewe-bridge load test  $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "code: $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo "${BENCH_REV:-unknown (not a git checkout)}")"
echo "machine: $(nproc) cores, $CPU, $(go version | cut -d' ' -f3); load average before $LOAD_BEFORE, after $LOAD_AFTER"
echo "wrk -t$THREADS -c$CONNS -d$DURATION, $(wc -c <"$FIXTURE") B Alertmanager fixture, distinct per request; $RULES rules, 1 matching; pacing $PACING; $ROUNDS interleaved rounds"
echo "cores: average CPU of the server process / of the whole machine (wrk and anything else included) during the run, out of $(nproc)"
echo
printf '%-8s %5s %12s %9s %9s %8s %8s %8s %8s\n' server round req/s p50_ms p99_ms non2xx sockerr srv_cpu all_cpu
awk '{printf "%-8s %5s %12.0f %9.2f %9.2f %8s %8s %8s %8s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9}' "$TMP/results.txt"
echo
printf '%-44s %14s %14s\n' "" "median" "target"
printf '%-44s %14.0f %14s\n' "bare Fiber req/s" "$BARE_RPS" "-"
printf '%-44s %14.0f %14s\n' "bridge req/s (durable, $RULES rules)" "$BRIDGE_RPS" "-"
if [[ -n $PG_PID ]]; then
	PG_RPS=$(col postgres 3 | median)
	printf '%-44s %14.0f %14s\n' "bridge on PostgreSQL req/s" "$PG_RPS" "-"
	printf '%-44s %14.3f %14s\n' "ratio postgres/bare (medians)" "$(awk -v a="$PG_RPS" -v b="$BARE_RPS" 'BEGIN {print a / b}')" ""
	printf '%-44s %14.2f %14s\n' "postgres p99 ms" "$(col postgres 5 | median)" ""
fi
if [[ -n $PG2_PID ]]; then
	PG2_RPS=$(col postgres2 3 | median)
	printf '%-44s %14.0f %14s\n' "two replicas on PostgreSQL req/s (summed)" "$PG2_RPS" "-"
	printf '%-44s %14.3f %14s\n' "ratio postgres x2/bare (medians)" "$(awk -v a="$PG2_RPS" -v b="$BARE_RPS" 'BEGIN {print a / b}')" ""
	printf '%-44s %14.2f %14s\n' "postgres x2 p99 ms (the worse of the two)" "$(col postgres2 5 | median)" ""
fi
printf '%-44s %14.3f %14s\n' "ratio bridge/bare (medians)" "$(awk -v a="$BRIDGE_RPS" -v b="$BARE_RPS" 'BEGIN {print a / b}')" ">= 0.25"
printf '%-44s %14s %14s\n' "ratio bridge/bare (per round)" "$(echo "$RATIOS" | tr '\n' ' ')" ""
printf '%-44s %14.2f %14s\n' "bare p50 ms" "$(col bare 4 | median)" ""
printf '%-44s %14.2f %14s\n' "bare p99 ms" "$(col bare 5 | median)" ""
printf '%-44s %14.2f %14s\n' "bridge p50 ms" "$(col bridge 4 | median)" ""
printf '%-44s %14.2f %14s\n' "bridge p99 ms" "$(col bridge 5 | median)" "<= 25"
printf '%-44s %14.2f %14s\n' "bridge CPU under load, cores" "$(col bridge 8 | median)" ""
printf '%-44s %14.2f %14s\n' "machine busy during bridge runs, cores" "$(col bridge 9 | median)" ""
printf '%-44s %14s %14s\n' "bridge idle RSS MB (ready + 2 s)" "$(MKB "$IDLE_RSS")" "<= 40"
printf '%-44s %14s %14s\n' "bridge peak RSS MB (VmHWM after load)" "$(MKB "$PEAK_RSS")" "<= 100"
printf '%-44s %14s %14s\n' "exec to /-/ready ms (fresh store)" "$READY_MS" "<= 300"
printf '%-44s %14s %14s\n' "exec to /-/ready ms (restart, loaded store)" "$RESTART" ""
printf '%-44s %14s %14s\n' "store size after the load MB" "$(MKB $((DB_BYTES / 1024)))" ""
echo
echo "bridge counters after the load:"
echo "$METRICS" | sed 's/^/  /'
grep -E '^fakegewe:' "$TMP/fakegewe.log" | sed 's/^/  /' || true
WARN=$(grep -c -E 'level=(WARN|ERROR)' "$TMP/bridge.log" || true)
echo "  bridge log: $WARN warning/error lines$( ((WARN > 0)) && echo "; first: $(grep -m1 -E 'level=(WARN|ERROR)' "$TMP/bridge.log" | cut -c1-200)")"
