/*
 * sanopts.c - sanitizer options built into SAN=1 programs (never into
 * others).  Read from no environment: a program started with a cleared
 * one (env -i, the approver command's clean environment, setpriv) reports
 * to the same directory as every other, and one report there fails
 * `make asan`.  ASAN_OPTIONS / UBSAN_OPTIONS, when set, apply on top.
 */
#ifndef WRIT_SAN_DIR
#error "build with -DWRIT_SAN_DIR='\"/abs/dir\"': where sanitizer reports go"
#endif

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

const char *__asan_default_options(void);
const char *__ubsan_default_options(void);
int __lsan_is_turned_off(void);

const char *
__asan_default_options(void)
{
	return "detect_leaks=1:log_path=" WRIT_SAN_DIR "/asan";
}

const char *
__ubsan_default_options(void)
{
	return "print_stacktrace=1:halt_on_error=1:log_path=" WRIT_SAN_DIR "/ubsan";
}

/*
 * No leak check at exit under a seccomp filter (srt's, Codex's): LeakSanitizer
 * stops the world with ptrace, which the filter forbids, and then spins
 * forever on sched_yield.  Everywhere else leaks are checked.
 */
int
__lsan_is_turned_off(void)
{
	char buf[4096], *p;
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strstr(buf, "\nSeccomp:");
	if (p == NULL)
		return 0;
	for (p += 9; *p == ' ' || *p == '\t'; p++)
		;
	return *p == '2';	/* SECCOMP_MODE_FILTER */
}
