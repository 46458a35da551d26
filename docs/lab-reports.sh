#!/usr/bin/env bash
# Regenerates docs/lab-reports.md: `tidysniff analyze` on every shipped Go lab capture.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p tidysniff
bin=target/release/tidysniff
scenarios=(clean syn_drop dns_forged dns_private goprivate_direct direct_fallback sni_reset http_403 ipv6_blackhole metadata)
{
	echo '# `tidysniff analyze` on each Go lab scenario (real output)'
	echo
	echo 'Captures: `fixtures/golab_*.pcap`, recorded by `sudo fixtures/lab/go-lab.sh` (a real `go mod tidy`,'
	echo 'Debian Go 1.19, in network namespaces; see [fixtures/lab/README.md](../fixtures/lab/README.md)).'
	echo 'This page is made by `docs/lab-reports.sh`.'
	for s in "${scenarios[@]}"; do
		rc=0
		out=$("$bin" analyze --no-go-command --go-env "fixtures/golab_$s.goenv.json" "fixtures/golab_$s.pcap") || rc=$?
		echo
		echo "## $s"
		echo
		echo "\`tidysniff analyze --go-env fixtures/golab_$s.goenv.json fixtures/golab_$s.pcap\` (exit $rc)"
		echo
		echo '```text'
		echo "$out"
		echo '```'
	done
} >docs/lab-reports.md
