/*
 * real.c - finding the real libc functions behind the interposers.
 *
 * dlsym(RTLD_NEXT) from inside the shim names the next object in the
 * search order that defines the symbol, normally libc. If the answer is
 * inside this very library (the shim loaded twice, or linked in and
 * preloaded), calling it would recurse forever, so it is refused.
 */
#include <dlfcn.h>
#include <stddef.h>

#include "shim.h"

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

	fn = dlsym(RTLD_NEXT, symbol);
	if (fn == NULL || real_is_ours(fn))
		return NULL;
	return fn;
}
