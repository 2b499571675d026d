#!/bin/sh
# Runs each test program in a fresh namespace directory, with a time
# limit, and prints "N passed, N failed, N skipped" last.
# Usage: run.sh BUILD_DIR TEST...
b=$1; shift
pass=0; fail=0; skip=0; failed=""
for t in "$@"; do
	name=$(basename "$t")
	ns=/dev/shm/uipc-test.$$.$name
	rm -rf "$ns"
	UIPC_NS=$ns UIPC_BUILD=$b timeout -k 5 300 "$t" > "$b/tests/$name.log" 2>&1
	rc=$?
	case $rc in
	0)  pass=$((pass + 1)); echo "PASS $name" ;;
	77) skip=$((skip + 1)); echo "SKIP $name: $(grep -m1 SKIP "$b/tests/$name.log")" ;;
	*)  fail=$((fail + 1)); failed="$failed $name"; echo "FAIL $name (exit $rc)"
	    sed 's/^/    /' "$b/tests/$name.log" | tail -40 ;;
	esac
	rm -rf "$ns"
done
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
