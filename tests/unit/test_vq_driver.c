/* The driver side of a split virtqueue against a simulated device: chains
 * laid out as the spec says, completions collected, descriptors recycled,
 * index wrap-around, notification suppression, and a device that lies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <keel/vq_driver.h>

#define QSIZE 8

static struct vqdrv q;
static _Alignas(16) uint8_t area[4096];
static uint16_t dev_last_avail; /* the simulated device's position */
static uint16_t dev_used_idx;

static int setup(void **state)
{
	(void)state;
	memset(area, 0, sizeof(area));
	dev_last_avail = dev_used_idx = 0;
	assert_true(vqdrv_area_size(QSIZE) <= sizeof(area));
	return vqdrv_init(&q, area, QSIZE, true);
}

/* The device takes the next chain: its head, segment count, total
 * readable and writable bytes; -1 if none is available. */
static int dev_pop(unsigned *nsegs, uint32_t *readable, uint32_t *writable)
{
	if (q.avail[1] == dev_last_avail)
		return -1;
	uint16_t head = q.avail[2 + (dev_last_avail++ % QSIZE)];
	unsigned d = head, n = 0;
	*readable = *writable = 0;
	for (;;) {
		assert_true(d < QSIZE);
		if (q.desc[d].flags & 2)
			*writable += q.desc[d].len;
		else
			*readable += q.desc[d].len, assert_int_equal(*writable, 0);
		n++;
		if (!(q.desc[d].flags & 1))
			break;
		d = q.desc[d].next;
		assert_true(n < QSIZE);
	}
	*nsegs = n;
	return head;
}

static void dev_push(uint32_t id, uint32_t len)
{
	q.used_ring[dev_used_idx % QSIZE].id = id;
	q.used_ring[dev_used_idx % QSIZE].len = len;
	dev_used_idx++;
	q.used_hdr[1] = dev_used_idx;
}

static void test_layout_and_init(void **state)
{
	(void)state;
	assert_int_equal(vqdrv_avail_offset(QSIZE), 16 * QSIZE);
	assert_int_equal(vqdrv_used_offset(QSIZE) % 4, 0);
	assert_true(vqdrv_used_offset(QSIZE) >= 16 * QSIZE + 6 + 2 * QSIZE);
	assert_int_equal(vqdrv_area_size(256), 4096 + 6 + 512 + 2 + 6 + 2048);
	assert_int_equal(q.avail[0], VQDRV_AVAIL_F_NO_INTERRUPT);
	assert_int_equal(vqdrv_free_count(&q), QSIZE);
	struct vqdrv bad;
	assert_int_equal(vqdrv_init(&bad, area, 6, false), -1);
	assert_int_equal(vqdrv_init(&bad, area, 0, false), -1);
	assert_int_equal(vqdrv_init(&bad, area, 512, false), -1);
}

static void test_chain_round_trip(void **state)
{
	(void)state;
	int token = 1;
	struct vqdrv_seg segs[3] = {{0x1000, 16}, {0x2000, 4096}, {0x3000, 1}};
	int head = vqdrv_add(&q, segs, 1, 2, &token);
	assert_true(head >= 0);
	assert_int_equal(vqdrv_free_count(&q), QSIZE - 3);
	void *got;
	uint32_t len;
	assert_int_equal(vqdrv_get_used(&q, &got, &len), 0);

	unsigned n;
	uint32_t rd, wr;
	assert_int_equal(dev_pop(&n, &rd, &wr), head);
	assert_int_equal(n, 3);
	assert_int_equal(rd, 16);
	assert_int_equal(wr, 4097);
	dev_push((uint32_t)head, 4097);
	assert_int_equal(vqdrv_get_used(&q, &got, &len), 1);
	assert_ptr_equal(got, &token);
	assert_int_equal(len, 4097);
	assert_int_equal(vqdrv_free_count(&q), QSIZE);
	assert_int_equal(vqdrv_get_used(&q, &got, &len), 0);
}

/* Many more chains than the ring holds, completed out of order: indices
 * wrap, every descriptor comes back, tokens match. */
static void test_wraps_and_out_of_order_completion(void **state)
{
	(void)state;
	static int tokens[QSIZE];
	void *got;
	uint32_t len;

	for (unsigned round = 0; round < 20000; round++) {
		struct vqdrv_seg seg[2] = {{0x1000, 64}, {0x2000, 64}};
		int heads[4];
		for (int i = 0; i < 4; i++) {
			heads[i] = vqdrv_add(&q, seg, 1, 1, &tokens[i]);
			assert_true(heads[i] >= 0);
		}
		/* Full: the fifth chain does not fit. */
		assert_int_equal(vqdrv_add(&q, seg, 1, 1, &tokens[4]), -1);
		unsigned n;
		uint32_t rd, wr;
		int popped[4];
		for (int i = 0; i < 4; i++)
			popped[i] = dev_pop(&n, &rd, &wr);
		for (int i = 3; i >= 0; i--)
			dev_push((uint32_t)popped[i], 10);
		for (int i = 3; i >= 0; i--) {
			assert_int_equal(vqdrv_get_used(&q, &got, &len), 1);
			assert_ptr_equal(got, &tokens[i]);
		}
	}
	assert_int_equal(vqdrv_free_count(&q), QSIZE);
	assert_int_equal(q.avail_idx, (uint16_t)(20000 * 4));
}

static void test_refused_chains(void **state)
{
	(void)state;
	int token;
	struct vqdrv_seg segs[QSIZE + 1];
	for (unsigned i = 0; i < QSIZE + 1; i++)
		segs[i] = (struct vqdrv_seg){0x1000, 1};
	assert_int_equal(vqdrv_add(&q, segs, QSIZE + 1, 0, &token), -1); /* too long */
	assert_int_equal(vqdrv_add(&q, segs, 1, 0, NULL), -1); /* no token */
	assert_int_equal(vqdrv_add(&q, segs, 0, 0, &token), -1); /* empty */
	segs[1].len = 0;
	assert_int_equal(vqdrv_add(&q, segs, 1, 1, &token), -1); /* zero length */
	assert_int_equal(vqdrv_free_count(&q), QSIZE);
	segs[1].len = 1;
	assert_true(vqdrv_add(&q, segs, QSIZE, 0, &token) >= 0); /* exactly fits */
	assert_int_equal(vqdrv_free_count(&q), 0);
}

static void test_kick_suppression(void **state)
{
	(void)state;
	assert_true(vqdrv_kick_needed(&q));
	q.used_hdr[0] = VQDRV_USED_F_NO_NOTIFY;
	assert_false(vqdrv_kick_needed(&q));
}

/* A device that completes what was never sent, twice, or writes more than
 * was offered breaks the queue for good. */
static void test_lying_device(void **state)
{
	(void)state;
	int token;
	void *got;
	uint32_t len;
	struct vqdrv_seg seg = {0x1000, 100};

	/* Used idx ahead with nothing in flight. */
	dev_push(0, 0);
	assert_int_equal(vqdrv_get_used(&q, &got, &len), -1);
	assert_int_equal(vqdrv_add(&q, &seg, 0, 1, &token), -1);

	setup(NULL);
	int head = vqdrv_add(&q, &seg, 0, 1, &token);
	dev_push((uint32_t)head + 1, 0); /* not a head in flight */
	assert_int_equal(vqdrv_get_used(&q, &got, &len), -1);

	setup(NULL);
	head = vqdrv_add(&q, &seg, 0, 1, &token);
	dev_push(QSIZE + 3, 0); /* out of range */
	assert_int_equal(vqdrv_get_used(&q, &got, &len), -1);

	setup(NULL);
	head = vqdrv_add(&q, &seg, 0, 1, &token);
	dev_push((uint32_t)head, 101); /* wrote past the buffer */
	assert_int_equal(vqdrv_get_used(&q, &got, &len), -1);
	assert_int_equal(vqdrv_free_count(&q), 0);

	setup(NULL);
	head = vqdrv_add(&q, &seg, 1, 0, &token);
	dev_push((uint32_t)head, 1); /* wrote into a read-only chain */
	assert_int_equal(vqdrv_get_used(&q, &got, &len), -1);

	setup(NULL);
	head = vqdrv_add(&q, &seg, 0, 1, &token);
	dev_push((uint32_t)head, 100);
	dev_push((uint32_t)head, 100); /* the same chain twice */
	assert_int_equal(vqdrv_get_used(&q, &got, &len), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_layout_and_init, setup),
	    cmocka_unit_test_setup(test_chain_round_trip, setup),
	    cmocka_unit_test_setup(test_wraps_and_out_of_order_completion, setup),
	    cmocka_unit_test_setup(test_refused_chains, setup),
	    cmocka_unit_test_setup(test_kick_suppression, setup),
	    cmocka_unit_test_setup(test_lying_device, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
