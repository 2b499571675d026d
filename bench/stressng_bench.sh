#!/bin/sh
# stressng_bench: a real workload, stress-ng's msg and sem-sysv stressors
# (unmodified, one instance each, for a fixed time), on the kernel and under
# `uipc run`, in one run: bogo ops per second of each and the ratio.
# Usage: bench/stressng_bench.sh [--quick] [BUILD_DIR]
t=10
[ "$1" = "--quick" ] && { t=3; shift; }
b=${1:-build}
if ! command -v stress-ng >/dev/null; then
	echo "stressng_bench: stress-ng is not installed (apt-get install stress-ng); skipped"
	exit 0
fi
ns=$(mktemp -d /dev/shm/uipc-bench.XXXXXX)
trap 'rm -rf "$ns"' EXIT

# The bogo ops per second (real time) stress-ng reports for stressor $1.
rate() {
	awk -v s="$1" '$4 == s && $5 ~ /^[0-9]+$/ { print $9; exit }'
}

echo "stressng_bench: stress-ng ${t}s per stressor, kernel and uipc (uipc run), this run"
for s in msg sem-sysv; do
	k=$(stress-ng --"$s" 1 -t "$t" --metrics-brief 2>&1 | rate "$s")
	u=$("$b/uipc" run --ns "$ns" -- stress-ng --"$s" 1 -t "$t" --metrics-brief 2>&1 | rate "$s")
	awk -v s="$s" -v k="$k" -v u="$u" 'BEGIN {
		if (k == "" || u == "") { printf "%-10s no figure (kernel %s, uipc %s)\n", s, k, u; exit 1 }
		printf "%-10s bogo ops/s   kernel %12.0f  uipc %12.0f  ratio %5.2fx\n", s, k, u, u / k }'
done
