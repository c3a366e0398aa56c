/* Unit tests for the split virtqueue engine (core/virtqueue.c). The guest is
 * a 1 MiB buffer reached only through callbacks that refuse anything outside
 * it (and writes to its last 64 KiB, a "ROM"); the tests play the driver by
 * building rings in it, and check that hostile rings break the queue without
 * any access outside the buffer or any write outside the used ring. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <keel/virtqueue.h>

#define MEM_SIZE (1u << 20)
#define ROM_BASE (MEM_SIZE - 0x10000u) /* readable, not writable */
#define DESC 0x10000u /* room for 4096 descriptors */
#define AVAIL 0x20000u
#define USED 0x30000u
#define ITABLE 0x40000u /* indirect tables */
#define BUF 0x50000u /* buffers, up to ROM_BASE */
#define V1 VQ_F_VERSION_1
#define IND VQ_F_INDIRECT_DESC
#define EVT VQ_F_EVENT_IDX
#define NEXT VQ_DESC_F_NEXT
#define WRITE VQ_DESC_F_WRITE
#define INDIRECT VQ_DESC_F_INDIRECT
#define LOG_MAX 64

static uint8_t mem[MEM_SIZE];
static uint8_t shadow[MEM_SIZE];

/* What the engine did to guest memory. */
struct op {
	char kind; /* 'r', 'w', 'f' (fence) */
	uint64_t gpa;
	uint32_t len;
	int fence;
};

static struct fake {
	unsigned reads, writes, checks, fences;
	unsigned refused; /* reads or writes the fake refused */
	unsigned stray; /* writes outside [win_lo, win_hi) */
	uint64_t win_lo, win_hi;
	bool check_all; /* check accepts anything: a huge, sparse guest */
	bool fail_all; /* reads and writes all fail */
	void (*on_fence)(void); /* a guest racing with the device */
	struct op log[LOG_MAX];
	unsigned nlog;
} f;

static struct virtqueue q;
static struct vq_chain chain;
static uint16_t aidx; /* the driver's avail idx */

static bool in_mem(uint64_t gpa, uint64_t len)
{
	return gpa < MEM_SIZE && len <= MEM_SIZE - gpa;
}

static void log_op(char kind, uint64_t gpa, uint32_t len, int fence)
{
	if (f.nlog < LOG_MAX)
		f.log[f.nlog++] = (struct op){kind, gpa, len, fence};
}

static int fake_read(void *ctx, uint64_t gpa, void *buf, uint32_t len)
{
	assert_ptr_equal(ctx, &f);
	f.reads++;
	log_op('r', gpa, len, 0);
	if (f.fail_all || !in_mem(gpa, len)) {
		f.refused++;
		return -1;
	}
	memcpy(buf, mem + gpa, len);
	return 0;
}

static int fake_write(void *ctx, uint64_t gpa, const void *buf, uint32_t len)
{
	assert_ptr_equal(ctx, &f);
	f.writes++;
	log_op('w', gpa, len, 0);
	if (f.fail_all || !in_mem(gpa, len) || gpa + len > ROM_BASE) {
		f.refused++;
		return -1;
	}
	if (gpa < f.win_lo || gpa + len > f.win_hi)
		f.stray++;
	memcpy(mem + gpa, buf, len);
	return 0;
}

static int fake_check(void *ctx, uint64_t gpa, uint32_t len, bool write)
{
	assert_ptr_equal(ctx, &f);
	f.checks++;
	if (f.check_all)
		return 0;
	if (!in_mem(gpa, len) || (write && gpa + len > ROM_BASE))
		return -1;
	return 0;
}

static void fake_fence(void *ctx, int kind)
{
	assert_ptr_equal(ctx, &f);
	f.fences++;
	log_op('f', 0, 0, kind);
	if (f.on_fence)
		f.on_fence();
}

static const struct vq_mem_ops ops = {fake_read, fake_write, fake_check, fake_fence};

/* ---- The driver's side ---- */

static void w16(uint64_t gpa, uint16_t v)
{
	mem[gpa] = (uint8_t)v;
	mem[gpa + 1] = (uint8_t)(v >> 8);
}

static void w32(uint64_t gpa, uint32_t v)
{
	w16(gpa, (uint16_t)v);
	w16(gpa + 2, (uint16_t)(v >> 16));
}

static uint16_t r16(uint64_t gpa)
{
	return (uint16_t)(mem[gpa] | mem[gpa + 1] << 8);
}

static uint32_t r32(uint64_t gpa)
{
	return r16(gpa) | (uint32_t)r16(gpa + 2) << 16;
}

static void put_desc(uint64_t table, uint32_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	uint64_t p = table + 16ull * i;

	w32(p, (uint32_t)addr);
	w32(p + 4, (uint32_t)(addr >> 32));
	w32(p + 8, len);
	w16(p + 12, flags);
	w16(p + 14, next);
}

static void set_avail_idx(uint16_t idx)
{
	aidx = idx;
	w16(AVAIL + 2, idx);
}

/* Publish HEAD in the next avail ring entry. */
static void offer(uint16_t head)
{
	w16(AVAIL + 4 + 2u * (aidx & (q.size - 1u)), head);
	set_avail_idx((uint16_t)(aidx + 1));
}

static uint64_t used_end(void)
{
	return USED + 6 + 8ull * q.size;
}

static uint64_t used_event_gpa(void)
{
	return (AVAIL + 4 + 2u * q.size);
}

static uint16_t avail_event(void)
{
	return r16(used_end() - 2);
}

/* Fresh memory and a queue of SIZE with FEATURES (VERSION_1 added). */
static void reset(uint32_t size, uint64_t features)
{
	memset(mem, 0, sizeof(mem));
	memset(&f, 0, sizeof(f));
	aidx = 0;
	assert_int_equal(vq_setup(&q, size, DESC, AVAIL, USED, features | V1), 0);
	f.win_lo = USED;
	f.win_hi = used_end();
}

static int setup8(void **state)
{
	(void)state;
	reset(8, 0);
	return 0;
}

static void snapshot(void)
{
	memcpy(shadow, mem, sizeof(mem));
}

/* Nothing changed outside the used ring since snapshot(). */
static void assert_only_used_changed(void)
{
	assert_memory_equal(mem, shadow, USED);
	assert_memory_equal(mem + used_end(), shadow + used_end(), MEM_SIZE - used_end());
	assert_int_equal(f.stray, 0);
}

static void expect_seg(unsigned i, uint64_t gpa, uint32_t len, bool writable)
{
	assert_true(i < chain.nseg);
	assert_int_equal(chain.seg[i].gpa, gpa);
	assert_int_equal(chain.seg[i].len, len);
	assert_int_equal(chain.seg[i].writable, writable);
}

static int pop(void)
{
	return vq_pop(&q, &ops, &f, &chain);
}

static int push(uint16_t head, uint32_t written)
{
	return vq_push(&q, &ops, &f, head, written);
}

/* ---- Normal operation ---- */

static void test_setup_checks(void **state)
{
	struct virtqueue t;

	(void)state;
	assert_int_equal(vq_setup(&t, 1, 0, 0, 0, V1), 0);
	assert_int_equal(vq_setup(&t, 32768, DESC, AVAIL, USED, V1 | IND | EVT), 0);
	assert_true(t.indirect && t.event_idx && !t.broken && t.size == 32768);
	assert_true(vq_state_valid(&t));
	assert_int_equal(vq_setup(&t, 256, DESC, AVAIL, USED, V1), 0);
	assert_false(t.indirect || t.event_idx);
	assert_int_equal(vq_setup(&t, 0, DESC, AVAIL, USED, V1), -1);
	assert_int_equal(t.size, 0); /* left not set up */
	assert_int_equal(vq_setup(&t, 65536, DESC, AVAIL, USED, V1), -1);
	assert_int_equal(vq_setup(&t, 24, DESC, AVAIL, USED, V1), -1);
	assert_int_equal(vq_setup(&t, 8, DESC, AVAIL, USED, 0), -1); /* legacy */
	assert_int_equal(vq_setup(&t, 8, DESC + 8, AVAIL, USED, V1), -1);
	assert_int_equal(vq_setup(&t, 8, DESC, AVAIL + 1, USED, V1), -1);
	assert_int_equal(vq_setup(&t, 8, DESC, AVAIL, USED + 2, V1), -1);
	/* Areas that wrap or end at 2^64. */
	assert_int_equal(vq_setup(&t, 8, UINT64_MAX - 127, AVAIL, USED, V1), -1);
	assert_int_equal(vq_setup(&t, 8, UINT64_MAX - 255, AVAIL, USED, V1), 0);
	assert_int_equal(vq_setup(&t, 8, DESC, UINT64_MAX - 21, USED, V1), -1);
	assert_int_equal(vq_setup(&t, 8, DESC, UINT64_MAX - 23, USED, V1), 0);
	assert_int_equal(vq_setup(&t, 8, DESC, AVAIL, 0 - 68ull, V1), -1);
	assert_int_equal(vq_setup(&t, 8, DESC, AVAIL, 0 - 72ull, V1), 0);
	/* Snapshots. */
	vq_init(&t);
	assert_true(vq_state_valid(&t));
	assert_int_equal(vq_setup(&t, 8, DESC, AVAIL, USED, V1), 0);
	t.inflight = 9;
	assert_false(vq_state_valid(&t));
	t.inflight = 8;
	assert_true(vq_state_valid(&t));
	t.size = 12;
	assert_false(vq_state_valid(&t));
	t.size = 8;
	t.avail = 3;
	assert_false(vq_state_valid(&t));
}

static void test_not_set_up(void **state)
{
	(void)state;
	vq_init(&q);
	assert_int_equal(pop(), 0);
	assert_int_equal(push(0, 0), -1);
	assert_true(q.broken);
	assert_int_equal(f.reads + f.writes, 0);
}

static void test_single_segment(void **state)
{
	uint8_t buf[8];

	(void)state;
	memcpy(mem + BUF, "request!", 8);
	put_desc(DESC, 3, BUF, 8, 0, 0);
	offer(3);
	assert_int_equal(pop(), 1);
	assert_int_equal(chain.head, 3);
	assert_int_equal(chain.nseg, 1);
	assert_int_equal(chain.nread, 1);
	assert_int_equal(chain.read_len, 8);
	assert_int_equal(chain.write_len, 0);
	expect_seg(0, BUF, 8, false);
	assert_int_equal(vq_chain_read(&chain, &ops, &f, 0, buf, 8), 8);
	assert_memory_equal(buf, "request!", 8);
	assert_int_equal(vq_chain_read(&chain, &ops, &f, 6, buf, 8), 2);
	assert_int_equal(vq_chain_read(&chain, &ops, &f, 8, buf, 8), 0);
	assert_int_equal(vq_chain_write(&chain, &ops, &f, 0, buf, 8), 0); /* nothing writable */
	assert_int_equal(q.last_avail, 1);
	assert_int_equal(q.inflight, 1);
	assert_int_equal(pop(), 0);
	assert_int_equal(f.writes, 0);
	assert_int_equal(f.refused, 0);
}

/* Three readable, then two writable segments, linked out of order. */
static void test_mixed_chain(void **state)
{
	uint8_t buf[32];

	(void)state;
	memcpy(mem + BUF, "abcd", 4);
	memcpy(mem + BUF + 0x100, "efghij", 6);
	memcpy(mem + BUF + 0x200, "k", 1);
	put_desc(DESC, 5, BUF, 4, NEXT, 2);
	put_desc(DESC, 2, BUF + 0x100, 6, NEXT, 7);
	put_desc(DESC, 7, BUF + 0x200, 1, NEXT, 0);
	put_desc(DESC, 0, BUF + 0x300, 3, NEXT | WRITE, 1);
	put_desc(DESC, 1, BUF + 0x400, 5, WRITE, 6); /* next ignored: no NEXT */
	offer(5);
	snapshot();
	assert_int_equal(pop(), 1);
	assert_int_equal(chain.head, 5);
	assert_int_equal(chain.nseg, 5);
	assert_int_equal(chain.nread, 3);
	assert_int_equal(chain.read_len, 11);
	assert_int_equal(chain.write_len, 8);
	expect_seg(2, BUF + 0x200, 1, false);
	expect_seg(3, BUF + 0x300, 3, true);
	expect_seg(4, BUF + 0x400, 5, true);
	/* Gathers across segment boundaries. */
	assert_int_equal(vq_chain_read(&chain, &ops, &f, 0, buf, 32), 11);
	assert_memory_equal(buf, "abcdefghijk", 11);
	assert_int_equal(vq_chain_read(&chain, &ops, &f, 3, buf, 4), 4);
	assert_memory_equal(buf, "defg", 4);
	/* Scatters into the writable part only. */
	f.win_lo = BUF;
	f.win_hi = ROM_BASE;
	assert_int_equal(vq_chain_write(&chain, &ops, &f, 1, "XYZUVW", 6), 6);
	assert_memory_equal(mem + BUF + 0x301, "XY", 2);
	assert_memory_equal(mem + BUF + 0x400, "ZUVW", 4);
	assert_int_equal(mem[BUF + 0x300], 0);
	assert_int_equal(vq_chain_write(&chain, &ops, &f, 6, "123456", 6), 2);
	assert_memory_equal(mem + BUF + 0x403, "12", 2);
	assert_int_equal(vq_chain_write(&chain, &ops, &f, 100, "1", 1), 0);
	assert_memory_equal(mem + BUF, shadow + BUF, 0x300); /* readable untouched */
	assert_int_equal(f.stray, 0);
	/* A callback failing mid-copy. */
	f.fail_all = true;
	assert_int_equal(vq_chain_read(&chain, &ops, &f, 0, buf, 4), -1);
	assert_int_equal(vq_chain_write(&chain, &ops, &f, 0, buf, 4), -1);
}

static void test_zero_length(void **state)
{
	(void)state;
	/* Skipped wherever they are; a readable empty one after a writable. */
	put_desc(DESC, 0, 0xdead0000000ull, 0, NEXT, 1);
	put_desc(DESC, 1, BUF, 4, NEXT | WRITE, 2);
	put_desc(DESC, 2, UINT64_MAX, 0, NEXT, 3);
	put_desc(DESC, 3, BUF + 16, 4, WRITE, 0);
	offer(0);
	/* A chain of nothing but empty descriptors. */
	put_desc(DESC, 4, BUF, 0, NEXT | WRITE, 5);
	put_desc(DESC, 5, BUF, 0, 0, 0);
	offer(4);
	assert_int_equal(pop(), 1);
	assert_int_equal(chain.nseg, 2);
	assert_int_equal(chain.nread, 0);
	expect_seg(0, BUF, 4, true);
	expect_seg(1, BUF + 16, 4, true);
	assert_int_equal(pop(), 1);
	assert_int_equal(chain.head, 4);
	assert_int_equal(chain.nseg, 0);
	assert_int_equal(chain.read_len + chain.write_len, 0);
	assert_int_equal(f.refused, 0);
}

static void test_empty_ring(void **state)
{
	(void)state;
	snapshot();
	for (int i = 0; i < 3; i++)
		assert_int_equal(pop(), 0);
	assert_int_equal(f.writes, 0); /* no EVENT_IDX: nothing to publish */
	assert_int_equal(f.fences, 0);
	assert_int_equal(f.reads, 3); /* avail idx only */
	assert_false(q.broken);
	assert_only_used_changed();
}

/* Free-running indices across 65535 -> 0, with ring slots wrapping too. */
static void test_wraparound(void **state)
{
	(void)state;
	q.last_avail = q.used_idx = 65533;
	w16(USED + 2, 65533);
	set_avail_idx(65533);
	for (uint16_t i = 0; i < 6; i++) {
		put_desc(DESC, i, BUF + 16u * i, 16, WRITE, 0);
		offer(i);
	}
	assert_int_equal(aidx, 3);
	for (uint16_t i = 0; i < 6; i++) {
		uint16_t slot = (uint16_t)(65533 + i) & 7;

		assert_int_equal(pop(), 1);
		assert_int_equal(chain.head, i);
		assert_int_equal(push(chain.head, 10u + i), 1);
		assert_int_equal(r32(USED + 4 + 8u * slot), i);
		assert_int_equal(r32(USED + 8 + 8u * slot), 10u + i);
		assert_int_equal(r16(USED + 2), (uint16_t)(65534 + i));
	}
	assert_int_equal(q.last_avail, 3);
	assert_int_equal(q.used_idx, 3);
	assert_int_equal(q.inflight, 0);
	assert_int_equal(pop(), 0);
}

/* Without EVENT_IDX: element, store fence, idx, full fence, avail flags. */
static void test_push_no_event_idx(void **state)
{
	(void)state;
	put_desc(DESC, 1, BUF, 64, WRITE, 0);
	put_desc(DESC, 2, BUF, 64, WRITE, 0);
	offer(1);
	offer(2);
	assert_int_equal(pop(), 1);
	assert_int_equal(pop(), 1);
	snapshot();
	f.nlog = 0;
	assert_int_equal(push(2, 40), 1);
	assert_int_equal(r32(USED + 4), 2);
	assert_int_equal(r32(USED + 8), 40);
	assert_int_equal(r16(USED + 2), 1);
	assert_int_equal(f.nlog, 5);
	assert_true(f.log[0].kind == 'w' && f.log[0].gpa == USED + 4 && f.log[0].len == 8);
	assert_true(f.log[1].kind == 'f' && f.log[1].fence == VQ_FENCE_STORE);
	assert_true(f.log[2].kind == 'w' && f.log[2].gpa == USED + 2 && f.log[2].len == 2);
	assert_true(f.log[3].kind == 'f' && f.log[3].fence == VQ_FENCE_FULL);
	assert_true(f.log[4].kind == 'r' && f.log[4].gpa == AVAIL && f.log[4].len == 2);
	/* The guest asks for no interrupts. */
	w16(AVAIL, VQ_AVAIL_F_NO_INTERRUPT);
	assert_int_equal(push(1, 0), 0);
	assert_int_equal(r32(USED + 12), 1);
	assert_int_equal(r16(USED + 2), 2);
	/* The device's idx is authoritative: guest scribbles are not read back. */
	w16(USED + 2, 999);
	w16(AVAIL, 0);
	offer(1);
	assert_int_equal(pop(), 1);
	assert_int_equal(push(1, 0), 1);
	assert_int_equal(r16(USED + 2), 3);
	assert_int_equal(r32(USED + 4 + 16), 1);
	assert_int_equal(r16(USED), 0); /* flags never written */
}

static void test_push_event_idx(void **state)
{
	(void)state;
	reset(8, EVT);
	for (uint16_t i = 0; i < 6; i++) {
		put_desc(DESC, i, BUF, 4, 0, 0);
		offer(i);
	}
	for (int i = 0; i < 6; i++)
		assert_int_equal(pop(), 1);
	w16(AVAIL, VQ_AVAIL_F_NO_INTERRUPT); /* ignored with EVENT_IDX */
	w16(used_event_gpa(), 0);
	f.nlog = 0;
	assert_int_equal(push(0, 0), 1); /* idx 0 -> 1 passes 0 */
	assert_true(f.log[4].kind == 'r' && f.log[4].gpa == used_event_gpa());
	assert_int_equal(push(1, 0), 0);
	w16(used_event_gpa(), 3);
	assert_int_equal(push(2, 0), 0); /* 2 -> 3 */
	assert_int_equal(push(3, 0), 1); /* 3 -> 4 passes 3 */
	w16(used_event_gpa(), 2); /* already behind */
	assert_int_equal(push(4, 0), 0);
	w16(used_event_gpa(), 5);
	assert_int_equal(push(5, 0), 1);
	/* The rule itself, modulo 2^16. */
	assert_true(vq_need_event(0xFFFF, 0, 0xFFFF));
	assert_true(vq_need_event(0xFFFE, 2, 0xFFF0));
	assert_false(vq_need_event(2, 2, 0xFFF0));
	assert_false(vq_need_event(5, 5, 5));
}

static void offer_one(void)
{
	offer(4);
	f.on_fence = NULL;
}

static void test_avail_event(void **state)
{
	(void)state;
	reset(8, EVT);
	w16(used_end() - 2, 0x7777);
	for (uint16_t i = 0; i < 2; i++) {
		put_desc(DESC, i, BUF, 4, 0, 0);
		offer(i);
	}
	put_desc(DESC, 4, BUF, 4, 0, 0);
	/* Draining does not move avail_event... */
	assert_int_equal(pop(), 1);
	assert_int_equal(pop(), 1);
	assert_int_equal(avail_event(), 0x7777);
	assert_int_equal(f.writes, 0);
	/* ...finding the ring empty publishes it, then looks again. */
	f.nlog = 0;
	assert_int_equal(pop(), 0);
	assert_int_equal(avail_event(), 2);
	assert_int_equal(f.nlog, 4);
	assert_true(f.log[0].kind == 'r' && f.log[0].gpa == AVAIL + 2);
	assert_true(f.log[1].kind == 'w' && f.log[1].gpa == used_end() - 2);
	assert_true(f.log[2].kind == 'f' && f.log[2].fence == VQ_FENCE_FULL);
	assert_true(f.log[3].kind == 'r' && f.log[3].gpa == AVAIL + 2);
	/* A guest adding an entry before it can see avail_event (so not
	 * kicking) does not strand it: the re-read finds it. */
	f.on_fence = offer_one;
	assert_int_equal(pop(), 1);
	assert_int_equal(chain.head, 4);
	assert_int_equal(pop(), 0);
	assert_int_equal(avail_event(), 3);
}

static void test_indirect(void **state)
{
	uint8_t buf[16];

	(void)state;
	reset(8, IND);
	memcpy(mem + BUF, "hdr", 3);
	/* A lone indirect descriptor; its WRITE flag is ignored. */
	put_desc(ITABLE, 0, BUF, 3, NEXT, 2);
	put_desc(ITABLE, 2, BUF + 0x100, 0, NEXT, 1);
	put_desc(ITABLE, 1, BUF + 0x200, 512, NEXT | WRITE, 3);
	put_desc(ITABLE, 3, BUF + 0x400, 1, WRITE, 0);
	put_desc(DESC, 6, ITABLE, 4 * 16, INDIRECT | WRITE, 0);
	offer(6);
	/* Direct descriptors, then an indirect one ending the chain. */
	put_desc(DESC, 0, BUF + 0x800, 8, NEXT, 3);
	put_desc(DESC, 3, ITABLE + 0x100, 32, INDIRECT, 0);
	put_desc(ITABLE + 0x100, 0, BUF + 0x900, 8, NEXT, 1);
	put_desc(ITABLE + 0x100, 1, BUF + 0xa00, 8, WRITE, 0);
	offer(0);
	assert_int_equal(pop(), 1);
	assert_int_equal(chain.head, 6);
	assert_int_equal(chain.nseg, 3);
	assert_int_equal(chain.nread, 1);
	expect_seg(0, BUF, 3, false);
	expect_seg(1, BUF + 0x200, 512, true);
	expect_seg(2, BUF + 0x400, 1, true);
	assert_int_equal(vq_chain_read(&chain, &ops, &f, 0, buf, 16), 3);
	assert_int_equal(pop(), 1);
	assert_int_equal(chain.head, 0);
	assert_int_equal(chain.nseg, 3);
	assert_int_equal(chain.nread, 2);
	expect_seg(0, BUF + 0x800, 8, false);
	expect_seg(1, BUF + 0x900, 8, false);
	expect_seg(2, BUF + 0xa00, 8, true);
	assert_int_equal(push(6, 1), 1);
	assert_int_equal(push(0, 8), 1);
	assert_int_equal(f.refused, 0);
}

/* The limits themselves are allowed. */
static void test_limits_reached(void **state)
{
	(void)state;
	reset(8, IND);
	for (unsigned i = 0; i < VQ_MAX_SEGS; i++)
		put_desc(ITABLE, i, BUF + 8u * i, 8, i + 1 < VQ_MAX_SEGS ? NEXT : 0,
			 (uint16_t)(i + 1));
	put_desc(DESC, 0, ITABLE, 16 * VQ_MAX_SEGS, INDIRECT, 0);
	offer(0);
	assert_int_equal(pop(), 1);
	assert_int_equal(chain.nseg, VQ_MAX_SEGS);
	/* A chain of exactly 2^32 bytes, in a guest that big. */
	f.check_all = true;
	put_desc(DESC, 1, 1ull << 40, 0x80000000u, NEXT, 2);
	put_desc(DESC, 2, 1ull << 41, 0x80000000u, WRITE, 0);
	offer(1);
	assert_int_equal(pop(), 1);
	assert_int_equal(chain.read_len + chain.write_len, VQ_MAX_CHAIN_BYTES);
	/* A full queue of single descriptors, each link used once. */
	reset(8, 0);
	for (uint16_t i = 0; i < 8; i++)
		put_desc(DESC, i, BUF, 1, i < 7 ? NEXT : 0, (uint16_t)(i + 1));
	offer(0);
	assert_int_equal(pop(), 1);
	assert_int_equal(chain.nseg, 8);
}

static void test_push_errors(void **state)
{
	(void)state;
	assert_int_equal(push(0, 0), -1); /* nothing in flight */
	assert_true(q.broken);
	reset(8, 0);
	put_desc(DESC, 0, BUF, 1, 0, 0);
	offer(0);
	assert_int_equal(pop(), 1);
	snapshot();
	assert_int_equal(push(8, 0), -1);
	assert_true(q.broken);
	assert_string_equal(q.why, "the device completed a chain it did not take");
	assert_int_equal(push(0, 0), -1); /* sticky */
	assert_int_equal(pop(), -1);
	assert_only_used_changed();
	assert_int_equal(r16(USED + 2), 0);
	/* vq_setup() starts over. */
	assert_int_equal(vq_setup(&q, 8, DESC, AVAIL, USED, V1), 0);
	assert_false(q.broken);
}

/* ---- Hostile rings: each must break the queue, touching nothing ---- */

struct hostile {
	const char *name;
	uint32_t size;
	uint64_t features;
	bool check_all;
	void (*build)(void);
};

static void h_loop(void)
{
	put_desc(DESC, 0, BUF, 8, NEXT, 1);
	put_desc(DESC, 1, BUF, 8, NEXT, 0);
	offer(0);
}

static void h_self_loop(void)
{
	put_desc(DESC, 2, BUF, 8, NEXT, 2);
	offer(2);
}

static void h_empty_loop(void)
{
	put_desc(DESC, 2, BUF, 0, NEXT, 2);
	offer(2);
}

static void h_next_out_of_range(void)
{
	put_desc(DESC, 0, BUF, 8, NEXT, 8);
	offer(0);
}

static void h_head_out_of_range(void)
{
	offer(8);
}

static void h_head_ffff(void)
{
	offer(0xFFFF);
}

static void h_avail_jump(void)
{
	put_desc(DESC, 0, BUF, 8, 0, 0);
	for (int i = 0; i < 9; i++)
		offer(0);
}

static void h_avail_back(void)
{
	put_desc(DESC, 0, BUF, 8, 0, 0);
	set_avail_idx(0xFFFF);
}

static void h_avail_random(void)
{
	set_avail_idx(0x8000);
}

static void h_seg_outside(void)
{
	put_desc(DESC, 0, MEM_SIZE, 8, 0, 0);
	offer(0);
}

static void h_seg_straddles(void)
{
	put_desc(DESC, 0, BUF, 8, NEXT, 1);
	put_desc(DESC, 1, MEM_SIZE - 8, 16, WRITE, 0);
	offer(0);
}

static void h_seg_huge(void)
{
	put_desc(DESC, 0, BUF, 0xFFFFFFFFu, 0, 0);
	offer(0);
}

static void h_seg_wraps(void)
{
	put_desc(DESC, 0, UINT64_MAX - 4, 16, 0, 0);
	offer(0);
}

static void h_seg_ends_at_top(void)
{
	put_desc(DESC, 0, 0 - 16ull, 16, 0, 0);
	offer(0);
}

static void h_write_to_rom(void)
{
	put_desc(DESC, 0, ROM_BASE + 0x100, 16, WRITE, 0);
	offer(0);
}

static void h_read_after_write(void)
{
	put_desc(DESC, 0, BUF, 8, NEXT | WRITE, 1);
	put_desc(DESC, 1, BUF + 8, 8, 0, 0);
	offer(0);
}

static void h_too_many_bytes(void)
{
	put_desc(DESC, 0, 1ull << 40, 0x80000000u, NEXT, 1);
	put_desc(DESC, 1, 1ull << 41, 0x80000001u, WRITE, 0);
	offer(0);
}

static void h_too_many_segs(void)
{
	for (uint16_t i = 0; i <= VQ_MAX_SEGS; i++)
		put_desc(DESC, i, BUF + i, 1, NEXT, (uint16_t)(i + 1));
	put_desc(DESC, VQ_MAX_SEGS, BUF, 1, 0, 0);
	offer(0);
}

static void h_too_many_empty(void)
{
	for (uint16_t i = 0; i <= VQ_MAX_SEGS; i++)
		put_desc(ITABLE, i, BUF, 0, NEXT, (uint16_t)(i + 1));
	put_desc(ITABLE, VQ_MAX_SEGS, BUF, 0, 0, 0);
	put_desc(DESC, 0, ITABLE, 16 * (VQ_MAX_SEGS + 1), INDIRECT, 0);
	offer(0);
}

static void h_indirect_not_negotiated(void)
{
	put_desc(ITABLE, 0, BUF, 8, 0, 0);
	put_desc(DESC, 0, ITABLE, 16, INDIRECT, 0);
	offer(0);
}

static void h_indirect_and_next(void)
{
	put_desc(ITABLE, 0, BUF, 8, 0, 0);
	put_desc(DESC, 0, ITABLE, 16, INDIRECT | NEXT, 1);
	put_desc(DESC, 1, BUF, 8, WRITE, 0);
	offer(0);
}

static void h_indirect_len_24(void)
{
	put_desc(ITABLE, 0, BUF, 8, 0, 0);
	put_desc(DESC, 0, ITABLE, 24, INDIRECT, 0);
	offer(0);
}

static void h_indirect_len_0(void)
{
	put_desc(DESC, 0, ITABLE, 0, INDIRECT, 0);
	offer(0);
}

static void h_indirect_outside(void)
{
	put_desc(DESC, 0, MEM_SIZE - 16, 32, INDIRECT, 0);
	offer(0);
}

static void h_indirect_wraps(void)
{
	put_desc(DESC, 0, 0 - 32ull, 32, INDIRECT, 0);
	offer(0);
}

static void h_indirect_nested(void)
{
	put_desc(ITABLE + 0x100, 0, BUF, 8, 0, 0);
	put_desc(ITABLE, 0, BUF, 8, NEXT, 1);
	put_desc(ITABLE, 1, ITABLE + 0x100, 16, INDIRECT, 0);
	put_desc(DESC, 0, ITABLE, 32, INDIRECT, 0);
	offer(0);
}

static void h_indirect_loop(void)
{
	put_desc(ITABLE, 0, BUF, 8, NEXT, 1);
	put_desc(ITABLE, 1, BUF, 8, NEXT, 0);
	put_desc(DESC, 0, ITABLE, 32, INDIRECT, 0);
	offer(0);
}

static void h_indirect_next_out_of_range(void)
{
	put_desc(ITABLE, 0, BUF, 8, NEXT, 2);
	put_desc(ITABLE, 2, BUF, 8, 0, 0); /* beyond the table's length */
	put_desc(DESC, 0, ITABLE, 32, INDIRECT, 0);
	offer(0);
}

static void h_indirect_seg_outside(void)
{
	put_desc(ITABLE, 0, BUF, 8, NEXT, 1);
	put_desc(ITABLE, 1, MEM_SIZE + 0x1000, 8, WRITE, 0);
	put_desc(DESC, 0, ITABLE, 32, INDIRECT, 0);
	offer(0);
}

static void h_indirect_read_after_write(void)
{
	put_desc(ITABLE, 0, BUF, 8, 0, 0);
	put_desc(DESC, 0, BUF, 8, NEXT | WRITE, 1);
	put_desc(DESC, 1, ITABLE, 16, INDIRECT, 0);
	offer(0);
}

static void h_too_many_inflight(void)
{
	put_desc(DESC, 0, BUF, 8, 0, 0);
	for (int i = 0; i < 8; i++)
		offer(0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(pop(), 1);
	offer(0);
}

static void move_areas(uint64_t desc, uint64_t avail, uint64_t used)
{
	assert_int_equal(vq_setup(&q, 8, desc, avail, used, V1), 0);
	put_desc(desc, 0, BUF, 8, 0, 0);
	w16(avail + 4, 0);
	w16(avail + 2, 1);
}

static void h_desc_area_outside(void)
{
	put_desc(DESC, 0, BUF, 8, 0, 0);
	assert_int_equal(vq_setup(&q, 8, MEM_SIZE - 64, AVAIL, USED, V1), 0);
	offer(0);
}

static void h_avail_area_outside(void)
{
	assert_int_equal(vq_setup(&q, 8, DESC, MEM_SIZE - 4, USED, V1), 0);
	w16(MEM_SIZE - 2, 1); /* idx readable, the ring is not */
}

static void h_used_area_outside(void)
{
	move_areas(DESC, AVAIL, MEM_SIZE - 36);
}

static void h_used_area_in_rom(void)
{
	move_areas(DESC, AVAIL, ROM_BASE + 0x1000);
}

static struct hostile hostile[] = {
    {"loop", 8, 0, false, h_loop},
    {"self_loop", 8, 0, false, h_self_loop},
    {"empty_self_loop", 8, 0, false, h_empty_loop},
    {"next_out_of_range", 8, 0, false, h_next_out_of_range},
    {"head_out_of_range", 8, 0, false, h_head_out_of_range},
    {"head_ffff", 8, IND | EVT, false, h_head_ffff},
    {"avail_idx_jump", 8, 0, false, h_avail_jump},
    {"avail_idx_back", 8, EVT, false, h_avail_back},
    {"avail_idx_random", 8, 0, false, h_avail_random},
    {"seg_outside", 8, 0, false, h_seg_outside},
    {"seg_straddles_end", 8, 0, false, h_seg_straddles},
    {"seg_huge", 8, 0, false, h_seg_huge},
    {"seg_wraps", 8, 0, true, h_seg_wraps},
    {"seg_ends_at_2^64", 8, 0, true, h_seg_ends_at_top},
    {"write_to_rom", 8, 0, false, h_write_to_rom},
    {"read_after_write", 8, 0, false, h_read_after_write},
    {"chain_over_4GiB", 8, 0, true, h_too_many_bytes},
    {"too_many_segs", 512, 0, false, h_too_many_segs},
    {"too_many_empty_descs", 8, IND, false, h_too_many_empty},
    {"indirect_not_negotiated", 8, EVT, false, h_indirect_not_negotiated},
    {"indirect_with_next", 8, IND, false, h_indirect_and_next},
    {"indirect_len_24", 8, IND, false, h_indirect_len_24},
    {"indirect_len_0", 8, IND, false, h_indirect_len_0},
    {"indirect_outside", 8, IND, false, h_indirect_outside},
    {"indirect_wraps", 8, IND, true, h_indirect_wraps},
    {"indirect_nested", 8, IND, false, h_indirect_nested},
    {"indirect_loop", 8, IND, false, h_indirect_loop},
    {"indirect_next_out_of_range", 8, IND, false, h_indirect_next_out_of_range},
    {"indirect_seg_outside", 8, IND, false, h_indirect_seg_outside},
    {"indirect_read_after_write", 8, IND, false, h_indirect_read_after_write},
    {"too_many_in_flight", 8, 0, false, h_too_many_inflight},
    {"desc_area_outside", 8, 0, false, h_desc_area_outside},
    {"avail_area_outside", 8, 0, false, h_avail_area_outside},
    {"used_area_outside", 8, EVT, false, h_used_area_outside},
    {"used_area_in_rom", 8, EVT, false, h_used_area_in_rom},
};

static void test_hostile(void **state)
{
	const struct hostile *h = *state;
	unsigned accesses;

	reset(h->size, h->features);
	h->build();
	f.check_all = h->check_all;
	f.win_lo = q.used;
	f.win_hi = used_end() - USED + q.used;
	snapshot();
	assert_int_equal(pop(), -1);
	assert_true(q.broken);
	assert_non_null(q.why); /* the operator's log line says what the guest did */
	assert_int_equal(f.refused, 0); /* checks come first: nothing outside even asked */
	assert_int_equal(f.stray, 0);
	assert_int_equal(memcmp(mem, shadow, sizeof(mem)), 0);
	/* Sticky, and no more guest accesses. */
	accesses = f.reads + f.writes + f.checks + f.fences;
	assert_int_equal(pop(), -1);
	assert_int_equal(push(0, 0), -1);
	assert_int_equal(f.reads + f.writes + f.checks + f.fences, accesses);
	assert_int_equal(memcmp(mem, shadow, sizeof(mem)), 0);
}

/* ---- Fuzzing ---- */

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint32_t below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static uint32_t rnd_size(void)
{
	return 1u << below(9); /* 1..256 */
}

/* A valid ring of random shape, and what popping it must give. */
static struct {
	uint16_t start; /* the avail and used idx it starts at */
	uint32_t nchains;
	uint16_t heads[4], nwant[4];
	struct vq_seg want[4][16];
	uint64_t itable_end; /* indirect tables are [ITABLE, itable_end) */
} built;

static void build_valid(void)
{
	uint64_t feat = (rnd() & 1 ? IND : 0) | (rnd() & 1 ? EVT : 0);
	uint32_t size = rnd_size(), used_desc = 0;
	uint16_t perm[256];

	reset(size, feat);
	built.start = (uint16_t)rnd();
	built.nchains = 1 + below(size < 4 ? size : 4);
	built.itable_end = ITABLE;
	q.last_avail = q.used_idx = built.start;
	set_avail_idx(built.start);
	w16(USED + 2, built.start);
	for (uint32_t i = 0; i < size; i++)
		perm[i] = (uint16_t)i;
	for (uint32_t i = size; i > 1; i--) {
		uint32_t j = below(i);
		uint16_t t = perm[i - 1];

		perm[i - 1] = perm[j];
		perm[j] = t;
	}
	for (uint32_t c = 0; c < built.nchains; c++) {
		uint32_t left = size - used_desc - (built.nchains - 1 - c);
		uint32_t ndir = 1 + below(left < 6 ? left : 6);
		bool ind = q.indirect && rnd() % 2;
		/* Buffers: the direct ones (all but a final referral to the table
		 * if indirect), then the table's. Descriptors linked in random
		 * order, readable ones first. */
		uint32_t dbuf = ndir - ind, nind = ind ? 1 + below(12) : 0;
		uint32_t nbuf = dbuf + nind, nr = below(nbuf + 1);
		uint64_t table = built.itable_end;
		const uint16_t *d = &perm[used_desc];

		used_desc += ndir;
		built.heads[c] = d[0];
		built.nwant[c] = 0;
		for (uint32_t b = 0; b < nbuf; b++) {
			uint32_t len = rnd() % 4 ? 1 + below(64) : 0;
			uint64_t addr = BUF + below(ROM_BASE - BUF - 64);
			bool wr = b >= nr, last = b + 1 == nbuf;
			uint16_t flags = (uint16_t)(wr ? WRITE : 0);

			if (b < dbuf) {
				bool more = b + 1 < ndir; /* another buffer or the referral */

				put_desc(DESC, d[b], addr, len,
					 (uint16_t)(flags | (more ? NEXT : 0)),
					 more ? d[b + 1] : (uint16_t)rnd());
			} else {
				uint32_t ti = b - dbuf;

				put_desc(table, ti, addr, len,
					 (uint16_t)(flags | (last ? 0 : NEXT)),
					 (uint16_t)(last ? rnd() : ti + 1));
			}
			if (len)
				built.want[c][built.nwant[c]++] = (struct vq_seg){addr, len, wr};
		}
		if (ind) {
			put_desc(DESC, d[ndir - 1], table, 16 * nind,
				 (uint16_t)(INDIRECT | (rnd() & 1 ? WRITE : 0)), (uint16_t)rnd());
			built.itable_end += 16 * nind;
		}
		offer(built.heads[c]);
	}
}

/* Valid rings: every chain pops exactly as built. */
static void test_fuzz_valid(void **state)
{
	(void)state;
	rng = 0x5eed0001;
	for (int iter = 0; iter < 2000; iter++) {
		uint16_t end;

		build_valid();
		end = (uint16_t)(built.start + built.nchains);
		for (uint32_t c = 0; c < built.nchains; c++) {
			uint32_t nr = 0;

			assert_int_equal(pop(), 1);
			assert_int_equal(chain.head, built.heads[c]);
			assert_int_equal(chain.nseg, built.nwant[c]);
			for (uint32_t k = 0; k < built.nwant[c]; k++) {
				const struct vq_seg *s = &built.want[c][k];

				expect_seg(k, s->gpa, s->len, s->writable);
				nr += !s->writable;
			}
			assert_int_equal(chain.nread, nr);
		}
		assert_int_equal(pop(), 0);
		if (q.event_idx)
			assert_int_equal(avail_event(), end);
		for (uint32_t c = 0; c < built.nchains; c++)
			assert_in_range(push(built.heads[c], c), 0, 1);
		assert_int_equal(r16(USED + 2), end);
		assert_int_equal(f.refused, 0);
		assert_int_equal(f.stray, 0);
	}
}

static uint64_t rnd_addr(void)
{
	switch (below(6)) {
	case 0:
		return rnd();
	case 1:
		return UINT64_MAX - below(64);
	case 2:
		return MEM_SIZE - below(64);
	case 3:
		return ROM_BASE + below(0x10000);
	default:
		return below(MEM_SIZE);
	}
}

static uint32_t rnd_len(void)
{
	switch (below(6)) {
	case 0:
		return 0;
	case 1:
		return (uint32_t)rnd();
	case 2:
		return 16 * below(8);
	default:
		return below(128);
	}
}

static void rnd_table(uint64_t table, uint32_t n, uint32_t size)
{
	for (uint32_t i = 0; i < n; i++) {
		uint16_t flags = (uint16_t)(rnd() % 16 ? below(8) : rnd());
		uint16_t next = (uint16_t)(rnd() % 16 ? below(size + 2) : rnd());
		uint64_t addr = rnd() % 4 ? rnd_addr() : ITABLE + 16 * below(64);

		put_desc(table, i, addr, rnd_len(), flags, next);
	}
}

/* The chain just popped is well formed and in memory. */
static void check_chain(void)
{
	uint64_t rl = 0, wl = 0;

	assert_true(chain.head < q.size);
	assert_true(chain.nseg <= VQ_MAX_SEGS && chain.nread <= chain.nseg);
	for (unsigned i = 0; i < chain.nseg; i++) {
		const struct vq_seg *s = &chain.seg[i];

		assert_true(s->len > 0 && in_mem(s->gpa, s->len));
		assert_int_equal(s->writable, i >= chain.nread);
		if (s->writable)
			assert_true(s->gpa + s->len <= ROM_BASE);
		*(s->writable ? &wl : &rl) += s->len;
	}
	assert_int_equal(rl, chain.read_len);
	assert_int_equal(wl, chain.write_len);
}

static unsigned popped, broke;

/* Pop (and push back) until the ring is empty or broken: never a crash,
 * bounded reads per pop, no access asked outside memory, no write outside
 * the used ring, and each chain valid. */
static void drain_checked(void)
{
	for (uint32_t n = 0; n < q.size + 2u; n++) {
		unsigned before = f.reads, refused = f.refused;
		int r = pop();

		assert_true(f.reads - before <= VQ_MAX_SEGS + 4);
		if (!q.indirect)
			assert_true(f.reads - before <= q.size + 3u);
		assert_int_equal(f.refused, refused);
		if (r != 1) {
			assert_true(r == 0 || (r == -1 && q.broken));
			broke += r == -1;
			break;
		}
		popped++;
		check_chain();
		assert_in_range(push(chain.head, (uint32_t)chain.write_len), 0, 1);
	}
	assert_int_equal(f.refused, 0);
	assert_int_equal(f.stray, 0);
}

/* Garbage rings. */
static void test_fuzz_garbage(void **state)
{
	(void)state;
	rng = 0x5eed0002;
	popped = broke = 0;
	for (int iter = 0; iter < 5000; iter++) {
		uint32_t size = rnd_size();
		uint16_t start = (uint16_t)rnd();

		reset(size, rnd() & (IND | EVT));
		rnd_table(DESC, size, size);
		rnd_table(ITABLE, 64, size);
		for (uint32_t i = 0; i < size; i++)
			w16(AVAIL + 4 + 2 * i, (uint16_t)(rnd() % 8 ? below(size + 1) : rnd()));
		q.last_avail = q.used_idx = start;
		set_avail_idx((uint16_t)(rnd() % 8 ? start + below(size + 3) : rnd()));
		drain_checked();
	}
	/* Deterministic, but make sure both outcomes stay common. */
	assert_true(popped > 250 && broke > 2500);
}

/* Valid rings with a few bytes of the descriptor table, avail ring or
 * indirect tables corrupted: hostile input deep inside real chains. */
static void test_fuzz_mutated(void **state)
{
	(void)state;
	rng = 0x5eed0003;
	popped = broke = 0;
	for (int iter = 0; iter < 5000; iter++) {
		uint32_t nmut = 1 + below(3);

		build_valid();
		for (uint32_t i = 0; i < nmut; i++) {
			uint64_t base = DESC, len = 16ull * q.size;

			if (rnd() % 4 == 0) {
				base = AVAIL;
				len = 4 + 2ull * q.size;
			} else if (rnd() % 3 == 0 && built.itable_end > ITABLE) {
				base = ITABLE;
				len = built.itable_end - ITABLE;
			}
			mem[base + rnd() % len] = (uint8_t)rnd();
		}
		drain_checked();
	}
	assert_true(popped > 5000 && broke > 1500);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
	    cmocka_unit_test(test_setup_checks),
	    cmocka_unit_test_setup(test_not_set_up, setup8),
	    cmocka_unit_test_setup(test_single_segment, setup8),
	    cmocka_unit_test_setup(test_mixed_chain, setup8),
	    cmocka_unit_test_setup(test_zero_length, setup8),
	    cmocka_unit_test_setup(test_empty_ring, setup8),
	    cmocka_unit_test_setup(test_wraparound, setup8),
	    cmocka_unit_test_setup(test_push_no_event_idx, setup8),
	    cmocka_unit_test_setup(test_push_event_idx, setup8),
	    cmocka_unit_test_setup(test_avail_event, setup8),
	    cmocka_unit_test_setup(test_indirect, setup8),
	    cmocka_unit_test_setup(test_limits_reached, setup8),
	    cmocka_unit_test_setup(test_push_errors, setup8),
	    cmocka_unit_test(test_fuzz_valid),
	    cmocka_unit_test(test_fuzz_garbage),
	    cmocka_unit_test(test_fuzz_mutated),
	};
	enum {
		NFIXED = sizeof(fixed) / sizeof(fixed[0]),
		NHOSTILE = sizeof(hostile) / sizeof(hostile[0])
	};
	static struct CMUnitTest tests[NFIXED + NHOSTILE];
	static char names[NHOSTILE][64];

	memcpy(tests, fixed, sizeof(fixed));
	for (unsigned i = 0; i < NHOSTILE; i++) {
		snprintf(names[i], sizeof(names[i]), "hostile_%s", hostile[i].name);
		tests[NFIXED + i] = (struct CMUnitTest){
		    .name = names[i],
		    .test_func = test_hostile,
		    .initial_state = &hostile[i],
		};
	}
	return _cmocka_run_group_tests("virtqueue", tests, NFIXED + NHOSTILE, NULL, NULL);
}
