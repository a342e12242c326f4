/*
 * loadgen - the benchmark's client: it speaks SOCKS5 itself, through the
 * project's codec (src/socks5.h), so every proxy is driven by the same
 * bytes, and it measures the proxy from outside (/proc/PID).
 *
 *   loadgen tput   [-x PROXY] -t DEST -s STREAMS -b BYTES -d up|down
 *                  [-p PID] [-T S]        throughput, integrity, CPU/GiB
 *   loadgen crr    [-x PROXY] -t DEST -c CONC [-n MAX] [-T S]
 *                  greeting + CONNECT + 1-byte echo + close, latencies
 *   loadgen hold   [-x PROXY] -t DEST -n N [-c CONC] [-P PAUSE_MS]
 *                  [-p PID] [-T S]        N relays open at once, memory
 *   loadgen seq    [-x PROXY] -t DEST [-n MAX] [-T S]
 *                  blocking connect + echo in a loop (with and without
 *                  the shim preloaded)
 *   loadgen gai    -t NAME [-n MAX] [-T S]   getaddrinfo ns per call
 *   loadgen evloop -t NAME:PORT [-c N] [-T S]
 *                  N non-blocking connects driven by poll()
 *   loadgen freeport                      prints a free loopback port
 *
 * PROXY is a literal ADDR:PORT. DEST is ADDR:PORT or NAME:PORT; through
 * a proxy a name goes as a DOMAINNAME (the proxy resolves it), directly
 * it is resolved here with getaddrinfo (the shim's fake address when
 * libsocks64 is preloaded). Results are one line of key=value pairs.
 * Every loop is bounded by a count and by -T seconds.
 *
 * This file holds the command line; bench/lg/ the rest, one file per
 * family of measurements (tput.c; conn.c for crr and hold; shim.c) and
 * the shared SOCKS5 client (socks.c) and statistics (stat.c).
 */
#include "lg/lg.h"

uint8_t	*lg_pat;

int64_t
lg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
lg_die(const char *what)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
	exit(1);
}

void
lg_usage(void)
{
	fprintf(stderr, "usage: loadgen tput|crr|hold|seq|gai|evloop|freeport "
	    "[-x PROXY] [-t DEST] [-s N] [-b BYTES] [-d up|down] [-c N] "
	    "[-n N] [-P MS] [-p PID] [-T S]\n");
	exit(2);
}

/*
 * A free loopback port below the ephemeral range. Ports in that range
 * are soon all held by TIME_WAIT from the connection-rate cases, and a
 * bind() to port 0 (ours, or Dante's for its outbound side) then fails;
 * below it no connect() ever takes one.
 */
static int
lg_freeport(void)
{
	struct sockaddr_in	sin;
	unsigned int		low = 32768, high = 60999, base, span, port, i;
	FILE			*f;
	int			fd;

	if ((f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r"))) {
		if (fscanf(f, "%u %u", &low, &high) != 2)
			low = 32768, high = 60999;
		fclose(f);
	}
	/* Below the range if there is room, else above it, else anywhere. */
	if (low >= 2048)
		base = 1024, span = low - 1024;
	else if (high <= 63487)
		base = high + 1, span = 65535 - high;
	else
		base = 1024, span = 64511;
	srand((unsigned int)(lg_now_ns() ^ getpid()));
	for (i = 0; i < 500; i++) {
		port = base + (unsigned int)rand() % span;
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = htons((uint16_t)port);
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			lg_die("socket");
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
			close(fd);
			printf("%u\n", port);
			return 0;
		}
		close(fd);
	}
	lg_die("freeport: no free port");
	return 1;
}

int
main(int argc, char **argv)
{
	struct lg_opts	 o;
	const char	*mode, *proxy = NULL;
	int		 c;

	if (argc < 2)
		lg_usage();
	mode = argv[1];
	if (strcmp(mode, "freeport") == 0)
		return lg_freeport();
	memset(&o, 0, sizeof(o));
	o.streams = 1;
	o.conc = 1;
	o.bytes = 1u << 30;
	o.max = 1000000;
	o.pause_ms = 2000;
	o.upload = 1;
	o.limit_s = 10;
	optind = 2;
	while ((c = getopt(argc, argv, "x:t:s:b:d:c:n:P:p:T:")) != -1) {
		switch (c) {
		case 'x':
			proxy = optarg;
			break;
		case 't':
			o.dest = optarg;
			break;
		case 's':
			o.streams = (unsigned int)atoi(optarg);
			break;
		case 'b':
			o.bytes = strtoull(optarg, NULL, 10);
			break;
		case 'd':
			o.upload = strcmp(optarg, "down") != 0;
			break;
		case 'c':
			o.conc = (unsigned int)atoi(optarg);
			break;
		case 'n':
			o.max = strtoull(optarg, NULL, 10);
			break;
		case 'P':
			o.pause_ms = (unsigned int)atoi(optarg);
			break;
		case 'p':
			o.pid = atoi(optarg);
			break;
		case 'T':
			o.limit_s = atof(optarg);
			break;
		default:
			lg_usage();
		}
	}
	if (optind != argc || o.conc == 0 || o.max == 0 || o.dest == NULL)
		lg_usage();
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(mode, "gai") == 0)
		return lg_gai(&o);
	lg_target_parse(&o.tg, proxy, o.dest, 1);
	if (strcmp(mode, "tput") == 0) {
		if ((lg_pat = malloc(2 * (size_t)BENCH_PAT_LEN)) == NULL)
			lg_die("malloc");
		bench_pattern_init(lg_pat);
		return lg_tput(&o);
	}
	if (strcmp(mode, "crr") == 0)
		return lg_crr(&o);
	if (strcmp(mode, "hold") == 0)
		return lg_hold(&o);
	if (strcmp(mode, "seq") == 0)
		return lg_seq(&o);
	if (strcmp(mode, "evloop") == 0)
		return lg_evloop(&o);
	lg_usage();
	return 2;
}
