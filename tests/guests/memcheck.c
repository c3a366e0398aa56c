/*
 * memcheck: every byte of guest RAM that Keel did not load must read as zero,
 * so no VM sees data left behind by Keel or by an earlier VM. With fill=1 it
 * then poisons that RAM with 0xA5 for the next VM on the same memory to find.
 */
#include "guest.h"

#define FOUR_GiB 0x100000000ull
#define FILL_BYTE 0xA5

struct range {
	uint64_t lo, hi;
};

/* What the loader put in RAM (and our own stack, which lies in .bss). */
static struct range excl[5];
static unsigned int nexcl;

static uint64_t scanned, bad_addr = FOUR_GiB;
static uint8_t bad_byte;

static void exclude(uint64_t lo, uint64_t len)
{
	/* Rounded out to words so the scan can read whole words. */
	excl[nexcl].lo = lo & ~3ull;
	excl[nexcl].hi = (lo + len + 3) & ~3ull;
	printf("memcheck: skipping 0x%08llx-0x%08llx\n", excl[nexcl].lo, excl[nexcl].hi - 1);
	nexcl++;
}

static void scan(uint32_t lo, uint32_t hi)
{
	if (bad_addr != FOUR_GiB)
		return; /* the first non-zero byte is all we report */
	for (uint32_t a = lo; a < hi; a += 4) {
		uint32_t v = *(const uint32_t *)(uintptr_t)a;

		if (v) {
			/* Little-endian: the lowest non-zero byte is the first in memory. */
			while (!(v & 0xFF)) {
				v >>= 8;
				a++;
			}
			bad_addr = a;
			bad_byte = (uint8_t)v;
			return;
		}
	}
	scanned += hi - lo;
}

static void fill(uint32_t lo, uint32_t hi)
{
	memset((void *)(uintptr_t)lo, FILL_BYTE, hi - lo);
}

/* Calls fn on each part of [lo, hi) not covered by excl[i..]. */
static void for_each_free(uint64_t lo, uint64_t hi, unsigned int i, void (*fn)(uint32_t, uint32_t))
{
	for (; i < nexcl; i++) {
		if (excl[i].lo < hi && excl[i].hi > lo) {
			if (excl[i].lo > lo)
				for_each_free(lo, excl[i].lo, i + 1, fn);
			if (excl[i].hi < hi)
				for_each_free(excl[i].hi, hi, i + 1, fn);
			return;
		}
	}
	if (lo < hi)
		fn((uint32_t)lo, (uint32_t)hi);
}

static void visit_region(uint64_t base, uint64_t len, void (*fn)(uint32_t, uint32_t))
{
	/* Paging is off: RAM above 4 GiB is out of reach. */
	uint64_t lo = (base + 3) & ~3ull, hi = (base + len) & ~3ull;

	if (hi > FOUR_GiB)
		hi = FOUR_GiB;
	if (lo < hi)
		for_each_free(lo, hi, 0, fn);
}

/* Runs fn over all usable RAM: the memory map if there is one, else mem_lower/upper. */
static void visit_ram(const struct mb_info *mbi, void (*fn)(uint32_t, uint32_t), int show)
{
	if (mbi->flags & MB_INFO_MMAP) {
		uint32_t off = 0;

		while (off + sizeof(struct mb_mmap_entry) <= mbi->mmap_length) {
			const struct mb_mmap_entry *e =
			    (const void *)(uintptr_t)(mbi->mmap_addr + off);

			if (show)
				printf("memcheck: map 0x%08llx-0x%08llx type %u\n", e->base,
				       e->base + e->len - 1, e->type);
			if (e->type == MB_MMAP_RAM)
				visit_region(e->base, e->len, fn);
			off += e->size + 4;
		}
	} else if (mbi->flags & MB_INFO_MEM) {
		visit_region(0, (uint64_t)mbi->mem_lower * 1024, fn);
		visit_region(0x100000, (uint64_t)mbi->mem_upper * 1024, fn);
	} else {
		xtf_error("no Multiboot memory map or memory information");
	}
}

void guest_main(uint32_t magic, const struct mb_info *mbi)
{
	int do_fill;

	puts("memcheck: all RAM not loaded by the host must read as zero");
	xtf_check_boot(magic, mbi);
	do_fill = cmdline_get_u32(mbi, "fill", 0) != 0;

	exclude((uintptr_t)__image_start, (uintptr_t)(__image_end - __image_start));
	exclude((uintptr_t)mbi, sizeof(*mbi));
	if (mbi->flags & MB_INFO_CMDLINE)
		exclude(mbi->cmdline, strlen((const char *)(uintptr_t)mbi->cmdline) + 1);
	if (mbi->flags & MB_INFO_MMAP)
		exclude(mbi->mmap_addr, mbi->mmap_length);
	/* Keel does not pass one, but other loaders (QEMU) do. */
	if (mbi->flags & MB_INFO_LOADER_NAME)
		exclude(mbi->boot_loader_name,
			strlen((const char *)(uintptr_t)mbi->boot_loader_name) + 1);

	visit_ram(mbi, scan, 1);
	if (do_fill) {
		visit_ram(mbi, fill, 0);
		printf("memcheck: filled free RAM with 0x%02x\n", FILL_BYTE);
	}
	if (bad_addr != FOUR_GiB)
		xtf_failure("RAM not zero at 0x%08llx (byte 0x%02x)", bad_addr, bad_byte);
	xtf_success("all %llu KiB of RAM read as zero", scanned >> 10);
}
