/*
 * Result reporting in the style of XTF: one "RESULT:" line, then the VM ends
 * through the debug-exit port, which Keel (and QEMU's isa-debug-exit) turn
 * into exit status (v << 1) | 1.
 */
#include "guest.h"

#define DEBUG_EXIT_PORT 0xF4

static const char *const result_names[] = {
    [XTF_PASS] = "PASS",
    [XTF_FAIL] = "FAIL",
    [XTF_ERROR] = "ERROR",
    [XTF_SKIP] = "SKIP",
};

void xtf_exit(enum xtf_result r)
{
	outl(DEBUG_EXIT_PORT, (uint32_t)r);
	/* Still here: no debug-exit device. Stop quietly instead of running on. */
	halt_forever();
}

static NORETURN void report(enum xtf_result r, const char *fmt, va_list ap)
{
	printf("RESULT: %s ", result_names[r]);
	vprintf(fmt, ap);
	console_putc('\n');
	xtf_exit(r);
}

#define REPORTER(name, result)           \
	void name(const char *fmt, ...)  \
	{                                \
		va_list ap;              \
                                         \
		va_start(ap, fmt);       \
		report(result, fmt, ap); \
	}

REPORTER(xtf_success, XTF_PASS)
REPORTER(xtf_failure, XTF_FAIL)
REPORTER(xtf_error, XTF_ERROR)
REPORTER(xtf_skip, XTF_SKIP)

void xtf_check_boot(uint32_t magic, const struct mb_info *mbi)
{
	if (magic != MB_BOOT_MAGIC)
		xtf_error("bad Multiboot magic 0x%08x in EAX", magic);
	if (!mbi)
		xtf_error("no Multiboot information (EBX = 0)");
}
