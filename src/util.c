/*
 * util.c: time, permissions and fault-guarded copies.
 *
 * Implementation notes
 *
 * Permissions follow ipc/util.c:ipcperms(): the owner class applies when
 * the caller's euid is the object's uid or cuid, the group class when its
 * egid or a supplementary group is gid or cgid, otherwise the other class;
 * CAP_IPC_OWNER overrides.  The caller's credentials come from cred.c,
 * which caches them and keeps the cache current; a check cached per object
 * is invalid once the object's perm_seq or uipc_cred_gen moves.
 *
 * Bad user pointers: the kernel answers EFAULT.  We copy with a guard, a
 * sigsetjmp() buffer in thread-local storage that a SIGSEGV/SIGBUS handler
 * jumps back to.  The handler is installed once, on the first guarded copy;
 * a fault outside a guarded copy goes to whatever handler was installed
 * before ours, or kills the process as the default action would.  A program
 * that installs its own SIGSEGV handler afterwards replaces ours, and then a
 * bad pointer passed to uipc crashes it instead of giving EFAULT.
 */
#include "internal.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

const char *const uipc_kind_name[UIPC_NKINDS] = { "msg", "sem", "shm" };

const char *const uipc_feature_name[UF_NFEATURES] = {
	[UF_EPOLL_PWAIT2] = "epoll_pwait2",
	[UF_IO_URING] = "io_uring",
	[UF_RWF_NOWAIT] = "rwf_nowait",
	[UF_MAP_NOREPLACE] = "map_fixed_noreplace",
};

/* Read once: bit f set if f is forced off, bit 31 when read. */
static _Atomic uint32_t g_fallbacks;

int uipc_fallback(enum uipc_feature f)
{
	uint32_t v = atomic_load_explicit(&g_fallbacks, memory_order_relaxed);

	if (unlikely(!v)) {
		const char *e = getenv("UIPC_FALLBACK");
		int all = e && !strcmp(e, "all");

		v = 1u << 31;
		for (int i = 0; e && i < UF_NFEATURES; i++) {
			size_t n = strlen(uipc_feature_name[i]);
			const char *p = e;

			if (all)
				v |= 1u << i;
			for (; (p = strstr(p, uipc_feature_name[i])); p += n)
				if ((p == e || p[-1] == ',') &&
				    (p[n] == ',' || !p[n]))
					v |= 1u << i;
		}
		atomic_store_explicit(&g_fallbacks, v, memory_order_relaxed);
	}
	return (v >> f) & 1;
}

int64_t uipc_now(void)
{
	/* The kernel's *_time fields come from ktime_get_real_seconds(),
	 * the timekeeper's seconds: what the vDSO's time() reads, at half
	 * the cost of clock_gettime(CLOCK_REALTIME_COARSE). */
	return (int64_t)time(NULL);
}

static _Atomic pid_t g_pid;

pid_t uipc_getpid(void)
{
	pid_t p = atomic_load_explicit(&g_pid, memory_order_relaxed);

	if (unlikely(p == 0)) {
		p = getpid();
		atomic_store_explicit(&g_pid, p, memory_order_relaxed);
	}
	return p;
}

void uipc_pid_forget(void)
{
	atomic_store(&g_pid, 0);
}

int64_t uipc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------------ */

/* The rwx bits the caller is granted on o (0..7), CAP_IPC_OWNER aside. */
static int granted_bits(const struct uipc_obj *o)
{
	int granted = (int)o->mode;
	uid_t euid = uipc_euid();

	if (euid == o->cuid || euid == o->uid)
		granted >>= 6;
	else if (uipc_in_group(o->cgid) || uipc_in_group(o->gid))
		granted >>= 3;
	return granted & 7;
}

static int requested_bits(int flag)
{
	return ((flag >> 6) | (flag >> 3) | flag) & 7;
}

int uipc_ipcperms(const struct uipc_obj *o, int flag)
{
	if ((requested_bits(flag) & ~granted_bits(o)) &&
	    !uipc_capable(CAP_IPC_OWNER))
		return -EACCES;
	return 0;
}

int uipc_map_perm(struct uipc_map *m, int flag)
{
	struct uipc_obj *o = map_obj(m);
	uint64_t key = (uint64_t)atomic_load_explicit(&o->perm_seq,
						      memory_order_acquire) << 32 |
		       (uint64_t)(atomic_load(&uipc_cred_gen) & 0xffffff) << 8;
	uint64_t c = atomic_load_explicit(&m->perm_cache, memory_order_relaxed);
	int granted;

	if (likely((c & ~(uint64_t)0xff) == key && (c & 0x80))) {
		granted = (int)(c & 7);
	} else {
		granted = granted_bits(o);
		atomic_store_explicit(&m->perm_cache, key | 0x80 | (uint64_t)granted,
				      memory_order_relaxed);
	}
	if ((requested_bits(flag) & ~granted) && !uipc_capable(CAP_IPC_OWNER))
		return -EACCES;
	return 0;
}

int uipc_check_owner(const struct uipc_obj *o)
{
	uid_t euid = uipc_euid();

	if (euid == o->cuid || euid == o->uid || uipc_capable(CAP_SYS_ADMIN))
		return 0;
	return -EPERM;
}

void uipc_fill_perm(const struct uipc_obj *o, struct ipc_perm *p)
{
	memset(p, 0, sizeof(*p));
	p->__key = o->key;
	p->uid = o->uid;
	p->gid = o->gid;
	p->cuid = o->cuid;
	p->cgid = o->cgid;
	p->mode = (unsigned short)o->mode;
	p->__seq = (unsigned short)(o->id / UIPC_IPCMNI);
}

/* ------------------------------------------------------------------ */

__thread sigjmp_buf *uipc_guard_jb __attribute__((tls_model("initial-exec")));
static struct sigaction old_segv, old_bus;
static _Atomic int guard_ready;
static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;

#if defined(__x86_64__) && defined(__linux__)
#define UIPC_FIXUP_COPY 1
#include <ucontext.h>
#endif

#ifdef UIPC_FIXUP_COPY
/*
 * fixup_copy(dst, src, n): a copy whose fault the handler below turns into
 * a return of -EFAULT by moving the program counter, as the kernel's
 * exception table does.  It spares the small copies of semop and the like
 * a sigsetjmp.
 */
__asm__(".text\n"
	".p2align 4\n"
	".globl fixup_copy, fixup_copy_fault\n"
	".hidden fixup_copy, fixup_copy_fault\n"
	".type fixup_copy, @function\n"
	"fixup_copy:\n"			/* rdi dst, rsi src, rdx n */
	"	cmp $256, %rdx\n"		/* a page of a pipe, a message: */
	"	jb 0f\n"			/* rep movsb (ERMS) copies it */
	"	mov %rdx, %rcx\n"		/* at memcpy's speed, about */
	"	rep movsb\n"			/* three times the loop's */
	"	xor %eax, %eax\n"
	"	ret\n"
	"0:	cmp $8, %rdx\n"
	"	jb 2f\n"
	"1:	mov (%rsi), %rcx\n"		/* eight bytes at a time */
	"	mov %rcx, (%rdi)\n"
	"	add $8, %rsi\n"
	"	add $8, %rdi\n"
	"	sub $8, %rdx\n"
	"	cmp $8, %rdx\n"
	"	jae 1b\n"
	"2:	test $4, %dl\n"		/* then four, two, one: a */
	"	jz 3f\n"			/* load of a field the size */
	"	mov (%rsi), %ecx\n"		/* of these stores forwards */
	"	mov %ecx, (%rdi)\n"		/* from them (a struct sembuf */
	"	add $4, %rsi\n"		/* read back byte by byte */
	"	add $4, %rdi\n"		/* stalled every semop) */
	"3:	test $2, %dl\n"
	"	jz 4f\n"
	"	movzwl (%rsi), %ecx\n"
	"	mov %cx, (%rdi)\n"
	"	add $2, %rsi\n"
	"	add $2, %rdi\n"
	"4:	test $1, %dl\n"
	"	jz 5f\n"
	"	movzbl (%rsi), %ecx\n"
	"	mov %cl, (%rdi)\n"
	"5:	xor %eax, %eax\n"
	"	ret\n"
	"fixup_copy_fault:\n"			/* every fault above lands here */
	"	mov $-14, %eax\n"
	"	ret\n"
	".size fixup_copy, .-fixup_copy\n");
UIPC_HIDDEN int fixup_copy(void *dst, const void *src, size_t n);
UIPC_HIDDEN extern const char fixup_copy_fault[];
#endif

/* ------------------------------------------------------------------
 * Shared files cut short under us.  Anyone who may write a namespace file
 * may also truncate it, and a page of a mapping past the end of its file
 * faults with SIGBUS.  The handler finds the mapping in /proc/self/maps;
 * if it maps a file of our namespace directory, the file is given back
 * its length (the lost bytes read as zeros, which every reader already
 * treats as the garbage they are) and the access is retried.  A file we
 * cannot write (a read-only attachment) gets a private page of zeros in
 * place of the lost one.  Only async-signal-safe calls here.
 * ------------------------------------------------------------------ */
static char g_ns_dir[4096];
static size_t g_ns_dir_len;
static __thread uintptr_t bus_last __attribute__((tls_model("initial-exec")));
static __thread int bus_tries __attribute__((tls_model("initial-exec")));

void uipc_guard_ns(const char *dir)
{
	size_t n = strlen(dir);

	if (n + 2 < sizeof(g_ns_dir)) {
		memcpy(g_ns_dir, dir, n);
		g_ns_dir[n] = '/';
		g_ns_dir[n + 1] = 0;
		g_ns_dir_len = n + 1;
	}
	uipc_guard_ready();
}

static const char *dec_field(const char *p, unsigned long *v)
{
	for (*v = 0; *p >= '0' && *p <= '9'; p++)
		*v = *v * 10 + (unsigned long)(*p - '0');
	return p;
}

static const char *hex_field(const char *p, unsigned long *v)
{
	*v = 0;
	for (;; p++) {
		int d = *p >= '0' && *p <= '9' ? *p - '0' :
			*p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;

		if (d < 0)
			return p;
		*v = *v << 4 | (unsigned long)d;
	}
}

/* One line of /proc/self/maps: 1 if it holds addr in a shared mapping of
 * a namespace file that is now too short, and that is mended. */
static int bus_line(char *line, uintptr_t addr)
{
	unsigned long start, end, off, ino;
	const char *p = line, *path;
	int prot, fd, done = 0;
	struct stat st;

	p = hex_field(p, &start);
	if (*p++ != '-')
		return 0;
	p = hex_field(p, &end);
	if (addr < start || addr >= end || *p++ != ' ' || p[3] != 's')
		return 0;	/* not there, or private: not ours */
	prot = (p[0] == 'r' ? PROT_READ : 0) | (p[1] == 'w' ? PROT_WRITE : 0);
	p = hex_field(p + 5, &off);
	while (*p == ' ')
		p++;
	while (*p && *p != ' ')	/* device */
		p++;
	while (*p == ' ')
		p++;
	p = dec_field(p, &ino);
	while (*p == ' ')
		p++;
	path = p;
	if (!g_ns_dir_len || strncmp(path, g_ns_dir, g_ns_dir_len))
		return 0;
	fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	/* Only a file that is short: a fault on a full file system (no page
	 * to be had) is delivered as it was.  One cut short and given its
	 * length back since (by another process) is retried as it is, a
	 * few times for one address (then it is the other kind). */
	if (fstat(fd, &st) == 0 && st.st_ino == ino &&
	    (unsigned long)st.st_size > off + (addr - start)) {
		done = addr != bus_last || ++bus_tries < 3;
		if (addr != bus_last)
			bus_tries = 0;
		bus_last = addr;
	} else if (fstat(fd, &st) == 0 && st.st_ino == ino) {
		done = ftruncate(fd, (off_t)(off + (end - start))) == 0;
		if (!done) {	/* not ours to write: zeros of our own */
			long ps = sysconf(_SC_PAGESIZE);
			void *page = (void *)(addr & ~(uintptr_t)(ps - 1));

			done = mmap(page, (size_t)ps, prot,
				    MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1,
				    0) != MAP_FAILED;
		}
	}
	close(fd);
	return done;
}

/* 1 if the SIGBUS at addr was a namespace file cut short, now mended. */
static int bus_repair(uintptr_t addr)
{
	char buf[8192];
	size_t have = 0;
	int fd, found = 0;

	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while (!found) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
		char *line = buf, *nl;

		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = 0;
		while (!found && (nl = strchr(line, '\n'))) {
			*nl = 0;
			found = bus_line(line, addr);
			line = nl + 1;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
		if (have == sizeof(buf) - 1)
			have = 0;	/* a line too long for us: skip it */
	}
	close(fd);
	return found;
}

static void guard_handler(int sig, siginfo_t *si, void *uc)
{
	sigjmp_buf *jb = uipc_guard_jb;
	struct sigaction *old = sig == SIGSEGV ? &old_segv : &old_bus;

	if (sig == SIGBUS && si->si_code == BUS_ADRERR &&
	    bus_repair((uintptr_t)si->si_addr))
		return;		/* the access is made again */

#ifdef UIPC_FIXUP_COPY
	greg_t *ip = &((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];

	if (*ip >= (greg_t)(uintptr_t)fixup_copy &&
	    *ip < (greg_t)(uintptr_t)fixup_copy_fault) {
		*ip = (greg_t)(uintptr_t)fixup_copy_fault;
		return;
	}
#endif
	if (jb) {
		uipc_guard_jb = NULL;
		siglongjmp(*jb, 1);
	}
	if (old->sa_flags & SA_SIGINFO) {
		if (old->sa_sigaction) {
			old->sa_sigaction(sig, si, uc);
			return;
		}
	} else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
		old->sa_handler(sig);
		return;
	}
	/* Default action: die of this signal, as without us. */
	signal(sig, SIG_DFL);
	if (si->si_code <= 0)
		raise(sig);
}

void uipc_async_signals(sigset_t *set)
{
	/* Not the signals of a fault: blocked, the kernel would kill the
	 * process for one instead of running its handler (uipc's guard
	 * among them: a file cut short under a mapping is mended by its
	 * SIGBUS handler). */
	sigfillset(set);
	sigdelset(set, SIGSEGV);
	sigdelset(set, SIGBUS);
	sigdelset(set, SIGILL);
	sigdelset(set, SIGFPE);
	sigdelset(set, SIGTRAP);
	sigdelset(set, SIGSYS);
}

void uipc_block_async(sigset_t *old)
{
	sigset_t set;

	uipc_async_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

void uipc_restore_mask(const sigset_t *old)
{
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

void uipc_mutex_lock_quiet(pthread_mutex_t *mu, sigset_t *saved)
{
	sigset_t old;

	uipc_block_async(&old);
	pthread_mutex_lock(mu);
	*saved = old;
}

void uipc_mutex_unlock_quiet(pthread_mutex_t *mu, const sigset_t *saved)
{
	sigset_t old = *saved;

	pthread_mutex_unlock(mu);
	uipc_restore_mask(&old);
}

static void guard_install(void)
{
	struct sigaction sa;
	sigset_t mask;

	uipc_mutex_lock_quiet(&guard_lock, &mask);
	if (!atomic_load(&guard_ready)) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = guard_handler;
		sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGSEGV, &sa, &old_segv);
		sigaction(SIGBUS, &sa, &old_bus);
		atomic_store(&guard_ready, 1);
	}
	uipc_mutex_unlock_quiet(&guard_lock, &mask);
}

/*
 * A copy that a sanitizer does not turn into a call to an interposed
 * memcpy: the fault must happen here, inside the guard.  Without a
 * sanitizer, glibc's memcpy faults just as well and is faster.
 */
#if defined(__SANITIZE_ADDRESS__)
#define UIPC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UIPC_ASAN 1
#endif
#endif

__attribute__((no_sanitize_address))
void uipc_raw_copy(void *d, const void *s, size_t n)
{
#if defined(UIPC_ASAN) && defined(__x86_64__)
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
#elif defined(UIPC_ASAN)
	volatile unsigned char *dd = d;
	const volatile unsigned char *ss = s;

	while (n--)
		*dd++ = *ss++;
#else
	memcpy(d, s, n);
#endif
}

void uipc_guard_ready(void)
{
	if (unlikely(!atomic_load_explicit(&guard_ready, memory_order_acquire)))
		guard_install();
}

__attribute__((no_sanitize_address, noinline))
static void raw_touch(const void *p, size_t n)
{
	const volatile unsigned char *c = p;
	uintptr_t page = 4096, a = (uintptr_t)p, end = a + n;

	for (; a < end; a = (a | (page - 1)) + 1)
		(void)c[a - (uintptr_t)p];
	(void)c[n - 1];
}

static inline int bad_ptr(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p;

	return a < 4096 || a + n < a;
}

/* Copies n bytes, user being whichever of dst and src is the caller's. */
static int guarded_copy(void *dst, const void *src, size_t n, const void *user)
{
	if (n == 0)
		return 0;
	if (bad_ptr(user, n))
		return -EFAULT;
	uipc_guard_ready();
#ifdef UIPC_FIXUP_COPY
	return fixup_copy(dst, src, n);
#else
	sigjmp_buf jb;

	if (sigsetjmp(jb, 0))
		return -EFAULT;
	uipc_guard_jb = &jb;
	uipc_raw_copy(dst, src, n);
	uipc_guard_jb = NULL;
	return 0;
#endif
}

int uipc_copy_from_user(void *dst, const void *src, size_t n)
{
	return guarded_copy(dst, src, n, src);
}

int uipc_copy_to_user(void *dst, const void *src, size_t n)
{
	return guarded_copy(dst, src, n, dst);
}

int uipc_probe_read(const void *p, size_t n)
{
	sigjmp_buf jb;

	if (n == 0)
		return 0;
	if (bad_ptr(p, n))
		return -EFAULT;
	uipc_guard_ready();
	if (sigsetjmp(jb, 0))
		return -EFAULT;
	uipc_guard_jb = &jb;
	raw_touch(p, n);
	uipc_guard_jb = NULL;
	return 0;
}

void uipc_next_resolve(struct uipc_next_table *t)
{
	for (int i = 0; i < t->n; i++)
		if (!atomic_load(&t->ptr[i]))
			atomic_store(&t->ptr[i], dlsym(RTLD_NEXT, t->names[i]));
	atomic_store_explicit(&t->resolved, 1, memory_order_release);
}

/* The C library's own calls on descriptors (internal.h, uipc_libc): the
 * next definitions after the caller's object, or, in a program linked
 * statically with the C library, the library's own. */
static const char *const libc_name[UIPC_K_COUNT] = {
	"read", "write", "readv", "writev", "close", "dup", "dup2", "dup3",
	"fcntl", "ioctl", "poll", "ppoll", "pipe2", "epoll_ctl",
};
static void *_Atomic libc_ptr[UIPC_K_COUNT];
static struct uipc_next_table libc_tab = {
	libc_name, libc_ptr, UIPC_K_COUNT, 0
};
static void *const libc_own[UIPC_K_COUNT] = {
	(void *)read, (void *)write, (void *)readv, (void *)writev,
	(void *)close, (void *)dup, (void *)dup2, (void *)dup3,
	(void *)fcntl, (void *)ioctl, (void *)poll, (void *)ppoll,
	(void *)pipe2, (void *)epoll_ctl,
};

__attribute__((constructor))
static void libc_resolve(void)
{
	uipc_next_resolve(&libc_tab);
}

void *uipc_libc(enum uipc_k i)
{
	void *p = uipc_next(&libc_tab, i);

	return p ? p : libc_own[i];
}
