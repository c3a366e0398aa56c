/* Unit tests for Keel's formatter (lib/format.c), compared with glibc. The
 * module defines vsnprintf/snprintf, so this test and the module are built
 * with -Dvsnprintf=keel_vsnprintf -Dsnprintf=keel_snprintf; glibc's output
 * comes from vasprintf, which the renames leave alone. Every comparison also
 * runs at every buffer size from the full length down to 0 (truncation).
 * Keel's deliberate differences from glibc are asserted with expect_keel(). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <keel/string.h>

int keel_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int keel_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* Undefined behaviour (e.g. a signed overflow in the module) fails the test
 * run instead of printing a warning that nobody reads. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

#define SENTINEL 0x5A

static void check(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void check(const char *fmt, ...)
{
	char buf[256], want[256];
	char *ref;
	va_list ap, aq;
	int wn;

	va_start(ap, fmt);
	va_copy(aq, ap);
	wn = vasprintf(&ref, fmt, aq);
	va_end(aq);
	assert_true(wn >= 0 && wn < (int)sizeof(buf) - 1);
	memcpy(want, ref, (size_t)wn + 1); /* copied: a failing assert would leak REF */
	free(ref);
	/* Full size first, so that a failure shows the whole output. */
	for (size_t k = 0; k <= (size_t)wn + 1; k++) {
		size_t size = (size_t)wn + 1 - k;
		size_t used = size ? (size - 1 < (size_t)wn ? size - 1 : (size_t)wn) : 0;

		memset(buf, SENTINEL, sizeof(buf));
		va_copy(aq, ap);
		assert_int_equal(keel_vsnprintf(size ? buf : NULL, size, fmt, aq), wn);
		va_end(aq);
		if (size) {
			if (memcmp(buf, want, used) || buf[used] != '\0')
				fail_msg("format \"%s\" size %zu: got \"%.*s\", want \"%.*s\"", fmt,
					 size, (int)used, buf, (int)used, want);
		}
		/* Nothing is written past the buffer (size 0: nothing at all). */
		for (size_t i = size; i < sizeof(buf); i++)
			assert_int_equal((unsigned char)buf[i], SENTINEL);
	}
	va_end(ap);
}

/* Keel's own output where it differs from glibc on purpose. */
static void expect_keel(const char *want, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = keel_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	assert_string_equal(buf, want);
	assert_int_equal(n, (int)strlen(want));
}

static void test_decimal(void **state)
{
	(void)state;
	check("%d %i %u", 0, 0, 0u);
	check("%d|%d|%d|%d", 1, -1, INT32_MAX, INT32_MIN);
	check("%i %u %u", -12345, 4000000000u, UINT32_MAX);
	check("%ld %lu", (long)INT64_MAX, (unsigned long)UINT64_MAX);
	check("%lld %llu", -1234567890123LL, 18446744073709551615ULL);
	check("%zu %zd %zi", (size_t)SIZE_MAX, (ssize_t)-5, (ssize_t)77);
	check("%hd %hu %hhd %hhu", (short)-300, (unsigned short)65535, (signed char)-5,
	      (unsigned char)200);
	check("a%db%uc", 7, 8u);
	check("no conversions at all");
	check("%s", "");
}

static void test_hex(void **state)
{
	(void)state;
	check("%x %X", 0u, 0u);
	check("%x %X", 0xdeadbeefu, 0xdeadbeefu);
	check("%lx %lX", (unsigned long)UINT64_MAX, 0x123456789abcdefUL);
	check("%llx", 0x8000000000000000ULL);
	check("%zx", (size_t)0x1000);
	check("%x", (unsigned)-1);
	check("%#x %#lx", 0x1fu, 0xffff800000000000UL);
	check("%#-10x|%#010x|%#018lx", 0x1fu, 0x1fu, 0x1234UL);
	check("%#-20lx|", (unsigned long)UINT64_MAX);
}

static void test_width_and_flags(void **state)
{
	(void)state;
	check("[%5d][%-5d][%05d]", 42, 42, 42);
	check("[%05d][%5d][%-6d]", -42, -42, -42);
	check("[%08x][%-8x][%8X]", 0xbeefu, 0xbeefu, 0xbeefu);
	check("[%2d][%1u][%3x]", 12345, 99999u, 0xfffffu);
	check("[%020lu][%-21ld][%021ld]", (unsigned long)UINT64_MAX, (long)-1, (long)-1);
	check("[%*d][%-*d][%0*x]", 6, 42, 6, 42, 6, 0xabu);
	check("[%010d][%01d]", 0, 0);
}

/* '0' is ignored with '-' (GCC warns about the combination). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
static void test_zero_with_minus(void **state)
{
	(void)state;
	check("[%-05d][%0-5d][%-0d]", -42, 3, 3);
}
#pragma GCC diagnostic pop

static void test_strings_and_chars(void **state)
{
	(void)state;
	check("[%s][%10s][%-10s]", "keel", "keel", "keel");
	check("[%.3s][%.0s][%.10s][%10.3s][%-10.3s]", "hello", "hello", "hello", "hello", "hello");
	check("[%.*s][%.*s][%.*s]", 2, "hello", 0, "hello", -1, "hello");
	check("[%*s][%-*s]", 8, "ab", 8, "ab");
	check("[%c][%3c][%-3c][%c]", 'x', 'y', 'z', '%');
	check("%c%c%c", 'a', '\0', 'b'); /* a NUL character counts */
	check("%%|100%%|%%%d%%", 5);
}

/* NULL %s prints "(null)", as glibc does (GCC warns about the NULL). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-overflow"
static void test_null_string(void **state)
{
	(void)state;
	check("%s", (const char *)NULL);
	check("[%10s][%-8s]", (const char *)NULL, (const char *)NULL);
	check("[%.6s]", (const char *)NULL);
}
#pragma GCC diagnostic pop

static void test_pointer(void **state)
{
	(void)state;
	check("%p", (void *)0x1234);
	check("%p", (void *)UINTPTR_MAX);
	check("%p", (void *)&state);
	/* Difference: glibc prints "(nil)"; Keel prints "0x0", which is fine. */
	expect_keel("0x0", "%p", (void *)NULL);
}

static void test_truncation(void **state)
{
	char buf[8];

	(void)state;
	memset(buf, SENTINEL, sizeof(buf));
	assert_int_equal(keel_snprintf(buf, 0, "%s", "abc"), 3);
	assert_int_equal((unsigned char)buf[0], SENTINEL); /* size 0 writes nothing */
	assert_int_equal(keel_snprintf(NULL, 0, "%lu", (unsigned long)UINT64_MAX), 20);
	assert_int_equal(keel_snprintf(buf, 1, "%d", 12345), 5);
	assert_string_equal(buf, "");
	assert_int_equal(keel_snprintf(buf, sizeof(buf), "%s-%d", "keel", 123456), 11);
	assert_string_equal(buf, "keel-12");
	assert_int_equal(keel_snprintf(buf, sizeof(buf), "%8s", "x"), 8);
	assert_string_equal(buf, "       ");
	assert_int_equal(keel_snprintf(buf, sizeof(buf), "abcdefg"), 7);
	assert_string_equal(buf, "abcdefg");
	check("%-30s|%30d|%30lx", "long enough to truncate", -1, 0xabcdefUL);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
static void test_documented_differences(void **state)
{
	(void)state;
	/* glibc omits the prefix of a zero ("0"); Keel always prints it. */
	expect_keel("0x0", "%#x", 0u);
	expect_keel("[0x00000000]", "[%#010x]", 0u);
	/* %#X prints an upper-case prefix, "0XAB", as glibc does. */
	expect_keel("0XAB", "%#X", 0xabu);
	/* No precision for numbers (glibc: "005"). */
	expect_keel("5", "%.3d", 5);
	/* glibc prints "" for a NULL %s whose precision is below 6; Keel cuts
	 * "(null)" like any string. */
	expect_keel("[(nu]", "[%.3s]", (const char *)NULL);
	/* A conversion Keel does not know is printed as is. */
	expect_keel("%q|", "%q|%"); /* a lone '%' at the end prints nothing */
	expect_keel("", "%");
	/* Not asserted, deliberately unsupported: the '+' and ' ' flags and %o
	 * (printed literally and, worse, their argument is not consumed, so the
	 * following conversions take the wrong arguments), and a negative width
	 * from '*' (C says: '-' flag with the absolute width; Keel ignores the
	 * width, "%*d" of -5, 42 gives "42" instead of "42   "). */
}
#pragma GCC diagnostic pop

/* Bugs: the alternate form and %p count the "0x" prefix wrongly when padding
 * with spaces. glibc: "      0x1f" and "            0x1234". */
static void test_prefix_width(void **state)
{
	(void)state;
	check("[%#10x]", 0x1fu);
	check("[%#18lx]", 0xffffUL);
	check("[%18p][%-10p]", (void *)0x1234, (void *)0x1234);
}

/* Bug: h and hh must convert the (promoted) argument to short / char before
 * printing: an int16_t of -1 with %hx is "ffff" (Keel: "ffffffff"). */
static void test_short_modifiers(void **state)
{
	(void)state;
	check("%hd %hhd %hu %hhu", (short)-1, (signed char)-1, (unsigned short)65535,
	      (unsigned char)255);
	check("%hx", (short)-1);
	check("%hu", (short)-2);
	check("%hhx", (signed char)-1);
	check("%hd %hhu", 70000, 511); /* glibc: "4464 255" */
}

/* INT64_MIN must print without undefined behaviour; it is formatted in a
 * child so that a UBSan abort fails this test alone. */
static void test_int64_min(void **state)
{
	char buf[128];
	pid_t pid;
	int status;

	(void)state;
	check("%d", INT32_MIN);
	check("[%12d][%-12d][%012d]", INT32_MIN, INT32_MIN, INT32_MIN);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *want = "-9223372036854775808|-000009223372036854775808|"
				   "-9223372036854775807";
		int n = keel_snprintf(buf, sizeof(buf), "%ld|%025lld|%lld", (long)INT64_MIN,
				      (long long)INT64_MIN, (long long)INT64_MIN + 1);

		_exit(n == (int)strlen(want) && !strcmp(buf, want) ? 0 : 2);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decimal),
	    cmocka_unit_test(test_hex),
	    cmocka_unit_test(test_width_and_flags),
	    cmocka_unit_test(test_zero_with_minus),
	    cmocka_unit_test(test_strings_and_chars),
	    cmocka_unit_test(test_null_string),
	    cmocka_unit_test(test_pointer),
	    cmocka_unit_test(test_truncation),
	    cmocka_unit_test(test_documented_differences),
	    cmocka_unit_test(test_prefix_width),
	    cmocka_unit_test(test_short_modifiers),
	    cmocka_unit_test(test_int64_min),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
