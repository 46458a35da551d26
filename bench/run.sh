#!/usr/bin/env bash
# Throughput and peak memory of `tidysniff log --type conn` (ts-conn) and of `tidysniff log` with
# DNS/TLS/HTTP (ts-all) against `tshark -q -z conv,tcp` on the same
# generated capture. Usage: bench/run.sh [SIZE...]   (default: 1G; e.g. bench/run.sh 1G 4G)
# tidysniff rows are the median of RUNS runs (default 5; the first run after a build or a large
# tshark run often pays for page-cache and THP faults), tshark's the median of TSHARK_RUNS runs
# (default 3: a single run of it varied by 30 % on the same file; 1 for a quick look).
# The capture is made by `fixturegen bench` (deterministic) under bench-data/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 2; }
cargo build --release -q -p tidysniff -p fixturegen
mkdir -p bench-data
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(1G)
RUNS=${RUNS:-5}
TSHARK_RUNS=${TSHARK_RUNS:-3}
printf '%-10s %-9s %10s %10s %12s %12s %12s\n' tool size seconds MB/s packets/s peak_MiB flows
for size in "${sizes[@]}"; do
  file="bench-data/bench-$size.pcap"
  [ -f "$file" ] || target/release/fixturegen bench --bytes "$size" --flows 50000 "$file" >&2
  bytes=$(stat -c %s "$file")
  cat "$file" > /dev/null   # page cache: measure analysis, not the disk
  run() { # tool-name runs command...: median seconds and largest peak RSS of `runs` runs
    local name=$1 runs=$2; shift 2
    : > bench-data/times.txt
    for _ in $(seq "$runs"); do
      /usr/bin/time -f '%e %M' -a -o bench-data/times.txt "$@" > bench-data/out.txt 2> bench-data/err.txt
    done
    sort -n bench-data/times.txt | awk -v n="$name" '{ t[NR] = $1; if ($2 > m) m = $2 }
      END { print n, t[int((NR + 1) / 2)], m }'
  }
  read -r _ tc_s tc_k < <(run tidysniff "$RUNS" target/release/tidysniff log --type conn --stats "$file")
  pkts=$(grep -oP 'packets: \K[0-9]+' bench-data/err.txt | head -1)
  flows=$(grep -oP '^\s*flows: \K[0-9]+' bench-data/err.txt | head -1)
  read -r _ ts_s ts_k < <(run tidysniff "$RUNS" target/release/tidysniff log "$file")
  read -r _ sh_s sh_k < <(run tshark "$TSHARK_RUNS" tshark -n -q -z conv,tcp -r "$file")
  for row in "ts-conn $tc_s $tc_k" "ts-all $ts_s $ts_k" "tshark $sh_s $sh_k"; do
    set -- $row
    awk -v t="$1" -v sz="$size" -v s="$2" -v k="$3" -v b="$bytes" -v p="$pkts" -v f="$flows" \
      'BEGIN { printf "%-10s %-9s %10.2f %10.0f %12.0f %12.1f %12s\n", t, sz, s, b/1e6/s, p/s, k/1024, f }'
  done
done
