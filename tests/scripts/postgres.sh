#!/bin/sh
# PostgreSQL on System V IPC, from initdb to a clean stop, with two crashes
# on the way.  It prints a transcript that must not depend on whether the
# IPC underneath is the kernel's or uipc's: shim_postgres runs it on both
# and compares.  Run it as a user PostgreSQL accepts (not root).
# Usage: sh postgres.sh PGBIN DIR   (DIR: an empty directory of this user's)
set -u
bin=$1
dir=$2
cd "$dir" || exit 2
data=$dir/data
log=$dir/log
rm -rf "$data" "$log"
port=54329
export PGHOST=$dir PGPORT=$port PGDATABASE=bench
PATH=$bin:$PATH

sql() { psql -X -q -At -c "$1" 2>&1; }

# Wait up to 30 s for the server to answer; print how it went.
ready() {
	i=0
	while [ $i -lt 300 ]; do
		[ "$(psql -X -At -c 'select 1' 2>/dev/null)" = 1 ] && { echo "$1: answers"; return 0; }
		sleep 0.1
		i=$((i + 1))
	done
	echo "$1: no answer after 30 s"
	return 1
}

# The bank's books balance: what pgbench moved through accounts, tellers
# and branches equals what its history records.
books() {
	echo "$1: $(sql 'select count(*) from pgbench_accounts') accounts, balanced $(sql \
	    'select (select sum(abalance) from pgbench_accounts) = (select coalesce(sum(delta), 0) from pgbench_history)
	        and (select sum(tbalance) from pgbench_tellers) = (select sum(bbalance) from pgbench_branches)
	        and (select sum(bbalance) from pgbench_branches) = (select coalesce(sum(delta), 0) from pgbench_history)')"
}

# The processes whose parent is $1 (from /proc: ps may not be installed).
children() {
	for s in /proc/[0-9]*/stat; do
		ppid=$(sed 's/.*) . \([0-9]*\).*/\1/' "$s" 2>/dev/null)
		[ "$ppid" = "$1" ] && { s=${s#/proc/}; echo "${s%/stat}"; }
	done
}

# The main segment's id, from postmaster.pid's last line ("key shmid").
segment() { sed -n 7p "$data/postmaster.pid" | awk '{print $2}'; }

# Whether System V segment $1 still exists, and its attach count.
seginfo() {
	if out=$(ipcs -m -i "$1" 2>/dev/null) && [ -n "$out" ]; then
		echo "present, nattch $(echo "$out" | sed -n 's/.*nattch=\([0-9]*\).*/\1/p')"
	else
		echo gone
	fi
}

initdb -D "$data" -A trust -N >"$dir/initdb.log" 2>&1
echo "initdb: $?"
cat >>"$data/postgresql.conf" <<EOF
shared_memory_type = sysv
dynamic_shared_memory_type = sysv
port = $port
listen_addresses = ''
unix_socket_directories = '$dir'
fsync = off
max_parallel_workers_per_gather = 2
EOF
pg_ctl -D "$data" -l "$log" -w -t 60 start >/dev/null 2>&1
echo "start: $?"
createdb bench 2>&1
echo "createdb: $?"
pgbench -i -s 1 -q bench >"$dir/init.log" 2>&1
echo "pgbench -i: $?"

# Concurrent clients; a parallel query uses dynamic shared memory.
pgbench -c 4 -j 2 -T 5 bench >"$dir/run.log" 2>&1
echo "pgbench: exit $?, $(grep -o 'number of failed transactions: [0-9]*' "$dir/run.log")"
grep -q 'number of transactions actually processed: [1-9]' "$dir/run.log" &&
	echo "pgbench: transactions processed"
books "after pgbench"
echo "parallel count: $(sql 'set parallel_setup_cost = 0; set parallel_tuple_cost = 0; set min_parallel_table_scan_size = 0; select count(*) from pgbench_accounts')"
seg=$(segment)
echo "segment while running: $(seginfo "$seg" | sed 's/nattch [1-9][0-9]*/attached/')"

# A backend killed with SIGKILL: the postmaster ends every other process,
# reinitializes shared memory and recovers.
psql -X -At -c 'select pg_sleep(60)' >/dev/null 2>&1 &
i=0
while [ $i -lt 100 ]; do
	victim=$(sql "select pid from pg_stat_activity where query = 'select pg_sleep(60)'")
	[ -n "$victim" ] && break
	sleep 0.1
	i=$((i + 1))
done
kill -9 "$victim"
echo "backend killed: $?"
wait
sleep 1
ready "after the backend's death"
echo "log: $(grep -c "was terminated by signal 9" "$log") backend killed, $(grep -c "all server processes terminated; reinitializing" "$log") reinitialized"
books "after recovery"
echo "old segment: $(seginfo "$seg")"
seg=$(segment)

# The whole server killed with SIGKILL: the segment stays behind, and the
# next start must see that nobody is attached to it any more and replace it.
pm=$(head -1 "$data/postmaster.pid")
kids=$(children "$pm")
kill -9 "$pm" $kids
echo "server killed: $?"
i=0
while kill -0 "$pm" $kids 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
echo "segment after the kill: $(seginfo "$seg")"
pg_ctl -D "$data" -l "$log" -w -t 60 start >/dev/null 2>&1
echo "restart: $?"
ready "after restart"
echo "segment of the killed server: $(seginfo "$seg")"
books "after restart"
seg=$(segment)

pg_ctl -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1
echo "stop: $?"
echo "segment after stop: $(seginfo "$seg")"
