/*
 * fork.c - the shim's locks survive fork(): every file's pthread_atfork
 * handlers are registered here, once, when the library is loaded.
 *
 * Not lazily from each file's once routine, as before: a fork in one
 * thread while another is inside such a routine makes the child run
 * the routine again (glibc's pthread_once, now real_once), which
 * registered the handlers a
 * second time there, so the child's next fork locked the same mutex
 * twice and hung. A constructor runs before the program's threads (or,
 * for dlopen, under the loader's lock), so there is no such window.
 *
 * Order: prepare handlers run in the reverse order of registration, and
 * must take the locks in the order the code takes them: pending.c's
 * lock is held while a log line passes through the write() hook, which
 * takes sockreg.c's; the other locks are leaves. So sockreg.c first.
 * The child also counts a new fork generation for real_once (real.c).
 */
#include <pthread.h>

#include "shim.h"

__attribute__((constructor)) static void
fork_register(void)
{
	(void)pthread_atfork(NULL, NULL, real_forked);
	sockreg_atfork();
	if (fakeip_atfork() != 0)
		shim_log("pthread_atfork failed: a fork may hang");
	getaddrinfo_atfork();
	pending_atfork();
}
