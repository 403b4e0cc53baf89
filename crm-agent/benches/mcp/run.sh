#!/usr/bin/env bash
# MCP over Streamable HTTP under load: crm-agent against an equivalent FastMCP server, same
# SQLite file, same workload, same load generator (wrk, from Debian), in one run.
#
#   crm-agent/benches/mcp/run.sh            # 100,000 customers, 10 s per measurement
#   DURATION=5s CONNECTIONS=32 CUSTOMERS=20000 crm-agent/benches/mcp/run.sh
#
# Prints requests/s and latency percentiles for `tools/call get_customer` and `tools/list`
# (plain, then with `Accept-Encoding: gzip` as the official Python client sends it) on
# crm-agent (stateless JSON mode, as a horizontally scaled deployment runs it); the same
# `tools/call` with an OAuth JWT instead of an API token (a local issuer, issuer.py); the same
# HTTP server answering a canned copy of that answer (the ceiling: HTTP alone); then the same
# `tools/call` on the FastMCP peer; and the ratios.
#
# Two load generators, for two questions. wrk (closed loop: each connection sends its next
# request when the last answer arrives) finds the most requests/s the server takes; its
# latencies are mostly queueing, since 64 connections always keep 64 requests waiting. oha
# (crates.io; `-q`, open loop) then sends a fixed RATE of requests whatever the answers' pace and
# counts each latency from when its request was due (`--latency-correction`), so its p99 is
# what a client sees at that rate (the target: 20,000 calls/s with p99 <= 5 ms).
set -euo pipefail
cd "$(dirname "$0")/../../.."
source scripts/env.sh
here=crm-agent/benches/mcp
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
RATE=${RATE:-20000}
CUSTOMERS=${CUSTOMERS:-100000}

if ! command -v wrk >/dev/null; then
    echo "installing wrk (Debian)" >&2
    apt-get install -y -q wrk >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }
fi
cargo build --release --locked -q -p crm-agent --features cli
oha=$PWD/target/bench-tools/bin/oha
if [ ! -x "$oha" ]; then
    echo "installing oha (crates.io) under target/bench-tools" >&2
    cargo install -q --locked oha --version 1.16.0 --root target/bench-tools
fi
bin=$CARGO_TARGET_DIR/$CARGO_BUILD_TARGET/release/crm-agent
mkdir -p target/bench-data
seeded=$PWD/target/bench-data/mcp-${CUSTOMERS}c.seeded.db
if [ ! -f "$seeded.done" ]; then
    echo "seeding $CUSTOMERS customers into $seeded" >&2
    rm -f "$seeded" "$seeded-wal" "$seeded-shm"
    "$bin" seed --db "sqlite://$seeded" --quiet --customers "$CUSTOMERS" --leads 1000 --deals 2000 --issues 200 --orders 200 --activities 200
    touch "$seeded.done"
fi
# Every run starts from the same data: each call's audit event stays in the database, and a
# million of them from earlier runs would slow this run's writes down. (The copy takes the
# write-ahead log too, if the seeding left one.)
db_file=$PWD/target/bench-data/mcp-${CUSTOMERS}c.db
rm -f "$db_file" "$db_file-wal" "$db_file-shm"
cp "$seeded" "$db_file"
if [ -f "$seeded-wal" ]; then cp "$seeded-wal" "$db_file-wal"; fi
db=sqlite://$db_file
token=$("$bin" token create --db "$db" --user acme-owner --name mcp-bench)
customer=$("$bin" call list_customers --db "$db" --user acme-owner --args '{"limit": 1}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["items"][0]["id"])')
call_body=$(printf '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_customer","arguments":{"customer_id":"%s"}}}' "$customer")
list_body='{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}'

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_for_port() {
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on port $1" >&2
    return 1
}

# check URL BODY: one request by hand, so a misconfigured run fails loudly instead of measuring errors.
check() {
    local answer
    answer=$(curl -s -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
        -H 'MCP-Protocol-Version: 2025-06-18' -H "Authorization: Bearer $token" --data "$2" "$1")
    case "$answer" in
        *'"result"'*) ;;
        *) echo "unexpected answer from $1: $answer" >&2; exit 1 ;;
    esac
    case "$answer" in *'"isError":true'*) echo "tool error from $1: $answer" >&2; exit 1 ;; esac
}

# cpu_ticks PID: the process's user + system CPU time so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# load NAME URL BODY PID: runs wrk, prints one summary line on stderr (with the server's CPU
# time per request, from /proc/PID/stat) and the requests/s on stdout.
load() {
    local out rps p50 p99 errors requests before after
    before=$(cpu_ticks "$4")
    out=$(MCP_TOKEN=$token MCP_BODY=$3 MCP_ACCEPT_ENCODING=${MCP_ACCEPT_ENCODING:-} wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$here/mcp_request.lua" "$2")
    after=$(cpu_ticks "$4")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errors=$(awk '/Non-2xx/ {print $5}' <<<"$out")
    requests=$(awk '/requests in/ {print $1}' <<<"$out")
    printf '%-44s %10s req/s   p50 %-9s p99 %-9s non-2xx %s   server CPU %s us/req\n' "$1" "$rps" "$p50" "$p99" \
        "${errors:-0}" "$(python3 -c "print(round(($after - $before) * 1e6 / $(getconf CLK_TCK) / $requests, 1))")" >&2
    echo "$rps"
}

# at_rate NAME URL BODY PID: runs oha at RATE requests/s, prints one summary line on stderr:
# the rate it reached, latency percentiles from each request's due time, and the server's CPU
# time per request.
at_rate() {
    local out before after
    before=$(cpu_ticks "$4")
    out=$("$oha" --no-tui --output-format json -z "$DURATION" -q "$RATE" --latency-correction -w -c "$CONNECTIONS" \
        -m POST -T application/json -A 'application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-06-18' \
        -H "Authorization: Bearer $token" --disable-compression -d "$3" "$2")
    after=$(cpu_ticks "$4")
    OHA_JSON=$out python3 - "$1" "$RATE" "$((after - before))" "$(getconf CLK_TCK)" >&2 <<'PY'
import json, os, sys
name, rate, ticks, tick_hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
run = json.loads(os.environ["OHA_JSON"])
answered = sum(run["statusCodeDistribution"].values())
ok = run["statusCodeDistribution"].get("200", 0)
p = run["latencyPercentiles"]
ms = lambda seconds: f"{seconds * 1e3:.2f}ms"
print(f"{name:<44} {run['summary']['requestsPerSec']:10.2f} req/s of {rate}   p50 {ms(p['p50'])}   "
      f"p99 {ms(p['p99'])}   p99.9 {ms(p['p99.9'])}   non-2xx {answered - ok}   "
      f"server CPU {ticks * 1e6 / tick_hz / max(answered, 1):.1f} us/req")
for error, count in run["errorDistribution"].items():
    print(f"  {count} failed: {error}")
PY
}

echo "== crm-agent $(git rev-parse --short HEAD), $CUSTOMERS customers, $CONNECTIONS connections, $THREADS wrk threads, $DURATION each"
port=18801
# One user's calls at full speed: the per-user call limit is off, the server's capacity is measured.
"$bin" mcp --db "$db" --http "127.0.0.1:$port" --stateless --mcp-calls-per-minute 0 >/dev/null 2>&1 &
pids+=($!)
wait_for_port $port
url=http://127.0.0.1:$port/mcp
check "$url" "$call_body"
check "$url" "$list_body"
ours=$(load "crm-agent tools/call get_customer" "$url" "$call_body" "${pids[0]}")
load "crm-agent tools/list (acme-owner, 65 tools)" "$url" "$list_body" "${pids[0]}" >/dev/null
MCP_ACCEPT_ENCODING=gzip load "crm-agent tools/list, Accept-Encoding: gzip" "$url" "$list_body" "${pids[0]}" >/dev/null
echo "== crm-agent at a fixed $RATE requests/s (oha, $CONNECTIONS connections, latency from each request's due time)"
at_rate "crm-agent tools/call get_customer" "$url" "$call_body" "${pids[0]}"
at_rate "crm-agent tools/list, no compression" "$url" "$list_body" "${pids[0]}"
# One real answer, the canned body of the ceiling below.
canned=$PWD/target/bench-data/get_customer-answer.json
curl -s -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
    -H 'MCP-Protocol-Version: 2025-06-18' -H "Authorization: Bearer $token" --data "$call_body" "$url" >"$canned"
kill "${pids[0]}"; pids=()

# The issuer and the FastMCP peer get their own virtualenv: FastMCP pins its own MCP SDK.
if [ ! -x .venv-bench/bin/python ]; then python3 -m venv .venv-bench; fi
.venv-bench/bin/python -m pip install -q -r "$here/requirements.txt"

echo "== crm-agent with OAuth: the same calls with an RS256 JWT from a local issuer (issuer.py)"
issuer_port=18804
oauth_port=18803
issued=$PWD/target/bench-data/issuer.out
rm -f "$issued"
.venv-bench/bin/python "$here/issuer.py" --port $issuer_port --resource "http://127.0.0.1:$oauth_port/mcp" >"$issued" 2>&1 &
pids+=($!)
wait_for_port $issuer_port
api_token=$token
token=$(head -n1 "$issued")
"$bin" mcp --db "$db" --http "127.0.0.1:$oauth_port" --stateless --mcp-calls-per-minute 0 \
    --oauth-issuer "http://127.0.0.1:$issuer_port" >/dev/null 2>&1 &
pids+=($!)
wait_for_port $oauth_port
oauth_url=http://127.0.0.1:$oauth_port/mcp
check "$oauth_url" "$call_body"
with_jwt=$(load "crm-agent tools/call get_customer, OAuth JWT" "$oauth_url" "$call_body" "${pids[1]}")
python3 -c "print(f'ratio OAuth JWT / API token (tools/call get_customer): {float($with_jwt) / float($ours):.2f}')"
kill "${pids[@]}"; pids=()
token=$api_token

echo "== the ceiling: the same HTTP server answering every POST with that answer's $(wc -c <"$canned") bytes"
cargo build --release --locked -q -p crm-agent --features mcp --example canned_http
ceiling_port=18805
"$CARGO_TARGET_DIR/$CARGO_BUILD_TARGET/release/examples/canned_http" "127.0.0.1:$ceiling_port" "$canned" &
pids+=($!)
wait_for_port $ceiling_port
ceiling=$(load "canned answer (HTTP only)" "http://127.0.0.1:$ceiling_port/mcp" "$call_body" "${pids[0]}")
python3 -c "print(f'ratio crm-agent / ceiling (tools/call get_customer): API token {float($ours) / float($ceiling):.2f}, OAuth JWT {float($with_jwt) / float($ceiling):.2f}')"
kill "${pids[0]}"; pids=()

echo "== FastMCP peer (Python) over the same file"
peer_port=18802
.venv-bench/bin/python "$here/fastmcp_peer.py" --db "$db_file" --port $peer_port >/dev/null 2>&1 &
pids+=($!)
wait_for_port $peer_port
peer_url=http://127.0.0.1:$peer_port/mcp
check "$peer_url" "$call_body"
theirs=$(load "FastMCP tools/call get_customer" "$peer_url" "$call_body" "${pids[0]}")
python3 -c "print(f'ratio crm-agent / FastMCP (tools/call get_customer): {float($ours) / float($theirs):.1f}x')"
