/* Unit tests for core/config.c, the configuration parser (docs/config.md). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keel/config.h>

#define MAX_ERRS 128

/* Every error the parser reported in the last parse() call. */
static struct {
	int n;
	int line[MAX_ERRS];
	char msg[MAX_ERRS][256];
	char file[MAX_ERRS][32];
} errs;

static struct cfg cfg;

static void collect(void *ctx, const char *file, int line, const char *msg)
{
	assert_ptr_equal(ctx, &errs);
	assert_non_null(file);
	assert_non_null(msg);
	assert_true(line >= 1);
	assert_true(strlen(msg) > 0 && strlen(msg) < 256);
	if (errs.n < MAX_ERRS) {
		errs.line[errs.n] = line;
		snprintf(errs.msg[errs.n], sizeof(errs.msg[0]), "%s", msg);
		snprintf(errs.file[errs.n], sizeof(errs.file[0]), "%s", file);
	}
	errs.n++;
}

/* Parses LEN bytes copied into a buffer of exactly that size, so that ASan
 * catches any read past the end. */
static int parse_len(const char *text, size_t len)
{
	char *buf = malloc(len ? len : 1);
	int n;

	assert_non_null(buf);
	memcpy(buf, text, len);
	memset(&errs, 0, sizeof(errs));
	memset(&cfg, 0xA5, sizeof(cfg)); /* cfg_parse must initialise everything */
	n = cfg_parse(buf, len, "keel.cfg", &cfg, collect, &errs);
	free(buf);
	assert_int_equal(n, errs.n);
	return n;
}

static int parse(const char *text)
{
	return parse_len(text, strlen(text));
}

/* The last parse reported exactly one error, on LINE, containing PHRASE. */
static void expect_error(const char *text, int line, const char *phrase)
{
	int n = parse(text);

	if (n != 1 || errs.line[0] != line || !strstr(errs.msg[0], phrase)) {
		print_error("input:\n%s\nwanted 1 error on line %d containing \"%s\", got %d:\n",
			    text, line, phrase, n);
		for (int i = 0; i < n && i < MAX_ERRS; i++)
			print_error("  line %d: %s\n", errs.line[i], errs.msg[i]);
		fail();
	}
}

/* Some error of the last parse is on LINE and contains PHRASE. */
static bool has_error(int line, const char *phrase)
{
	for (int i = 0; i < errs.n && i < MAX_ERRS; i++)
		if (errs.line[i] == line && strstr(errs.msg[i], phrase))
			return true;
	return false;
}

static bool cpu_set(const struct cfg_vm *vm, unsigned cpu)
{
	return vm->cpus[cpu / 64] >> (cpu % 64) & 1;
}

static const char example[] = "# Comments start with '#' anywhere outside a quoted string.\n"
			      "[keel]                          # optional global section\n"
			      "poweroff-when-idle = yes\n"
			      "timeslice = 10ms\n"
			      "\n"
			      "[vm web1]\n"
			      "kernel = hello.elf\n"
			      "cmdline = \"count=5 name=web1\"\n"
			      "memory = 64M\n"
			      "vcpus = 2\n"
			      "weight = 512\n"
			      "cap = 150%\n"
			      "cpus = 0-1,3\n"
			      "autostart = no\n"
			      "rng = yes\n"
			      "\n"
			      "[vm raw]\n"
			      "image = flat.bin\n"
			      "load-address = 0x100000\n"
			      "entry = 0x100010\n"
			      "memory = 4M\n";

static void test_debug_commands(void **state)
{
	(void)state;
	assert_int_equal(parse("[keel]\ndebug-commands = yes\n"), 0);
	assert_true(cfg.debug_commands);
	assert_int_equal(parse("[keel]\n"), 0);
	assert_false(cfg.debug_commands);
	assert_int_equal(parse("[keel]\ndebug-commands = maybe\n"), 1);
	assert_false(cfg.debug_commands);
}

static void test_datastore_and_uplink(void **state)
{
	(void)state;
	assert_int_equal(
	    parse("[keel]\ndatastore = nvme0n1\ndatastore-format = yes\nuplink = lan  eth0\n"), 0);
	assert_string_equal(cfg.datastore, "nvme0n1");
	assert_true(cfg.datastore_format);
	assert_string_equal(cfg.uplink_switch, "lan");
	assert_string_equal(cfg.uplink_dev, "eth0");
	assert_int_equal(parse("[keel]\n"), 0);
	assert_string_equal(cfg.datastore, "");
	assert_false(cfg.datastore_format);
	expect_error("[keel]\nuplink = lan\n", 2, "uplink: 'lan' is not 'SWITCH DEVICE'");
	expect_error("[keel]\nuplink = lan eth0 eth1\n", 2, "is not 'SWITCH DEVICE'");
	assert_string_equal(cfg.uplink_switch, "");
	expect_error("[keel]\ndatastore = a/b\n", 2, "datastore: 'a/b' contains '/'");
	expect_error("[vm a]\nkernel = k\nmemory = 2M\ndatastore = x\n", 4,
		     "'datastore' belongs in [keel]");
}

static void test_initrd(void **state)
{
	(void)state;
	assert_int_equal(parse("[vm l]\nkernel = vmlinuz\ninitrd = initrd.img\nmemory = 256M\n"),
			 0);
	assert_string_equal(cfg.vms[0].initrd, "initrd.img");
	expect_error("[vm f]\nimage = f.bin\nload-address = 0x1000\ninitrd = i.img\n"
		     "memory = 4M\n",
		     4, "initrd only applies to 'kernel' VMs");
	expect_error("[vm l]\nkernel = vmlinuz\ninitrd = a/b.img\nmemory = 64M\n", 3,
		     "initrd: 'a/b.img' contains '/'");
}

static void test_full_example(void **state)
{
	const struct cfg_vm *web, *raw;

	(void)state;
	assert_int_equal(parse(example), 0);
	assert_true(cfg.poweroff_when_idle);
	assert_int_equal(cfg.timeslice_us, 10000);
	assert_int_equal(cfg.nvms, 2);

	web = &cfg.vms[0];
	assert_string_equal(web->name, "web1");
	assert_int_equal(web->payload, CFG_PAYLOAD_MULTIBOOT);
	assert_string_equal(web->file, "hello.elf");
	assert_string_equal(web->cmdline, "count=5 name=web1");
	assert_int_equal(web->memory, 64ULL << 20);
	assert_int_equal(web->vcpus, 2);
	assert_int_equal(web->weight, 512);
	assert_int_equal(web->cap_pct, 150);
	assert_int_equal(web->cpus[0], 0xB);
	assert_int_equal(web->cpus[1] | web->cpus[2] | web->cpus[3], 0);
	assert_false(web->autostart);
	assert_true(web->rng);
	assert_int_equal(web->line, 6);

	raw = &cfg.vms[1];
	assert_string_equal(raw->name, "raw");
	assert_int_equal(raw->payload, CFG_PAYLOAD_FLAT);
	assert_string_equal(raw->file, "flat.bin");
	assert_string_equal(raw->cmdline, "");
	assert_int_equal(raw->load_addr, 0x100000);
	assert_int_equal(raw->entry, 0x100010);
	assert_int_equal(raw->memory, 4ULL << 20);
	assert_int_equal(raw->line, 17);

	/* Unused slots are zeroed, not left as garbage. */
	assert_int_equal(cfg.vms[2].name[0], 0);
	assert_int_equal(cfg.vms[CFG_MAX_VMS - 1].memory, 0);
}

static void test_defaults(void **state)
{
	const struct cfg_vm *vm = &cfg.vms[0];

	(void)state;
	assert_int_equal(parse(""), 0);
	assert_false(cfg.poweroff_when_idle);
	assert_int_equal(cfg.timeslice_us, 10000);
	assert_int_equal(cfg.nvms, 0);

	assert_int_equal(parse("# nothing but comments\n\n   \t\n"), 0);
	assert_int_equal(cfg.nvms, 0);

	assert_int_equal(parse("[vm a]\nkernel = k.elf\nmemory = 2M\n"), 0);
	assert_int_equal(cfg.nvms, 1);
	assert_string_equal(vm->cmdline, "");
	assert_int_equal(vm->vcpus, 1);
	assert_int_equal(vm->weight, 256);
	assert_int_equal(vm->cap_pct, 0);
	assert_int_equal(vm->cpus[0] | vm->cpus[1] | vm->cpus[2] | vm->cpus[3], 0);
	assert_true(vm->autostart);
	assert_int_equal(vm->load_addr, 0);
	assert_int_equal(vm->entry, 0);

	/* entry defaults to load-address. */
	assert_int_equal(parse("[vm a]\nimage = f\nmemory = 4M\nload-address = 4096\n"), 0);
	assert_int_equal(vm->load_addr, 4096);
	assert_int_equal(vm->entry, 4096);

	/* No callback: errors are still counted. */
	assert_int_equal(cfg_parse("x\ny\n", 4, "f", &cfg, NULL, NULL), 2);
	assert_int_equal(cfg_parse(NULL, 0, NULL, &cfg, NULL, NULL), 0);
}

static void test_keel_section(void **state)
{
	static const struct {
		const char *text;
		bool poweroff;
		uint32_t us;
	} ok[] = {
	    {"[keel]\npoweroff-when-idle = no\n", false, 10000},
	    {"[keel]\npoweroff-when-idle = true\n", true, 10000},
	    {"[keel]\npoweroff-when-idle = On\n", true, 10000},
	    {"[keel]\npoweroff-when-idle=off\n", false, 10000},
	    {"[keel]\npoweroff-when-idle = FALSE\n", false, 10000},
	    {"[keel]\ntimeslice = 1ms\n", false, 1000},
	    {"[keel]\ntimeslice = 1000ms\n", false, 1000000},
	    {"[keel]\ntimeslice = 1000\n", false, 1000},
	    {"[keel]\ntimeslice = 2500us\n", false, 2500},
	    {"[keel]\ntimeslice = \"5ms\"\n", false, 5000},
	    {"  [ keel ]  \n\ttimeslice\t=\t20ms\t\n", false, 20000},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(parse(ok[i].text), 0);
		assert_int_equal(cfg.poweroff_when_idle, ok[i].poweroff);
		assert_int_equal(cfg.timeslice_us, ok[i].us);
	}
}

static void test_keel_errors(void **state)
{
	(void)state;
	expect_error("[keel]\npoweroff-when-idle = maybe\n", 2, "is not yes or no");
	assert_false(cfg.poweroff_when_idle);
	expect_error("[keel]\ntimeslice = 999us\n", 2, "out of range (1ms..1000ms)");
	assert_int_equal(cfg.timeslice_us, 10000);
	expect_error("[keel]\ntimeslice = 1001ms\n", 2, "out of range");
	expect_error("[keel]\ntimeslice = 0\n", 2, "out of range");
	expect_error("[keel]\ntimeslice = 1.5ms\n", 2, "'1.5ms' is not a duration");
	expect_error("[keel]\ntimeslice = 10s\n", 2, "is not a duration");
	expect_error("[keel]\ntimeslice = 99999999999999999999999ms\n", 2, "out of range");
	expect_error("[keel]\ntimeslice =\n", 2, "timeslice: missing value");
	expect_error("[keel]\ntimeslise = 5ms\n", 2,
		     "unknown key 'timeslise' in [keel] (expected one of: poweroff-when-idle, "
		     "timeslice, debug-commands, datastore, datastore-format, uplink)");
	expect_error("[keel]\nmemory = 5M\n", 2, "'memory' belongs in a [vm NAME] section");
	expect_error("[keel extra]\n", 1, "[keel] takes no name");

	/* A duplicate key falls back to the default. */
	expect_error("[keel]\ntimeslice = 5ms\ntimeslice = 6ms\n", 3,
		     "duplicate key 'timeslice' (first set on line 2)");
	assert_int_equal(cfg.timeslice_us, 10000);
	expect_error("[keel]\npoweroff-when-idle = yes\n[keel]\n", 3, "duplicate [keel] section");
	assert_true(cfg.poweroff_when_idle);
	/* ... and keys of a second [keel] clash with the first one's. */
	assert_int_equal(parse("[keel]\npoweroff-when-idle = yes\n[keel]\n"
			       "poweroff-when-idle = yes\n"),
			 2);
	assert_true(has_error(3, "duplicate [keel] section (the first is on line 1"));
	assert_true(has_error(4, "duplicate key 'poweroff-when-idle'"));
	assert_false(cfg.poweroff_when_idle);

	/* Errors in [keel] do not affect VMs. */
	assert_int_equal(parse("[keel]\nbogus = 1\n[vm a]\nkernel = k\nmemory = 2M\n"), 1);
	assert_int_equal(cfg.nvms, 1);
}

static void test_cfg_parse_size(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
	    {"64M", 64ULL << 20},
	    {"1G", 1ULL << 30},
	    {"4096K", 4ULL << 20},
	    {"2097152", 2097152},
	    {"0", 0},
	    {"64m", 64ULL << 20},
	    {"64MiB", 64ULL << 20},
	    {"2gib", 2ULL << 30},
	    {"1k", 1024},
	    {"0x200000", 0x200000},
	    {"0X10M", 16ULL << 20},
	    {"18446744073709551615", UINT64_MAX},
	    {"17179869183G", 17179869183ULL << 30},
	};
	static const char *const bad[] = {
	    "",
	    "M",
	    "64Q",
	    "64MB",
	    "64 M",
	    " 64M",
	    "64M ",
	    "-1",
	    "+1",
	    "1.5G",
	    "0x",
	    "0xG",
	    "99999999999999999999G",
	    "18446744073709551616",
	    "17179869184G",
	    "64MM",
	    "1e6",
	    "12abc",
	    "0x1g0",
	};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 1;
		assert_true(cfg_parse_size(ok[i].s, &v));
		assert_int_equal(v, ok[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cfg_parse_size(bad[i], &v))
			fail_msg("cfg_parse_size accepted '%s'", bad[i]);
	}
	assert_false(cfg_parse_size(NULL, &v));
	assert_false(cfg_parse_size("1", NULL));
}

static void test_memory(void **state)
{
	static const struct {
		const char *value;
		uint64_t bytes;
	} ok[] = {
	    {"2M", 2ULL << 20},         {"3M", 4ULL << 20}, /* rounded up to 2 MiB */
	    {"2097153", 4ULL << 20},    {"4097K", 6ULL << 20}, {"64G", 64ULL << 30},
	    {"65535M", 64ULL << 30}, /* rounds up to exactly the limit */
	    {"0x4000000", 64ULL << 20},
	};
	char text[128];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "[vm a]\nkernel = k\nmemory = %s\n", ok[i].value);
		assert_int_equal(parse(text), 0);
		assert_int_equal(cfg.vms[0].memory, ok[i].bytes);
		assert_int_equal(cfg.vms[0].memory % (2ULL << 20), 0);
	}
	expect_error("[vm a]\nkernel = k\nmemory = 64Q\n", 3,
		     "memory: '64Q' is not a size (use a number with K, M or G, e.g. 64M)");
	expect_error("[vm a]\nkernel = k\nmemory = 1M\n", 3, "'1M' is out of range (2M..64G)");
	expect_error("[vm a]\nkernel = k\nmemory = 2097151\n", 3, "out of range");
	expect_error("[vm a]\nkernel = k\nmemory = 65G\n", 3, "out of range");
	expect_error("[vm a]\nkernel = k\nmemory = 64G1\n", 3, "is not a size");
	expect_error("[vm a]\nkernel = k\nmemory = 99999999999999999999G\n", 3,
		     "'99999999999999999999G' is out of range");
	expect_error("[vm a]\nkernel = k\nmemory = 17179869184G\n", 3, "out of range");
	expect_error("[vm a]\nkernel = k\nmemory = \n", 3, "memory: missing value");
	assert_int_equal(cfg.nvms, 0);
}

static void test_cpus(void **state)
{
	const struct cfg_vm *vm = &cfg.vms[0];
	static const char head[] = "[vm a]\nkernel = k\nmemory = 2M\n";
	char text[256];

	(void)state;
	snprintf(text, sizeof(text), "%scpus = 3, 3,0-3 , 2 - 2,255,64-65\n", head);
	assert_int_equal(parse(text), 0);
	assert_int_equal(vm->cpus[0], 0xF);
	assert_int_equal(vm->cpus[1], 0x3);
	assert_int_equal(vm->cpus[2], 0);
	assert_int_equal(vm->cpus[3], 1ULL << 63);
	assert_true(cpu_set(vm, 255) && cpu_set(vm, 64) && !cpu_set(vm, 66));

	snprintf(text, sizeof(text), "%scpus = 0-255\n", head);
	assert_int_equal(parse(text), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(vm->cpus[i], UINT64_MAX);

	snprintf(text, sizeof(text), "%scpus = 7\n", head);
	assert_int_equal(parse(text), 0);
	assert_int_equal(vm->cpus[0], 0x80);

	static const struct {
		const char *value;
		const char *phrase;
	} bad[] = {
	    {"3-1", "range '3-1' is reversed (write the lower number first, e.g. 1-3)"},
	    {"256", "'256' names a CPU that cannot exist (CPU numbers are 0..255)"},
	    {"0-256", "names a CPU that cannot exist"},
	    {"99999999999999999999999", "cannot exist"},
	    {"1,,2", "is not a list of CPU numbers"},
	    {"1,", "is not a list of CPU numbers"},
	    {",1", "is not a list of CPU numbers"},
	    {"a", "is not a list of CPU numbers and ranges (write e.g. 0-1,3)"},
	    {"1-", "is not a list"},
	    {"-1", "is not a list"},
	    {"1-2-3", "is not a list"},
	    {"0x1", "is not a list"},
	    {"1 2", "is not a list"},
	    {"any", "is not a list"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%scpus = %s\n", head, bad[i].value);
		expect_error(text, 4, bad[i].phrase);
		assert_int_equal(cfg.nvms, 0);
	}
}

static void test_numbers(void **state)
{
	const struct cfg_vm *vm = &cfg.vms[0];
	static const char head[] = "[vm a]\nkernel = k\nmemory = 2M\n";
	static const struct {
		const char *lines;
		uint32_t vcpus, weight, cap;
	} ok[] = {
	    {"vcpus = 64\nweight = 1\n", 64, 1, 0},
	    {"weight = 65535\ncap = 0%\n", 1, 65535, 0},
	    {"cap = 50%\n", 1, 256, 50},
	    {"cap = 100\n", 1, 256, 100},
	    {"cap = 200%\nvcpus = 2\n", 2, 256, 200}, /* order does not matter */
	    {"vcpus = 64\ncap = 6400%\n", 64, 256, 6400},
	    {"vcpus = 007\n", 7, 256, 0},
	};
	static const struct {
		const char *line;
		const char *phrase;
	} bad[] = {
	    {"vcpus = 0\n", "vcpus: '0' is out of range (1..64)"},
	    {"vcpus = 65\n", "out of range (1..64)"},
	    {"vcpus = 2x\n", "vcpus: '2x' is not a whole number from 1 to 64"},
	    {"vcpus = 0x2\n", "is not a whole number"},
	    {"vcpus = -1\n", "is not a whole number"},
	    {"weight = 0\n", "weight: '0' is out of range (1..65535)"},
	    {"weight = 65536\n", "out of range"},
	    {"weight = 18446744073709551616\n", "out of range"},
	    {"cap = 101%\n", "cap: 101% is more than 1 vCPU(s) can use (at most 100%"},
	    {"cap = 6401%\n", "out of range (0 for no cap, else 1%..100% per vCPU)"},
	    {"cap = 50%%\n", "cap: '50%%' is not a percentage"},
	    {"cap = %\n", "is not a percentage"},
	    {"cap = half\n", "is not a percentage"},
	    {"autostart = 1\n", "autostart: '1' is not yes or no"},
	};
	char text[256];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", head, ok[i].lines);
		assert_int_equal(parse(text), 0);
		assert_int_equal(vm->vcpus, ok[i].vcpus);
		assert_int_equal(vm->weight, ok[i].weight);
		assert_int_equal(vm->cap_pct, ok[i].cap);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", head, bad[i].line);
		expect_error(text, 4, bad[i].phrase);
		assert_int_equal(cfg.nvms, 0);
	}
	/* The cap check against vcpus is skipped when vcpus itself is wrong. */
	assert_int_equal(parse("[vm a]\nkernel = k\nmemory = 2M\ncap = 300\nvcpus = 0\n"), 1);
	assert_true(has_error(5, "vcpus"));
	/* cap line is blamed even when vcpus comes later. */
	expect_error("[vm a]\ncap = 300\nkernel = k\nmemory = 2M\nvcpus = 2\n", 2, "at most 200%");
}

static void test_addresses(void **state)
{
	const struct cfg_vm *vm = &cfg.vms[0];

	(void)state;
	assert_int_equal(parse("[vm a]\nimage = f.bin\nmemory = 4M\nload-address = 0x3fffff\n"
			       "entry = 1048576\n"),
			 0);
	assert_int_equal(vm->load_addr, 0x3fffff);
	assert_int_equal(vm->entry, 0x100000);

	expect_error("[vm a]\nimage = f\nmemory = 4M\nload-address = 0x400000\n", 4,
		     "load-address 0x400000 is outside the VM's 4 MiB of memory (must be below "
		     "0x400000)");
	/* memory is rounded before the check: 3M becomes 4M. */
	assert_int_equal(parse("[vm a]\nimage = f\nmemory = 3M\nload-address = 0x3ff000\n"), 0);
	expect_error("[vm a]\nimage = f\nentry = 0x10000000\nmemory = 4M\nload-address = 0\n", 3,
		     "entry 0x10000000 is outside");
	expect_error("[vm a]\nimage = f\nmemory = 4M\nload-address = 0x1000x\n", 4,
		     "load-address: '0x1000x' is not an address (use hex like 0x100000");
	expect_error("[vm a]\nimage = f\nmemory = 4M\nload-address = 0\nentry = 0x\n", 5,
		     "entry: '0x' is not an address");
	expect_error("[vm a]\nimage = f\nmemory = 4M\nload-address = 0x10000000000000000\n", 4,
		     "out of range");
	expect_error("[vm a]\nimage = f\nmemory = 4M\nload-address = 0xfffffffffffffffe\n", 4,
		     "is outside the VM's 4 MiB");
	/* No range complaint when memory itself is bad. */
	expect_error("[vm a]\nimage = f\nmemory = 1K\nload-address = 0x400000\n", 3, "memory");
}

static void test_error_classes(void **state)
{
	(void)state;
	expect_error(
	    "[vm web1]\nkernel = k\nmemroy = 64M\nmemory = 64M\n", 3,
	    "unknown key 'memroy' in [vm web1] (expected one of: kernel, image, cmdline, "
	    "initrd, load-address, entry, memory, vcpus, weight, cap, cpus, autostart, rng, net, mac, vlan, "
	    "virtio-console, disk, disk-size, disk-image)");
	expect_error("[vm a]\nkernel = k\nmemory = 2M\ntimeslice = 1ms\n", 4,
		     "'timeslice' belongs in [keel]");
	expect_error("[vmm a]\nkernel = k\n", 1,
		     "unknown section '[vmm a]' (expected [keel] or [vm NAME])");
	expect_error("memory = 2M\n[vm a]\nkernel = k\nmemory = 2M\n", 1,
		     "key 'memory' is outside any section");
	expect_error("[vm a]\nkernel = k\nmemory = 2M\nmemory = 4M\n", 4,
		     "duplicate key 'memory' (first set on line 3)");
	expect_error("[vm a]\nkernel = k\nmemory = 2M\n[vm a]\nkernel = k\nmemory = 2M\n", 4,
		     "duplicate VM name 'a' (already used on line 1)");
	assert_int_equal(cfg.nvms, 1); /* the first 'a' is kept */
	expect_error("\n\n[vm a]\nkernel = k\n", 3, "[vm a] has no memory size (add e.g.");
	expect_error("[vm a]\nmemory = 2M\n", 1, "[vm a] has no kernel or image");
	expect_error("[vm a]\nmemory = 2M\nimage = f\n", 1,
		     "[vm a] uses 'image' but has no load-address");
	expect_error("[vm a]\nkernel = k\nimage = f\nmemory = 2M\n", 3,
		     "kernel and image are both set (lines 2 and 3); a VM has one or the other");
	expect_error("[vm a]\nimage = f\nmemory = 2M\nkernel = k\nload-address = 0\n", 4,
		     "kernel and image are both set (lines 4 and 2)");
	expect_error("[vm a]\nimage = f\nmemory = 2M\nload-address = 0\ncmdline = x\n", 5,
		     "cmdline only applies to 'kernel' VMs; this one uses 'image'");
	expect_error("[vm a]\nkernel = k\nmemory = 2M\nentry = 0\n", 4,
		     "entry only applies to 'image' VMs; this one uses 'kernel'");
	expect_error("[vm a]\nkernel = k\nload-address = 0\nmemory = 2M\n", 3,
		     "load-address only applies to 'image' VMs");
	expect_error("[vm a]\nkernel = k\nmemory = 2M\njust some words\n", 4,
		     "expected 'key = value' or a [section] header, not 'just some words'");
	expect_error("[vm a]\nkernel = k\nmemory = 2M\n= 5\n", 4, "missing key name");
	expect_error("[vm a]\nkernel = k\nmemory = 2M\nvcpus\n", 4, "expected 'key = value'");
	expect_error("[vm a\nkernel = k\n", 1, "has no closing ']'");
	expect_error("[vm a] x\nkernel = k\n", 1, "unexpected text 'x' after the section header");
	expect_error("[]\n", 1, "unknown section '[]'");
	expect_error("[vm]\nkernel = k\nmemory = 2M\n", 1, "[vm] needs a name");
	assert_int_equal(parse("[vm]\n"), 3);
	assert_true(has_error(1, "[vm] has no memory size"));
	expect_error("[vm a b]\nkernel = k\nmemory = 2M\n", 1,
		     "VM name 'a b' may contain only letters, digits, '_' and '-'");
	expect_error("[vm a.b]\nkernel = k\nmemory = 2M\n", 1, "may contain only");
	expect_error("[VM a]\n", 1, "unknown section");
	expect_error("[vm abcdefghijklmnopqrstuvwxyz123456]\nkernel = k\nmemory = 2M\n", 1,
		     "is too long (at most 31 characters)");
	assert_int_equal(parse("[vm abcdefghijklmnopqrstuvwxyz12345]\nkernel = k\nmemory = 2M\n"),
			 0);
	assert_string_equal(cfg.vms[0].name, "abcdefghijklmnopqrstuvwxyz12345");
	assert_int_equal(parse("[vm Web_1-a]\nkernel = k\nmemory = 2M\n"), 0);
	assert_int_equal(parse("[vm web]\nkernel = k\nmemory = 2M\n[vm WEB]\nkernel = k\n"
			       "memory = 2M\n"),
			 0); /* names are case-sensitive */
	assert_int_equal(cfg.nvms, 2);
	/* Keys under an unknown section are not blamed separately. */
	expect_error("[bogus]\nfoo = bar\nwhatever\n", 1, "unknown section");
	expect_error("[vm a]\nkernel = k\nmemory = 2M\nkernel = j\n", 4, "duplicate key 'kernel'");
}

static void test_files_and_cmdline(void **state)
{
	const struct cfg_vm *vm = &cfg.vms[0];

	(void)state;
	assert_int_equal(parse("[vm a]\nkernel = \"k.elf\"\nmemory = 2M\n"
			       "cmdline = \"a # not a comment \" # comment\n"),
			 0);
	assert_string_equal(vm->file, "k.elf");
	assert_string_equal(vm->cmdline, "a # not a comment ");
	assert_int_equal(parse("[vm a]\nkernel = k\nmemory = 2M\n"
			       "cmdline = root=/dev/sda opt=\"x y\"  # comment\n"),
			 0);
	assert_string_equal(vm->cmdline, "root=/dev/sda opt=\"x y\"");
	assert_int_equal(parse("[vm a]\nkernel = k\nmemory = 2M\ncmdline =\n"), 0);
	assert_string_equal(vm->cmdline, "");
	assert_int_equal(parse("[vm a]\nkernel = k\nmemory = 2M\ncmdline = \"\"\n"), 0);
	assert_int_equal(parse("[vm a]\nkernel = k\nmemory = 2M\ncmdline = caf\xc3\xa9\n"), 0);
	assert_string_equal(vm->cmdline, "caf\xc3\xa9");
	assert_int_equal(parse("[vm a]\nkernel = k-1.2_x+y~\nmemory = 2M\n"), 0);

	expect_error("[vm a]\nkernel = \"unterminated\nmemory = 2M\n", 2,
		     "kernel: unterminated quoted string (a closing '\"' is missing)");
	expect_error("[vm a]\nkernel = k\nmemory = 2M\ncmdline = \"a\" \"b # c\n", 4,
		     "cmdline: unterminated");
	expect_error("[vm a]\nkernel = k\nmemory = 2M\nx\"y = 1\n", 4, "unknown key 'x\"y'");
	expect_error("[vm a]\nkernel = boot/k.elf\nmemory = 2M\n", 2,
		     "kernel: 'boot/k.elf' contains '/' (give the boot module's base name");
	expect_error("[vm a]\nkernel = my kernel\nmemory = 2M\n", 2, "contains a space");
	expect_error("[vm a]\nkernel = k\"x\"\nmemory = 2M\n", 2, "quote");
}

static void test_text_limits(void **state)
{
	const struct cfg_vm *vm = &cfg.vms[0];
	char text[2048], value[1100];

	(void)state;
	/* 127-character file names are fine, 128 are not. */
	memset(value, 'f', 127);
	value[127] = '\0';
	snprintf(text, sizeof(text), "[vm a]\nkernel = %s\nmemory = 2M\n", value);
	assert_int_equal(parse(text), 0);
	assert_int_equal(strlen(vm->file), 127);
	snprintf(text, sizeof(text), "[vm a]\nkernel = %sf\nmemory = 2M\n", value);
	expect_error(text, 2, "is too long (128 characters, at most 127)");

	/* 1023-character command lines are fine (Linux takes 2047), 1024 are not. */
	memset(value, 'c', 1023);
	value[1023] = '\0';
	snprintf(text, sizeof(text), "[vm a]\nkernel = k\ncmdline = %s\nmemory = 2M\n", value);
	assert_int_equal(parse(text), 0);
	assert_int_equal(strlen(vm->cmdline), 1023);
	snprintf(text, sizeof(text), "[vm a]\nkernel = k\ncmdline = \"%sc\"\nmemory = 2M\n", value);
	expect_error(text, 3, "cmdline: 'cccc");
	assert_true(strstr(errs.msg[0], "...' is too long (1024 characters, at most 1023)"));

	/* NIC: a switch name and a MAC. */
	assert_int_equal(
	    parse("[vm a]\nkernel = k\nmemory = 2M\nnet = lan\nmac = 52:54:00:Ab:cD:0f\n"), 0);
	assert_string_equal(vm->net, "lan");
	assert_memory_equal(vm->mac, ((const uint8_t[]){0x52, 0x54, 0, 0xAB, 0xCD, 0x0F}), 6);
	expect_error("[vm a]\nkernel = k\nmemory = 2M\nmac = 01:00:5e:00:00:01\n", 4,
		     "is a multicast address");
	expect_error("[vm a]\nkernel = k\nmemory = 2M\nmac = 52:54:00:12:34\n", 4,
		     "is not a MAC address");
	expect_error("[vm a]\nkernel = k\nmemory = 2M\nmac = 52:54:00:12:34:567\n", 4,
		     "is not a MAC address");
	expect_error("[vm a]\nkernel = k\nmemory = 2M\nmac = 52-54-00-12-34-56\n", 4,
		     "is not a MAC address");
	/* VLAN, second console, disk. */
	assert_int_equal(parse("[vm a]\nkernel = k\nmemory = 2M\nnet = lan\nvlan = 4094\n"
			       "virtio-console = yes\ndisk = a-root\ndisk-size = 8G\n"
			       "disk-image = root.img\n"),
			 0);
	assert_int_equal(vm->vlan, 4094);
	assert_true(vm->virtio_console);
	assert_string_equal(vm->disk, "a-root");
	assert_int_equal(vm->disk_size, 8ULL << 30);
	assert_string_equal(vm->disk_image, "root.img");
	expect_error("[vm a]\nkernel = k\nmemory = 2M\nnet = lan\nvlan = 4095\n", 5,
		     "vlan: '4095' is out of range (1..4094)");
	expect_error("[vm a]\nkernel = k\nmemory = 2M\nvlan = 7\n", 4, "vlan needs a NIC");
	expect_error("[vm a]\nkernel = k\nmemory = 2M\ndisk-size = 1G\n", 4,
		     "disk-size needs a disk: add 'disk = NAME'");
	expect_error("[vm a]\nkernel = k\nmemory = 2M\ndisk = d\ndisk-size = 512K\n", 5,
		     "disk-size: '512K' is out of range (1M..16T)");
	expect_error("[vm a]\nkernel = k\nmemory = 2M\ndisk = my disk\n", 4,
		     "disk: 'my disk' contains a space");
	expect_error("[vm a]\nkernel = k\ncmdline = a\tb\nmemory = 2M\n", 3,
		     "contains a tab or other control character");
	expect_error("[vm a]\nimage = \"\"\nmemory = 2M\nload-address = 0\n", 2,
		     "image: missing value" /* quoted empty is still empty */);
}

static void test_bad_vm_dropped_others_kept(void **state)
{
	static const char text[] = "[vm good1]\n" /* 1 */
				   "kernel = a.elf\n"
				   "memory = 2M\n"
				   "[vm bad]\n" /* 4 */
				   "kernel = b.elf\n"
				   "memory = 64Q\n" /* 6: bad size */
				   "vcpus = 0\n" /* 7: out of range */
				   "colour = blue\n" /* 8: unknown key */
				   "[vm good2]\n" /* 9 */
				   "image = c.bin\n"
				   "memory = 2M\n"
				   "load-address = 0\n"
				   "[vm missing]\n"; /* 13: no kernel, no memory */

	(void)state;
	assert_int_equal(parse(text), 5);
	assert_true(has_error(6, "memory: '64Q' is not a size"));
	assert_true(has_error(7, "vcpus: '0' is out of range"));
	assert_true(has_error(8, "unknown key 'colour' in [vm bad]"));
	assert_true(has_error(13, "has no kernel or image"));
	assert_true(has_error(13, "has no memory size"));
	assert_string_equal(errs.file[0], "keel.cfg");

	assert_int_equal(cfg.nvms, 2);
	assert_string_equal(cfg.vms[0].name, "good1");
	assert_string_equal(cfg.vms[1].name, "good2");
	assert_int_equal(cfg.vms[1].line, 9);
	assert_int_equal(cfg.vms[2].name[0], 0);

	/* A dropped VM's name still counts for duplicates. */
	assert_int_equal(parse("[vm a]\nkernel = k\n[vm a]\nkernel = k\nmemory = 2M\n"), 2);
	assert_true(has_error(1, "no memory size"));
	assert_true(has_error(3, "duplicate VM name 'a'"));
	assert_int_equal(cfg.nvms, 0);

	/* A line-level error inside a VM drops it too. */
	static const char nul[] = "[vm a]\nkernel = k\nmem\0ry = 2M\n[vm b]\nkernel = k\n"
				  "memory = 2M\n";
	assert_int_equal(parse_len(nul, sizeof(nul) - 1), 2);
	assert_true(has_error(1, "no memory size"));
	assert_true(has_error(3, "NUL byte"));
	assert_int_equal(cfg.nvms, 1);
	assert_string_equal(cfg.vms[0].name, "b");
}

static void test_too_many_vms(void **state)
{
	size_t size = 100 * (CFG_MAX_VMS + 2), len = 0;
	char *text = malloc(size);

	(void)state;
	assert_non_null(text);
	for (int i = 0; i < CFG_MAX_VMS + 2; i++)
		len += (size_t)snprintf(text + len, size - len,
					"[vm v%d]\nkernel = k\nmemory = 2M\n", i);
	assert_int_equal(parse_len(text, len), 2);
	assert_true(has_error(3 * CFG_MAX_VMS + 1, "too many VMs: at most 64 [vm] sections"));
	assert_true(has_error(3 * CFG_MAX_VMS + 4, "so '[vm v65]' is ignored"));
	assert_int_equal(cfg.nvms, CFG_MAX_VMS);
	assert_string_equal(cfg.vms[CFG_MAX_VMS - 1].name, "v63");

	/* Bad VMs still count towards the limit, and their slots are reused. */
	len = 0;
	for (int i = 0; i < CFG_MAX_VMS; i++)
		len += (size_t)snprintf(text + len, size - len, "[vm v%d]\nkernel = k\n%s\n", i,
					i % 2 ? "memory = 2M" : "");
	assert_int_equal(parse_len(text, len), CFG_MAX_VMS / 2);
	assert_int_equal(cfg.nvms, CFG_MAX_VMS / 2);
	assert_string_equal(cfg.vms[0].name, "v1");
	assert_string_equal(cfg.vms[CFG_MAX_VMS / 2 - 1].name, "v63");
	free(text);
}

static void test_line_handling(void **state)
{
	char *text;
	size_t len;

	(void)state;
	/* CRLF line ends, a missing final newline, indentation. */
	assert_int_equal(parse("[keel]\r\ntimeslice = 2ms\r\n\r\n[vm a]\r\n  kernel = k\r\n"
			       "  cmdline = \"x\"\r\n  memory = 2M"),
			 0);
	assert_int_equal(cfg.timeslice_us, 2000);
	assert_string_equal(cfg.vms[0].file, "k");
	assert_string_equal(cfg.vms[0].cmdline, "x");
	/* Errors on CRLF files still give the right line. */
	expect_error("[vm a]\r\nkernel = k\r\nmemory = 2X\r\n", 3, "'2X' is not a size");
	/* A bare CR in the middle is not a line end. */
	expect_error("[vm a]\nkernel = k\r\r\nmemory = 2M\n", 2, "non-printable");
	/* Comments anywhere outside quotes; blank lines. */
	assert_int_equal(parse("#c\n[vm a]#c\nkernel=k#c\n\n\tmemory=2M   # c \"q\n"), 0);

	/* 2048 characters is the longest line. */
	text = malloc(4200);
	assert_non_null(text);
	len = (size_t)sprintf(text, "[vm a]\nkernel = k\nmemory = 2M\ncmdline = x");
	memset(text + len, ' ', 2048 - 11);
	len += 2048 - 11;
	text[len++] = '\n';
	assert_int_equal(parse_len(text, len), 0);
	/* ... also with CRLF. */
	text[len - 1] = '\r';
	text[len++] = '\n';
	assert_int_equal(parse_len(text, len), 0);
	text[len - 2] = ' ';
	text[len - 1] = '\n';
	assert_int_equal(parse_len(text, len), 1);
	assert_true(has_error(4, "line is longer than 2048 characters"));
	assert_int_equal(cfg.nvms, 0);
	/* A huge line without any newline at all. */
	memset(text, 'x', 4200);
	assert_int_equal(parse_len(text, 4200), 1);
	assert_true(has_error(1, "longer than 2048"));
	free(text);

	/* NUL bytes. */
	assert_int_equal(parse_len("\0", 1), 1);
	assert_true(has_error(1, "NUL byte"));
	assert_int_equal(parse_len("[keel]\ntimeslice = 2ms\0\n", 24), 1);
	assert_true(has_error(2, "NUL byte"));
	assert_int_equal(cfg.timeslice_us, 10000);
}

/* Every prefix of the example, copied into an exactly-sized buffer: no reads
 * past the end (ASan), and the parser never needs a NUL. */
static void test_unterminated_buffers(void **state)
{
	size_t len = strlen(example);

	(void)state;
	for (size_t i = 0; i <= len; i++)
		parse_len(example, i);
	/* Cut in the middle of a key of the last VM: it is dropped, the first kept. */
	assert_int_equal(parse_len(example, len - 2), 1);
	assert_true(has_error(21, "memory: '4' is out of range"));
	assert_int_equal(cfg.nvms, 1);
	/* Cut right after '[' and inside a quote. */
	assert_int_equal(parse_len("[vm a]\nkernel = k\nmemory = 2M\n[", 31), 1);
	assert_true(has_error(4, "no closing ']'"));
	assert_int_equal(parse_len("[vm a]\ncmdline = \"abc", 21), 3);
	assert_true(has_error(2, "cmdline: unterminated"));
}

static void test_messages_are_safe(void **state)
{
	static const char text[] = "[vm a]\nkernel = k\nmemory = 2M\n\x1b[2J\x7f\xff = 1\n";

	(void)state;
	assert_int_equal(parse(text), 1);
	assert_int_equal(errs.line[0], 4);
	for (const char *c = errs.msg[0]; *c; c++)
		assert_true(*c >= 0x20 && *c < 0x7f);
	assert_non_null(strstr(errs.msg[0], "unknown key '?[2J?"
					    "?'"));

	/* Long input is cut short in messages. */
	expect_error("[vm a]\nkernel = k\nmemory = 2M\n"
		     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa = 1\n",
		     4, "unknown key 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'");
}

/* Deterministic xorshift, so that failures reproduce. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32);
}

static void check_invariants(void)
{
	assert_true(cfg.nvms <= CFG_MAX_VMS);
	assert_true(cfg.timeslice_us >= 1000 && cfg.timeslice_us <= 1000000);
	for (unsigned i = 0; i < cfg.nvms; i++) {
		const struct cfg_vm *vm = &cfg.vms[i];
		size_t n = strnlen(vm->name, CFG_NAME_MAX);

		assert_true(n >= 1 && n < CFG_NAME_MAX);
		assert_true(strspn(vm->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					     "0123456789_-") == n);
		n = strnlen(vm->file, CFG_PATH_MAX);
		assert_true(n >= 1 && n < CFG_PATH_MAX);
		assert_null(strchr(vm->file, '/'));
		assert_true(strnlen(vm->cmdline, CFG_CMDLINE_MAX) < CFG_CMDLINE_MAX);
		assert_true(vm->memory >= 2ULL << 20 && vm->memory <= 64ULL << 30);
		assert_int_equal(vm->memory % (2ULL << 20), 0);
		assert_true(vm->vcpus >= 1 && vm->vcpus <= CFG_MAX_VCPUS);
		assert_true(vm->weight >= 1 && vm->weight <= 65535);
		assert_true(vm->cap_pct <= 100 * vm->vcpus);
		if (vm->payload == CFG_PAYLOAD_FLAT) {
			assert_true(vm->load_addr < vm->memory);
			assert_true(vm->entry < vm->memory);
			assert_string_equal(vm->cmdline, "");
		} else {
			assert_int_equal(vm->payload, CFG_PAYLOAD_MULTIBOOT);
			assert_int_equal(vm->load_addr | vm->entry, 0);
		}
		for (unsigned j = 0; j < i; j++)
			assert_string_not_equal(vm->name, cfg.vms[j].name);
	}
}

static void test_fuzz(void **state)
{
	static const char specials[] = "[]=#\"\r\n\t ,-%0x9KMGkmg\0\xff/";
	size_t base = strlen(example);
	char *buf = malloc(base * 2 + 64);
	unsigned total_errors = 0, total_vms = 0;

	(void)state;
	assert_non_null(buf);
	for (int iter = 0; iter < 5000; iter++) {
		size_t len = base;
		int edits = 1 + (int)(rng() % 8);

		memcpy(buf, example, base);
		for (int e = 0; e < edits; e++) {
			size_t pos = len ? rng() % len : 0;
			char c = rng() % 2 ? specials[rng() % (sizeof(specials) - 1)] : (char)rng();

			switch (rng() % 5) {
			case 0: /* replace a byte */
				if (len)
					buf[pos] = c;
				break;
			case 1: /* insert a byte */
				if (len < base * 2) {
					memmove(buf + pos + 1, buf + pos, len - pos);
					buf[pos] = c;
					len++;
				}
				break;
			case 2: /* delete a byte */
				if (len) {
					memmove(buf + pos, buf + pos + 1, len - pos - 1);
					len--;
				}
				break;
			case 3: /* duplicate a chunk */
				if (len + 32 <= base * 2) {
					size_t n = rng() % 32;

					if (n > len - pos)
						n = len - pos;
					memmove(buf + pos + n, buf + pos, len - pos);
					len += n;
				}
				break;
			default: /* truncate */
				len = pos;
				break;
			}
		}
		total_errors += (unsigned)parse_len(buf, len);
		total_vms += cfg.nvms;
		check_invariants();
	}
	/* The mutations must have exercised both outcomes. */
	assert_true(total_errors > 1000);
	assert_true(total_vms > 1000);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_example),
	    cmocka_unit_test(test_initrd),
	    cmocka_unit_test(test_debug_commands),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_keel_section),
	    cmocka_unit_test(test_keel_errors),
	    cmocka_unit_test(test_cfg_parse_size),
	    cmocka_unit_test(test_memory),
	    cmocka_unit_test(test_cpus),
	    cmocka_unit_test(test_numbers),
	    cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_error_classes),
	    cmocka_unit_test(test_files_and_cmdline),
	    cmocka_unit_test(test_text_limits),
	    cmocka_unit_test(test_bad_vm_dropped_others_kept),
	    cmocka_unit_test(test_too_many_vms),
	    cmocka_unit_test(test_line_handling),
	    cmocka_unit_test(test_unterminated_buffers),
	    cmocka_unit_test(test_messages_are_safe),
	    cmocka_unit_test(test_fuzz),
	    cmocka_unit_test(test_datastore_and_uplink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
