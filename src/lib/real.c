/*
 * real.c - finding the real libc functions behind the interposers, and
 * what a hook does while it cannot know them yet.
 *
 * dlsym(RTLD_NEXT) from inside the shim names the next object in the
 * search order that defines the symbol, normally libc. If the answer is
 * inside this very library (the shim loaded twice, or linked in and
 * preloaded), calling it would recurse forever, so it is refused.
 *
 * dlsym itself may allocate, and a program's own malloc (Firefox's
 * jemalloc, a leak checker) may read a file, write a message or close a
 * descriptor while it starts: the hook it reaches is then re-entered on
 * the thread that is resolving its real symbols. That call cannot wait
 * for the initialisation it is part of, and failing it would show the
 * program a spurious error, so it is made as the raw system call.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "shim.h"

void *(*real_resolver)(void *, const char *) = dlsym;

/*
 * Set while this thread runs one of the hooks' initialisations: any
 * hook reached from inside it (through dlsym's allocation) is a
 * re-entry. One flag for all of them: such a call goes straight to the
 * kernel and touches no other part of the shim, so it cannot start a
 * second initialisation either.
 */
static _Thread_local int real_initing;

/* Any address inside this library identifies it for dladdr(). */
static int
real_is_ours(void *fn)
{
	Dl_info mine, theirs;

	if (dladdr((void *)&real_is_ours, &mine) == 0 ||
	    dladdr(fn, &theirs) == 0)
		return 0;
	return mine.dli_fbase == theirs.dli_fbase;
}

void *
real_symbol(const char *symbol)
{
	void *fn;

	fn = real_resolver(RTLD_NEXT, symbol);
	if (fn == NULL || real_is_ours(fn))
		return NULL;
	return fn;
}

/*
 * This process's fork generation: 1 in the first, one more in each
 * child (real_forked, from fork.c's atfork child handler; nothing else
 * runs in the child then). Never 0 or -1, which are once states.
 */
static _Atomic long real_generation = 1;

void
real_forked(void)
{
	atomic_fetch_add(&real_generation, 1);
}

void
real_once_run(struct real_once *once, void (*init)(void))
{
	const struct timespec ms = { 0, 1000 * 1000 };
	long st, gen;
	int saved = errno;

	for (;;) {
		st = atomic_load_explicit(&once->state, memory_order_acquire);
		if (st == -1)
			break;
		gen = atomic_load_explicit(&real_generation,
		    memory_order_relaxed);
		if (st == gen) {
			/* Another thread here runs it: short, in practice. */
			(void)nanosleep(&ms, NULL);
			continue;
		}
		/* Never run, or begun before a fork by a thread not here. */
		if (atomic_compare_exchange_strong(&once->state, &st, gen)) {
			init();
			atomic_store_explicit(&once->state, -1,
			    memory_order_release);
			break;
		}
	}
	errno = saved;
}

int
real_once(struct real_once *once, void (*init)(void))
{
	if (real_initing)
		return 0;
	if (atomic_load_explicit(&once->state, memory_order_acquire) == -1)
		return 1;
	real_initing = 1;
	real_once_run(once, init);
	real_initing = 0;
	return 1;
}

/*
 * The system call instruction of each architecture, with the kernel's
 * register convention; the result is the kernel's (-4095..-1: -errno).
 * libc's syscall() cannot serve: it is interposed by this very library.
 */
#if defined(__x86_64__)
#define REAL_RAW	1
static long
real_trap(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;

	__asm__ volatile ("syscall"
	    : "=a"(ret)
	    : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
	    : "rcx", "r11", "memory");
	return ret;
}
#elif defined(__aarch64__)
#define REAL_RAW	1
static long
real_trap(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a1;
	register long x1 __asm__("x1") = a2;
	register long x2 __asm__("x2") = a3;
	register long x3 __asm__("x3") = a4;
	register long x4 __asm__("x4") = a5;
	register long x5 __asm__("x5") = a6;

	__asm__ volatile ("svc 0"
	    : "+r"(x0)
	    : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
	    : "memory", "cc");
	return x0;
}
#elif defined(__riscv) && __riscv_xlen == 64
#define REAL_RAW	1
static long
real_trap(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r7 __asm__("a7") = nr;
	register long r0 __asm__("a0") = a1;
	register long r1 __asm__("a1") = a2;
	register long r2 __asm__("a2") = a3;
	register long r3 __asm__("a3") = a4;
	register long r4 __asm__("a4") = a5;
	register long r5 __asm__("a5") = a6;

	__asm__ volatile ("ecall"
	    : "+r"(r0)
	    : "r"(r7), "r"(r1), "r"(r2), "r"(r3), "r"(r4), "r"(r5)
	    : "memory");
	return r0;
}
#endif

long
real_raw(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
#ifdef REAL_RAW
	long r = real_trap(nr, a1, a2, a3, a4, a5, a6);

	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
#else
	(void)nr; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; (void)a6;
	errno = ENOSYS;
	return -1;
#endif
}
