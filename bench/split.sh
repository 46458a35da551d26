#!/usr/bin/env bash
# Upper bound of sharing the analysis between two cores: `tidysniff log` (parsers on) on the whole
# benchmark capture against the same capture cut in two by IP address pair (`fixturegen split`)
# and analyzed by two processes at once (a perfect split: no dispatching, no merge; together they
# print the records of the whole but for `uid` and `frame`, which number each file's frames).
# Interleaved runs; medians; tshark as in bench/run.sh.
# Usage: bench/split.sh [SIZE]   (default 1G; RUNS, default 9; TSHARK_RUNS, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p tidysniff -p fixturegen
size=${1:-1G}
RUNS=${RUNS:-9}
TSHARK_RUNS=${TSHARK_RUNS:-3}
mkdir -p bench-data
file="bench-data/bench-$size.pcap"
[ -f "$file" ] || target/release/fixturegen bench --bytes "$size" --flows 50000 "$file" >&2
half="bench-data/split-$size"
if [ ! -f "$half.1.pcap" ] || [ "$half.1.pcap" -ot "$file" ]; then
  target/release/fixturegen split "$file" "$half.0.pcap" "$half.1.pcap" >&2
fi
cat "$file" "$half.0.pcap" "$half.1.pcap" > /dev/null   # page cache
ts=target/release/tidysniff
# Milliseconds the command took (its output is discarded).
secs() { local s e; s=$(date +%s%N); "$@" > /dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
both() { $ts log "$half.0.pcap" > /dev/null & $ts log "$half.1.pcap" > /dev/null; wait; }
: > bench-data/split-times.txt
for _ in $(seq "$RUNS"); do
  echo "whole $(secs $ts log "$file")" >> bench-data/split-times.txt
  echo "split $(secs both)" >> bench-data/split-times.txt
done
for _ in $(seq "$TSHARK_RUNS"); do
  echo "tshark $(secs tshark -n -q -z conv,tcp -r "$file")" >> bench-data/split-times.txt
done
median() { grep "^$1 " bench-data/split-times.txt | awk '{print $2}' | sort -n |
  awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'; }
w=$(median whole); s=$(median split); t=$(median tshark)
printf '%-28s %8s %10s\n' "$size, median of runs" ms "x tshark"
printf '%-28s %8d %10.1f\n' "tidysniff log, whole" "$w" "$(echo "$t / $w" | bc -l)"
printf '%-28s %8d %10.1f\n' "two halves, two processes" "$s" "$(echo "$t / $s" | bc -l)"
printf '%-28s %8d\n' "tshark -q -z conv,tcp" "$t"
echo "each run: bench-data/split-times.txt"
