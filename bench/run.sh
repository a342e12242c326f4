#!/bin/bash
# bench/run.sh - socks64 against Dante, microsocks and a direct connection
# (issue 5), all on loopback, in one run, medians of ROUNDS rounds.
#
# Run by `make bench` (B names the build directory). Environment:
#   ROUNDS=N       rounds per case (default 3; 1 with BENCH_QUICK=1)
#   BENCH_QUICK=1  small sizes and short runs, under a minute
#   BENCH_BYTES=N  bytes per stream, one stream (default 1 GiB); four
#                  streams carry half of it each, to keep the run short
#   BENCH_HOLD=N   relays held open at once (default 10000)
#   BENCH_OUT=DIR  where results go (default $B/bench/out)
#   BENCH_COMMIT=X what to call the gatewayd commit (default: git's HEAD)
# Writes raw.tsv (every run's line), results.md (the table) and, when
# gnuplot is there, bench.png. Every process it starts is stopped by its
# PID on exit; every loadgen run is bounded by -T and by timeout(1).
set -u
export LC_ALL=C

B=${B:-build}
BIN=$B/bench
GATEWAYD=$B/gatewayd
SHIM=$B/libsocks64.so
QUICK=${BENCH_QUICK:-0}
OUT=${BENCH_OUT:-$B/bench/out}
if [ "$QUICK" = 1 ]; then
	ROUNDS=${ROUNDS:-1}
	BYTES=${BENCH_BYTES:-67108864}
	HOLD_N=${BENCH_HOLD:-1000}
	CRR_S=0.5 SEQ_S=0.5 GAI_S=0.3 PAUSE_MS=300 EV_S=5
else
	ROUNDS=${ROUNDS:-3}
	BYTES=${BENCH_BYTES:-1073741824}
	HOLD_N=${BENCH_HOLD:-10000}
	CRR_S=2 SEQ_S=2 GAI_S=1 PAUSE_MS=2000 EV_S=8
fi
BYTES4=$((BYTES / 2))
HOLD_S=60		# opening limit of a hold run (5 s without progress ends it)
TPUT_S=90		# limit of one throughput run
DNS_ADDR=127.53.64.1	# the slow resolver the event-loop case uses
TARGETS="direct socks64 dante microsocks"

for f in "$GATEWAYD" "$BIN/loadgen" "$BIN/benchsrv"; do
	[ -x "$f" ] || { echo "bench: $f missing (make B=$B bench)" >&2; exit 1; }
done
mkdir -p "$OUT" || exit 1
TMP=$(mktemp -d /tmp/socks64-bench.XXXXXX) || exit 1
RAW=$OUT/raw.tsv
: > "$RAW"

# --- processes: started in the background, tracked, stopped by PID ------

PIDS=""

track() { PIDS="$PIDS $1"; }

# TERM to pid, which stops its own children (Dante's workers) and reaps
# them; after 3 s, KILL to it and to the children it had, by their PIDs.
stop_pid() {
	local pid=$1 kids i
	kill -0 "$pid" 2>/dev/null || return 0
	kids=$(ps -o pid= --ppid "$pid" 2>/dev/null)
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 30); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" $kids 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

cleanup() {
	local p
	for p in $PIDS; do stop_pid "$p"; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits (at most 5 s) until pid listens on TCP port; 0 if it does.
wait_listen() {
	local port=$1 pid=$2 i
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || return 1
		if command -v ss >/dev/null; then
			ss -Hltn "( sport = :$port )" 2>/dev/null | grep -q . &&
			    return 0
		else
			# No ss(8): one connection, opened and closed at once.
			(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		fi
		sleep 0.1
	done
	return 1
}

freeport() { "$BIN/loadgen" freeport; }

# --- the machine and its limits -------------------------------------------

# Ten thousand relays need descriptors: raise the limit as far as allowed.
ulimit -Hn 200000 2>/dev/null
ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)
# A held relay that only echoes costs every proxy two descriptors, its
# sockets (gatewayd takes splice pipes only for bulk data, microsocks
# none): FIT_N relays fit in any of them with room to spare.
FIT_N=$(( (NOFILE - 200) / 2 / 1000 * 1000 ))
[ "$FIT_N" -gt "$HOLD_N" ] && FIT_N=$HOLD_N

machine() {
	echo "- CPU: $(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
	echo "- memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "- kernel: $(uname -sr); $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
	echo "- RLIMIT_NOFILE: $NOFILE (hard $(ulimit -Hn))"
	echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- gatewayd: $("$GATEWAYD" -V 2>&1 | head -1), commit ${BENCH_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo "?")}"
	echo "- Dante: $(dpkg-query -W -f '${Version}' dante-server 2>/dev/null || echo 'not installed')"
	echo "- microsocks: $(dpkg-query -W -f '${Version}' microsocks 2>/dev/null || echo 'not installed')"
	echo "- rounds: $ROUNDS; bytes per stream: $BYTES (1 stream), $BYTES4 (4 streams)"
}

# --- peers: installed from Debian when missing (as root) ------------------

DANTED=$(command -v danted || echo /usr/sbin/danted)
MICROSOCKS=$(command -v microsocks || echo /usr/bin/microsocks)
if { [ ! -x "$DANTED" ] || [ ! -x "$MICROSOCKS" ]; } && [ "$(id -u)" = 0 ] &&
    command -v apt-get >/dev/null; then
	echo "bench: installing dante-server and microsocks" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dante-server \
	    microsocks >"$TMP/apt.log" 2>&1 ||
	    { apt-get update -qq >>"$TMP/apt.log" 2>&1 &&
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    dante-server microsocks >>"$TMP/apt.log" 2>&1; } ||
	    echo "bench: apt-get failed (see below); peers may be n/a" >&2
	DANTED=$(command -v danted || echo /usr/sbin/danted)
	MICROSOCKS=$(command -v microsocks || echo /usr/bin/microsocks)
fi
[ -x "$DANTED" ] || echo "bench: no danted: Dante is n/a" >&2
[ -x "$MICROSOCKS" ] || echo "bench: no microsocks: it is n/a" >&2

# --- configurations (throwaway) ---------------------------------------

cat > "$TMP/gatewayd.conf" <<EOF
# Every loopback client, every destination; room for the hold case.
client pass from 127.0.0.0/8
pass to any
max-clients $((HOLD_N + 1000))
EOF

# Dante binds its outbound sockets to "external" before connecting, and
# bind() to port 0 cannot take a port that TIME_WAIT holds: on 127.0.0.1
# the connection-rate cases leave tens of thousands. 127.0.0.2 is its own.
dante_conf() {
	cat <<EOF
logoutput: stderr
internal: 127.0.0.1 port = $1
external: 127.0.0.2
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 log: error }
socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 log: error }
EOF
}

# start_proxy NAME: starts a fresh instance; sets PPORT and PPID_ (or 1).
start_proxy() {
	local name=$1
	PPORT=$(freeport)
	case $name in
	socks64)
		"$GATEWAYD" -f -c "$TMP/gatewayd.conf" -l "127.0.0.1:$PPORT" \
		    2>>"$TMP/gatewayd.log" &
		;;
	dante)
		[ -x "$DANTED" ] || return 1
		dante_conf "$PPORT" > "$TMP/danted-$PPORT.conf"
		"$DANTED" -f "$TMP/danted-$PPORT.conf" \
		    -p "$TMP/danted-$PPORT.pid" 2>>"$TMP/danted.log" &
		;;
	microsocks)
		[ -x "$MICROSOCKS" ] || return 1
		"$MICROSOCKS" -i 127.0.0.1 -p "$PPORT" \
		    >>"$TMP/microsocks.log" 2>&1 &
		;;
	*)
		return 1
		;;
	esac
	PPID_=$!
	track "$PPID_"
	if ! wait_listen "$PPORT" "$PPID_"; then
		echo "bench: $name did not start" >&2
		stop_pid "$PPID_"
		return 1
	fi
	return 0
}

# --- running and recording ------------------------------------------------

# lg CASE TARGET ROUND LIMIT ARGS...: one loadgen run, its line recorded.
lg() {
	local cs=$1 target=$2 round=$3 limit=$4 line
	shift 4
	line=$(timeout -k 5 "$(awk "BEGIN { print int($limit) + 30 }")" \
	    "$@" 2>>"$TMP/loadgen.err" | tail -1)
	[ -n "$line" ] || line="error=\"no result (timed out or crashed)\""
	printf '%s\t%s\t%s\t%s\n' "$cs" "$target" "$round" "$line" >> "$RAW"
	printf '  %-12s %-10s r%s  %s\n' "$cs" "$target" "$round" "$line" >&2
}

LG=$BIN/loadgen

# Destination services.
"$BIN/benchsrv" -e "127.0.0.1:$(freeport)" -d "127.0.0.1:$(freeport)" -T 3600 \
    > "$TMP/srv.out" 2>"$TMP/srv.err" &
SRV=$!
track "$SRV"
for i in $(seq 50); do [ -s "$TMP/srv.out" ] && break; sleep 0.1; done
ECHO=$(sed -n 's/.*echo=\([0-9]*\).*/\1/p' "$TMP/srv.out")
DATA=$(sed -n 's/.*data=\([0-9]*\).*/\1/p' "$TMP/srv.out")
[ -n "$ECHO" ] && [ -n "$DATA" ] || { echo "bench: benchsrv failed" >&2; exit 1; }

# Long-lived proxies for throughput and connection rate.
declare -A PORT PID
PORT[direct]=- PID[direct]=0
for t in socks64 dante microsocks; do
	if start_proxy "$t"; then
		PORT[$t]=$PPORT PID[$t]=$PPID_
	else
		PORT[$t]=- PID[$t]=0
	fi
done

# proxy_args TARGET: loadgen's -x/-p for a target, nothing for direct.
proxy_args() {
	[ "${PORT[$1]}" = - ] || echo "-x 127.0.0.1:${PORT[$1]} -p ${PID[$1]}"
}

available() { [ "$1" = direct ] || [ "${PORT[$1]}" != - ]; }

{ echo "## machine"; machine; } > "$TMP/machine.md"
cat "$TMP/machine.md" >&2
T0=$(date +%s)

# --- the shim's environment: a gateway that knows the bench names --------

# The shim delegates names the client cannot resolve; the gateway must
# resolve them. It runs in a private mount namespace whose /etc/hosts has
# echo.bench.test and whose resolver is benchsrv's slow DNS (500 ms), for
# slow.bench.test. Nothing outside that namespace changes.
SHIM_OK=0 SHIM_WHY="no shim built ($SHIM)"
EV_OK=0 EV_WHY=""
if [ -f "$SHIM" ]; then
	if ! nm -D --defined-only "$SHIM" 2>/dev/null | grep -qw connect; then
		SHIM_WHY="shim has no connect hook yet"
	elif [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
		SHIM_WHY="needs root and unshare(1) for the gateway's private /etc/hosts"
	else
		printf '127.0.0.1 localhost\n127.0.0.1 echo.bench.test\n' \
		    > "$TMP/hosts"
		printf 'nameserver %s\noptions timeout:5 attempts:1\n' \
		    "$DNS_ADDR" > "$TMP/resolv.conf"
		: > "$TMP/socks64.conf"
		# The event loop both ways: connect() finishing the SOCKS
		# exchange itself, and returning at once (pending.c).
		echo "async no" > "$TMP/socks64-sync.conf"
		echo "async yes" > "$TMP/socks64-async.conf"
		SGW=$(freeport)
		unshare -m --propagation private sh -c 'mount --bind "$1" /etc/hosts &&
		    mount --bind "$2" /etc/resolv.conf && exec "$3" -f -c "$4" -l "$5"' \
		    sh "$TMP/hosts" "$TMP/resolv.conf" "$GATEWAYD" \
		    "$TMP/gatewayd.conf" "127.0.0.1:$SGW" 2>>"$TMP/shimgw.log" &
		SGW_PID=$!
		track "$SGW_PID"
		if wait_listen "$SGW" "$SGW_PID"; then
			SHIM_OK=1
		else
			SHIM_WHY="gateway in a private mount namespace did not start: $(tail -1 "$TMP/shimgw.log")"
		fi
		"$BIN/benchsrv" -n "$DNS_ADDR:53" -D 500 -T 3600 \
		    > "$TMP/dns.out" 2>"$TMP/dns.err" &
		DNS_PID=$!
		track "$DNS_PID"
		for i in $(seq 30); do [ -s "$TMP/dns.out" ] && break; sleep 0.1; done
		if [ -s "$TMP/dns.out" ]; then
			EV_OK=1
		else
			EV_WHY="slow DNS on $DNS_ADDR:53 did not start: $(cat "$TMP/dns.err")"
		fi
	fi
fi
# An /etc/hosts name that is not localhost (glibc reads the file for it).
HOSTS_NAME=$(awk '!/^[[:space:]]*#/ && $1 ~ /^[0-9.]+$/ {
    for (i = 2; i <= NF; i++) if ($i !~ /localhost/) { print $i; exit } }' \
    /etc/hosts)
[ -n "$HOSTS_NAME" ] || HOSTS_NAME=localhost

# The shim's cases run loadgen under this prefix (timeout(1) needs a
# command, not a function).
SHIMENV=(env LD_PRELOAD="$SHIM" SOCKS64_CONF="$TMP/socks64.conf"
    SOCKS64_GATEWAY="127.0.0.1:${SGW:-0}")

# --- the rounds -----------------------------------------------------------

for r in $(seq "$ROUNDS"); do
	echo "bench: round $r of $ROUNDS" >&2
	for spec in "tput1up 1 $BYTES up" "tput1down 1 $BYTES down" \
	    "tput4up 4 $BYTES4 up" "tput4down 4 $BYTES4 down"; do
		set -- $spec
		for t in $TARGETS; do
			available "$t" || continue
			lg "$1" "$t" "$r" "$TPUT_S" "$LG" tput $(proxy_args "$t") \
			    -t "127.0.0.1:$DATA" -s "$2" -b "$3" -d "$4" -T "$TPUT_S"
		done
	done
	for c in 1 32; do
		for t in $TARGETS; do
			available "$t" || continue
			lg "crr$c" "$t" "$r" "$CRR_S" "$LG" crr $(proxy_args "$t") \
			    -t "127.0.0.1:$ECHO" -c "$c" -T "$CRR_S"
		done
	done
	# Held relays: a fresh instance each, so RSS before is its idle RSS.
	sizes=$HOLD_N
	[ "$FIT_N" -lt "$HOLD_N" ] && [ "$FIT_N" -gt 0 ] && sizes="$HOLD_N $FIT_N"
	for n in $sizes; do
		hc=holdN
		[ "$n" = "$HOLD_N" ] || hc=holdfit
		for t in $TARGETS; do
			if [ "$t" = direct ]; then
				lg "$hc" direct "$r" "$HOLD_S" "$LG" hold \
				    -t "127.0.0.1:$ECHO" -n "$n" -c 128 -P "$PAUSE_MS" \
				    -T "$HOLD_S"
				continue
			fi
			available "$t" || continue
			start_proxy "$t" || continue
			lg "$hc" "$t" "$r" "$HOLD_S" "$LG" hold \
			    -x "127.0.0.1:$PPORT" -p "$PPID_" -t "127.0.0.1:$ECHO" \
			    -n "$n" -c 128 -P "$PAUSE_MS" -T "$HOLD_S"
			stop_pid "$PPID_"
		done
	done
	if [ "$SHIM_OK" = 1 ]; then
		lg seqplain socks64 "$r" "$SEQ_S" "$LG" seq -x "127.0.0.1:$SGW" \
		    -t "echo.bench.test:$ECHO" -T "$SEQ_S"
		before=$(grep -c 'dest=echo.bench.test' "$TMP/shimgw.log")
		lg seqshim socks64 "$r" "$SEQ_S" "${SHIMENV[@]}" "$LG" seq \
		    -t "echo.bench.test:$ECHO" -T "$SEQ_S"
		after=$(grep -c 'dest=echo.bench.test' "$TMP/shimgw.log")
		# Proof that the shim's connections went through the gateway.
		printf 'shimvia\tsocks64\t%s\tsessions=%s\n' "$r" \
		    "$((after - before))" >> "$RAW"
		lg gaireal socks64 "$r" "$GAI_S" "$LG" gai -t "$HOSTS_NAME" \
		    -T "$GAI_S"
		lg gaishimhosts socks64 "$r" "$GAI_S" "${SHIMENV[@]}" "$LG" gai \
		    -t "$HOSTS_NAME" -T "$GAI_S"
		lg gaishimdeleg socks64 "$r" "$GAI_S" "${SHIMENV[@]}" "$LG" gai \
		    -t "gai.bench.test" -T "$GAI_S"
		if [ "$EV_OK" = 1 ]; then
			lg evloop socks64 "$r" "$EV_S" "${SHIMENV[@]}" \
			    SOCKS64_CONF="$TMP/socks64-sync.conf" "$LG" evloop \
			    -t "slow.bench.test:$ECHO" -c 100 -T "$EV_S"
			lg evloopasync socks64 "$r" "$EV_S" "${SHIMENV[@]}" \
			    SOCKS64_CONF="$TMP/socks64-async.conf" "$LG" evloop \
			    -t "slow.bench.test:$ECHO" -c 100 -T "$EV_S"
		fi
	fi
done
T1=$(date +%s)

# --- medians and the table ----------------------------------------------

# medians: "case target key median n" for every numeric key.
awk -F'\t' '
{
	n = split($4, kv, " ")
	for (i = 1; i <= n; i++) {
		if (split(kv[i], p, "=") != 2 || p[2] !~ /^-?[0-9.]+$/)
			continue
		k = $1 SUBSEP $2 SUBSEP p[1]
		cnt[k]++
		v[k, cnt[k]] = p[2] + 0
	}
}
END {
	for (k in cnt) {
		m = cnt[k]
		for (i = 1; i <= m; i++) a[i] = v[k, i]
		for (i = 2; i <= m; i++) {	# insertion sort: a few rounds
			x = a[i]
			for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]
			a[j + 1] = x
		}
		med = (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
		split(k, f, SUBSEP)
		print f[1], f[2], f[3], med, m
	}
}' "$RAW" > "$OUT/medians.txt"

# med CASE TARGET KEY: the median, or "n/a".
med() {
	awk -v c="$1" -v t="$2" -v k="$3" '$1 == c && $2 == t && $3 == k {
	    print $4; found = 1 } END { if (!found) print "n/a" }' \
	    "$OUT/medians.txt"
}

# Runs of a case whose line has no ok=1 (integrity) or shows an error.
bad_runs() {
	awk -F'\t' -v c="$1" -v t="$2" '$1 == c && $2 == t &&
	    ($4 ~ /ok=0/ || $4 ~ /error=/) { n++ } END { print n + 0 }' "$RAW"
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
	    if (a == "n/a" || b == "n/a" || b + 0 == 0) print "n/a"
	    else printf "%.2f", a / b }'
}

fmt() {
	awk -v x="$1" 'BEGIN { if (x == "n/a") print x;
	    else if (x + 0 >= 100) printf "%.0f", x;
	    else if (x + 0 >= 10) printf "%.1f", x; else printf "%.2f", x }'
}

# check RATIO OP LIMIT: "met" or "MISSED" (or "-").
check() {
	awk -v r="$1" -v op="$2" -v l="$3" 'BEGIN {
	    if (r == "n/a") { print "n/a"; exit }
	    ok = (op == ">=") ? r + 0 >= l : r + 0 <= l
	    print ok ? "met" : "MISSED" }'
}

# row LABEL CASE KEY [TARGET-TEXT RATIO-PEER OP LIMIT]...
row() {
	local label=$1 cs=$2 key=$3 d s da mi goal="" g
	shift 3
	d=$(med "$cs" direct "$key") s=$(med "$cs" socks64 "$key")
	da=$(med "$cs" dante "$key") mi=$(med "$cs" microsocks "$key")
	while [ $# -ge 3 ]; do
		case $1 in
		direct) g=$(ratio "$s" "$d") ;;
		dante) g=$(ratio "$s" "$da") ;;
		microsocks) g=$(ratio "$s" "$mi") ;;
		esac
		goal="$goal${goal:+; }$2 $3 x $1: $(check "$g" "$2" "$3")"
		shift 3
	done
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" \
	    "$(fmt "$d")" "$(fmt "$s")" "$(fmt "$da")" "$(fmt "$mi")" \
	    "$(ratio "$s" "$d")" "$(ratio "$s" "$da")" "$(ratio "$s" "$mi")" \
	    "${goal:--}"
}

integrity() {
	local t c n=0 runs
	for t in $TARGETS; do
		for c in tput1up tput1down tput4up tput4down; do
			n=$((n + $(bad_runs "$c" "$t")))
		done
	done
	runs=$(awk -F'\t' '$1 ~ /^tput/ { n++ } END { print n + 0 }' "$RAW")
	echo "$((runs - n)) of $runs throughput runs passed the integrity check"
	awk -F'\t' '$1 ~ /^tput/ && ($4 ~ /ok=0/ || $4 ~ /error=/) {
	    print "  failed: " $1 " " $2 " round " $3 ": " $4 }' "$RAW"
}

table() {
	echo "| metric (median of $ROUNDS) | direct | socks64 | Dante | microsocks | socks64/direct | socks64/Dante | socks64/microsocks | issue 5 target |"
	echo "|---|---|---|---|---|---|---|---|---|"
	row "1 stream up, Gbit/s" tput1up gbps direct ">=" 0.75 dante ">=" 1.5
	row "1 stream down, Gbit/s" tput1down gbps direct ">=" 0.75 dante ">=" 1.5
	row "4 streams up, Gbit/s" tput4up gbps
	row "4 streams down, Gbit/s" tput4down gbps
	row "CPU s/GiB, 1 up" tput1up cpu_per_gib dante "<=" 0.4
	row "CPU s/GiB, 1 down" tput1down cpu_per_gib dante "<=" 0.4
	row "CPU s/GiB, 4 up" tput4up cpu_per_gib
	row "CPU s/GiB, 4 down" tput4down cpu_per_gib
	row "conn/s, c=1" crr1 cps microsocks ">=" 1.5
	row "latency p50 us, c=1" crr1 p50_us microsocks "<=" 0.6
	row "latency p90 us, c=1" crr1 p90_us
	row "latency p99 us, c=1" crr1 p99_us
	row "latency max us, c=1" crr1 max_us
	row "conn/s, c=32" crr32 cps microsocks ">=" 1.5
	row "latency p50 us, c=32" crr32 p50_us
	row "latency p90 us, c=32" crr32 p90_us
	row "latency p99 us, c=32" crr32 p99_us
	row "latency max us, c=32" crr32 max_us
	row "relays alive after pause, of $HOLD_N" holdN alive
	row "peak RSS KiB/relay, $HOLD_N" holdN hwm_per_relay_kib microsocks "<=" 1
	row "MemAvailable drop KiB/relay, $HOLD_N" holdN memdrop_per_relay_kib
	row "kernel Slab+stack+PT KiB/relay, $HOLD_N" holdN kernel_per_relay_kib
	if [ "$FIT_N" -lt "$HOLD_N" ]; then
		row "relays alive after pause, of $FIT_N" holdfit alive
		row "peak RSS KiB/relay, $FIT_N" holdfit hwm_per_relay_kib microsocks "<=" 1
		row "MemAvailable drop KiB/relay, $FIT_N" holdfit memdrop_per_relay_kib
		row "kernel Slab+stack+PT KiB/relay, $FIT_N" holdfit kernel_per_relay_kib
	fi
}

shim_table() {
	local plain shim ov real hosts deleg
	echo "| shim case (socks64, median of $ROUNDS) | value | issue 5 target |"
	echo "|---|---|---|"
	if [ "$SHIM_OK" != 1 ]; then
		echo "| connect+echo, getaddrinfo, event loop | n/a ($SHIM_WHY) | - |"
		return
	fi
	plain=$(med seqplain socks64 p50_us) shim=$(med seqshim socks64 p50_us)
	ov=$(awk -v a="$shim" -v b="$plain" 'BEGIN { if (a == "n/a" ||
	    b == "n/a" || b + 0 == 0) print "n/a"; else printf "%.1f", (a / b - 1) * 100 }')
	echo "| connect+1-byte echo p50, plain SOCKS client, us | $(fmt "$plain") | |"
	echo "| connect+1-byte echo p50, through the shim, us | $(fmt "$shim") (gateway saw $(med shimvia socks64 sessions) sessions of $(med seqshim socks64 conns)) | |"
	echo "| shim overhead on connect+echo | $ov % | < 5 %: $(awk -v o="$ov" 'BEGIN { print (o == "n/a") ? "n/a" : (o + 0 < 5 ? "met" : "MISSED") }') |"
	real=$(med gaireal socks64 ns_per_call)
	hosts=$(med gaishimhosts socks64 ns_per_call)
	deleg=$(med gaishimdeleg socks64 ns_per_call)
	echo "| getaddrinfo ns/call, real, /etc/hosts name ($HOSTS_NAME) | $(fmt "$real") | |"
	echo "| getaddrinfo ns/call, shim loaded, same name | $(fmt "$hosts") | |"
	echo "| getaddrinfo ns/call, shim, delegated name | $(fmt "$deleg") | < real: $(awk -v a="$deleg" -v b="$real" 'BEGIN { print (a == "n/a" || b == "n/a") ? "n/a" : (a + 0 < b + 0 ? "met" : "MISSED") }') |"
	if [ "$EV_OK" = 1 ]; then
		echo "| event loop: 100 non-blocking connects, destination 500 ms away: total ms | $(fmt "$(med evloop socks64 total_ms)") (ok $(med evloop socks64 ok), launched $(med evloop socks64 launched) within ${EV_S} s) | ~500: $(awk -v t="$(med evloop socks64 total_ms)" -v ok="$(med evloop socks64 ok)" 'BEGIN { print (t == "n/a") ? "n/a" : (t + 0 <= 1000 && ok + 0 == 100 ? "met" : "MISSED") }') |"
		echo "| event loop: longest single connect() call, ms | $(fmt "$(med evloop socks64 max_connect_call_ms)") | |"
		echo "| the same with 'async yes': total ms | $(fmt "$(med evloopasync socks64 total_ms)") (ok $(med evloopasync socks64 ok), launched $(med evloopasync socks64 launched) within ${EV_S} s) | ~500: $(awk -v t="$(med evloopasync socks64 total_ms)" -v ok="$(med evloopasync socks64 ok)" 'BEGIN { print (t == "n/a") ? "n/a" : (t + 0 <= 1000 && ok + 0 == 100 ? "met" : "MISSED") }') |"
		echo "| 'async yes': longest single connect() call, ms | $(fmt "$(med evloopasync socks64 max_connect_call_ms)") | |"
	else
		echo "| event loop | n/a ($EV_WHY) | - |"
	fi
}

{
	echo "# socks64 benchmark results"
	echo
	echo "Command: \`make bench\` (ROUNDS=$ROUNDS BENCH_QUICK=$QUICK), $(date -u '+%Y-%m-%d %H:%M UTC'), $((T1 - T0)) s."
	echo
	cat "$TMP/machine.md"
	echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	table
	echo
	shim_table
	echo
	echo "Integrity: $(integrity)"
	echo
	echo "Raw lines: $RAW (one per run)."
} > "$OUT/results.md"
cat "$OUT/results.md"

# Errors the proxies logged, for the reader of a failed case.
for f in gatewayd danted microsocks shimgw; do
	[ -s "$TMP/$f.log" ] || continue
	n=$(grep -ciE 'error|warn|fail|alert' "$TMP/$f.log")
	[ "$n" -gt 0 ] || continue
	echo "bench: $f logged $n warning/error lines; the last ones:" >&2
	grep -iE 'error|warn|fail|alert' "$TMP/$f.log" | tail -3 >&2
done
[ -s "$TMP/loadgen.err" ] && { echo "bench: loadgen stderr:" >&2;
    tail -5 "$TMP/loadgen.err" >&2; }

# --- the plot ---------------------------------------------------------------

if command -v gnuplot >/dev/null; then
	# Per-relay memory from the size every proxy could hold.
	mcase=holdN
	[ "$FIT_N" -lt "$HOLD_N" ] && mcase=holdfit
	{
		echo "# target tput1up tput1down tput4up tput4down crr1 crr32 rss"
		for t in $TARGETS; do
			echo "$t $(med tput1up "$t" gbps) $(med tput1down "$t" gbps)" \
			    "$(med tput4up "$t" gbps) $(med tput4down "$t" gbps)" \
			    "$(med crr1 "$t" cps) $(med crr32 "$t" cps)" \
			    "$(med "$mcase" "$t" hwm_per_relay_kib)"
		done
	} | sed 's#n/a#NaN#g' > "$OUT/plot.dat"
	gnuplot <<EOF 2>>"$TMP/gnuplot.err" || echo "bench: gnuplot failed" >&2
set terminal pngcairo size 1400,420 font "sans,10"
set output "$OUT/bench.png"
set multiplot layout 1,3 title "socks64 vs Dante, microsocks and direct (loopback, medians of $ROUNDS)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top right
set grid ytics
set yrange [0:*]
set title "throughput, Gbit/s"
plot "$OUT/plot.dat" using 2:xtic(1) title "1 up", '' using 3 title "1 down", \
     '' using 4 title "4 up", '' using 5 title "4 down"
set title "connections/s (greeting+CONNECT+1-byte echo+close)"
plot "$OUT/plot.dat" using 6:xtic(1) title "c=1", '' using 7 title "c=32"
set title "peak RSS growth per held relay, KiB (log scale)"
set logscale y
set yrange [1:*]
plot "$OUT/plot.dat" using 8:xtic(1) title "VmHWM growth / relays"
unset multiplot
EOF
	[ -s "$OUT/bench.png" ] && echo "bench: plot in $OUT/bench.png" >&2
fi
exit 0
