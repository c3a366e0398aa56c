/* Builds Keel's page allocator from the firmware memory map: every usable
 * range, minus page 0 and low memory, Keel's image, the loader's info and the
 * boot modules (they hold the configuration and guest images). */
#include <keel/bootinfo.h>
#include <keel/console.h>
#include <keel/cpu.h>
#include <keel/mem.h>
#include <keel/pmm.h>
#include <keel/string.h>

#define LOW_MEM_END 0x100000ULL
#define BOOT_MAPPED_END (4ULL << 30)
#define MAX_RESERVED (BOOT_MAX_MODULES + 4)

extern char __image_start[], __image_end[];

struct pmm keel_pmm;

struct range {
	uint64_t start, end;
};

static struct range reserved[MAX_RESERVED];
static unsigned nreserved;
static uint64_t usable_total;
static uint64_t low_page;

static void reserve(uint64_t start, uint64_t end)
{
	if (nreserved < MAX_RESERVED && end > start)
		reserved[nreserved++] = (struct range){start & ~(PAGE_SIZE - 1),
						       (end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)};
}

/* Add [start, end) to the allocator, skipping every reserved range. */
static void add_free_except_reserved(uint64_t start, uint64_t end)
{
	for (unsigned i = 0; i < nreserved && start < end; i++) {
		const struct range *r = &reserved[i];
		if (r->end <= start || r->start >= end)
			continue;
		if (r->start > start)
			add_free_except_reserved(start, r->start);
		start = r->end;
	}
	if (start < end)
		pmm_add_free(&keel_pmm, start, end);
}

static bool overlaps_reserved(uint64_t start, uint64_t end)
{
	for (unsigned i = 0; i < nreserved; i++)
		if (reserved[i].start < end && start < reserved[i].end)
			return true;
	return false;
}

/* True if [start, end) overlaps the loader's information or a boot module. */
static bool holds_boot_data(uint64_t start, uint64_t end)
{
	if (start < boot.info_end && boot.info_start < end)
		return true;
	for (unsigned i = 0; i < boot.nmods; i++)
		if (start < boot.mods[i].end && boot.mods[i].start < end)
			return true;
	return false;
}

/* Place the allocator's page_info array (one byte per page) in usable RAM
 * below 4 GiB that nothing else uses. */
static uint64_t place_page_info(uint64_t bytes)
{
	bytes = (bytes + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	for (unsigned i = 0; i < boot.nmem; i++) {
		const struct boot_mem_range *m = &boot.mem[i];
		if (m->type != MEM_USABLE)
			continue;
		uint64_t start = m->base < LOW_MEM_END ? LOW_MEM_END : m->base;
		start = (start + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
		uint64_t end = m->base + m->len;
		if (end > BOOT_MAPPED_END)
			end = BOOT_MAPPED_END;
		for (uint64_t s = start; s + bytes <= end; s += PAGE_SIZE) {
			if (!overlaps_reserved(s, s + bytes))
				return s;
		}
	}
	return 0;
}

void mem_init(void)
{
	uint64_t top = 0;

	reserve(0, LOW_MEM_END);
	reserve((uint64_t)__image_start, (uint64_t)__image_end);
	reserve(boot.info_start, boot.info_end);
	for (unsigned i = 0; i < boot.nmods; i++)
		reserve(boot.mods[i].start, boot.mods[i].end);

	for (unsigned i = 0; i < boot.nmem; i++) {
		const struct boot_mem_range *m = &boot.mem[i];
		if (m->type != MEM_USABLE)
			continue;
		usable_total += m->len;
		if (m->base + m->len > top)
			top = m->base + m->len;
		/* The highest usable page below 0x9F000 starts the other CPUs.
		 * Not one the loader put boot data in: GRUB on UEFI may place the
		 * boot information or a module (the configuration) down there,
		 * and the start-up code copied over it would replace it. */
		for (uint64_t p = m->base;
		     p + PAGE_SIZE <= m->base + m->len && p + PAGE_SIZE <= 0x9F000; p += PAGE_SIZE)
			if (p >= 0x1000 && !(p & (PAGE_SIZE - 1)) &&
			    !holds_boot_data(p, p + PAGE_SIZE))
				low_page = p;
	}
	uint64_t npages = top / PAGE_SIZE;
	uint64_t info = place_page_info(npages);
	if (!info) {
		klog("no room for the page allocator's metadata (%lu KiB)", npages / 1024);
		return;
	}
	reserve(info, info + npages);
	pmm_init(&keel_pmm, 0, npages, (uint8_t *)info, 0);
	/* Memory below 4 GiB first: mapping RAM above it may need table pages. */
	for (unsigned i = 0; i < boot.nmem; i++) {
		const struct boot_mem_range *m = &boot.mem[i];
		uint64_t end = m->base + m->len;
		if (m->type == MEM_USABLE && m->base < BOOT_MAPPED_END)
			add_free_except_reserved(m->base,
						 end < BOOT_MAPPED_END ? end : BOOT_MAPPED_END);
	}
	for (unsigned i = 0; i < boot.nmem; i++) {
		const struct boot_mem_range *m = &boot.mem[i];
		uint64_t start = m->base, end = m->base + m->len;
		if (m->type != MEM_USABLE || end <= BOOT_MAPPED_END)
			continue;
		if (start < BOOT_MAPPED_END)
			start = BOOT_MAPPED_END;
		if (arch_map_ram(start, end) == 0)
			add_free_except_reserved(start, end);
		else
			klog("could not map RAM at %#lx-%#lx; leaving it unused", start, end);
	}
}

uint64_t mem_low_page(void)
{
	return low_page;
}

uint64_t mem_total_usable(void)
{
	return usable_total;
}

/* Set once %gs points at the boot CPU's struct cpu. */
bool mem_percpu_ready;

static void account(uint64_t bytes)
{
	if (mem_percpu_ready && this_cpu()->mem_account)
		*this_cpu()->mem_account += bytes;
}

void mem_account_begin(uint64_t *acct)
{
	this_cpu()->mem_account = acct;
}

void mem_account_end(void)
{
	this_cpu()->mem_account = NULL;
}

void mem_account_heap(uint64_t bytes)
{
	account(bytes);
}

void *heap_page_alloc(unsigned order)
{
	uint64_t pa = pmm_alloc(&keel_pmm, order);

	if (!pa)
		return NULL;
	memset((void *)pa, 0, PAGE_SIZE << order);
	return (void *)pa;
}

void *page_alloc_zeroed(unsigned order)
{
	void *p = heap_page_alloc(order);

	if (p)
		account(PAGE_SIZE << order);
	return p;
}

void page_free(void *va, unsigned order)
{
	if (va)
		pmm_free(&keel_pmm, (uint64_t)va, order);
}
