/* The nested page-table builder's page allocator, backed by Keel's page
 * allocator (identity-mapped: virtual and physical addresses are equal).
 * Shared by both backends. */
#include <arch/nested_pt.h>
#include <keel/pmm.h>

static void *npt_alloc_page(void)
{
	return page_alloc_zeroed(0);
}

static void npt_free_page(void *va)
{
	page_free(va, 0);
}

static uint64_t npt_va_to_pa(void *va)
{
	return (uint64_t)va;
}

static void *npt_pa_to_va(uint64_t pa)
{
	return (void *)pa;
}

const struct npt_mem_ops npt_keel_mem = {npt_alloc_page, npt_free_page, npt_va_to_pa, npt_pa_to_va};
