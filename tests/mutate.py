#!/usr/bin/env python3
"""
mutate: the project's own mutation testing (make mutate; see the README).

Each mutation of tests/mutations.txt is applied, one at a time, to a scratch
copy of this tree under /tmp (never the working tree), which is built there
(make -j2, into the copy's own build/); the tests the mutation names run
first with tests/run.sh, and a mutant they do not kill gets the whole
`make check` to confirm it survives.  Prints a table and the kill score
(killed / non-equivalent).  Equivalent mutants (marked "=" in the list) are
not run and not counted.

  tests/mutate.py [--only WORD] [--no-confirm] [--keep] [ID...]

--only WORD    the mutations whose id or file contains WORD (make mutate ONLY=msg)
ID...          just these (make mutate IDS="msg-testmsg-le sem-semvmx")
--no-confirm   a survivor of its listed tests is not given the whole suite
--keep         leave the scratch copy (its path is printed)

A snippet that no longer occurs exactly once in its file is an error before
anything is built: the list must be brought up to date with the code.
"""
import argparse
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIST = os.path.join(ROOT, "tests", "mutations.txt")
TARGET_TIMEOUT = 150    # seconds for each of a mutant's listed tests
FULL_TIMEOUT = 1200     # seconds for a survivor's make check


class Mutation:
    def __init__(self, mid, path, tests, line):
        self.id, self.file, self.tests, self.line = mid, path, tests, line
        self.desc, self.equiv = "", None
        self.old, self.new = [], []


def parse(path):
    """The list's format is described at the top of tests/mutations.txt."""
    muts, m = [], None
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            tag, rest = line[:1], line[2:]
            if tag == "@":
                parts = rest.split()
                if len(parts) != 3:
                    sys.exit(f"{path}:{n}: want '@ ID FILE TEST[,TEST...]'")
                m = Mutation(parts[0], parts[1], parts[2].split(","), n)
                muts.append(m)
            elif m is None:
                sys.exit(f"{path}:{n}: a line before the first '@'")
            elif tag == ":":
                m.desc = rest.strip()
            elif tag == "=":
                m.equiv = rest.strip()
            elif tag == "-":
                m.old.append(rest)
            elif tag == "+":
                m.new.append(rest)
            else:
                sys.exit(f"{path}:{n}: unknown line {line!r}")
    ids = [m.id for m in muts]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        sys.exit(f"{path}: ids used twice: {' '.join(sorted(dup))}")
    return muts


def check(muts, root):
    """Every snippet occurs exactly once; every test named exists."""
    bad = []
    for m in muts:
        src = os.path.join(root, m.file)
        if not m.old or not m.desc:
            bad.append(f"{m.id} (line {m.line}): no '-' snippet or no ':' description")
            continue
        try:
            text = open(src).read()
        except OSError as e:
            bad.append(f"{m.id}: {e}")
            continue
        c = text.count("\n".join(m.old))
        if c != 1:
            bad.append(f"{m.id} (line {m.line}): snippet occurs {c} times in {m.file}")
        for t in m.tests:
            if not os.path.exists(os.path.join(root, "tests", t + ".c")):
                bad.append(f"{m.id}: no test tests/{t}.c")
    if bad:
        sys.exit("mutations.txt does not match the code:\n  " + "\n  ".join(bad))


def run(cmd, cwd, timeout, log):
    """cmd in its own process group, killed whole at the timeout.
    Returns (exit status or None on timeout, output)."""
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True,
                         text=True, errors="replace")
    try:
        out, _ = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        # TERM first: the tests' handlers remove their kernel objects.
        # run.sh's timeout(1) puts each test in a group of its own, so
        # whatever runs in the scratch tree is found by its directory.
        os.killpg(p.pid, signal.SIGTERM)
        in_tree(cwd, signal.SIGTERM)
        try:
            out, _ = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, _ = p.communicate()
        time.sleep(2)
        in_tree(cwd, signal.SIGKILL)
        rc = None
        # run.sh's namespaces, named for its pid, which we killed.
        for d in glob.glob("/dev/shm/uipc-test.*"):
            try:
                if int(d.split(".")[1]) not in live_pids():
                    shutil.rmtree(d, ignore_errors=True)
            except (ValueError, IndexError):
                pass
    with open(log, "a") as f:
        f.write(f"$ {' '.join(cmd)}  [rc={rc}]\n{out}\n")
    return rc, out


def in_tree(tree, sig):
    """Sends sig to every process whose directory is in tree."""
    for pid in live_pids():
        try:
            if os.readlink(f"/proc/{pid}/cwd").startswith(tree) and pid != os.getpid():
                os.kill(pid, sig)
        except OSError:
            pass


def live_pids():
    return {int(p) for p in os.listdir("/proc") if p.isdigit()}


def failed_tests(out):
    for line in out.splitlines():
        if line.startswith("failed:"):
            return line.split()[1:]
    return []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    ap.add_argument("--no-confirm", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("ids", nargs="*")
    a = ap.parse_args()

    muts = parse(LIST)
    check(muts, ROOT)
    sel = [m for m in muts
           if (not a.ids or m.id in a.ids) and
              (not a.only or a.only in m.id or a.only in m.file)]
    unknown = set(a.ids) - {m.id for m in muts}
    if unknown:
        sys.exit("no such mutation: " + " ".join(sorted(unknown)))
    if not sel:
        sys.exit("no mutation selected")

    scratch = tempfile.mkdtemp(prefix="uipc-mutate.")
    log = os.path.join(scratch, "mutate.log")
    print(f"mutate: {len(sel)} of {len(muts)} mutations; scratch copy {scratch}"
          f" (log: {log})", flush=True)
    # The tree as it is now, committed or not, without its builds.
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"],
                           cwd=ROOT, capture_output=True, check=True).stdout
    tree = os.path.join(scratch, "tree")
    for rel in files.decode().split("\0"):
        if not rel or rel.startswith(("build/", "build-san/")):
            continue
        src = os.path.join(ROOT, rel)
        if not os.path.isfile(src):
            continue
        dst = os.path.join(tree, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst)

    t0 = time.time()
    # Everything make check builds, once; each mutant then rebuilds what
    # its file touches.
    progs = ["all"] + \
        [f"build/tests/{os.path.basename(c)[:-2]}"
         for c in glob.glob(os.path.join(tree, "tests/*.c"))
         if not c.endswith("/harness.c")] + \
        [f"build/helpers/{os.path.basename(c)[:-2]}"
         for c in glob.glob(os.path.join(tree, "tests/helpers/*.c"))] + \
        [f"build/bench/{os.path.basename(c)[:-2]}"
         for c in glob.glob(os.path.join(tree, "bench/*.c"))]
    helpers = [p for p in progs if p.startswith("build/helpers/")]
    rc, out = run(["make", "-j2"] + progs, tree, 1200, log)
    rc2 = 0
    if rc != 0 or rc2 != 0:
        sys.exit(f"mutate: the unmutated tree does not build (see {log})")
    print(f"mutate: base build {time.time() - t0:.0f} s", flush=True)

    rows = []
    for m in sel:
        start = time.time()
        if m.equiv:
            rows.append((m, "EQUIVALENT", m.equiv, 0))
            print(f"  {m.id:28} EQUIVALENT", flush=True)
            continue
        path = os.path.join(tree, m.file)
        orig = open(path).read()
        mutated = orig.replace("\n".join(m.old), "\n".join(m.new), 1)
        with open(path, "w") as f:
            f.write(mutated)
        try:
            targets = ["all"] + [f"build/tests/{t}" for t in m.tests] + helpers
            rc, out = run(["make", "-j2"] + targets, tree, 600, log)
            if rc != 0:
                res, by = "KILLED", "compile error"
            else:
                # One at a time, in the list's order: the first that
                # fails (or hangs) kills it, the rest need not run.
                res = None
                for t in m.tests:
                    rc, out = run(["sh", "tests/run.sh", "build", f"build/tests/{t}"],
                                  tree, TARGET_TIMEOUT, log)
                    if rc is None:
                        res, by = "KILLED", f"{t} (timeout)"
                        break
                    if rc != 0:
                        res, by = "KILLED", t
                        break
                if res:
                    pass
                elif a.no_confirm:
                    res, by = "SURVIVED", "listed tests only"
                else:
                    rc, out = run(["make", "-j2", "check"], tree, FULL_TIMEOUT, log)
                    if rc is None:
                        res, by = "KILLED", "timeout (make check)"
                    elif rc != 0:
                        res, by = "KILLED", "make check: " + \
                            (",".join(failed_tests(out)) or "build")
                    else:
                        res, by = "SURVIVED", "make check passes"
        finally:
            with open(path, "w") as f:
                f.write(orig)
            # A fresh mtime: make rebuilds from the original next time.
            os.utime(path)
        dt = time.time() - start
        rows.append((m, res, by, dt))
        print(f"  {m.id:28} {res:9} {by}  ({dt:.0f} s)", flush=True)

    print()
    print(f"{'id':28} {'file':16} {'result':10} {'by':30} description")
    for m, res, by, dt in rows:
        print(f"{m.id:28} {m.file:16} {res:10} {by[:30]:30} {m.desc}")
    killed = sum(r[1] == "KILLED" for r in rows)
    equiv = sum(r[1] == "EQUIVALENT" for r in rows)
    counted = len(rows) - equiv
    surv = [r[0].id for r in rows if r[1] == "SURVIVED"]
    print()
    if counted:
        print(f"score: {killed}/{counted} killed ({100.0 * killed / counted:.1f}%),"
              f" {equiv} equivalent, {time.time() - t0:.0f} s")
    if surv:
        print("survived: " + " ".join(surv))
    if a.keep:
        print(f"scratch copy kept: {scratch}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    return 1 if surv else 0


if __name__ == "__main__":
    sys.exit(main())
