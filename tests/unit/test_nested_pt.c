/* Unit tests for the second-level page-table builder (arch/x86/nested_pt.c),
 * run once with an NPT-like and once with an EPT-like entry format. The test
 * memory ops hand out aligned_alloc pages with va == pa, keep each in a
 * registry (so leaked table pages stay reachable and teardown can free them),
 * count allocations and frees, and can be told to fail after N pages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arch/nested_pt.h>

#define PAGE 0x1000ULL
#define SIZE_2M 0x200000ULL
#define SIZE_1G 0x40000000ULL
#define LIMIT (1ULL << 48)
#define MAX_PAGES 256

/* Not const: cmocka hands them to the tests as void *state. */
static struct npt_format npt_fmt = {.table = 0x7, .leaf_4k = 0x7, .leaf_2m = 0x87};
static struct npt_format ept_fmt = {
    .table = 0x7, .leaf_4k = 0x7 | (6 << 3), .leaf_2m = 0x7 | (6 << 3) | 0x80};

struct page_rec {
	void *va;
	bool held; /* by the page tables */
};

static struct page_rec pages[MAX_PAGES];
static unsigned npages, nallocs, nfrees;
static int allocs_left; /* -1: unlimited */

static void *t_alloc_page(void)
{
	void *va;

	if (allocs_left == 0)
		return NULL;
	if (allocs_left > 0)
		allocs_left--;
	assert_true(npages < MAX_PAGES);
	va = aligned_alloc(PAGE, PAGE);
	assert_non_null(va);
	memset(va, 0, PAGE);
	pages[npages].va = va;
	pages[npages].held = true;
	npages++;
	nallocs++;
	return va;
}

static void t_free_page(void *va)
{
	for (unsigned i = 0; i < npages; i++) {
		if (pages[i].va == va) {
			assert_true(pages[i].held); /* never freed twice */
			pages[i].held = false;
			free(va);
			nfrees++;
			return;
		}
	}
	fail_msg("free_page(%p) of a page never handed out", va);
}

static uint64_t t_va_to_pa(void *va)
{
	return (uint64_t)(uintptr_t)va;
}

static void *t_pa_to_va(uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

static const struct npt_mem_ops test_mem = {t_alloc_page, t_free_page, t_va_to_pa, t_pa_to_va};

static int setup(void **state)
{
	(void)state;
	npages = nallocs = nfrees = 0;
	allocs_left = -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (unsigned i = 0; i < npages; i++)
		if (pages[i].held)
			free(pages[i].va);
	npages = 0;
	return 0;
}

static struct npt new_npt(void **state)
{
	struct npt n;

	memset(&n, 0, sizeof(n));
	assert_int_equal(npt_init(&n, *state, &test_mem), 0);
	return n;
}

/* Every page of [gpa, gpa+size) maps to hpa + offset with the expected leaf size:
 * LEVEL 1 with the 2 MiB leaf bits, or 0 with the 4 KiB ones. */
static void expect_mapped(const struct npt *n, uint64_t gpa, uint64_t hpa, uint64_t size,
			  unsigned level)
{
	const struct npt_format *f = n->fmt;

	for (uint64_t off = 0; off < size; off += PAGE) {
		unsigned got = 99;
		uint64_t e = npt_lookup(n, gpa + off, &got);
		uint64_t want = (hpa + off) | f->leaf_4k;

		if (level)
			want = ((hpa + off) & ~(SIZE_2M - 1)) | f->leaf_2m;
		assert_int_equal(got, level);
		assert_int_equal(e, want);
	}
}

static void expect_unmapped(const struct npt *n, uint64_t gpa)
{
	unsigned level = 99;

	assert_int_equal(npt_lookup(n, gpa, &level), 0);
	assert_int_equal(level, 99); /* left alone */
}

static void destroy_all_freed(struct npt *n)
{
	npt_destroy(n);
	assert_int_equal(n->root_pa, 0);
	assert_int_equal(n->table_pages, 0);
	assert_int_equal(nfrees, nallocs);
}

static void test_init_destroy(void **state)
{
	struct npt n = new_npt(state);

	assert_int_equal(nallocs, 1);
	assert_int_equal(n.table_pages, 1);
	assert_int_not_equal(n.root_pa, 0);
	expect_unmapped(&n, 0);
	expect_unmapped(&n, LIMIT - PAGE);
	destroy_all_freed(&n);
	npt_destroy(&n); /* a second destroy does nothing */
	assert_int_equal(nfrees, 1);
}

static void test_init_alloc_failure(void **state)
{
	struct npt n;

	memset(&n, 0, sizeof(n));
	allocs_left = 0;
	assert_int_equal(npt_init(&n, *state, &test_mem), -1);
	assert_int_equal(n.table_pages, 0);
	npt_destroy(&n);
	assert_int_equal(nallocs, 0);
	assert_int_equal(nfrees, 0);
}

static void test_2m_leaves(void **state)
{
	struct npt n = new_npt(state);
	const struct npt_format *f = *state;
	uint64_t *root = t_pa_to_va(n.root_pa);

	assert_int_equal(npt_map(&n, SIZE_1G, 2 * SIZE_1G, 3 * SIZE_2M), 0);
	assert_int_equal(n.table_pages, 3); /* root, one PDPT, one PD */
	assert_int_equal(nallocs, 3);
	expect_mapped(&n, SIZE_1G, 2 * SIZE_1G, 3 * SIZE_2M, 1);
	expect_unmapped(&n, SIZE_1G - PAGE);
	expect_unmapped(&n, SIZE_1G + 3 * SIZE_2M);
	expect_unmapped(&n, 0);
	/* The table entry above the leaves carries the format's table bits. */
	assert_int_equal(root[0] & 0xFFF, f->table);
	destroy_all_freed(&n);
}

static void test_4k_when_unaligned(void **state)
{
	struct npt n = new_npt(state);

	/* gpa 2M-aligned but hpa only 4K-aligned: 4K leaves throughout. */
	assert_int_equal(npt_map(&n, 0, SIZE_2M + PAGE, 2 * SIZE_2M), 0);
	expect_mapped(&n, 0, SIZE_2M + PAGE, 2 * SIZE_2M, 0);
	assert_int_equal(n.table_pages, 5); /* root, PDPT, PD, two PTs */
	/* Both aligned but less than 2M left: 4K leaves. */
	assert_int_equal(npt_map(&n, 8 * SIZE_2M, 8 * SIZE_2M, SIZE_2M - PAGE), 0);
	expect_mapped(&n, 8 * SIZE_2M, 8 * SIZE_2M, SIZE_2M - PAGE, 0);
	expect_unmapped(&n, 9 * SIZE_2M - PAGE);
	assert_int_equal(n.table_pages, 6);
	assert_int_equal(nallocs, 6);
	destroy_all_freed(&n);
}

static void test_mixed_range(void **state)
{
	struct npt n = new_npt(state);
	const uint64_t gpa = SIZE_2M - 2 * PAGE, hpa = 0x10000000 + gpa;

	/* Two 4K pages up to the boundary, two 2M leaves, three 4K pages after. */
	assert_int_equal(npt_map(&n, gpa, hpa, 2 * PAGE + 2 * SIZE_2M + 3 * PAGE), 0);
	expect_mapped(&n, gpa, hpa, 2 * PAGE, 0);
	expect_mapped(&n, SIZE_2M, hpa + 2 * PAGE, 2 * SIZE_2M, 1);
	expect_mapped(&n, 3 * SIZE_2M, hpa + 2 * PAGE + 2 * SIZE_2M, 3 * PAGE, 0);
	expect_unmapped(&n, gpa - PAGE);
	expect_unmapped(&n, 3 * SIZE_2M + 3 * PAGE);
	assert_int_equal(n.table_pages, 5); /* root, PDPT, PD, two PTs */
	destroy_all_freed(&n);
}

static void test_far_apart(void **state)
{
	struct npt n = new_npt(state);
	static const uint64_t gpas[] = {0, 1ULL << 39, 1ULL << 30, LIMIT - PAGE};

	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(npt_map(&n, gpas[i], 0x5000 + i * PAGE, PAGE), 0);
	/* 1G shares the PDPT of 0 (PD + PT); the others need PDPT, PD, PT each. */
	assert_int_equal(n.table_pages, 1 + 3 + 3 + 2 + 3);
	for (unsigned i = 0; i < 4; i++)
		expect_mapped(&n, gpas[i], 0x5000 + i * PAGE, PAGE, 0);
	expect_unmapped(&n, PAGE);
	expect_unmapped(&n, 1ULL << 47);
	expect_unmapped(&n, LIMIT - 2 * PAGE);
	destroy_all_freed(&n);
}

static void test_refused_ranges(void **state)
{
	struct npt n = new_npt(state);

	assert_int_equal(npt_map(&n, 0x1001, 0, PAGE), -1);
	assert_int_equal(npt_map(&n, 0, 0x10, PAGE), -1);
	assert_int_equal(npt_map(&n, 0, 0, 0x800), -1);
	assert_int_equal(npt_map(&n, LIMIT, 0, PAGE), -1);
	assert_int_equal(npt_map(&n, LIMIT - PAGE, 0, 2 * PAGE), -1);
	assert_int_equal(npt_map(&n, 0, 0, LIMIT + PAGE), -1);
	assert_int_equal(npt_map(&n, ~0ULL - PAGE + 1, 0, 2 * PAGE), -1); /* gpa wraps */
	assert_int_equal(npt_map(&n, PAGE, 0, ~0ULL - PAGE + 1), -1);
	assert_int_equal(nallocs, 1); /* nothing was built */
	expect_unmapped(&n, 0);
	expect_unmapped(&n, PAGE);
	/* The last page below the limit is fine; an empty range is a no-op. */
	assert_int_equal(npt_map(&n, LIMIT - PAGE, 0, PAGE), 0);
	assert_int_equal(npt_map(&n, 0, 0, 0), 0);
	assert_int_equal(nallocs, 4);
	destroy_all_freed(&n);
}

static void test_refused_host_ranges(void **state)
{
	struct npt n = new_npt(state);

	/* A host range that wraps, or an hpa beyond the entry's address bits
	 * (51:12), would set attribute bits of the entry (NX in an NPT entry). */
	assert_int_equal(npt_map(&n, 0, ~0ULL - PAGE + 1, 2 * PAGE), -1);
	assert_int_equal(npt_map(&n, 0, 1ULL << 63, PAGE), -1);
	assert_int_equal(npt_map(&n, 0, 1ULL << 52, PAGE), -1);
	expect_unmapped(&n, 0);
	destroy_all_freed(&n);
}

static void test_alloc_failure(void **state)
{
	/* 4K at 2M-4K, 512 2M leaves, 4K at 1G+2M: PDPT, two PDs, two PTs. */
	for (int budget = 0; budget < 5; budget++) {
		struct npt n;

		setup(NULL);
		n = new_npt(state);
		allocs_left = budget;
		assert_int_equal(npt_map(&n, SIZE_2M - PAGE, SIZE_2M - PAGE, 2 * PAGE + SIZE_1G),
				 -1);
		assert_int_equal(n.table_pages, 1 + (uint64_t)budget);
		destroy_all_freed(&n);
		teardown(NULL);
	}
	setup(NULL);
	struct npt n = new_npt(state);
	allocs_left = 5;
	assert_int_equal(npt_map(&n, SIZE_2M - PAGE, SIZE_2M - PAGE, 2 * PAGE + SIZE_1G), 0);
	assert_int_equal(n.table_pages, 6);
	expect_mapped(&n, SIZE_2M - PAGE, SIZE_2M - PAGE, PAGE, 0);
	expect_mapped(&n, SIZE_2M, SIZE_2M, SIZE_1G, 1);
	expect_mapped(&n, SIZE_1G + SIZE_2M, SIZE_1G + SIZE_2M, PAGE, 0);
	destroy_all_freed(&n);
}

static void test_no_remap_inside_2m(void **state)
{
	struct npt n = new_npt(state);

	assert_int_equal(npt_map(&n, 0, 0, SIZE_2M), 0);
	assert_int_equal(npt_map(&n, PAGE, 0x7000, PAGE), -1);
	expect_mapped(&n, 0, 0, SIZE_2M, 1);
	/* Replacing a 2M leaf by another, or a 4K leaf by another, is allowed. */
	assert_int_equal(npt_map(&n, 0, 4 * SIZE_2M, SIZE_2M), 0);
	expect_mapped(&n, 0, 4 * SIZE_2M, SIZE_2M, 1);
	assert_int_equal(npt_map(&n, SIZE_2M, 0x3000, PAGE), 0);
	assert_int_equal(npt_map(&n, SIZE_2M, 0x9000, PAGE), 0);
	expect_mapped(&n, SIZE_2M, 0x9000, PAGE, 0);
	assert_int_equal(n.table_pages, 4);
	destroy_all_freed(&n);
}

static void test_2m_over_4k_table(void **state)
{
	struct npt n = new_npt(state);

	/* A 2M leaf mapped where a 4K table already hangs: either refuse it or
	 * free the table; overwriting the table pointer leaks the table page. */
	assert_int_equal(npt_map(&n, SIZE_2M, 0x3000, PAGE), 0);
	assert_int_equal(nallocs, 4);
	if (npt_map(&n, SIZE_2M, SIZE_2M, SIZE_2M) == 0)
		expect_mapped(&n, SIZE_2M, SIZE_2M, SIZE_2M, 1);
	else
		expect_mapped(&n, SIZE_2M, 0x3000, PAGE, 0);
	npt_destroy(&n);
	assert_int_equal(nfrees, nallocs);
}

/* Each test twice, named by format. */
/* clang-format off */
#define NPT(t) {"npt_" #t, t, setup, teardown, &npt_fmt}
#define EPT(t) {"ept_" #t, t, setup, teardown, &ept_fmt}
/* clang-format on */
#define BOTH(t) NPT(t), EPT(t)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    BOTH(test_init_destroy),       BOTH(test_init_alloc_failure),  BOTH(test_2m_leaves),
	    BOTH(test_4k_when_unaligned),  BOTH(test_mixed_range),         BOTH(test_far_apart),
	    BOTH(test_refused_ranges),     BOTH(test_refused_host_ranges), BOTH(test_alloc_failure),
	    BOTH(test_no_remap_inside_2m), BOTH(test_2m_over_4k_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
