<?php
// PHP's sysvmsg, sysvsem and sysvshm, as tests/shim_php runs them: on the
// kernel, then under `uipc run --block-kernel-ipc`, the same lines.  PHP
// loads the three extensions with dlopen(RTLD_DEEPBIND).  Keys from the
// pid (neither run prints them); everything made is removed.

$base = 0x50480000 + (getmypid() % 4096) * 16;

function say($what, $v) { echo $what, ": ", var_export($v, true), "\n"; }

// Exit status of a child, as the kernel's wait reports it.
function status_of($st) {
	if (pcntl_wifsignaled($st))
		return "signal " . pcntl_wtermsig($st);
	return "exit " . pcntl_wexitstatus($st);
}

// ---- messages
$q = msg_get_queue($base + 1, 0600);
say("queue made", $q !== false);
say("send 2", msg_send($q, 2, "two", false));
say("send 1", msg_send($q, 1, "one", false));
say("send 3 (serialized)", msg_send($q, 3, ["a" => 1, "b" => [2, 3]], true));
$st = msg_stat_queue($q);
say("qnum", $st["msg_qnum"]);
say("qbytes", $st["msg_qbytes"]);
say("perm mode", $st["msg_perm.mode"] & 0777);
say("lspid is ours", $st["msg_lspid"] == getmypid());
say("receive type 3", msg_receive($q, 3, $t, 100, $m, true));
say("  type, message", [$t, $m]);
say("receive any", msg_receive($q, 0, $t, 100, $m, false));
say("  type, message", [$t, $m]);
say("receive type <= 2", msg_receive($q, -2, $t, 100, $m, false));
say("  type, message", [$t, $m]);
$err = 0;
say("receive, empty, NOWAIT", msg_receive($q, 0, $t, 100, $m, false,
					   MSG_IPC_NOWAIT, $err));
say("  errno (ENOMSG)", $err);
say("send above msgmax",
    @msg_send($q, 1, str_repeat("x", 20000), false, false, $err));
say("  errno (EINVAL)", $err);
say("fill the queue", msg_send($q, 9, str_repeat("x", 8000), false) &&
			msg_send($q, 9, str_repeat("x", 8000), false));
say("send to a full queue, not blocking",
    @msg_send($q, 9, str_repeat("x", 1000), false, false, $err));
say("  errno (EAGAIN)", $err);
say("empty it", msg_receive($q, 9, $t, 8000, $m, false) &&
		msg_receive($q, 9, $t, 8000, $m, false));
msg_send($q, 5, "five", false);
say("receive too long, no MSG_NOERROR", @msg_receive($q, 0, $t, 2, $m, false,
						      0, $err));
say("  errno (E2BIG)", $err);
say("receive too long, MSG_NOERROR", msg_receive($q, 0, $t, 2, $m, false,
						  MSG_NOERROR, $err));
say("  type, message", [$t, $m]);

// A blocked receive woken by the queue's removal: EIDRM.
$pid = pcntl_fork();
if ($pid == 0) {
	$ok = @msg_receive($q, 0, $t, 100, $m, false, 0, $err);
	exit($ok ? 1 : ($err == 43 ? 43 : 2));	// EIDRM
}
usleep(300000);
say("remove under a blocked receiver", msg_remove_queue($q));
pcntl_waitpid($pid, $st);
say("receiver ended with EIDRM", status_of($st));
say("queue gone", msg_queue_exists($base + 1));

// ---- semaphores: auto-release (SEM_UNDO) across a SIGKILL
$sync = msg_get_queue($base + 2, 0600);
$s = sem_get($base + 3, 1, 0600, true);
say("semaphore made", $s !== false);
$pid = pcntl_fork();
if ($pid == 0) {
	$s2 = sem_get($base + 3, 1, 0600, true);
	if (!sem_acquire($s2))
		exit(1);
	msg_send($sync, 1, "held", false);
	for (;;)
		sleep(10);
}
msg_receive($sync, 1, $t, 100, $m, false);
say("child says", $m);
say("acquire while the child holds it, non-blocking", sem_acquire($s, true));
posix_kill($pid, SIGKILL);
pcntl_waitpid($pid, $st);
say("child", status_of($st));
say("acquire after its death (released by the kernel's undo)",
    sem_acquire($s));
say("release", sem_release($s));
say("release again (not held)", @sem_release($s));
say("remove", sem_remove($s));
say("remove again", @sem_remove($s));

// ---- shared memory: variables between processes
$shm = shm_attach($base + 4, 10000, 0600);
say("segment made", $shm !== false);
say("put in the parent", shm_put_var($shm, 1, "from the parent"));
$pid = pcntl_fork();
if ($pid == 0) {
	$c = shm_attach($base + 4, 10000, 0600);
	$ok = shm_get_var($c, 1) === "from the parent" &&
	      shm_put_var($c, 2, ["list" => [1, 2, 3], "float" => 1.5]);
	shm_detach($c);
	exit($ok ? 0 : 1);
}
pcntl_waitpid($pid, $st);
say("child", status_of($st));
say("has 2", shm_has_var($shm, 2));
say("get 2", shm_get_var($shm, 2));
say("has 3", shm_has_var($shm, 3));
say("too big for the segment", @shm_put_var($shm, 3, str_repeat("y", 20000)));
say("remove var 1", shm_remove_var($shm, 1));
say("has 1", shm_has_var($shm, 1));
say("remove", shm_remove($shm));
say("detach", shm_detach($shm));
msg_remove_queue($sync);
echo "done\n";
