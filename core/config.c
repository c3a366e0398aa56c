/* Keel configuration parser: turns the operator's text file into struct cfg.
 * The format is documented in docs/config.md; keep the two in step.
 *
 * The input is untrusted. The parser works on (pointer, length) spans that never
 * leave the caller's buffer and never need a terminating NUL, and copies into
 * the fixed-size fields of struct cfg only after checking lengths. It allocates
 * nothing and keeps its stack small: each VM is built in its own slot of
 * out->vms, and the slots of VMs that had errors are squeezed out at the end. */

#include <keel/config.h>
#include <keel/string.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LINE_LEN_MAX 2048
#define SHOW_MAX 40 /* longest piece of input quoted back in a message */
#define MIB (1024ULL * 1024)
#define MEM_MIN (2 * MIB)
#define MEM_MAX (64 * 1024 * MIB)
#define DISK_MIN MIB
#define DISK_MAX (16ULL * 1024 * 1024 * MIB)
#define MEM_ALIGN (2 * MIB) /* guest RAM is mapped with 2 MiB pages */
#define TIMESLICE_DEFAULT_US 10000
#define WEIGHT_DEFAULT 256
#define STR_(x) #x
#define STR(x) STR_(x) /* a number's digits, for messages */

/* The per-VM bitmasks in struct parser have one bit per VM slot. */
_Static_assert(CFG_MAX_VMS <= 64, "VM bitmasks are uint64_t");

struct span {
	const char *p;
	size_t n;
};

/* Quote input in a message: "..." Q "..." with QARG(span). Long input is cut. */
#define Q "'%.*s%s'"
#define QARG(s) (int)((s).n > SHOW_MAX ? SHOW_MAX : (s).n), (s).p, ((s).n > SHOW_MAX ? "..." : "")
/* Name a VM in a message: "..." VM_FMT "..." with VM_ARG(vm); [vm] if unnamed. */
#define VM_FMT "[vm%s%s]"
#define VM_ARG(vm) (vm)->name[0] ? " " : "", (vm)->name

/* [keel] keys come first; the keys only one payload may use are kept together. */
enum key {
	K_POWEROFF,
	K_TIMESLICE,
	K_DEBUG,
	K_DATASTORE,
	K_DATASTORE_FORMAT,
	K_UPLINK,
	K_KERNEL,
	K_IMAGE,
	K_CMDLINE,
	K_INITRD,
	K_LOAD,
	K_ENTRY,
	K_MEMORY,
	K_VCPUS,
	K_WEIGHT,
	K_CAP,
	K_CPUS,
	K_AUTOSTART,
	K_RNG,
	K_NET,
	K_MAC,
	K_VLAN,
	K_VIRTIO_CONSOLE,
	K_DISK,
	K_DISK_SIZE,
	K_DISK_IMAGE,
	NKEYS
};
#define FIRST_VM_KEY K_KERNEL
static const char *const key_names[NKEYS] = {
    "poweroff-when-idle",
    "timeslice",
    "debug-commands",
    "datastore",
    "datastore-format",
    "uplink",
    "kernel",
    "image",
    "cmdline",
    "initrd",
    "load-address",
    "entry",
    "memory",
    "vcpus",
    "weight",
    "cap",
    "cpus",
    "autostart",
    "rng",
    "net",
    "mac",
    "vlan",
    "virtio-console",
    "disk",
    "disk-size",
    "disk-image",
};
#define KEEL_KEY_LIST                                                                  \
	"poweroff-when-idle, timeslice, debug-commands, datastore, datastore-format, " \
	"uplink"
#define VM_KEY_LIST                                                                         \
	"kernel, image, cmdline, initrd, load-address, entry, memory, vcpus, weight, cap, " \
	"cpus, autostart, rng, net, mac, vlan, virtio-console, disk, disk-size, disk-image"

enum section {
	SEC_NONE, /* before the first header: keys are errors */
	SEC_KEEL,
	SEC_VM,
	SEC_SKIP, /* after a broken or unknown header, which was reported instead */
};

struct parser {
	const char *file;
	cfg_error_fn err;
	void *ctx;
	struct cfg *out;
	int errors;
	int line;
	enum section sec;
	int keel_line; /* line of the first [keel] header, 0 if none yet */
	int seen[NKEYS]; /* line each key was set on in this section (all [keel]s) */
	uint32_t bad_keys; /* keys whose value was rejected: skip their cross-checks */
	struct cfg_vm *vm; /* the VM being parsed when sec == SEC_VM */
	int vm_errors; /* value of errors when that VM's section began */
	unsigned declared; /* [vm] sections so far; each owns slot declared - 1 */
	uint64_t named; /* bit i: vms[i].name is valid, so later names may clash */
	uint64_t dropped; /* bit i: vms[i] had an error */
};

static __attribute__((format(printf, 3, 4))) void report(struct parser *ps, int line,
							 const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	msg[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages quote the input, which may hold any byte: keep consoles safe. */
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	ps->errors++;
	if (ps->err)
		ps->err(ps->ctx, ps->file, line, msg);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static struct span trim(struct span s)
{
	while (s.n && is_blank(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n && is_blank(s.p[s.n - 1]))
		s.n--;
	return s;
}

/* The part of S after its first I bytes. */
static struct span after(struct span s, size_t i)
{
	return (struct span){s.p + i, s.n - i};
}

/* Index of the first C in S, or S.n if there is none. */
static size_t find(struct span s, char c)
{
	size_t i = 0;

	while (i < s.n && s.p[i] != c)
		i++;
	return i;
}

static bool span_is(struct span s, const char *word)
{
	return strlen(word) == s.n && memcmp(s.p, word, s.n) == 0;
}

/* WORD must be lower case. */
static bool span_is_nocase(struct span s, const char *word)
{
	size_t i = 0;

	while (i < s.n && lower(s.p[i]) == word[i])
		i++;
	return i == s.n && word[i] == '\0';
}

/* Result of reading a number: fine, not a number at all, or too large. */
enum num { NUM_OK, NUM_BAD, NUM_BIG };

/* Reads the unsigned number at the start of *S (decimal, or hex after 0x if
 * ALLOW_HEX) and advances *S past it. Digits are consumed even after an
 * overflow so that the caller can tell "too large" from "trailing junk". */
static enum num take_number(struct span *s, bool allow_hex, uint64_t *out)
{
	unsigned base = 10;
	size_t i = 0, start;
	uint64_t v = 0;
	bool big = false;

	if (allow_hex && s->n >= 2 && s->p[0] == '0' && lower(s->p[1]) == 'x') {
		base = 16;
		i = 2;
	}
	for (start = i; i < s->n; i++) {
		char c = lower(s->p[i]);
		unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
						    : 99;

		if (d >= base)
			break;
		if (v > (UINT64_MAX - d) / base)
			big = true;
		else
			v = v * base + d;
	}
	if (i == start)
		return NUM_BAD;
	*s = after(*s, i);
	*out = v;
	return big ? NUM_BIG : NUM_OK;
}

/* A suffix a number may carry, in lower case, and what it multiplies by. */
struct unit {
	const char *suffix;
	uint64_t scale;
};
static const struct unit no_units[] = {{"", 1}, {NULL, 0}};
static const struct unit pct_units[] = {{"", 1}, {"%", 1}, {NULL, 0}};
static const struct unit time_units[] = {{"", 1}, {"us", 1}, {"ms", 1000}, {NULL, 0}};
static const struct unit size_units[] = {
    {"", 1},      {"k", 1024},       {"kib", 1024},       {"m", MIB},
    {"mib", MIB}, {"g", 1024 * MIB}, {"gib", 1024 * MIB}, {NULL, 0},
};

/* A number followed directly by one of UNITS, filling all of S. */
static enum num parse_scaled(struct span s, bool allow_hex, const struct unit *units, uint64_t *out)
{
	uint64_t v;
	enum num r = take_number(&s, allow_hex, &v);

	if (r == NUM_BAD)
		return r;
	for (; units->suffix; units++) {
		if (!span_is_nocase(s, units->suffix))
			continue;
		if (r == NUM_BIG || v > UINT64_MAX / units->scale)
			return NUM_BIG;
		*out = v * units->scale;
		return NUM_OK;
	}
	return NUM_BAD;
}

bool cfg_parse_size(const char *s, uint64_t *out)
{
	if (!s || !out)
		return false;
	return parse_scaled((struct span){s, strlen(s)}, true, size_units, out) == NUM_OK;
}

/* A whole value in double quotes loses them; anything else is taken literally,
 * so that a bare cmdline may still contain quoted kernel parameters. */
static struct span unquote(struct span v)
{
	if (v.n < 2 || v.p[0] != '"' || v.p[v.n - 1] != '"')
		return v;
	for (size_t i = 1; i < v.n - 1; i++)
		if (v.p[i] == '"')
			return v;
	return (struct span){v.p + 1, v.n - 2};
}

/* A number in MIN..MAX. FORM says what a valid value looks like, RANGE what
 * the limits are; both end up in messages. */
static bool get_number(struct parser *ps, enum key k, struct span v, const struct unit *units,
		       uint64_t min, uint64_t max, const char *form, const char *range,
		       uint64_t *out)
{
	bool hex = k == K_MEMORY || k == K_LOAD || k == K_ENTRY;
	enum num r = parse_scaled(v, hex, units, out);

	if (r == NUM_BAD)
		report(ps, ps->line, "%s: " Q " is not %s", key_names[k], QARG(v), form);
	else if (r == NUM_BIG || *out < min || *out > max)
		report(ps, ps->line, "%s: " Q " is out of range (%s)", key_names[k], QARG(v),
		       range);
	else
		return true;
	return false;
}

static bool set_bool(struct parser *ps, enum key k, struct span v, bool *dst)
{
	bool yes = span_is_nocase(v, "yes") || span_is_nocase(v, "true") || span_is_nocase(v, "on");
	bool no = span_is_nocase(v, "no") || span_is_nocase(v, "false") || span_is_nocase(v, "off");

	if (yes || no) {
		*dst = yes;
		return true;
	}
	report(ps, ps->line, "%s: " Q " is not yes or no (use yes/no, true/false or on/off)",
	       key_names[k], QARG(v));
	return false;
}

/* File names name boot modules by their base name: printable ASCII, no spaces,
 * no '/'. A command line may hold anything but control characters. */
static bool text_char_ok(char c, bool file)
{
	unsigned char u = (unsigned char)c;

	if (u < 0x20 || u == 0x7f)
		return false;
	return !file || (u > ' ' && u < 0x7f && c != '/' && c != '"');
}

/* "52:54:00:12:34:56": six hex bytes; a multicast address cannot be a NIC's. */
static bool set_mac(struct parser *ps, struct span v, uint8_t mac[6])
{
	uint8_t m[6];
	size_t i = 0;

	for (unsigned b = 0; b < 6; b++) {
		unsigned byte = 0;
		for (unsigned d = 0; d < 2; d++, i++) {
			char c = i < v.n ? v.p[i] : 0;
			unsigned x = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
				     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
				     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
							    : 16;
			if (x == 16)
				goto bad;
			byte = byte * 16 + x;
		}
		m[b] = (uint8_t)byte;
		if (b < 5 && (i >= v.n || v.p[i++] != ':'))
			goto bad;
	}
	if (i != v.n)
		goto bad;
	if (m[0] & 1) {
		report(ps, ps->line,
		       "mac: " Q " is a multicast address (the first byte must be even)", QARG(v));
		return false;
	}
	memcpy(mac, m, 6);
	return true;
bad:
	report(ps, ps->line, "mac: " Q " is not a MAC address (write it as 52:54:00:12:34:56)",
	       QARG(v));
	return false;
}

static bool set_text(struct parser *ps, enum key k, struct span v, char *dst, size_t size)
{
	bool file = k != K_CMDLINE;
	size_t i = 0;

	while (i < v.n && text_char_ok(v.p[i], file))
		i++;
	if (i < v.n) {
		report(ps, ps->line, "%s: " Q " contains %s", key_names[k], QARG(v),
		       v.p[i] == '/' ? "'/' (give the boot module's base name, e.g. hello.elf)"
		       : file        ? "a space, quote or non-printable character"
				     : "a tab or other control character");
		return false;
	}
	if (v.n >= size) {
		report(ps, ps->line, "%s: " Q " is too long (%u characters, at most %u)",
		       key_names[k], QARG(v), (unsigned)v.n, (unsigned)size - 1);
		return false;
	}
	memcpy(dst, v.p, v.n);
	dst[v.n] = '\0';
	return true;
}

/* "lan eth0": a virtual switch and the host NIC it reaches the world by. */
static bool set_uplink(struct parser *ps, struct span v)
{
	size_t blank = 0;
	struct span sw, dev;
	char name[CFG_NAME_MAX], nic[sizeof(ps->out->uplink_dev)];

	while (blank < v.n && !is_blank(v.p[blank]))
		blank++;
	sw = (struct span){v.p, blank};
	dev = trim(after(v, blank));
	if (!sw.n || !dev.n || find(dev, ' ') < dev.n || find(dev, '\t') < dev.n) {
		report(ps, ps->line,
		       "uplink: " Q " is not 'SWITCH DEVICE' (write e.g. uplink = lan eth0)",
		       QARG(v));
		return false;
	}
	if (!set_text(ps, K_UPLINK, sw, name, sizeof(name)) ||
	    !set_text(ps, K_UPLINK, dev, nic, sizeof(nic)))
		return false;
	memcpy(ps->out->uplink_switch, name, sizeof(name));
	memcpy(ps->out->uplink_dev, nic, sizeof(nic));
	return true;
}

/* "0-1,3": CPU numbers and inclusive ranges; overlaps are harmless. */
static bool set_cpus(struct parser *ps, struct span v, uint64_t *bitmap)
{
	uint64_t map[CFG_MAX_CPUS / 64] = {0};
	struct span rest = v;

	for (;;) {
		size_t comma = find(rest, ',');
		struct span item = trim((struct span){rest.p, comma});
		size_t dash = find(item, '-');
		struct span lo_s = trim((struct span){item.p, dash}), hi_s = lo_s;
		uint64_t lo, hi;
		enum num r1, r2;

		if (dash < item.n)
			hi_s = trim(after(item, dash + 1));
		r1 = parse_scaled(lo_s, false, no_units, &lo);
		r2 = parse_scaled(hi_s, false, no_units, &hi);
		if (item.n == 0 || r1 == NUM_BAD || r2 == NUM_BAD) {
			report(ps, ps->line,
			       "cpus: " Q " is not a list of CPU numbers and ranges "
			       "(write e.g. 0-1,3)",
			       QARG(v));
			return false;
		}
		if (r1 == NUM_BIG || r2 == NUM_BIG || lo >= CFG_MAX_CPUS || hi >= CFG_MAX_CPUS) {
			report(ps, ps->line,
			       "cpus: " Q " names a CPU that cannot exist (CPU "
			       "numbers are 0..%d)",
			       QARG(item), CFG_MAX_CPUS - 1);
			return false;
		}
		if (hi < lo) {
			report(ps, ps->line,
			       "cpus: range " Q " is reversed (write the lower "
			       "number first, e.g. %u-%u)",
			       QARG(item), (unsigned)hi, (unsigned)lo);
			return false;
		}
		for (uint64_t cpu = lo; cpu <= hi; cpu++)
			map[cpu / 64] |= 1ULL << (cpu % 64);
		if (comma == rest.n)
			break;
		rest = after(rest, comma + 1);
	}
	memcpy(bitmap, map, sizeof(map));
	return true;
}

/* Checks and stores one value. [keel] values are stored only if valid, so that
 * an error leaves the default in place. */
static bool set_key(struct parser *ps, enum key k, struct span v)
{
	struct cfg_vm *vm = ps->vm;
	uint64_t n;

	switch (k) {
	case K_POWEROFF:
		return set_bool(ps, k, v, &ps->out->poweroff_when_idle);
	case K_DEBUG:
		return set_bool(ps, k, v, &ps->out->debug_commands);
	case K_TIMESLICE:
		if (!get_number(ps, k, v, time_units, 1000, 1000000,
				"a duration (use e.g. 10ms or 500us)", "1ms..1000ms", &n))
			return false;
		ps->out->timeslice_us = (uint32_t)n;
		return true;
	case K_KERNEL:
	case K_IMAGE:
		vm->payload = k == K_KERNEL ? CFG_PAYLOAD_MULTIBOOT : CFG_PAYLOAD_FLAT;
		return set_text(ps, k, v, vm->file, sizeof(vm->file));
	case K_CMDLINE:
		return set_text(ps, k, v, vm->cmdline, sizeof(vm->cmdline));
	case K_INITRD:
		return set_text(ps, k, v, vm->initrd, sizeof(vm->initrd));
	case K_LOAD:
	case K_ENTRY:
		return get_number(ps, k, v, no_units, 0, UINT64_MAX,
				  "an address (use hex like 0x100000, or decimal)",
				  "it must lie inside the VM's memory",
				  k == K_LOAD ? &vm->load_addr : &vm->entry);
	case K_MEMORY:
		if (!get_number(ps, k, v, size_units, MEM_MIN, MEM_MAX,
				"a size (use a number with K, M or G, e.g. 64M)", "2M..64G", &n))
			return false;
		vm->memory = (n + MEM_ALIGN - 1) & ~(MEM_ALIGN - 1); /* MEM_MAX is aligned */
		return true;
	case K_VCPUS:
	case K_WEIGHT:
		if (!get_number(ps, k, v, no_units, 1, k == K_VCPUS ? CFG_MAX_VCPUS : 65535,
				k == K_VCPUS ? "a whole number from 1 to " STR(CFG_MAX_VCPUS)
					     : "a whole number from 1 to 65535",
				k == K_VCPUS ? "1.." STR(CFG_MAX_VCPUS) : "1..65535", &n))
			return false;
		*(k == K_VCPUS ? &vm->vcpus : &vm->weight) = (uint32_t)n;
		return true;
	case K_CAP:
		/* The real limit, 100% per vCPU, is checked once vcpus is known. */
		if (!get_number(ps, k, v, pct_units, 0, 100 * CFG_MAX_VCPUS,
				"a percentage (e.g. 50% for half a CPU, 0 for no cap)",
				"0 for no cap, else 1%..100% per vCPU", &n))
			return false;
		vm->cap_pct = (uint32_t)n;
		return true;
	case K_CPUS:
		return set_cpus(ps, v, vm->cpus);
	case K_AUTOSTART:
		return set_bool(ps, k, v, &vm->autostart);
	case K_RNG:
		return set_bool(ps, k, v, &vm->rng);
	case K_NET:
		return set_text(ps, k, v, vm->net, sizeof(vm->net));
	case K_MAC:
		return set_mac(ps, v, vm->mac);
	case K_VLAN:
		if (!get_number(ps, k, v, no_units, 1, 4094, "a VLAN ID from 1 to 4094", "1..4094",
				&n))
			return false;
		vm->vlan = (uint16_t)n;
		return true;
	case K_VIRTIO_CONSOLE:
		return set_bool(ps, k, v, &vm->virtio_console);
	case K_DISK:
		return set_text(ps, k, v, vm->disk, sizeof(vm->disk));
	case K_DISK_SIZE:
		return get_number(ps, k, v, size_units, DISK_MIN, DISK_MAX,
				  "a size (use a number with K, M or G, e.g. 8G)", "1M..16T",
				  &vm->disk_size);
	case K_DISK_IMAGE:
		return set_text(ps, k, v, vm->disk_image, sizeof(vm->disk_image));
	case K_DATASTORE:
		return set_text(ps, k, v, ps->out->datastore, sizeof(ps->out->datastore));
	case K_DATASTORE_FORMAT:
		return set_bool(ps, k, v, &ps->out->datastore_format);
	case K_UPLINK:
		return set_uplink(ps, v);
	case NKEYS:
		break;
	}
	return false;
}

static bool key_ok(const struct parser *ps, enum key k)
{
	return ps->seen[k] && !(ps->bad_keys & (1U << k));
}

/* Checks that need the whole section: required keys (blamed on the header
 * line), keys that fit only one payload, and limits that depend on other keys.
 * Then drops the VM if anything in its section was wrong. */
static void finish_vm(struct parser *ps)
{
	struct cfg_vm *vm = ps->vm;
	const int *seen = ps->seen;
	bool kernel = seen[K_KERNEL], image = seen[K_IMAGE];

	if (!kernel && !image)
		report(ps, vm->line,
		       VM_FMT " has no kernel or image (add 'kernel = FILE' for a "
			      "Linux or Multiboot kernel or 'image = FILE' for a flat binary)",
		       VM_ARG(vm));
	if (kernel && image)
		report(ps, seen[K_KERNEL] > seen[K_IMAGE] ? seen[K_KERNEL] : seen[K_IMAGE],
		       "kernel and image are both set (lines %d and %d); a VM has one or the "
		       "other",
		       seen[K_KERNEL], seen[K_IMAGE]);
	if (!seen[K_MEMORY])
		report(ps, vm->line, VM_FMT " has no memory size (add e.g. 'memory = 64M')",
		       VM_ARG(vm));
	if (image && !kernel && !seen[K_LOAD])
		report(ps, vm->line,
		       VM_FMT " uses 'image' but has no load-address (add e.g. "
			      "'load-address = 0x100000')",
		       VM_ARG(vm));
	if (kernel != image) {
		for (enum key k = K_CMDLINE; k <= K_ENTRY; k++)
			if (seen[k] && (k == K_CMDLINE || k == K_INITRD) != kernel)
				report(ps, seen[k],
				       "%s only applies to '%s' VMs; this one uses "
				       "'%s'",
				       key_names[k], kernel ? "image" : "kernel",
				       kernel ? "kernel" : "image");
	}
	if (!seen[K_ENTRY])
		vm->entry = vm->load_addr;
	for (enum key k = K_LOAD; image && k <= K_ENTRY; k++) {
		uint64_t addr = k == K_LOAD ? vm->load_addr : vm->entry;

		if (key_ok(ps, k) && key_ok(ps, K_MEMORY) && addr >= vm->memory)
			report(ps, seen[k],
			       "%s 0x%llx is outside the VM's %llu MiB of memory "
			       "(must be below 0x%llx)",
			       key_names[k], (unsigned long long)addr,
			       (unsigned long long)(vm->memory / MIB),
			       (unsigned long long)vm->memory);
	}
	if (key_ok(ps, K_CAP) && !(ps->bad_keys & (1U << K_VCPUS)) && vm->cap_pct > 100 * vm->vcpus)
		report(ps, seen[K_CAP],
		       "cap: %u%% is more than %u vCPU(s) can use (at most "
		       "%u%%, or 0 for no cap)",
		       (unsigned)vm->cap_pct, (unsigned)vm->vcpus, 100 * (unsigned)vm->vcpus);
	if (seen[K_VLAN] && !seen[K_NET])
		report(ps, seen[K_VLAN], "vlan needs a NIC: add 'net = SWITCH' to " VM_FMT,
		       VM_ARG(vm));
	for (enum key k = K_DISK_SIZE; k <= K_DISK_IMAGE; k++)
		if (seen[k] && !seen[K_DISK])
			report(
			    ps, seen[k],
			    "%s needs a disk: add 'disk = NAME' (the datastore volume) to " VM_FMT,
			    key_names[k], VM_ARG(vm));
	if (ps->errors > ps->vm_errors)
		ps->dropped |= 1ULL << (ps->declared - 1);
}

static bool is_name_char(char c)
{
	c = lower(c);
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static void begin_vm(struct parser *ps, struct span name, struct span header)
{
	unsigned idx = ps->declared;
	struct cfg_vm *vm = &ps->out->vms[idx];
	size_t i = 0;

	if (idx == CFG_MAX_VMS) {
		/* No slot left to check its keys in, so the section is skipped. */
		report(ps, ps->line,
		       "too many VMs: at most %d [vm] sections are allowed, so "
		       "'[%.*s%s]' is ignored",
		       CFG_MAX_VMS, QARG(header));
		return;
	}
	ps->declared++;
	ps->sec = SEC_VM;
	ps->vm = vm;
	ps->vm_errors = ps->errors;
	memset(&ps->seen[FIRST_VM_KEY], 0, sizeof(ps->seen) - FIRST_VM_KEY * sizeof(ps->seen[0]));
	ps->bad_keys = 0;
	memset(vm, 0, sizeof(*vm));
	vm->payload = CFG_PAYLOAD_MULTIBOOT;
	vm->vcpus = 1;
	vm->weight = WEIGHT_DEFAULT;
	vm->autostart = true;
	vm->line = ps->line;
	/* Keep even a bad name (cut short) so that later messages can say which VM. */
	memcpy(vm->name, name.p, name.n < CFG_NAME_MAX ? name.n : CFG_NAME_MAX - 1);

	while (i < name.n && is_name_char(name.p[i]))
		i++;
	if (name.n == 0) {
		report(ps, ps->line, "[vm] needs a name: write [vm NAME]");
	} else if (i < name.n) {
		report(ps, ps->line, "VM name " Q " may contain only letters, digits, '_' and '-'",
		       QARG(name));
	} else if (name.n >= CFG_NAME_MAX) {
		report(ps, ps->line, "VM name " Q " is too long (at most %d characters)",
		       QARG(name), CFG_NAME_MAX - 1);
	} else {
		for (i = 0; i < idx; i++) {
			const struct cfg_vm *prev = &ps->out->vms[i];

			if ((ps->named & (1ULL << i)) && span_is(name, prev->name)) {
				report(ps, ps->line,
				       "duplicate VM name " Q " (already used on "
				       "line %d)",
				       QARG(name), prev->line);
				break;
			}
		}
		ps->named |= 1ULL << idx;
	}
}

/* S is trimmed and starts with '['. */
static void parse_header(struct parser *ps, struct span s)
{
	size_t close = find(s, ']'), blank = 0;
	struct span inner, rest;

	if (ps->sec == SEC_VM)
		finish_vm(ps);
	ps->sec = SEC_SKIP;
	if (close == s.n) {
		report(ps, ps->line, "section header " Q " has no closing ']'", QARG(s));
		return;
	}
	rest = trim(after(s, close + 1));
	if (rest.n) {
		report(ps, ps->line, "unexpected text " Q " after the section header", QARG(rest));
		return;
	}
	inner = trim((struct span){s.p + 1, close - 1});
	while (blank < inner.n && !is_blank(inner.p[blank]))
		blank++;
	rest = trim(after(inner, blank));

	if (span_is((struct span){inner.p, blank}, "vm")) {
		begin_vm(ps, rest, inner);
	} else if (!span_is((struct span){inner.p, blank}, "keel")) {
		report(ps, ps->line, "unknown section '[%.*s%s]' (expected [keel] or [vm NAME])",
		       QARG(inner));
	} else if (rest.n) {
		report(ps, ps->line, "[keel] takes no name (found " Q ")", QARG(rest));
	} else {
		/* A second [keel] is still read, so its keys are checked and clash
		 * with the first one's. */
		if (ps->keel_line)
			report(ps, ps->line,
			       "duplicate [keel] section (the first is on line %d; "
			       "put all global keys there)",
			       ps->keel_line);
		else
			ps->keel_line = ps->line;
		ps->sec = SEC_KEEL;
	}
}

/* S is trimmed, non-empty, and not a header. UNTERMINATED: S has an odd number
 * of '"', so it may still contain a comment. */
static void parse_assignment(struct parser *ps, struct span s, bool unterminated)
{
	size_t eq = find(s, '=');
	struct span key = trim((struct span){s.p, eq}), val;
	bool in_vm = ps->sec == SEC_VM;
	int k = 0;

	if (ps->sec == SEC_SKIP)
		return;
	if (eq == s.n) {
		report(ps, ps->line, "expected 'key = value' or a [section] header, not " Q,
		       QARG(s));
		return;
	}
	if (key.n == 0) {
		report(ps, ps->line, "missing key name before '='");
		return;
	}
	if (ps->sec == SEC_NONE) {
		report(ps, ps->line,
		       "key " Q " is outside any section (put it under [keel] or "
		       "a [vm NAME] header)",
		       QARG(key));
		return;
	}
	while (k < NKEYS && !span_is(key, key_names[k]))
		k++;
	if (k == NKEYS) {
		if (in_vm)
			report(ps, ps->line,
			       "unknown key " Q " in " VM_FMT " (expected one of: " VM_KEY_LIST ")",
			       QARG(key), VM_ARG(ps->vm));
		else
			report(ps, ps->line,
			       "unknown key " Q " in [keel] (expected one of: " KEEL_KEY_LIST ")",
			       QARG(key));
		return;
	}
	if ((k >= FIRST_VM_KEY) != in_vm) {
		report(ps, ps->line, "key " Q " belongs in %s, not here", QARG(key),
		       in_vm ? "[keel]" : "a [vm NAME] section");
		return;
	}
	if (ps->seen[k]) {
		report(ps, ps->line, "duplicate key " Q " (first set on line %d)", QARG(key),
		       ps->seen[k]);
		/* In [keel], neither value can be trusted to be the one meant. */
		if (k == K_POWEROFF)
			ps->out->poweroff_when_idle = false;
		if (k == K_TIMESLICE)
			ps->out->timeslice_us = TIMESLICE_DEFAULT_US;
		if (k == K_DEBUG)
			ps->out->debug_commands = false;
		if (k == K_DATASTORE)
			ps->out->datastore[0] = '\0';
		if (k == K_DATASTORE_FORMAT)
			ps->out->datastore_format = false;
		if (k == K_UPLINK)
			ps->out->uplink_switch[0] = ps->out->uplink_dev[0] = '\0';
		return;
	}
	ps->seen[k] = ps->line;
	val = unquote(trim(after(s, eq + 1)));
	if (unterminated)
		report(ps, ps->line,
		       "%s: unterminated quoted string (a closing '\"' is "
		       "missing)",
		       key_names[k]);
	else if (val.n == 0 && k != K_CMDLINE)
		report(ps, ps->line, "%s: missing value", key_names[k]);
	else if (set_key(ps, (enum key)k, val))
		return;
	ps->bad_keys |= 1U << k;
}

static void parse_line(struct parser *ps, struct span s)
{
	bool quoted = false;
	size_t i;

	if (s.n && s.p[s.n - 1] == '\r')
		s.n--;
	if (s.n > LINE_LEN_MAX) {
		report(ps, ps->line, "line is longer than %d characters", LINE_LEN_MAX);
		return;
	}
	if (find(s, '\0') < s.n) {
		report(ps, ps->line, "line contains a NUL byte (is this a text file?)");
		return;
	}
	/* '#' starts a comment unless it is inside a double-quoted string. */
	for (i = 0; i < s.n && (s.p[i] != '#' || quoted); i++)
		if (s.p[i] == '"')
			quoted = !quoted;
	s = trim((struct span){s.p, i});
	/* A bad header is reported for what it is; a bad quote is blamed on its key
	 * so that the key does not also count as missing. */
	if (s.n && s.p[0] == '[')
		parse_header(ps, s);
	else if (s.n)
		parse_assignment(ps, s, quoted);
}

int cfg_parse(const char *text, size_t len, const char *filename, struct cfg *out, cfg_error_fn err,
	      void *ctx)
{
	struct parser ps = {.file = filename ? filename : "(config)",
			    .err = err,
			    .ctx = ctx,
			    .out = out,
			    .sec = SEC_NONE};
	struct span rest = {text, text ? len : 0};
	unsigned kept = 0;

	memset(out, 0, sizeof(*out));
	out->timeslice_us = TIMESLICE_DEFAULT_US;
	while (rest.n) {
		size_t end = find(rest, '\n');

		ps.line += ps.line < 0x7fffffff; /* saturate rather than overflow */
		parse_line(&ps, (struct span){rest.p, end});
		rest = after(rest, end < rest.n ? end + 1 : end);
	}
	if (ps.sec == SEC_VM)
		finish_vm(&ps);

	/* Squeeze out the VMs that had errors, keeping the file's order. */
	for (unsigned i = 0; i < ps.declared; i++) {
		if (ps.dropped & (1ULL << i))
			continue;
		if (kept != i)
			memcpy(&out->vms[kept], &out->vms[i], sizeof(out->vms[0]));
		kept++;
	}
	memset(&out->vms[kept], 0, (CFG_MAX_VMS - kept) * sizeof(out->vms[0]));
	out->nvms = kept;
	return ps.errors;
}
