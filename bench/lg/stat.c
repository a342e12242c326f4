/*
 * stat.c - loadgen's measurements of the proxy from outside (/proc/PID:
 * CPU time and memory, its children included) and the latency
 * percentiles every connection case prints.
 */
#include "lg.h"

/* ------------------------------------------------------------------ */
/* /proc: the proxy's CPU time and memory, its children included       */

/* ppid of every process, indexed by pid; -1 where none. */
static int *
lg_proc_parents(size_t *n)
{
	char		 path[64], buf[512], *p;
	struct dirent	*de;
	DIR		*d;
	FILE		*f;
	int		*pp;
	long		 pid, ppid, max = 4194304;
	size_t		 i;

	if ((f = fopen("/proc/sys/kernel/pid_max", "r")) != NULL) {
		if (fscanf(f, "%ld", &max) != 1)
			max = 4194304;
		fclose(f);
	}
	*n = (size_t)max + 1;
	if ((pp = malloc(*n * sizeof(*pp))) == NULL)
		return NULL;
	for (i = 0; i < *n; i++)
		pp[i] = -1;
	if ((d = opendir("/proc")) == NULL)
		return pp;
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = strtol(de->d_name, NULL, 10);
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		p = fgets(buf, sizeof(buf), f);
		fclose(f);
		/* The name may hold anything: fields start after its ')'. */
		if (p == NULL || (p = strrchr(buf, ')')) == NULL)
			continue;
		if (sscanf(p + 1, " %*c %ld", &ppid) == 1 && pid >= 0 &&
		    (size_t)pid < *n)
			pp[pid] = (int)ppid;
	}
	closedir(d);
	return pp;
}

/* Whether pid is root or descends from it. */
static int
lg_proc_in_tree(const int *pp, size_t n, int pid, int root)
{
	int hops;

	for (hops = 0; hops < 64 && pid > 0 && (size_t)pid < n; hops++) {
		if (pid == root)
			return 1;
		pid = pp[pid];
	}
	return 0;
}

/*
 * CPU seconds of root and its descendants (Dante forks workers): utime
 * + stime of each live one, plus the children root has reaped.
 */
double
lg_proc_cpu(int root)
{
	char		 path[64], buf[1024], *p;
	unsigned long long ut, st, cut, cst, ticks = 0;
	size_t		 n, pid;
	int		*pp;
	FILE		*f;

	if (root <= 0 || (pp = lg_proc_parents(&n)) == NULL)
		return 0;
	for (pid = 1; pid < n; pid++) {
		if (pp[pid] == -1 || !lg_proc_in_tree(pp, n, (int)pid, root))
			continue;
		snprintf(path, sizeof(path), "/proc/%zu/stat", pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		p = fgets(buf, sizeof(buf), f);
		fclose(f);
		if (p == NULL || (p = strrchr(buf, ')')) == NULL)
			continue;
		/* Fields 14-17 of proc(5), counted from the state (3). */
		if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
		    "%*u %llu %llu %llu %llu", &ut, &st, &cut, &cst) != 4)
			continue;
		ticks += ut + st + ((int)pid == root ? cut + cst : 0);
	}
	free(pp);
	return (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

/* Sum over root's tree of a "Key:  N kB" line of /proc/PID/status. */
long
lg_proc_status_kib(int root, const char *key)
{
	char	 path[64], line[256];
	size_t	 n, pid, klen = strlen(key);
	long	 sum = 0, v;
	int	*pp;
	FILE	*f;

	if (root <= 0 || (pp = lg_proc_parents(&n)) == NULL)
		return 0;
	for (pid = 1; pid < n; pid++) {
		if (pp[pid] == -1 || !lg_proc_in_tree(pp, n, (int)pid, root))
			continue;
		snprintf(path, sizeof(path), "/proc/%zu/status", pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL)
			if (strncmp(line, key, klen) == 0 && line[klen] == ':' &&
			    sscanf(line + klen + 1, "%ld", &v) == 1)
				sum += v;
		fclose(f);
	}
	free(pp);
	return sum;
}

/* The sum of the named /proc/meminfo lines ("Slab KernelStack"), kB. */
long
lg_meminfo_kib(const char *keys)
{
	char	line[256], key[64];
	long	v, sum = 0;
	FILE	*f;

	if ((f = fopen("/proc/meminfo", "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *k = keys;
		size_t n;

		if (sscanf(line, "%63[^:]: %ld", key, &v) != 2)
			continue;
		n = strlen(key);
		/* key must be one of the space-separated words of keys. */
		while ((k = strstr(k, key)) != NULL) {
			if ((k == keys || k[-1] == ' ') &&
			    (k[n] == ' ' || k[n] == '\0')) {
				sum += v;
				break;
			}
			k += n;
		}
	}
	fclose(f);
	return sum;
}

/* ------------------------------------------------------------------ */
/* latency statistics                                                   */

static int
lg_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Sorts v and prints p50/p90/p99/max in microseconds. */
void
lg_print_latency(int64_t *v, size_t n)
{
	if (n == 0) {
		printf(" p50_us=nan p90_us=nan p99_us=nan max_us=nan");
		return;
	}
	qsort(v, n, sizeof(*v), lg_cmp_i64);
	printf(" p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f",
	    (double)v[(n - 1) * 50 / 100] / 1e3,
	    (double)v[(n - 1) * 90 / 100] / 1e3,
	    (double)v[(n - 1) * 99 / 100] / 1e3, (double)v[n - 1] / 1e3);
}
