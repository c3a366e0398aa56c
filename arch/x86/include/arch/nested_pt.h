/* One builder for the second-level page tables of both vendors: AMD's nested
 * page tables and Intel's EPT share the 4-level radix shape and differ only
 * in the bits of an entry, which the backend supplies. */
#ifndef ARCH_NESTED_PT_H
#define ARCH_NESTED_PT_H

#include <stdint.h>

struct npt_format {
	uint64_t table; /* bits of an entry pointing to a lower table */
	uint64_t leaf_4k; /* bits of a 4 KiB leaf */
	uint64_t leaf_2m; /* bits of a 2 MiB leaf (includes the page-size bit) */
};

struct npt_mem_ops {
	void *(*alloc_page)(void); /* zeroed 4 KiB page, NULL if none */
	void (*free_page)(void *va);
	uint64_t (*va_to_pa)(void *va);
	void *(*pa_to_va)(uint64_t pa);
};

struct npt {
	const struct npt_format *fmt;
	const struct npt_mem_ops *mem;
	uint64_t root_pa;
	uint64_t table_pages; /* pages used by the tables, for accounting */
};

int npt_init(struct npt *n, const struct npt_format *fmt, const struct npt_mem_ops *mem);
/* Map [gpa, gpa+size) to [hpa, ...): 2 MiB leaves where both addresses and
 * the remaining size allow, 4 KiB otherwise. -1 on allocation failure or a
 * range that is not page aligned or exceeds 48 bits. */
int npt_map(struct npt *n, uint64_t gpa, uint64_t hpa, uint64_t size);
/* The leaf entry for GPA, or 0 if unmapped (for tests and diagnostics). */
uint64_t npt_lookup(const struct npt *n, uint64_t gpa, unsigned *level);
void npt_destroy(struct npt *n);

/* The allocator ops backed by Keel's page allocator. */
extern const struct npt_mem_ops npt_keel_mem;

#endif
