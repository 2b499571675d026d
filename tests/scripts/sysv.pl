# sysv.pl: perl's IPC::SysV over every mechanism.  It prints what it sees,
# no ids or pids, so that a run on the kernel and a run on uipc print the
# same lines (tests/shim_perl compares them).
use strict;
use warnings;
use IPC::SysV qw(IPC_PRIVATE IPC_NOWAIT S_IRUSR S_IWUSR MSG_NOERROR
		 MSG_EXCEPT SEM_UNDO);
use IPC::Msg;
use IPC::Semaphore;
use IPC::SharedMem;
use POSIX qw(:errno_h);
$| = 1;

sub say_ { print join(' ', @_), "\n" }
sub err_ { my $e = $! + 0; return $e == ENOMSG ? 'ENOMSG' : $e == E2BIG ? 'E2BIG' :
	   $e == EAGAIN ? 'EAGAIN' : $e == EINVAL ? 'EINVAL' : $e == EIDRM ? 'EIDRM' : "errno $e" }

# ---- message queues: every msgtyp mode ----
my $q = IPC::Msg->new(IPC_PRIVATE, S_IRUSR | S_IWUSR) or die "msgget: $!";
$q->snd(@$_, 0) or die "msgsnd: $!"
	for [1, 'one'], [2, 'two'], [3, 'three'], [2, 'two-b'], [5, 'five'];
my $st = $q->stat;
say_ 'queue', 'qnum', $st->qnum, 'qbytes', $st->qbytes;
sub rcv {
	my ($type, $flags, $size) = @_;
	my $buf;
	my $got = $q->rcv($buf, $size // 64, $type, $flags // 0);
	say_ 'msgrcv', $type, defined $got ? ("type $got", "'$buf'") : err_();
}
rcv(2);				# the first of type 2
rcv(-2);			# the lowest type up to 2
rcv(3, MSG_EXCEPT);		# the first not of type 3
rcv(0, 0, 2);			# too long for 2 bytes: E2BIG, kept
rcv(0, MSG_NOERROR, 2);		# cut to 2 bytes
rcv(7, IPC_NOWAIT);		# none: ENOMSG
rcv(0);
rcv(0, IPC_NOWAIT);
$st = $q->stat;
say_ 'queue', 'qnum', $st->qnum, 'qbytes', $st->qbytes;
$q->remove or die "msgctl: $!";
say_ 'removed queue', defined $q->stat ? 'still there' : err_();

# ---- a semaphore set, SEM_UNDO across fork and SIGKILL ----
my $s = IPC::Semaphore->new(IPC_PRIVATE, 2, S_IRUSR | S_IWUSR) or die "semget: $!";
$s->setall(5, 0) or die "setall: $!";
pipe(my $r, my $w) or die;
my $pid = fork // die;
if (!$pid) {
	$s->op(0, -2, SEM_UNDO, 1, 1, SEM_UNDO) or die "child semop: $!";
	$s->op(0, 1, 0) or die;
	syswrite $w, 'x';
	sleep 30;
	exit 0;
}
sysread $r, my $x, 1;
say_ 'held', $s->getall;
say_ 'nowait', $s->op(1, -2, IPC_NOWAIT) ? 'done' : err_();
kill 'KILL', $pid;
waitpid $pid, 0;
say_ 'after SIGKILL', $s->getall;
say_ 'sempid is the dead child', $s->getpid(0) == $pid ? 'yes' : 'no';
$s->remove or die;

# ---- shared memory: one process writes, another reads ----
my $id = shmget(IPC_PRIVATE, 4096, S_IRUSR | S_IWUSR) // die "shmget: $!";
$pid = fork // die;
if (!$pid) {
	shmwrite($id, 'hello from the child', 0, 20) or die "shmwrite: $!";
	exit 0;
}
waitpid $pid, 0;
shmread($id, my $data, 0, 20) or die "shmread: $!";
say_ 'shmread', "'$data'";
shmctl($id, 0, 0) or die;	# IPC_RMID
my $m = IPC::SharedMem->new(IPC_PRIVATE, 8192, S_IRUSR | S_IWUSR) or die;
$m->attach or die "attach: $!";
$m->write('abc', 100, 3);
pipe($r, $w) or die;
$pid = fork // die;
if (!$pid) {
	$m->write('xyz', 200, 3);
	syswrite $w, 'x';
	sleep 30;
	exit 0;
}
sysread $r, $x, 1;
say_ 'attached', $m->stat->nattch, 'read', $m->read(100, 3), $m->read(200, 3);
kill 'KILL', $pid;
waitpid $pid, 0;
say_ 'after SIGKILL attached', $m->stat->nattch;
$m->detach;
say_ 'detached', $m->stat->nattch;
$m->remove or die;
# A call that succeeds leaves errno alone, as the system call does: a
# fresh process's first call (it opens the namespace this one made) shows
# errno right after (perl's msgsnd and the like clear $! themselves).
for (['msgget(IPC_PRIVATE, 0600)', 'msgctl($id, 0, 0)'],
     ['semget(IPC_PRIVATE, 1, 0600)', 'semctl($id, 0, 0, 0)'],
     ['shmget(IPC_PRIVATE, 4096, 0600)', 'shmctl($id, 0, 0)']) {
	my ($get, $rm) = @$_;
	system($^X, '-e', 'use IPC::SysV qw(IPC_PRIVATE); $! = 0; ' .
	       "my \$id = $get // die \$!; my \$e = \$! + 0; $rm or die \$!; " .
	       'print qq(errno after a successful ) . substr(q(' . $get .
	       '), 0, 6) . qq(: $e\n);') == 0 or die "errno check: $?";
}
say_ 'done';
