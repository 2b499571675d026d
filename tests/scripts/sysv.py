# sysv.py: python3-sysv-ipc over every mechanism.  It prints what it sees,
# no ids, keys or pids, so that a run on the kernel and a run on uipc print
# the same lines (tests/shim_python compares them).
import os
import signal
import sys
import sysv_ipc as ipc


def say(*a):
    print(*a, flush=True)


# ---- message queues: every msgtyp mode ----
q = ipc.MessageQueue(None, ipc.IPC_CREX, 0o600)
for t, m in ((1, b"one"), (2, b"two"), (3, b"three"), (2, b"two-b"), (5, b"five")):
    q.send(m, type=t)
say("queue", "current_messages", q.current_messages, "max_size", q.max_size)
for t in (2, -2, 0, 0):
    msg, typ = q.receive(type=t)
    say("receive", t, "type", typ, msg)
try:
    q.receive(type=7, block=False)
except ipc.BusyError:
    say("receive 7 BusyError")
q.max_size = 4096
say("max_size now", q.max_size)
q.remove()
try:
    q.send(b"x")
except (ipc.ExistentialError, OSError) as e:
    say("send to a removed queue:", type(e).__name__, getattr(e, "errno", ""))

# ---- a semaphore with SEM_UNDO across fork and SIGKILL ----
s = ipc.Semaphore(None, ipc.IPC_CREX, 0o600, initial_value=5)
s.undo = True
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    s.acquire()
    s.acquire()
    os.write(w, b"x")
    signal.pause()
    os._exit(0)
os.read(r, 1)
say("held", s.value)
os.kill(pid, signal.SIGKILL)
os.waitpid(pid, 0)
say("after SIGKILL", s.value, "last pid is the child", s.last_pid == pid)
s.undo = False
s.value = 0
try:
    s.acquire(timeout=0)
except ipc.BusyError:
    say("acquire at 0 without waiting: BusyError")
s.remove()

# ---- shared memory: one process writes, another reads ----
m = ipc.SharedMemory(None, ipc.IPC_CREX, 0o600, size=8192)
say("size", m.size, "attached", m.number_attached)
pid = os.fork()
if pid == 0:
    m.write(b"hello from the child", offset=100)
    os._exit(0)
os.waitpid(pid, 0)
say("read", m.read(20, offset=100), "attached", m.number_attached)
m.detach()
say("detached", m.number_attached)
m.remove()
say("done")
