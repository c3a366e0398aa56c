/* Second-level page tables (NPT / EPT), see arch/nested_pt.h. */
#include <arch/nested_pt.h>
#include <stdbool.h>

#define ENTRIES 512
#define ADDR_MASK 0x000FFFFFFFFFF000ULL
#define SIZE_4K 0x1000ULL
#define SIZE_2M 0x200000ULL
#define GPA_LIMIT (1ULL << 48)
#define HPA_LIMIT (1ULL << 52)
#define LARGE_PAGE (1ULL << 7) /* the same bit in NPT and EPT entries */

static unsigned index_at(uint64_t gpa, unsigned level)
{
	return (gpa >> (12 + 9 * level)) & (ENTRIES - 1);
}

int npt_init(struct npt *n, const struct npt_format *fmt, const struct npt_mem_ops *mem)
{
	void *root = mem->alloc_page();

	n->fmt = fmt;
	n->mem = mem;
	n->root_pa = 0;
	n->table_pages = 0;
	if (!root)
		return -1;
	n->root_pa = mem->va_to_pa(root);
	n->table_pages = 1;
	return 0;
}

/* The table at LEVEL-1 under ENTRY, allocated if absent. */
static uint64_t *next_table(struct npt *n, uint64_t *entry)
{
	if (!*entry) {
		void *t = n->mem->alloc_page();
		if (!t)
			return 0;
		n->table_pages++;
		*entry = n->mem->va_to_pa(t) | n->fmt->table;
	}
	return n->mem->pa_to_va(*entry & ADDR_MASK);
}

static int map_one(struct npt *n, uint64_t gpa, uint64_t hpa, unsigned leaf_level)
{
	uint64_t *table = n->mem->pa_to_va(n->root_pa);

	for (unsigned level = 3; level > leaf_level; level--) {
		uint64_t *e = &table[index_at(gpa, level)];
		if (level == 1 && (*e & LARGE_PAGE))
			return -1; /* already a 2 MiB leaf: no remapping in place */
		table = next_table(n, e);
		if (!table)
			return -1;
	}
	uint64_t *leaf = &table[index_at(gpa, leaf_level)];
	if (leaf_level == 1 && *leaf && !(*leaf & LARGE_PAGE))
		return -1; /* a table of 4 KiB mappings is there: no silent replacement */
	*leaf = hpa | (leaf_level ? n->fmt->leaf_2m : n->fmt->leaf_4k);
	return 0;
}

int npt_map(struct npt *n, uint64_t gpa, uint64_t hpa, uint64_t size)
{
	/* Both ranges must be page aligned and fit the 52-bit physical address
	 * space, or the high bits would land in the entry's attribute bits. */
	if ((gpa | hpa | size) & (SIZE_4K - 1) || gpa + size > GPA_LIMIT || gpa + size < gpa ||
	    hpa + size > HPA_LIMIT || hpa + size < hpa)
		return -1;
	while (size) {
		bool big = !((gpa | hpa) & (SIZE_2M - 1)) && size >= SIZE_2M;
		uint64_t step = big ? SIZE_2M : SIZE_4K;
		if (map_one(n, gpa, hpa, big ? 1 : 0))
			return -1;
		gpa += step;
		hpa += step;
		size -= step;
	}
	return 0;
}

uint64_t npt_lookup(const struct npt *n, uint64_t gpa, unsigned *level)
{
	uint64_t *table = n->mem->pa_to_va(n->root_pa);

	for (unsigned l = 3;; l--) {
		uint64_t e = table[index_at(gpa, l)];
		if (!e)
			return 0;
		if (l == 0 || (l == 1 && (e & LARGE_PAGE))) {
			if (level)
				*level = l;
			return e;
		}
		table = n->mem->pa_to_va(e & ADDR_MASK);
	}
}

static void free_level(struct npt *n, uint64_t *table, unsigned level)
{
	if (level > 0) {
		for (unsigned i = 0; i < ENTRIES; i++) {
			uint64_t e = table[i];
			if (!e || (level == 1 && (e & LARGE_PAGE)))
				continue;
			free_level(n, n->mem->pa_to_va(e & ADDR_MASK), level - 1);
		}
	}
	n->mem->free_page(table);
}

void npt_destroy(struct npt *n)
{
	if (!n->root_pa)
		return;
	free_level(n, n->mem->pa_to_va(n->root_pa), 3);
	n->root_pa = 0;
	n->table_pages = 0;
}
