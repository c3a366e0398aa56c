/* Multiboot v1 (QEMU -kernel) and Multiboot2 (GRUB) information, read into
 * the neutral struct boot_info. Field layouts are from the two specifications. */
#include <keel/bootinfo.h>
#include <keel/string.h>
#include <stdbool.h>

#define MB1_BOOT_MAGIC 0x2BADB002
#define MB2_BOOT_MAGIC 0x36D76289

#define MB2_TAG_END 0
#define MB2_TAG_CMDLINE 1
#define MB2_TAG_MODULE 3
#define MB2_TAG_MMAP 6
#define MB2_TAG_ACPI_OLD 14
#define MB2_TAG_ACPI_NEW 15

struct boot_info boot;

static uint32_t rd32(uint64_t pa)
{
	return *(volatile const uint32_t *)(uintptr_t)pa;
}

static uint64_t rd64(uint64_t pa)
{
	return *(volatile const uint64_t *)(uintptr_t)pa;
}

static void copy_cstr(char *dst, size_t size, uint64_t pa)
{
	const char *s = (const char *)(uintptr_t)pa;

	strlcpy(dst, pa ? s : "", size);
}

/* Modules are named by the last word of their command line: QEMU passes
 * "path name", GRUB passes what follows the file name. */
static void set_module_name(struct boot_module *m, uint64_t str_pa)
{
	char full[BOOT_MODNAME_MAX * 2];
	const char *last = full;

	copy_cstr(full, sizeof(full), str_pa);
	for (const char *p = full; *p; p++)
		if ((*p == ' ' || *p == '/') && p[1] && p[1] != ' ')
			last = p + 1;
	strlcpy(m->name, last, sizeof(m->name));
	for (char *p = m->name; *p; p++)
		if (*p == ' ') {
			*p = '\0';
			break;
		}
}

static void add_mem(uint64_t base, uint64_t len, uint32_t type)
{
	if (boot.nmem < BOOT_MAX_MEMMAP && len)
		boot.mem[boot.nmem++] = (struct boot_mem_range){base, len, type};
}

static void add_module(uint64_t start, uint64_t end, uint64_t str_pa)
{
	if (boot.nmods >= BOOT_MAX_MODULES || end < start)
		return;
	struct boot_module *m = &boot.mods[boot.nmods++];
	m->start = start;
	m->end = end;
	set_module_name(m, str_pa);
}

static void parse_mb1(uint64_t info)
{
	uint32_t flags = rd32(info);

	boot.protocol = "Multiboot";
	boot.info_start = info;
	boot.info_end = info + 120;
	if (flags & (1 << 2))
		copy_cstr(boot.cmdline, sizeof(boot.cmdline), rd32(info + 16));
	if (flags & (1 << 3)) {
		uint32_t count = rd32(info + 20), addr = rd32(info + 24);
		for (uint32_t i = 0; i < count; i++)
			add_module(rd32(addr + i * 16), rd32(addr + i * 16 + 4),
				   rd32(addr + i * 16 + 8));
	}
	if (flags & (1 << 6)) {
		uint64_t p = rd32(info + 48), end = p + rd32(info + 44);
		while (p + 24 <= end) {
			add_mem(rd64(p + 4), rd64(p + 12), rd32(p + 20));
			p += rd32(p) + 4;
		}
	} else if (flags & 1) {
		add_mem(0, (uint64_t)rd32(info + 4) * 1024, MEM_USABLE);
		add_mem(0x100000, (uint64_t)rd32(info + 8) * 1024, MEM_USABLE);
	}
}

static void parse_mb2(uint64_t info)
{
	uint32_t total = rd32(info);
	uint64_t p = info + 8, end = info + total;

	boot.protocol = "Multiboot2";
	boot.info_start = info;
	boot.info_end = end;
	while (p + 8 <= end) {
		uint32_t type = rd32(p), size = rd32(p + 4);
		if (type == MB2_TAG_END || size < 8)
			break;
		switch (type) {
		case MB2_TAG_CMDLINE:
			copy_cstr(boot.cmdline, sizeof(boot.cmdline), p + 8);
			break;
		case MB2_TAG_MODULE:
			add_module(rd32(p + 8), rd32(p + 12), p + 16);
			break;
		case MB2_TAG_MMAP: {
			uint32_t esize = rd32(p + 8);
			for (uint64_t e = p + 16; esize && e + 24 <= p + size; e += esize)
				add_mem(rd64(e), rd64(e + 8), rd32(e + 16));
			break;
		}
		case MB2_TAG_ACPI_NEW:
			boot.rsdp = p + 8;
			break;
		case MB2_TAG_ACPI_OLD:
			if (!boot.rsdp)
				boot.rsdp = p + 8;
			break;
		default:
			break;
		}
		p += (size + 7) & ~7u;
	}
}

int bootinfo_parse(uint32_t magic, uint64_t info)
{
	if (magic == MB1_BOOT_MAGIC)
		parse_mb1(info);
	else if (magic == MB2_BOOT_MAGIC)
		parse_mb2(info);
	else
		return -1;
	return 0;
}

const struct boot_module *boot_find_module(const char *name)
{
	for (unsigned i = 0; i < boot.nmods; i++)
		if (!strcmp(boot.mods[i].name, name))
			return &boot.mods[i];
	return NULL;
}
