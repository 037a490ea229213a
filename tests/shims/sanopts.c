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

const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

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
