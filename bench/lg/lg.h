/*
 * lg.h - what the parts of loadgen share: the target and options of a
 * run, and each file's functions under its banner.
 */
#ifndef SOCKS64_BENCH_LG_H
#define SOCKS64_BENCH_LG_H

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "../bench.h"
#include "socks5.h"

#define LG_EVENTS	256		/* epoll events per wake-up */
#define LG_MAX_STREAMS	64
#define LG_MAX_SAMPLES	2000000		/* latency samples kept */
/*
 * Kernel memory a relay costs outside any RSS: socket, pipe and file
 * objects (Slab), a thread's kernel stack, page tables. Steadier than
 * MemAvailable, which every other process on the machine moves too.
 */
#define LG_KERNEL_MEM	"Slab KernelStack PageTables"

/* Where to go and how: the proxy (if any) and the destination. */
struct lg_target {
	int			 proxied;
	struct sockaddr_storage	 proxy;
	socklen_t		 proxylen;
	struct socks5_addr	 dst;		/* as sent in CONNECT */
	struct sockaddr_storage	 direct;	/* where a direct run goes */
	socklen_t		 directlen;
};

struct lg_opts {
	struct lg_target	 tg;
	const char		*dest;		/* -t as given */
	unsigned int		 streams, conc, pause_ms;
	uint64_t		 bytes, max;
	int			 upload, pid;
	double			 limit_s;
};

/* loadgen.c */
extern uint8_t	*lg_pat;	/* the pattern, twice over (tput only) */
int64_t	lg_now_ns(void);
/* Prints what failed with strerror(errno) and exits 1. */
void	lg_die(const char *what) __attribute__((noreturn));
/* Prints the usage line and exits 2. */
void	lg_usage(void) __attribute__((noreturn));

/* stat.c */
double	lg_proc_cpu(int root);
long	lg_proc_status_kib(int root, const char *key);
long	lg_meminfo_kib(const char *keys);
void	lg_print_latency(int64_t *v, size_t n);

/* socks.c */
void	lg_target_parse(struct lg_target *tg, const char *proxy,
	    const char *dest, int resolve);
const struct sockaddr *lg_first_hop(const struct lg_target *tg,
	    socklen_t *len);
int	lg_write_full(int fd, const void *buf, size_t len);
int	lg_read_full(int fd, void *buf, size_t len);
int	lg_open_blocking(const struct lg_target *tg, unsigned int timeout_s);

/* tput.c, conn.c, shim.c: the measurement families; 0 if all went well */
int	lg_tput(const struct lg_opts *o);
int	lg_crr(const struct lg_opts *o);
int	lg_hold(const struct lg_opts *o);
int	lg_seq(const struct lg_opts *o);
int	lg_gai(const struct lg_opts *o);
int	lg_evloop(const struct lg_opts *o);

#endif /* SOCKS64_BENCH_LG_H */
