/* Unit tests for the buddy allocator (core/pmm.c), run over a host buffer that
 * stands in for physical memory at a made-up physical base. A shadow bitmap
 * of live pages catches overlapping allocations; every live block carries a
 * pattern in its first and last bytes that must survive until it is freed, so
 * the allocator is also caught writing into memory it handed out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include <keel/pmm.h>

#define TEST_BASE 0x100000ULL /* 1 MiB */
#define TEST_BYTES (64ULL << 20) /* 64 MiB */
#define TEST_NPAGES (TEST_BYTES / PAGE_SIZE)

struct fixture {
	struct pmm p;
	uint64_t base, npages;
	uint8_t *mem; /* host memory backing [base, base + npages pages) */
	uint8_t *page_info; /* npages bytes */
	uint8_t *shadow; /* one byte per page: 1 while inside a live block */
	bool mmapped;
};

struct block {
	uint64_t phys;
	unsigned order;
};

static struct fixture *fixture_new(uint64_t base, uint64_t npages, bool use_mmap)
{
	struct fixture *f = calloc(1, sizeof(*f));
	size_t bytes = npages * PAGE_SIZE;

	assert_non_null(f);
	f->base = base;
	f->npages = npages;
	f->mmapped = use_mmap;
	if (use_mmap) {
		/* Only the pages the allocator touches get committed. */
		f->mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		assert_true(f->mem != MAP_FAILED);
	} else {
		f->mem = aligned_alloc(PAGE_SIZE, bytes);
		assert_non_null(f->mem);
	}
	f->page_info = malloc(npages);
	f->shadow = calloc(npages, 1);
	assert_non_null(f->page_info);
	assert_non_null(f->shadow);
	pmm_init(&f->p, base, npages, f->page_info, (uintptr_t)f->mem - (uintptr_t)base);
	return f;
}

static void fixture_free(struct fixture *f)
{
	if (f->mmapped)
		munmap(f->mem, f->npages * PAGE_SIZE);
	else
		free(f->mem);
	free(f->page_info);
	free(f->shadow);
	free(f);
}

static int setup_64m(void **state)
{
	*state = fixture_new(TEST_BASE, TEST_NPAGES, false);
	return 0;
}

static int teardown(void **state)
{
	fixture_free(*state);
	return 0;
}

static uint8_t *virt(struct fixture *f, uint64_t phys)
{
	return f->mem + (phys - f->base);
}

static uint8_t pattern(uint64_t phys)
{
	return (uint8_t)((phys >> PAGE_SHIFT) * 31 + 7);
}

/* Record a fresh allocation: in range, naturally aligned, no overlap. */
static void track_alloc(struct fixture *f, uint64_t phys, unsigned order)
{
	uint64_t first, n = 1ULL << order, i;
	uint8_t *v;

	assert_true(phys != 0);
	assert_true(phys >= f->base);
	assert_true(phys + (PAGE_SIZE << order) <= f->base + f->npages * PAGE_SIZE);
	assert_int_equal(phys & ((PAGE_SIZE << order) - 1), 0);
	first = (phys - f->base) >> PAGE_SHIFT;
	for (i = 0; i < n; i++) {
		assert_int_equal(f->shadow[first + i], 0);
		f->shadow[first + i] = 1;
	}
	v = virt(f, phys);
	memset(v, pattern(phys), 16);
	v[(PAGE_SIZE << order) - 1] = pattern(phys);
}

static void untrack_and_free(struct fixture *f, uint64_t phys, unsigned order)
{
	uint64_t first = (phys - f->base) >> PAGE_SHIFT, n = 1ULL << order, i;
	uint8_t *v = virt(f, phys);

	for (i = 0; i < 16; i++)
		assert_int_equal(v[i], pattern(phys));
	assert_int_equal(v[(PAGE_SIZE << order) - 1], pattern(phys));
	for (i = 0; i < n; i++) {
		assert_int_equal(f->shadow[first + i], 1);
		f->shadow[first + i] = 0;
	}
	pmm_free(&f->p, phys, order);
}

/* Allocate ORDER blocks until none is left; returns how many, stored in OUT. */
static size_t exhaust(struct fixture *f, unsigned order, struct block *out, size_t max)
{
	size_t n = 0;
	uint64_t phys;

	while ((phys = pmm_alloc(&f->p, order)) != 0) {
		assert_true(n < max);
		track_alloc(f, phys, order);
		out[n].phys = phys;
		out[n].order = order;
		n++;
	}
	return n;
}

/* The free lists as a canonical, comparable picture: for each order, the
 * number of free blocks and the sum of their addresses. List order may differ
 * between two states that hold the same free blocks. */
struct free_picture {
	uint64_t count[PMM_MAX_ORDER + 1];
	uint64_t sum[PMM_MAX_ORDER + 1];
};

static void picture(struct fixture *f, struct free_picture *pic)
{
	unsigned order;
	uint64_t phys;

	memset(pic, 0, sizeof(*pic));
	for (order = 0; order <= PMM_MAX_ORDER; order++) {
		for (phys = f->p.free_head[order]; phys; phys = *(uint64_t *)virt(f, phys)) {
			pic->count[order]++;
			pic->sum[order] += phys;
		}
	}
}

/* Deterministic xorshift, so failures reproduce. */
static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void shuffle(struct block *b, size_t n)
{
	size_t i;

	for (i = n; i > 1; i--) {
		size_t j = rng() % i;
		struct block t = b[i - 1];

		b[i - 1] = b[j];
		b[j] = t;
	}
}

static void test_empty_until_added(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(pmm_free_pages(&f->p), 0);
	assert_int_equal(pmm_alloc(&f->p, 0), 0);
	pmm_add_free(&f->p, TEST_BASE, TEST_BASE + TEST_BYTES);
	assert_int_equal(pmm_free_pages(&f->p), TEST_NPAGES);
	assert_int_equal(f->p.total_pages, TEST_NPAGES);
	assert_int_equal(pmm_alloc(&f->p, PMM_MAX_ORDER + 1), 0);
	assert_int_equal(pmm_free_pages(&f->p), TEST_NPAGES);
}

static void test_exhaust_and_refill(void **state)
{
	struct fixture *f = *state;
	struct block *b = calloc(TEST_NPAGES, sizeof(*b));
	size_t n, i, round;

	pmm_add_free(&f->p, TEST_BASE, TEST_BASE + TEST_BYTES);
	for (round = 0; round < 2; round++) {
		n = exhaust(f, 0, b, TEST_NPAGES);
		assert_int_equal(n, TEST_NPAGES);
		assert_int_equal(pmm_free_pages(&f->p), 0);
		for (i = 0; i < n; i++)
			untrack_and_free(f, b[i].phys, 0);
		assert_int_equal(pmm_free_pages(&f->p), TEST_NPAGES);
	}
	/* Same again with 2 MiB blocks: 64 MiB from 1 MiB holds 31 of them plus
	 * 2 MiB of 1 MiB-aligned leftovers at both ends. */
	n = exhaust(f, PMM_ORDER_2M, b, TEST_NPAGES);
	assert_int_equal(n, 31);
	assert_int_equal(pmm_free_pages(&f->p), 512);
	for (i = 0; i < n; i++)
		untrack_and_free(f, b[i].phys, PMM_ORDER_2M);
	assert_int_equal(pmm_free_pages(&f->p), TEST_NPAGES);
	free(b);
}

static void test_coalesce_after_freeing_all(void **state)
{
	struct fixture *f = *state;
	struct block *b = calloc(TEST_NPAGES, sizeof(*b));
	struct free_picture initial, now;
	uint64_t phys;
	size_t n, i;

	pmm_add_free(&f->p, TEST_BASE, TEST_BASE + TEST_BYTES);
	picture(f, &initial);
	n = exhaust(f, 0, b, TEST_NPAGES);
	rng_state = 0x9e3779b97f4a7c15ULL;
	shuffle(b, n);
	for (i = 0; i < n; i++)
		untrack_and_free(f, b[i].phys, 0);
	/* Fully coalesced: exactly the blocks pmm_add_free built. */
	picture(f, &now);
	assert_memory_equal(&initial, &now, sizeof(now));
	phys = pmm_alloc(&f->p, 13);
	assert_int_equal(phys, 0x2000000);
	pmm_free(&f->p, phys, 13);
	free(b);
}

/* A full 1 GiB (PMM_MAX_ORDER) block: split into 2 MiB pieces and glued back. */
static void test_max_order_block(void **state)
{
	struct fixture *f = fixture_new(1ULL << 30, 1ULL << PMM_MAX_ORDER, true);
	struct block b[512];
	uint64_t phys;
	size_t n, i;

	(void)state;
	pmm_add_free(&f->p, 1ULL << 30, 2ULL << 30);
	assert_int_equal(f->p.free_head[PMM_MAX_ORDER], 1ULL << 30);
	n = exhaust(f, PMM_ORDER_2M, b, 512);
	assert_int_equal(n, 512);
	rng_state = 12345;
	shuffle(b, n);
	for (i = 0; i < n; i++)
		untrack_and_free(f, b[i].phys, PMM_ORDER_2M);
	phys = pmm_alloc(&f->p, PMM_MAX_ORDER);
	assert_int_equal(phys, 1ULL << 30);
	assert_int_equal(pmm_free_pages(&f->p), 0);
	pmm_free(&f->p, phys, PMM_MAX_ORDER);
	assert_int_equal(pmm_free_pages(&f->p), 1ULL << PMM_MAX_ORDER);
	fixture_free(f);
}

static void test_random_sequence(void **state)
{
	struct fixture *f = *state;
	struct block *live = calloc(TEST_NPAGES, sizeof(*live));
	struct free_picture initial, now;
	uint64_t live_pages = 0;
	size_t nlive = 0, step;

	pmm_add_free(&f->p, TEST_BASE, TEST_BASE + TEST_BYTES);
	picture(f, &initial);
	rng_state = 0x243f6a8885a308d3ULL;
	for (step = 0; step < 50000; step++) {
		if (nlive == 0 || rng() % 100 < 55) {
			unsigned order = (unsigned)(rng() % 11);
			uint64_t phys = pmm_alloc(&f->p, order);

			if (phys) {
				track_alloc(f, phys, order);
				live[nlive].phys = phys;
				live[nlive++].order = order;
				live_pages += 1ULL << order;
			} else {
				/* Refused: then no block of that order may be free. */
				unsigned o;

				for (o = order; o <= PMM_MAX_ORDER; o++)
					assert_int_equal(f->p.free_head[o], 0);
			}
		} else {
			size_t k = rng() % nlive;

			untrack_and_free(f, live[k].phys, live[k].order);
			live_pages -= 1ULL << live[k].order;
			live[k] = live[--nlive];
		}
		assert_int_equal(pmm_free_pages(&f->p), TEST_NPAGES - live_pages);
	}
	while (nlive) {
		nlive--;
		untrack_and_free(f, live[nlive].phys, live[nlive].order);
	}
	assert_int_equal(pmm_free_pages(&f->p), TEST_NPAGES);
	picture(f, &now);
	assert_memory_equal(&initial, &now, sizeof(now));
	free(live);
}

static bool in_ranges(uint64_t phys, unsigned order, const uint64_t (*r)[2], size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (phys >= r[i][0] && phys + (PAGE_SIZE << order) <= r[i][1])
			return true;
	return false;
}

static void test_holes_never_handed_out(void **state)
{
	struct fixture *f = *state;
	struct block *b = calloc(TEST_NPAGES, sizeof(*b));
	/* Ranges as passed (some unaligned) and as they must round inwards. */
	static const uint64_t given[3][2] = {
	    {TEST_BASE, TEST_BASE + 0x500000},
	    {TEST_BASE + 0x700123, TEST_BASE + 0x1400fff},
	    {TEST_BASE + 0x1a00000, TEST_BASE + TEST_BYTES},
	};
	static const uint64_t usable[3][2] = {
	    {TEST_BASE, TEST_BASE + 0x500000},
	    {TEST_BASE + 0x701000, TEST_BASE + 0x1400000},
	    {TEST_BASE + 0x1a00000, TEST_BASE + TEST_BYTES},
	};
	uint64_t expect = 0;
	size_t i, n = 0;
	unsigned order;

	for (i = 0; i < 3; i++) {
		pmm_add_free(&f->p, given[i][0], given[i][1]);
		expect += (usable[i][1] - usable[i][0]) / PAGE_SIZE;
	}
	assert_int_equal(pmm_free_pages(&f->p), expect);
	assert_int_equal(f->p.total_pages, expect);
	/* Drain from large to small so every order that fits gets exercised
	 * (track_alloc checks natural alignment); 32 MiB is the largest. */
	assert_int_equal(pmm_alloc(&f->p, 14), 0);
	for (order = 14; order-- > 0;)
		n += exhaust(f, order, b + n, TEST_NPAGES - n);
	assert_int_equal(pmm_free_pages(&f->p), 0);
	for (i = 0; i < n; i++)
		assert_true(in_ranges(b[i].phys, b[i].order, usable, 3));
	for (i = 0; i < n; i++)
		untrack_and_free(f, b[i].phys, b[i].order);
	assert_int_equal(pmm_free_pages(&f->p), expect);
	/* Freeing a page in a hole (never added) must be ignored. */
	pmm_free(&f->p, TEST_BASE + 0x600000, 0);
	assert_int_equal(pmm_free_pages(&f->p), expect);
	free(b);
}

static void test_page_zero_never_free(void **state)
{
	struct fixture *f = fixture_new(0, 1024, false);
	struct block b[1024];
	size_t n;

	(void)state;
	pmm_add_free(&f->p, 0, 1024 * PAGE_SIZE);
	assert_int_equal(pmm_free_pages(&f->p), 1023);
	n = exhaust(f, 0, b, 1024); /* track_alloc asserts phys != 0 */
	assert_int_equal(n, 1023);
	pmm_free(&f->p, 0, 0); /* ignored */
	assert_int_equal(pmm_free_pages(&f->p), 0);
	while (n--)
		untrack_and_free(f, b[n].phys, 0);
	assert_int_equal(pmm_free_pages(&f->p), 1023);
	fixture_free(f);
}

static void test_rounding_and_clipping(void **state)
{
	struct fixture *f = *state;

	pmm_add_free(&f->p, TEST_BASE + 1, TEST_BASE + 3 * PAGE_SIZE + 5);
	assert_int_equal(pmm_free_pages(&f->p), 2);
	pmm_add_free(&f->p, TEST_BASE + 0x10000 + 1, TEST_BASE + 0x10000 + 4095); /* < 1 page */
	assert_int_equal(pmm_free_pages(&f->p), 2);
	/* Partly below and above the tracked range: clipped to it. */
	pmm_add_free(&f->p, 0, TEST_BASE + PAGE_SIZE);
	assert_int_equal(pmm_free_pages(&f->p), 3);
	pmm_add_free(&f->p, TEST_BASE + TEST_BYTES - PAGE_SIZE, TEST_BASE + 2 * TEST_BYTES);
	assert_int_equal(pmm_free_pages(&f->p), 4);
	pmm_add_free(&f->p, UINT64_MAX - 10, UINT64_MAX);
	assert_int_equal(pmm_free_pages(&f->p), 4);
	/* Pages 0..2 are now adjacent free pages of one aligned 4-page group
	 * minus page 3: they coalesce into an order-1 and an order-0 block. */
	assert_int_equal(f->p.free_head[1], TEST_BASE);
	assert_int_equal(f->p.free_head[0] != 0, 1);
}

static void test_bad_frees_ignored(void **state)
{
	struct fixture *f = *state;
	uint64_t a, b2, before;
	struct block rest[TEST_NPAGES / 4];
	size_t n;

	pmm_add_free(&f->p, TEST_BASE, TEST_BASE + TEST_BYTES);
	a = pmm_alloc(&f->p, 2);
	b2 = pmm_alloc(&f->p, 0);
	track_alloc(f, a, 2);
	track_alloc(f, b2, 0);
	before = pmm_free_pages(&f->p);
	pmm_free(&f->p, a + PAGE_SIZE, 0); /* interior page */
	pmm_free(&f->p, a, 1); /* wrong order */
	pmm_free(&f->p, a, 3); /* wrong order, larger */
	pmm_free(&f->p, a + 12, 2); /* unaligned */
	pmm_free(&f->p, TEST_BASE - PAGE_SIZE, 0); /* below the range */
	pmm_free(&f->p, TEST_BASE + TEST_BYTES, 0); /* above the range */
	pmm_free(&f->p, a, PMM_MAX_ORDER + 1);
	assert_int_equal(pmm_free_pages(&f->p), before);
	untrack_and_free(f, b2, 0);
	pmm_free(&f->p, b2, 0); /* double free */
	assert_int_equal(pmm_free_pages(&f->p), before + 1);
	untrack_and_free(f, a, 2);
	pmm_free(&f->p, a, 2); /* double free after coalescing */
	assert_int_equal(pmm_free_pages(&f->p), TEST_NPAGES);
	/* State is intact: everything can be allocated once, without overlap. */
	n = exhaust(f, 2, rest, TEST_NPAGES / 4);
	assert_int_equal(n, TEST_NPAGES / 4);
	while (n--)
		untrack_and_free(f, rest[n].phys, 2);
	assert_int_equal(pmm_free_pages(&f->p), TEST_NPAGES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_empty_until_added, setup_64m, teardown),
	    cmocka_unit_test_setup_teardown(test_exhaust_and_refill, setup_64m, teardown),
	    cmocka_unit_test_setup_teardown(test_coalesce_after_freeing_all, setup_64m, teardown),
	    cmocka_unit_test(test_max_order_block),
	    cmocka_unit_test_setup_teardown(test_random_sequence, setup_64m, teardown),
	    cmocka_unit_test_setup_teardown(test_holes_never_handed_out, setup_64m, teardown),
	    cmocka_unit_test(test_page_zero_never_free),
	    cmocka_unit_test_setup_teardown(test_rounding_and_clipping, setup_64m, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_frees_ignored, setup_64m, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
