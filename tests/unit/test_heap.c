/* Unit tests for the heap (core/heap.c) over test page operations backed by
 * aligned_alloc. The test ops keep every block they hand out in a registry:
 * pages the heap gives back are only marked returned (so a buggy second kfree
 * reads valid memory instead of tripping ASan on freed memory), the order of
 * each return is checked, and teardown releases everything, including class
 * pages the heap keeps cached. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <keel/heap.h>

#define PAGE 4096UL
#define MAX_BLOCKS 4096

struct page_block {
	void *va;
	unsigned order;
	bool held; /* by the heap */
};

static struct page_block blocks[MAX_BLOCKS];
static size_t nblocks;
static uint64_t held_bytes; /* what the heap should report */
static bool fail_allocs; /* simulate an exhausted page allocator */

static void *test_pages_alloc(unsigned order)
{
	size_t bytes = PAGE << order;
	void *va;

	if (fail_allocs)
		return NULL;
	assert_true(nblocks < MAX_BLOCKS);
	va = aligned_alloc(PAGE, bytes);
	assert_non_null(va);
	memset(va, 0, bytes);
	blocks[nblocks].va = va;
	blocks[nblocks].order = order;
	blocks[nblocks].held = true;
	nblocks++;
	held_bytes += bytes;
	return va;
}

static void test_pages_free(void *va, unsigned order)
{
	size_t i;

	for (i = 0; i < nblocks; i++) {
		if (blocks[i].va == va) {
			assert_true(blocks[i].held); /* not returned twice */
			assert_int_equal(blocks[i].order, order);
			blocks[i].held = false;
			held_bytes -= PAGE << order;
			return;
		}
	}
	fail_msg("pages_free(%p) of a block never handed out", va);
}

static const struct heap_ops test_ops = {
    .pages_alloc = test_pages_alloc,
    .pages_free = test_pages_free,
};

static int setup(void **state)
{
	(void)state;
	nblocks = 0;
	held_bytes = 0;
	fail_allocs = false;
	heap_init(&test_ops);
	return 0;
}

static int teardown(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < nblocks; i++)
		free(blocks[i].va);
	nblocks = 0;
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_zero_and_null(void **state)
{
	(void)state;
	assert_null(kzalloc(0));
	kfree(NULL);
	assert_int_equal(heap_bytes_in_use(), 0);
}

static void test_many_sizes(void **state)
{
	static const size_t sizes[] = {
	    1,    2,    15,   16,   17,   31,   32,   33,   63,   64,    65,    100,   127,
	    128,  129,  255,  256,  257,  500,  511,  512,  513,  1000,  1023,  1024,  1025,
	    2000, 2047, 2048, 2049, 4000, 4080, 4081, 4096, 8192, 10000, 65536, 100000};
	const size_t n = sizeof(sizes) / sizeof(sizes[0]);
	uint8_t *ptrs[sizeof(sizes) / sizeof(sizes[0])];
	size_t i;

	(void)state;
	for (i = 0; i < n; i++) {
		ptrs[i] = kzalloc(sizes[i]);
		assert_non_null(ptrs[i]);
		assert_int_equal((uintptr_t)ptrs[i] & 15, 0);
		assert_true(all_zero(ptrs[i], sizes[i]));
		memset(ptrs[i], (int)(i + 1), sizes[i]);
	}
	/* No allocation overlapped another: every pattern is intact. */
	for (i = 0; i < n; i++) {
		size_t k;

		for (k = 0; k < sizes[i]; k++)
			assert_int_equal(ptrs[i][k], (uint8_t)(i + 1));
	}
	for (i = 0; i < n; i++)
		kfree(ptrs[i]);
	assert_int_equal(heap_bytes_in_use(), held_bytes);
}

static void test_reuse_is_zeroed(void **state)
{
	uint8_t *p, *q;

	(void)state;
	p = kzalloc(100);
	memset(p, 0xab, 100);
	kfree(p);
	q = kzalloc(120); /* same 128-byte class */
	assert_ptr_equal(p, q);
	assert_true(all_zero(q, 128));
	kfree(q);
	/* A freed object comes back before the heap asks for a new page. */
	assert_int_equal(nblocks, 1);
}

static void test_bytes_in_use(void **state)
{
	void *small[256], *big, *big2;
	size_t i;

	(void)state;
	small[0] = kzalloc(16);
	assert_int_equal(heap_bytes_in_use(), PAGE);
	/* A 16-byte class page holds (4096 - 16) / 16 = 255 objects. */
	for (i = 1; i < 255; i++)
		small[i] = kzalloc(16);
	assert_int_equal(heap_bytes_in_use(), PAGE);
	small[255] = kzalloc(16);
	assert_int_equal(heap_bytes_in_use(), 2 * PAGE);
	/* Large: the 16-byte header decides where the next order starts. */
	big = kzalloc(PAGE - 16);
	assert_int_equal(heap_bytes_in_use(), 3 * PAGE);
	big2 = kzalloc(PAGE - 15);
	assert_int_equal(heap_bytes_in_use(), 5 * PAGE);
	assert_int_equal(heap_bytes_in_use(), held_bytes);
	kfree(big);
	kfree(big2);
	assert_int_equal(heap_bytes_in_use(), 2 * PAGE);
	/* Class pages stay cached after their objects are freed. */
	for (i = 0; i < 256; i++)
		kfree(small[i]);
	assert_int_equal(heap_bytes_in_use(), 2 * PAGE);
	assert_int_equal(heap_bytes_in_use(), held_bytes);
	for (i = 0; i < 256; i++)
		small[i] = kzalloc(16);
	assert_int_equal(heap_bytes_in_use(), 2 * PAGE);
}

static void test_large_allocations(void **state)
{
	static const size_t sizes[] = {2049, 3000, 4080, 4081, 20000, 1 << 20};
	static const unsigned orders[] = {0, 0, 0, 1, 3, 9};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *p = kzalloc(sizes[i]);

		assert_non_null(p);
		assert_int_equal((uintptr_t)p & 15, 0);
		assert_true(all_zero(p, sizes[i]));
		memset(p, 0x5a, sizes[i]);
		assert_int_equal(blocks[nblocks - 1].order, orders[i]);
		assert_int_equal(heap_bytes_in_use(), PAGE << orders[i]);
		kfree(p); /* test_pages_free checks the order */
		assert_false(blocks[nblocks - 1].held);
		assert_int_equal(heap_bytes_in_use(), 0);
	}
	/* Beyond what the page allocator could ever provide. */
	assert_null(kzalloc((size_t)1 << 40));
	assert_null(kzalloc(SIZE_MAX));
	assert_int_equal(heap_bytes_in_use(), 0);
}

static void test_bad_frees_ignored(void **state)
{
	uint8_t *a, *b, *c, *big, *foreign;
	uint64_t bytes;

	(void)state;
	a = kzalloc(64);
	b = kzalloc(64);
	big = kzalloc(10000);
	bytes = heap_bytes_in_use();

	kfree(a + 8); /* inside an object */
	kfree((uint8_t *)((uintptr_t)a & ~(PAGE - 1)) + 4); /* inside the page header */
	kfree(big + 16); /* not the start of a large allocation */
	foreign = aligned_alloc(PAGE, PAGE);
	memset(foreign, 0xee, PAGE);
	kfree(foreign + 64); /* a page the heap never saw */
	free(foreign);
	assert_int_equal(heap_bytes_in_use(), bytes);

	/* Double free of a small object: the second is ignored, so two new
	 * allocations do not both get A. */
	kfree(a);
	kfree(a);
	c = kzalloc(64);
	assert_ptr_equal(c, a);
	c = kzalloc(64);
	assert_ptr_not_equal(c, a);
	assert_ptr_not_equal(c, b);

	/* Double free of a large block: returned once (test_pages_free checks). */
	kfree(big);
	kfree(big);
	assert_int_equal(heap_bytes_in_use(), held_bytes);
}

static void test_out_of_pages(void **state)
{
	void *p;

	(void)state;
	fail_allocs = true;
	assert_null(kzalloc(32));
	assert_null(kzalloc(5000));
	assert_int_equal(heap_bytes_in_use(), 0);
	fail_allocs = false;
	p = kzalloc(32);
	assert_non_null(p);
	kfree(p);
}

/* Random sizes and frees: contents never disturbed, accounting consistent. */
static void test_random_stress(void **state)
{
	enum { SLOTS = 512 };
	static uint8_t *ptr[SLOTS];
	static size_t len[SLOTS];
	size_t step, i;

	(void)state;
	memset(ptr, 0, sizeof(ptr));
	rng_state = 0xdeadbeefcafef00dULL;
	for (step = 0; step < 20000; step++) {
		size_t s = rng() % SLOTS;

		if (ptr[s]) {
			for (i = 0; i < len[s]; i++)
				assert_int_equal(ptr[s][i], (uint8_t)s);
			kfree(ptr[s]);
			ptr[s] = NULL;
		} else {
			/* Mostly small, sometimes up to four pages. */
			len[s] = rng() % 8 ? 1 + rng() % 2048 : 1 + rng() % (4 * PAGE);
			ptr[s] = kzalloc(len[s]);
			assert_non_null(ptr[s]);
			assert_int_equal((uintptr_t)ptr[s] & 15, 0);
			assert_true(all_zero(ptr[s], len[s]));
			memset(ptr[s], (int)s, len[s]);
		}
		assert_int_equal(heap_bytes_in_use(), held_bytes);
	}
	for (i = 0; i < SLOTS; i++)
		kfree(ptr[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_zero_and_null, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_sizes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reuse_is_zeroed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bytes_in_use, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_large_allocations, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_frees_ignored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_out_of_pages, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_random_stress, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
