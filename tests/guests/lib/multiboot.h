/* Multiboot v1 information structure (the parts test guests read). */
#ifndef GUEST_MULTIBOOT_H
#define GUEST_MULTIBOOT_H

#include <stdint.h>

#define MB_HEADER_MAGIC 0x1BADB002u
#define MB_BOOT_MAGIC 0x2BADB002u /* in EAX at entry */

#define MB_INFO_MEM (1u << 0) /* mem_lower, mem_upper valid */
#define MB_INFO_CMDLINE (1u << 2) /* cmdline valid */
#define MB_INFO_MMAP (1u << 6) /* mmap_length, mmap_addr valid */
#define MB_INFO_LOADER_NAME (1u << 9) /* boot_loader_name valid */

#define MB_MMAP_RAM 1

struct mb_info {
	uint32_t flags;
	uint32_t mem_lower; /* KiB below 1 MiB */
	uint32_t mem_upper; /* KiB from 1 MiB up to the first hole */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count;
	uint32_t mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length; /* bytes */
	uint32_t mmap_addr;
	uint32_t drives_length;
	uint32_t drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe[6];
	uint8_t framebuffer[22];
} __attribute__((packed));

/* One memory map entry; `size` counts the bytes after itself. */
struct mb_mmap_entry {
	uint32_t size;
	uint64_t base;
	uint64_t len;
	uint32_t type;
} __attribute__((packed));

#endif
