/* What the boot loader told us, in one protocol-neutral form. */
#ifndef KEEL_BOOTINFO_H
#define KEEL_BOOTINFO_H

#include <stdint.h>

#define BOOT_MAX_MEMMAP 128
#define BOOT_MAX_MODULES 64
#define BOOT_CMDLINE_MAX 256
#define BOOT_MODNAME_MAX 128

enum mem_type { MEM_USABLE = 1, MEM_RESERVED = 2, MEM_ACPI = 3, MEM_NVS = 4, MEM_BAD = 5 };

struct boot_mem_range {
	uint64_t base, len;
	uint32_t type;
};

struct boot_module {
	uint64_t start, end; /* physical, [start, end) */
	char name[BOOT_MODNAME_MAX]; /* last word of the module's command line */
};

struct boot_info {
	const char *protocol;
	char cmdline[BOOT_CMDLINE_MAX];
	unsigned nmem;
	struct boot_mem_range mem[BOOT_MAX_MEMMAP];
	unsigned nmods;
	struct boot_module mods[BOOT_MAX_MODULES];
	uint64_t rsdp; /* physical address of a copy of the RSDP, 0 if not given */
	uint64_t info_start, info_end; /* the loader's info structure itself */
};

extern struct boot_info boot;

/* Fill BOOT from the loader's registers; returns 0, or -1 for an unknown magic. */
int bootinfo_parse(uint32_t magic, uint64_t info);
const struct boot_module *boot_find_module(const char *name);

#endif
