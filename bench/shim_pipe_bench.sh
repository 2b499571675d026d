#!/bin/sh
# shim_pipe_bench.sh BUILD: bench/plain/pipe_plain, an unmodified program,
# run on the kernel's pipes and under `uipc run --pipes` in one run; each
# figure of both and their ratio.
b=${1:-build}
prog=$b/bench/pipe_plain
[ -x "$prog" ] || { echo "shim_pipe_bench: $prog not built" >&2; exit 1; }
ns=$(mktemp -d /dev/shm/uipc-bench.XXXXXX) || exit 1
trap 'rm -rf "$ns"' EXIT
k=$("$prog") || { echo "shim_pipe_bench: kernel run failed" >&2; exit 1; }
u=$(UIPC_NS=$ns "$b/uipc" run --pipes -- "$prog") ||
	{ echo "shim_pipe_bench: uipc run failed" >&2; exit 1; }
echo "An unmodified program's pipes (bench/plain/pipe_plain), kernel vs uipc run --pipes:"
printf '%-14s %14s %14s %8s\n' workload kernel uipc ratio
echo "$k" | while read -r name kv unit; do
	uv=$(echo "$u" | awk -v n="$name" '$1 == n { print $2 }')
	awk -v n="$name" -v k="$kv" -v u="$uv" -v unit="$unit" \
		'BEGIN { printf "%-14s %14s %14s %7.2fx  (%s)\n", n, k, u, u / k, unit }'
done
