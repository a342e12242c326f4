/*
 * dataio.c - the ways data reaches a socket besides udp.c's calls:
 * readv, writev, preadv2 and pwritev2 (at offset -1, where they are
 * readv and writev with flags), sendfile, splice, and glibc's fortified
 * __read_chk, __recv_chk and __recvfrom_chk, which a program built with
 * _FORTIFY_SOURCE calls in place of read, recv and recvfrom and which
 * reach libc's internal functions, past those hooks.
 *
 * While a non-blocking connect's SOCKS exchange goes on (pending.c),
 * each of these first moves it on without waiting, then answers as the
 * kernel does for a socket still connecting (EAGAIN), or with the
 * exchange's error once, or goes ahead on the open tunnel: no byte of
 * the program's can enter the exchange and none of the gateway's can
 * reach the program. On a UDP socket with an association, readv and
 * writev carry datagrams through it as recvmsg and sendmsg do; sendfile
 * and splice cannot put a relay header in front of what the kernel
 * copies, so they fail there with EINVAL rather than send datagrams the
 * gateway would drop.
 *
 * Other calls need no hook: preadv and pwritev with an offset fail on a
 * socket (ESPIPE, EINVAL for -1), copy_file_range takes regular files
 * only (EINVAL), tee and vmsplice pipes only. With neither a pending
 * socket nor an association in the process, every hook costs one atomic
 * load and a bit test before the real call.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim.h"

#ifndef RWF_NOWAIT
#define RWF_NOWAIT	0x00000008
#endif

static ssize_t	(*real_readv)(int, const struct iovec *, int);
static ssize_t	(*real_writev)(int, const struct iovec *, int);
static ssize_t	(*real_preadv2)(int, const struct iovec *, int, off_t, int);
static ssize_t	(*real_pwritev2)(int, const struct iovec *, int, off_t, int);
static ssize_t	(*real_sendfile)(int, int, off_t *, size_t);
static ssize_t	(*real_splice)(int, off_t *, int, off_t *, size_t,
		    unsigned int);
static ssize_t	(*real_read_chk)(int, void *, size_t, size_t);
static ssize_t	(*real_recv_chk)(int, void *, size_t, size_t, int);
static ssize_t	(*real_recvfrom_chk)(int, void *, size_t, size_t, int,
		    struct sockaddr *, socklen_t *);
static struct real_once dataio_once = REAL_ONCE_INIT;

static void
dataio_init(void)
{
	*(void **)&real_readv = real_symbol("readv");
	*(void **)&real_writev = real_symbol("writev");
	*(void **)&real_preadv2 = real_symbol("preadv2");
	*(void **)&real_pwritev2 = real_symbol("pwritev2");
	*(void **)&real_sendfile = real_symbol("sendfile");
	*(void **)&real_splice = real_symbol("splice");
	*(void **)&real_read_chk = real_symbol("__read_chk");
	*(void **)&real_recv_chk = real_symbol("__recv_chk");
	*(void **)&real_recvfrom_chk = real_symbol("__recvfrom_chk");
}

/*
 * 1 once the real functions are loaded; 0 while this thread resolves
 * them (a program's malloc re-entering from dlsym): the hook then makes
 * its system call raw, as udp.c's do. errno is kept.
 */
static int
dataio_load(void)
{
	return real_once(&dataio_once, dataio_init);
}

/* Whether fd may need more than the real call: one load, one bit. */
static int
dataio_maybe(int fd)
{
	return pending_active() || sockreg_maybe(fd);
}

/* A msghdr over the program's iovec array (no name: connected). */
static void
dataio_msg(struct msghdr *m, const struct iovec *iov, int cnt)
{
	memset(m, 0, sizeof(*m));
	m->msg_iov = (struct iovec *)iov;
	m->msg_iovlen = cnt < 0 ? 0 : (size_t)cnt;
}

/*
 * fd is a UDP socket with an association: what the kernel would copy
 * to or from it would miss the relay header.
 */
static int
dataio_associated(int fd)
{
	struct sockreg_entry e;

	return sockreg_maybe(fd) && sockreg_get(fd, &e) && e.relaylen != 0;
}

/*
 * The gate of sendfile and splice, which have no msghdr: 1 with *n set
 * (-1 and errno) if the call must not reach the kernel: fd pending (as
 * pending_io says) or associated (EINVAL). nonblock: MSG_DONTWAIT.
 */
static int
dataio_gate(int fd, int nonblock, ssize_t *n)
{
	if (pending_io(fd, nonblock ? MSG_DONTWAIT : 0, n))
		return 1;
	if (dataio_associated(fd)) {
		errno = EINVAL;
		*n = -1;
		return 1;
	}
	return 0;
}

SHIM_EXPORT ssize_t
readv(int fd, const struct iovec *iov, int cnt)
{
	struct msghdr m;
	ssize_t n;

	if (!dataio_load() || real_readv == NULL)
		return real_raw(SYS_readv, fd, (long)iov, cnt, 0, 0, 0);
	if (!dataio_maybe(fd) || cnt < 0)
		return real_readv(fd, iov, cnt);
	dataio_msg(&m, iov, cnt);
	if (udp_recv(fd, &m, 0, &n))
		return n;
	return real_readv(fd, iov, cnt);
}

SHIM_EXPORT ssize_t
writev(int fd, const struct iovec *iov, int cnt)
{
	struct msghdr m;
	ssize_t n;

	if (!dataio_load() || real_writev == NULL)
		return real_raw(SYS_writev, fd, (long)iov, cnt, 0, 0, 0);
	if (!dataio_maybe(fd) || cnt < 0)
		return real_writev(fd, iov, cnt);
	dataio_msg(&m, iov, cnt);
	if (udp_send(fd, &m, 0, &n))
		return n;
	return real_writev(fd, iov, cnt);
}

/*
 * preadv2 and pwritev2 at offset -1 read and write at the file
 * position, which on a socket makes them readv and writev; RWF_NOWAIT
 * is then a non-blocking call. Other flags on an associated socket go
 * to the kernel as they are (none of them means anything to a socket).
 */
SHIM_EXPORT ssize_t
preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	struct msghdr m;
	ssize_t n;

	if (!dataio_load() || real_preadv2 == NULL)
		return real_raw(SYS_preadv2, fd, (long)iov, cnt, (long)off, 0,
		    flags);
	if (off != -1 || !dataio_maybe(fd) || cnt < 0)
		return real_preadv2(fd, iov, cnt, off, flags);
	dataio_msg(&m, iov, cnt);
	if (udp_recv(fd, &m, (flags & RWF_NOWAIT) ? MSG_DONTWAIT : 0, &n))
		return n;
	return real_preadv2(fd, iov, cnt, off, flags);
}

SHIM_EXPORT ssize_t
pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	struct msghdr m;
	ssize_t n;

	if (!dataio_load() || real_pwritev2 == NULL)
		return real_raw(SYS_pwritev2, fd, (long)iov, cnt, (long)off, 0,
		    flags);
	if (off != -1 || !dataio_maybe(fd) || cnt < 0)
		return real_pwritev2(fd, iov, cnt, off, flags);
	dataio_msg(&m, iov, cnt);
	if (udp_send(fd, &m, (flags & RWF_NOWAIT) ? MSG_DONTWAIT : 0, &n))
		return n;
	return real_pwritev2(fd, iov, cnt, off, flags);
}

/*
 * glibc's *64 names of the same functions: off_t is 64 bits on every
 * 64-bit target, and a program built with _FILE_OFFSET_BITS=64 calls
 * these.
 */
SHIM_EXPORT ssize_t
preadv64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int flags)
{
	return preadv2(fd, iov, cnt, (off_t)off, flags);
}

SHIM_EXPORT ssize_t
pwritev64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int flags)
{
	return pwritev2(fd, iov, cnt, (off_t)off, flags);
}

/*
 * sendfile to a pending socket (or from one: a kernel that can splice
 * from a socket lets it be in_fd) waits for the tunnel as write does.
 */
SHIM_EXPORT ssize_t
sendfile(int out, int in, off_t *off, size_t count)
{
	ssize_t n;

	if (!dataio_load() || real_sendfile == NULL)
		return real_raw(SYS_sendfile, out, in, (long)off, (long)count,
		    0, 0);
	if ((dataio_maybe(out) && dataio_gate(out, 0, &n)) ||
	    (dataio_maybe(in) && dataio_gate(in, 0, &n)))
		return n;
	return real_sendfile(out, in, off, count);
}

SHIM_EXPORT ssize_t
sendfile64(int out, int in, off64_t *off, size_t count)
{
	return sendfile(out, in, (off_t *)off, count);
}

/* splice: one side is a pipe, the other may be a pending socket. */
SHIM_EXPORT ssize_t
splice(int in, off64_t *inoff, int out, off64_t *outoff, size_t len,
    unsigned int flags)
{
	int nonblock = (flags & SPLICE_F_NONBLOCK) != 0;
	ssize_t n;

	if (!dataio_load() || real_splice == NULL)
		return real_raw(SYS_splice, in, (long)inoff, out,
		    (long)outoff, (long)len, flags);
	if ((dataio_maybe(in) && dataio_gate(in, nonblock, &n)) ||
	    (dataio_maybe(out) && dataio_gate(out, nonblock, &n)))
		return n;
	return real_splice(in, inoff, out, outoff, len, flags);
}

/*
 * The fortified reads: glibc's check first (a count larger than the
 * buffer the compiler saw), failed by glibc's own function, which ends
 * the program as it would have; then our hook where glibc would call
 * its internal read. Without anything of ours in the process, glibc's
 * function itself.
 */
SHIM_EXPORT ssize_t
__read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (!dataio_load() || real_read_chk == NULL) {
		if (n > buflen)
			abort();
		return real_raw(SYS_read, fd, (long)buf, (long)n, 0, 0, 0);
	}
	if (n > buflen || !dataio_maybe(fd))
		return real_read_chk(fd, buf, n, buflen);
	return read(fd, buf, n);
}

SHIM_EXPORT ssize_t
__recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	if (!dataio_load() || real_recv_chk == NULL) {
		if (n > buflen)
			abort();
		return real_raw(SYS_recvfrom, fd, (long)buf, (long)n, flags,
		    0, 0);
	}
	if (n > buflen || !dataio_maybe(fd))
		return real_recv_chk(fd, buf, n, buflen, flags);
	return recv(fd, buf, n, flags);
}

SHIM_EXPORT ssize_t
__recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
    __SOCKADDR_ARG addr, socklen_t *alen)
{
	struct sockaddr *sa = addr.__sockaddr__;

	if (!dataio_load() || real_recvfrom_chk == NULL) {
		if (n > buflen)
			abort();
		return real_raw(SYS_recvfrom, fd, (long)buf, (long)n, flags,
		    (long)sa, (long)alen);
	}
	if (n > buflen || !dataio_maybe(fd))
		return real_recvfrom_chk(fd, buf, n, buflen, flags, sa, alen);
	return recvfrom(fd, buf, n, flags, sa, alen);
}
