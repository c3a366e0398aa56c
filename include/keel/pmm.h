/* Physical page allocator: a buddy allocator over the RAM ranges the firmware
 * memory map reports, minus Keel's image, boot modules and firmware areas.
 * Blocks are 2^order pages of 4 KiB, naturally aligned. Pure logic: the unit
 * tests run it over a host buffer. */
#ifndef KEEL_PMM_H
#define KEEL_PMM_H

#include <keel/spinlock.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAGE_SIZE ((uint64_t)4096)
#define PAGE_SHIFT 12
#define PMM_MAX_ORDER 18 /* 1 GiB blocks */
#define PMM_ORDER_2M 9

struct pmm {
	spinlock_t lock;
	uint64_t base; /* physical address of the first page tracked */
	uint64_t npages; /* pages tracked, from base */
	uint8_t *page_info; /* one byte per page: see pmm.c */
	uint64_t free_head[PMM_MAX_ORDER + 1]; /* physical address, 0 = empty */
	uint64_t free_pages;
	uint64_t total_pages; /* pages ever added as free */
	/* Translation between physical addresses and pointers Keel can use:
	 * identity in Keel, a host buffer offset in unit tests. */
	uintptr_t phys_to_virt_offset;
};

/* Track [base, base + npages*4K); PAGE_INFO is caller-provided storage of
 * npages bytes. Nothing is free until pmm_add_free. */
void pmm_init(struct pmm *p, uint64_t base, uint64_t npages, uint8_t *page_info,
	      uintptr_t phys_to_virt_offset);
/* Make [start, end) free (rounded inwards to pages). */
void pmm_add_free(struct pmm *p, uint64_t start, uint64_t end);
/* 0 when no block of that order is free. */
uint64_t pmm_alloc(struct pmm *p, unsigned order);
void pmm_free(struct pmm *p, uint64_t phys, unsigned order);
uint64_t pmm_free_pages(struct pmm *p);

/* Keel's one allocator instance and helpers that return zeroed memory. */
extern struct pmm keel_pmm;
void *page_alloc_zeroed(unsigned order); /* NULL on exhaustion */
void page_free(void *va, unsigned order);

#endif
