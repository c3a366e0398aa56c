/* The NVMe driver's device-free logic (drivers/nvme_queue.c) and the block
 * device registry (drivers/blkdev.c): CAP decoding, doorbells, queue
 * indices and phase across wraps, PRP lists, Identify checks, and the
 * registry's refusals of requests that do not fit the device. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <keel/blkdev.h>
#include <keel/console.h>
#include <keel/nvme.h>

static char last_log[256];
static unsigned nlogs;

void klog(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
	nlogs++;
}

static void test_cap_decode(void **state)
{
	(void)state;
	struct nvme_cap cap;
	/* MQES 2047, TO 40 (20 s), DSTRD 2, CSS NVM, MPSMIN 0, MPSMAX 4. */
	uint64_t v = 2047 | 40ull << 24 | 2ull << 32 | 1ull << 37 | 4ull << 52;
	nvme_cap_decode(v, &cap);
	assert_int_equal(cap.max_queue_entries, 2048);
	assert_true(cap.timeout_ns == 20000000000ull);
	assert_int_equal(cap.doorbell_stride, 16);
	assert_true(cap.nvm_command_set);
	assert_int_equal(cap.min_page, 4096);
	assert_int_equal(cap.max_page, 65536);
	/* TO 0 still waits one unit; no NVM set; 8 KiB minimum pages. */
	nvme_cap_decode(1ull << 48, &cap);
	assert_true(cap.timeout_ns == 500000000ull);
	assert_false(cap.nvm_command_set);
	assert_int_equal(cap.min_page, 8192);
	assert_int_equal(cap.max_queue_entries, 1);
}

static void test_doorbells(void **state)
{
	(void)state;
	assert_int_equal(nvme_doorbell_offset(4, 0, false), 0x1000);
	assert_int_equal(nvme_doorbell_offset(4, 0, true), 0x1004);
	assert_int_equal(nvme_doorbell_offset(4, 1, false), 0x1008);
	assert_int_equal(nvme_doorbell_offset(4, 1, true), 0x100C);
	assert_int_equal(nvme_doorbell_offset(16, 1, true), 0x1030);
}

static void test_sq_full_keeps_one_slot_free(void **state)
{
	(void)state;
	struct nvme_queue_state q;
	nvme_queue_init(&q, 4);
	for (int i = 0; i < 3; i++) {
		assert_false(nvme_sq_full(&q));
		assert_int_equal(nvme_sq_claim(&q), i);
	}
	assert_true(nvme_sq_full(&q));
	assert_int_equal(q.sq_tail, 3);
	q.sq_head = 2; /* the controller consumed two */
	assert_false(nvme_sq_full(&q));
	assert_int_equal(nvme_sq_claim(&q), 3);
	assert_int_equal(q.sq_tail, 0); /* wrapped */
}

/* What a controller does: post a completion with the phase of this pass. */
static void post(volatile struct nvme_cqe *ring, unsigned slot, uint16_t cid, unsigned phase,
		 uint16_t sq_head, uint16_t sc)
{
	ring[slot].cid = cid;
	ring[slot].sq_id = 1;
	ring[slot].sq_head = sq_head;
	ring[slot].result = 0x1000u + cid;
	ring[slot].status = (uint16_t)(sc << 1 | phase);
}

static void test_cq_phase_wraps(void **state)
{
	(void)state;
	struct nvme_cqe ring[3];
	struct nvme_queue_state q;
	struct nvme_cqe e;
	memset(ring, 0, sizeof(ring));
	nvme_queue_init(&q, 3);
	/* A zeroed ring holds nothing new. */
	assert_false(nvme_cq_take(&q, ring, &e));
	/* Three passes over the ring: phase 1, 0, 1. Each entry is taken once;
	 * a stale entry of the previous pass is never taken again. */
	uint16_t cid = 0;
	for (unsigned pass = 0; pass < 3; pass++) {
		unsigned phase = (pass & 1) ? 0 : 1;
		for (unsigned slot = 0; slot < 3; slot++, cid++) {
			assert_false(nvme_cq_take(&q, ring, &e));
			post(ring, slot, cid, phase, (uint16_t)((slot + 1) % 3), 0);
			assert_true(nvme_cq_take(&q, ring, &e));
			assert_int_equal(e.cid, cid);
			assert_int_equal(e.result, 0x1000u + cid);
			assert_int_equal(q.sq_head, (slot + 1) % 3);
		}
		assert_int_equal(q.cq_head, 0);
		assert_int_equal(q.phase, (pass & 1) ? 1 : 0);
	}
}

static void test_cq_status_and_bad_head(void **state)
{
	(void)state;
	struct nvme_cqe ring[4];
	struct nvme_queue_state q;
	struct nvme_cqe e;
	memset(ring, 0, sizeof(ring));
	nvme_queue_init(&q, 4);
	q.sq_head = 2;
	/* SC 0x80 (LBA out of range), SCT 0, do-not-retry; head 9 is nonsense. */
	post(ring, 0, 7, 1, 9, 0x80);
	ring[0].status |= 0x8000;
	assert_true(nvme_cq_take(&q, ring, &e));
	assert_int_equal(nvme_status_code(e.status), 0x80);
	assert_int_equal(nvme_status_type(e.status), 0);
	assert_int_equal(q.sq_head, 2); /* kept */
	/* SCT 1 code 2: command specific. */
	post(ring, 1, 8, 1, 3, 1 << 8 | 2);
	assert_true(nvme_cq_take(&q, ring, &e));
	assert_int_equal(nvme_status_type(e.status), 1);
	assert_int_equal(nvme_status_code(e.status), 2);
	assert_int_equal(q.sq_head, 3);
}

#define LIST_PHYS 0x900000ull

static void test_prp_one_and_two_pages(void **state)
{
	(void)state;
	uint64_t prp1, prp2, list[512];
	assert_int_equal(nvme_build_prps(0x10000, 512, &prp1, &prp2, list, LIST_PHYS, 512), 0);
	assert_true(prp1 == 0x10000 && prp2 == 0);
	assert_int_equal(nvme_build_prps(0x10000, 4096, &prp1, &prp2, list, LIST_PHYS, 512), 0);
	assert_true(prp1 == 0x10000 && prp2 == 0);
	/* Two pages, aligned: PRP2 is the second page itself. */
	assert_int_equal(nvme_build_prps(0x10000, 8192, &prp1, &prp2, list, LIST_PHYS, 512), 0);
	assert_true(prp1 == 0x10000 && prp2 == 0x11000);
	/* 512 bytes crossing a page boundary: two pages. */
	assert_int_equal(nvme_build_prps(0x10F00, 512, &prp1, &prp2, list, LIST_PHYS, 512), 0);
	assert_true(prp1 == 0x10F00 && prp2 == 0x11000);
	/* 4 KiB at an offset spans two pages as well. */
	assert_int_equal(nvme_build_prps(0x10200, 4096, &prp1, &prp2, list, LIST_PHYS, 512), 0);
	assert_true(prp1 == 0x10200 && prp2 == 0x11000);
}

static void test_prp_lists(void **state)
{
	(void)state;
	uint64_t prp1, prp2, list[512];
	/* 128 KiB aligned: first page in PRP1, 31 more in the list. */
	memset(list, 0xAA, sizeof(list));
	assert_int_equal(
	    nvme_build_prps(0x200000, BLKDEV_MAX_IO, &prp1, &prp2, list, LIST_PHYS, 512), 0);
	assert_true(prp1 == 0x200000 && prp2 == LIST_PHYS);
	for (unsigned i = 0; i < 31; i++)
		assert_true(list[i] == 0x201000 + 0x1000ull * i);
	assert_true(list[31] == 0xAAAAAAAAAAAAAAAAull); /* nothing written past the end */
	/* 128 KiB unaligned: 33 pages touched, 32 in the list. */
	assert_int_equal(
	    nvme_build_prps(0x200200, BLKDEV_MAX_IO, &prp1, &prp2, list, LIST_PHYS, 512), 0);
	assert_true(prp1 == 0x200200 && prp2 == LIST_PHYS);
	assert_true(list[0] == 0x201000 && list[31] == 0x220000);
	/* Three pages exactly: a list of two. */
	assert_int_equal(nvme_build_prps(0x200000, 12288, &prp1, &prp2, list, LIST_PHYS, 512), 0);
	assert_true(prp2 == LIST_PHYS && list[0] == 0x201000 && list[1] == 0x202000);
}

static void test_prp_refusals(void **state)
{
	(void)state;
	uint64_t prp1, prp2, list[4];
	assert_int_equal(nvme_build_prps(0x10000, 0, &prp1, &prp2, list, LIST_PHYS, 4), -1);
	assert_int_equal(nvme_build_prps(0x10002, 512, &prp1, &prp2, list, LIST_PHYS, 4), -1);
	/* Needs 5 list entries, has room for 4. */
	assert_int_equal(nvme_build_prps(0x10000, 6 * 4096, &prp1, &prp2, list, LIST_PHYS, 4), -1);
	assert_int_equal(nvme_build_prps(0x10000, 5 * 4096, &prp1, &prp2, list, LIST_PHYS, 4), 0);
	/* A list page must be page aligned. */
	assert_int_equal(nvme_build_prps(0x10000, 5 * 4096, &prp1, &prp2, list, LIST_PHYS + 8, 4),
			 -1);
}

static uint8_t id[NVME_IDENTIFY_BYTES];

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void test_identify_controller(void **state)
{
	(void)state;
	struct nvme_ctrl_info info;
	memset(id, 0, sizeof(id));
	memset(id + 4, ' ', 60 + 8);
	memcpy(id + 4, "keel0", 5);
	memcpy(id + 24, "QEMU NVMe Ctrl", 14);
	memcpy(id + 64, "8.0\x01", 4); /* a control byte becomes '?' */
	id[77] = 7; /* 2^7 pages of 4 KiB */
	put_le32(id + 516, 256);
	id[525] = 1;
	nvme_parse_ctrl(id, 4096, &info);
	assert_string_equal(info.serial, "keel0");
	assert_string_equal(info.model, "QEMU NVMe Ctrl");
	assert_string_equal(info.firmware, "8.0?");
	assert_int_equal(info.max_transfer, 512 * 1024);
	assert_int_equal(info.namespaces, 256);
	assert_true(info.volatile_cache);
	id[77] = 0;
	nvme_parse_ctrl(id, 4096, &info);
	assert_int_equal(info.max_transfer, 0);
	/* A model of 40 non-blank characters is kept whole. */
	memset(id + 24, 'M', 40);
	nvme_parse_ctrl(id, 4096, &info);
	assert_int_equal(strlen(info.model), 40);
}

/* A namespace of NSZE blocks whose format FMT (of NFORMATS) has 2^LBADS
 * byte blocks and MS bytes of metadata. */
static void make_ns(uint64_t nsze, unsigned nformats, uint8_t flbas, unsigned fmt, unsigned lbads,
		    unsigned ms)
{
	memset(id, 0, sizeof(id));
	put_le32(id, (uint32_t)nsze);
	put_le32(id + 4, (uint32_t)(nsze >> 32));
	id[25] = (uint8_t)(nformats - 1);
	id[26] = flbas;
	put_le32(id + 128 + 4 * fmt, lbads << 16 | ms);
}

static void test_identify_namespace(void **state)
{
	(void)state;
	struct nvme_ns_info info;
	const char *why = NULL;
	make_ns(131072, 1, 0, 0, 9, 0);
	assert_int_equal(nvme_parse_ns(id, &info, &why), 0);
	assert_true(info.nblocks == 131072);
	assert_int_equal(info.block_size, 512);
	/* Format 3 of 4 in use, 4 KiB blocks, more than 2^32 blocks. */
	make_ns(0x123456789ull, 4, 3, 3, 12, 0);
	assert_int_equal(nvme_parse_ns(id, &info, &why), 0);
	assert_true(info.nblocks == 0x123456789ull);
	assert_int_equal(info.block_size, 4096);
	/* Format 17 of 20: the index's upper bits are FLBAS bits 6:5. */
	make_ns(64, 20, 1 << 5 | 1, 17, 12, 0);
	assert_int_equal(nvme_parse_ns(id, &info, &why), 0);
	assert_int_equal(info.block_size, 4096);
}

static void test_identify_namespace_refusals(void **state)
{
	(void)state;
	struct nvme_ns_info info = {0, 0};
	const char *why = NULL;
	make_ns(0, 1, 0, 0, 9, 0);
	assert_int_equal(nvme_parse_ns(id, &info, &why), -1);
	assert_string_equal(why, "size 0");
	make_ns(8, 1, 0, 0, 8, 0);
	assert_int_equal(nvme_parse_ns(id, &info, &why), -1);
	assert_string_equal(why, "LBA data size not 512 to 4096 bytes");
	make_ns(8, 1, 0, 0, 13, 0);
	assert_int_equal(nvme_parse_ns(id, &info, &why), -1);
	make_ns(8, 1, 0, 0, 0, 0); /* an all-zero format */
	assert_int_equal(nvme_parse_ns(id, &info, &why), -1);
	make_ns(8, 2, 2, 2, 9, 0); /* FLBAS names format 2 of 2 */
	assert_int_equal(nvme_parse_ns(id, &info, &why), -1);
	assert_string_equal(why, "LBA format index out of range");
	make_ns(8, 1, 0, 0, 9, 8);
	assert_int_equal(nvme_parse_ns(id, &info, &why), -1);
	assert_string_equal(why, "LBA format with metadata");
	make_ns(UINT64_MAX, 1, 0, 0, 12, 0);
	id[4] = id[5] = id[6] = id[7] = 0xFF;
	assert_int_equal(nvme_parse_ns(id, &info, &why), -1);
	assert_true(info.nblocks == 0); /* untouched on refusal */
}

/* A RAM disk behind the registry. */
#define RAM_BLOCKS 64
static uint8_t ram[RAM_BLOCKS * 512];
static unsigned ram_calls;

static int ram_read(struct blkdev *b, uint64_t lba, uint32_t count, void *buf)
{
	ram_calls++;
	memcpy(buf, ram + lba * b->block_size, (size_t)count * b->block_size);
	return 0;
}

static int ram_write(struct blkdev *b, uint64_t lba, uint32_t count, const void *buf)
{
	ram_calls++;
	memcpy(ram + lba * b->block_size, buf, (size_t)count * b->block_size);
	return 0;
}

static int ram_flush(struct blkdev *b)
{
	(void)b;
	ram_calls++;
	return 0;
}

static const struct blkdev_ops ram_ops = {ram_read, ram_write, ram_flush};
static struct blkdev disks[BLKDEV_MAX + 1];

static struct blkdev *disk(unsigned i, const char *name, uint64_t nblocks)
{
	struct blkdev *b = &disks[i];
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->block_size = 512;
	b->nblocks = nblocks;
	b->ops = &ram_ops;
	return b;
}

/* One test for the registry: its list is global and never shrinks. */
static void test_registry(void **state)
{
	(void)state;
	static uint8_t buf[BLKDEV_MAX_IO + 512];
	assert_int_equal(blkdev_count(), 0);
	assert_null(blkdev_find("ram0"));
	struct blkdev *r = disk(0, "ram0", RAM_BLOCKS);
	assert_int_equal(blkdev_register(r), 0);
	assert_ptr_equal(blkdev_find("ram0"), r);
	assert_ptr_equal(blkdev_get(0), r);
	assert_null(blkdev_get(1));
	/* A name taken, a device of size 0. */
	assert_int_equal(blkdev_register(disk(1, "ram0", 8)), -1);
	assert_non_null(strstr(last_log, "already taken"));
	assert_int_equal(blkdev_register(disk(1, "empty", 0)), -1);

	/* In range: reaches the driver; data round-trips. */
	memset(buf, 0x5A, 1024);
	assert_int_equal(blkdev_write(r, RAM_BLOCKS - 2, 2, buf), 0);
	memset(buf, 0, 1024);
	assert_int_equal(blkdev_read(r, RAM_BLOCKS - 2, 2, buf), 0);
	assert_int_equal(buf[0], 0x5A);
	assert_int_equal(buf[1023], 0x5A);
	assert_int_equal(blkdev_flush(r), 0);
	assert_int_equal(ram_calls, 3);

	/* Out of range, wrapping, empty, too big, no buffer: never reach it. */
	unsigned logs = nlogs;
	assert_int_equal(blkdev_read(r, RAM_BLOCKS - 1, 2, buf), -1);
	assert_int_equal(blkdev_read(r, RAM_BLOCKS, 1, buf), -1);
	assert_int_equal(blkdev_write(r, UINT64_MAX, 2, buf), -1);
	assert_int_equal(blkdev_read(r, 0, 0, buf), -1);
	assert_int_equal(blkdev_read(r, 0, 1, NULL), -1);
	r->nblocks = 1u << 20;
	assert_int_equal(blkdev_read(r, 0, BLKDEV_MAX_IO / 512 + 1, buf), -1);
	assert_int_equal(ram_calls, 3);
	assert_int_equal(nlogs, logs + 6);
	assert_non_null(strstr(last_log, "ram0: read of 257 blocks at 0 refused"));
	r->nblocks = RAM_BLOCKS;

	/* The list holds BLKDEV_MAX devices. */
	char name[BLKDEV_NAME_MAX];
	for (unsigned i = 1; i < BLKDEV_MAX; i++) {
		snprintf(name, sizeof(name), "ram%u", i);
		assert_int_equal(blkdev_register(disk(i, name, 8)), 0);
	}
	assert_int_equal(blkdev_count(), BLKDEV_MAX);
	assert_int_equal(blkdev_register(disk(BLKDEV_MAX, "one-too-many", 8)), -1);
	assert_ptr_equal(blkdev_find("ram7"), &disks[7]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cap_decode),
	    cmocka_unit_test(test_doorbells),
	    cmocka_unit_test(test_sq_full_keeps_one_slot_free),
	    cmocka_unit_test(test_cq_phase_wraps),
	    cmocka_unit_test(test_cq_status_and_bad_head),
	    cmocka_unit_test(test_prp_one_and_two_pages),
	    cmocka_unit_test(test_prp_lists),
	    cmocka_unit_test(test_prp_refusals),
	    cmocka_unit_test(test_identify_controller),
	    cmocka_unit_test(test_identify_namespace),
	    cmocka_unit_test(test_identify_namespace_refusals),
	    cmocka_unit_test(test_registry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
