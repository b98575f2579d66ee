#!/bin/sh
# bench/nginx.sh: the nginx module against plain nginx, in one nginx, in
# one run, interleaved (A B, B A, ...), with wrk on loopback.
#
#   static route   vs  plain `root` serving the same 1 KB and 100 KB files
#   dynamic route  vs  plain `proxy_pass` to the same upstream
#   static route with 10,000 routes in the table  vs  with 1 route
#
# Prints requests/s of each side and the ratio (ours / reference).
# Knobs: BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_CONNS (50).
#
# BENCH_CALLGRIND=N measures instead what a loaded machine does not
# disturb: the instructions nginx runs per request (valgrind's callgrind,
# one process, counters zeroed after a warm-up, then N keep-alive requests
# per side), and prints the ratio reference / ours.  User space only:
# system calls are not counted, so compare them separately (strace -c).
# The dynamic route is left out (its upstream is the same process).
#
# Our static side is the apps server's "location /" of conf/nginx.conf.in
# as shipped (root $shipoff_root, disable_symlinks, shipoff_static and
# where other routes go) with its open_file_cache settings.  To be fair,
# the plain `root` side has the same open_file_cache (both take it from the
# http block): both serve from cached descriptors, and what is left between
# them is the work of the module per request.

set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
MODULE=$TOP/nginx-modules/build/ngx_http_shipoff_module.so
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
SECONDS_EACH=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNS:-50}

CALLGRIND=${BENCH_CALLGRIND:-}

if [ -n "$CALLGRIND" ]; then
    command -v callgrind_control >/dev/null \
        || { echo "bench: valgrind is missing" >&2; exit 1; }
else
    command -v wrk >/dev/null \
        || { echo "bench: wrk is missing (make deps)" >&2; exit 1; }
fi
[ -f "$MODULE" ] || { echo "bench: build the module first (make)" >&2; exit 1; }

dir=$(mktemp -d /tmp/shipoff-bench.XXXXXX)
chmod 0755 "$dir"
cleanup() {
    [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
    [ -n "${VG:-}" ] && wait "$VG" 2>/dev/null
    sleep 0.2
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

port() {    # a free port below the ephemeral range
    while :; do
        p=$(( 20000 + $(od -An -tu2 -N2 /dev/urandom | tr -d ' ') % 12000 ))
        curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$p/" || { echo "$p"; return; }
    done
}
P_OURS=$(port); P_PLAIN=$(port); P_UP=$(port); P_DYN=$(port)
P_PROXY=$(port); P_CTL=$(port)

mkdir -p "$dir/site"
head -c 1024 /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c 1024 > "$dir/site/1k.txt"
head -c 51200 /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c 102400 > "$dir/site/100k.txt"
chmod -R a+rX "$dir/site"

cat > "$dir/nginx.conf" <<EOC
load_module $MODULE;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    sendfile on;
    default_type text/plain;

    # as the apps server of conf/nginx.conf.in, for both sides
    open_file_cache max=10000 inactive=60s;
    open_file_cache_valid 60s;
    open_file_cache_min_uses 1;
    open_file_cache_errors on;

    shipoff_routes zone=bench:64m;
    shipoff_apps_domain bench.test;
    upstream plain_up { server 127.0.0.1:$P_UP; keepalive 32; }

    server { listen 127.0.0.1:$P_OURS;
             location / {
                 root \$shipoff_root;
                 disable_symlinks on from=\$document_root;
                 shipoff_static on;
                 shipoff_dynamic @dynamic;
                 shipoff_no_route @no_app;
             }
             location @dynamic { proxy_pass http://\$shipoff_upstream; }
             location @no_app { return 404; } }
    server { listen 127.0.0.1:$P_PLAIN;
             location / { root $dir/site; } }
    server { listen 127.0.0.1:$P_UP;
             location / { return 200 "hello from the upstream\n"; } }
    server { listen 127.0.0.1:$P_DYN;
             location / { proxy_http_version 1.1;
                          proxy_set_header Connection "";
                          proxy_pass http://\$shipoff_upstream; } }
    server { listen 127.0.0.1:$P_PROXY;
             location / { proxy_http_version 1.1;
                          proxy_set_header Connection "";
                          proxy_pass http://127.0.0.1:$P_UP; } }
    server { listen 127.0.0.1:$P_CTL;
             client_max_body_size 64m;
             shipoff_control_max_body 64m;
             location /_shipoff/ { shipoff_control; } }
}
EOC

if [ -n "$CALLGRIND" ]; then
    valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" \
        "$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" \
        -g 'daemon off; master_process off;' 2> "$dir/valgrind.log" &
    VG=$!
    i=0
    until curl -s -o /dev/null "http://127.0.0.1:$P_CTL/"; do
        i=$((i + 1))
        [ $i -lt 100 ] || { echo "bench: nginx under valgrind did not start" >&2; exit 1; }
        sleep 0.2
    done
else
    "$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
    sleep 0.3
fi

put() {     # put PATH JSON-FILE
    curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary "@$2" \
        "http://127.0.0.1:$P_CTL/_shipoff/routes$1"
}

table() {   # table N: the static and dynamic routes plus N-2 others
    awk -v n="$1" -v root="$dir/site" -v up="127.0.0.1:$P_UP" 'BEGIN {
        printf "{\"generation\": %d, \"routes\": {", n
        printf "\"static\": {\"project\": \"static\", \"kind\": \"static\", \"root\": \"%s\"}", root
        printf ", \"dyn\": {\"project\": \"dyn\", \"kind\": \"dynamic\", \"upstream\": \"%s\"}", up
        for (i = 0; i < n - 2; i++)
            printf ", \"p%d\": {\"project\": \"p%d\", \"kind\": \"static\", \"root\": \"%s\"}", i, i, root
        printf "}}\n"
    }' > "$dir/table.json"
    code=$(put "" "$dir/table.json")
    [ "$code" = 200 ] || { echo "bench: PUT of $1 routes answered $code" >&2; exit 1; }
}

rps() {     # rps URL [HOST]: requests/s of one wrk run
    if [ -n "${2:-}" ]; then
        wrk -t2 -c"$CONNS" -d"${SECONDS_EACH}s" -H "Host: $2" "$1"
    else
        wrk -t2 -c"$CONNS" -d"${SECONDS_EACH}s" "$1"
    fi | awk '/^Requests\/sec:/ { print $2 }'
}

# compare NAME OURS-URL OURS-HOST REF-URL REF-HOST [SETUP-OURS SETUP-REF]
# Rounds alternate the order (A B, B A, ...): on a machine whose load
# drifts, whichever side always ran first would be favoured.
compare() {
    name=$1; ours=0; ref=0; i=0
    while [ $i -lt "$ROUNDS" ]; do
        if [ $((i % 2)) -eq 0 ]; then
            [ -n "${6:-}" ] && $6
            a=$(rps "$2" "$3")
            [ -n "${7:-}" ] && $7
            b=$(rps "$4" "$5")
        else
            [ -n "${7:-}" ] && $7
            b=$(rps "$4" "$5")
            [ -n "${6:-}" ] && $6
            a=$(rps "$2" "$3")
        fi
        ours=$(echo "$ours $a" | awk '{ print $1 + $2 }')
        ref=$(echo "$ref $b" | awk '{ print $1 + $2 }')
        i=$((i + 1))
    done
    echo "$name $ours $ref $ROUNDS" | awk '{
        printf "%-34s ours %10.0f req/s   reference %10.0f req/s   ratio %.3f\n",
               $1, $2 / $4, $3 / $4, $2 / $3 }'
}

ir() {      # ir URL HOST: instructions per request, CALLGRIND requests
    awk -v n="$CALLGRIND" -v url="$1" 'BEGIN {
        for (i = 0; i < n; i++)
            printf "url = \"%s\"\noutput = \"/dev/null\"\n", url
    }' > "$dir/urls"
    head -n 40 "$dir/urls" > "$dir/warm-up"
    curl -s -H "Host: $2" -K "$dir/warm-up"
    callgrind_control -z "$VG" > /dev/null 2>&1
    curl -s -H "Host: $2" -K "$dir/urls"
    callgrind_control -d "$VG" > /dev/null 2>&1
    awk -v n="$CALLGRIND" '/^(summary|totals):/ { print int($2 / n); exit }' \
        "$(ls -t "$dir"/cg.out.* | head -n 1)"
}

# measure NAME OURS-URL OURS-HOST REF-URL REF-HOST [SETUP-OURS SETUP-REF]
measure() {
    [ -n "${6:-}" ] && $6
    a=$(ir "$2" "$3")
    [ -n "${7:-}" ] && $7
    b=$(ir "$4" "$5")
    echo "$1 $a $b" | awk '{
        printf "%-34s ours %10d Ir/req   reference %10d Ir/req   ratio %.3f\n",
               $1, $2, $3, $3 / $2 }'
}

table 2

if [ -n "$CALLGRIND" ]; then
    echo "# callgrind: instructions per request," \
         "$CALLGRIND keep-alive requests a side"
    measure static-1KB-vs-root "http://127.0.0.1:$P_OURS/1k.txt" \
        static.bench.test "http://127.0.0.1:$P_PLAIN/1k.txt" plain.bench.test
    measure static-100KB-vs-root "http://127.0.0.1:$P_OURS/100k.txt" \
        static.bench.test "http://127.0.0.1:$P_PLAIN/100k.txt" plain.bench.test
    measure 10000-routes-vs-1 "http://127.0.0.1:$P_OURS/1k.txt" \
        static.bench.test "http://127.0.0.1:$P_OURS/1k.txt" static.bench.test \
        "table 10000" "table 2"
else
    echo "# wrk -t2 -c$CONNS, ${SECONDS_EACH}s per run," \
         "$ROUNDS interleaved rounds (ABBA)"
    compare static-1KB-vs-root "http://127.0.0.1:$P_OURS/1k.txt" \
        static.bench.test "http://127.0.0.1:$P_PLAIN/1k.txt" ""
    compare static-100KB-vs-root "http://127.0.0.1:$P_OURS/100k.txt" \
        static.bench.test "http://127.0.0.1:$P_PLAIN/100k.txt" ""
    compare dynamic-vs-proxy_pass "http://127.0.0.1:$P_DYN/" dyn.bench.test \
        "http://127.0.0.1:$P_PROXY/" ""
    compare 10000-routes-vs-1 "http://127.0.0.1:$P_OURS/1k.txt" \
        static.bench.test "http://127.0.0.1:$P_OURS/1k.txt" static.bench.test \
        "table 10000" "table 2"
fi

if grep -q '\[alert\]\|\[emerg\]\|\[crit\]' "$dir/error.log"; then
    echo "bench: nginx logged trouble:" >&2
    grep '\[alert\]\|\[emerg\]\|\[crit\]' "$dir/error.log" >&2
    exit 1
fi
