/* Unit tests for the I/O bus (core/iobus.c): sorted registration, refusals,
 * routing with offsets and sizes, boundaries, and a randomized comparison
 * against a brute-force reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <keel/iobus.h>

struct tdev {
	unsigned id;
	unsigned reads, writes;
	uint64_t off;
	unsigned size;
	uint32_t value;
};

static uint32_t tdev_read(void *dev, uint64_t offset, unsigned size)
{
	struct tdev *d = dev;

	d->reads++;
	d->off = offset;
	d->size = size;
	return d->id << 24 | (uint32_t)offset << 4 | size;
}

static void tdev_write(void *dev, uint64_t offset, unsigned size, uint32_t value)
{
	struct tdev *d = dev;

	d->writes++;
	d->off = offset;
	d->size = size;
	d->value = value;
}

static struct io_range range(uint64_t base, uint64_t len, struct tdev *d)
{
	struct io_range r = {base, len, d, tdev_read, tdev_write};

	return r;
}

static int reg(struct io_bus *bus, uint64_t base, uint64_t len, struct tdev *d)
{
	struct io_range r = range(base, len, d);

	return io_bus_register(bus, &r);
}

static void test_sorted_insert(void **state)
{
	static const uint64_t bases[] = {0x3F8, 0x60, 0x1000, 0x0, 0x64, 0xCF8};
	static const uint64_t lens[] = {8, 1, 0x100, 0x10, 1, 8};
	struct io_bus bus;
	struct tdev d[6];

	(void)state;
	memset(&bus, 0, sizeof(bus));
	for (unsigned i = 0; i < 6; i++) {
		d[i].id = i;
		assert_int_equal(reg(&bus, bases[i], lens[i], &d[i]), 0);
	}
	assert_int_equal(bus.n, 6);
	for (unsigned i = 1; i < bus.n; i++)
		assert_true(bus.r[i - 1].base + bus.r[i - 1].len <= bus.r[i].base);
	assert_int_equal(bus.r[0].base, 0x0);
	assert_int_equal(bus.r[5].base, 0x1000);
	assert_ptr_equal(bus.r[2].dev, &d[4]); /* 0x64 */
	assert_int_equal(bus.r[2].len, 1);
}

static void test_overlap_refused(void **state)
{
	static const uint64_t bad[][2] = {
	    {0x100, 0x10}, /* identical */
	    {0x104, 0x4}, /* inside */
	    {0xF0, 0x40}, /* covers it */
	    {0xF8, 0x9}, /* reaches its first port */
	    {0x10F, 0x1}, /* its last port */
	    {0x10F, 0x10}, /* starts on its last port */
	    {0x108, 0x100}, /* spans into the next range */
	    {0x0, 0x1000}, /* spans both */
	    {0x200, 0x1},
	};
	struct io_bus bus, copy;
	struct tdev d = {0};

	(void)state;
	memset(&bus, 0, sizeof(bus));
	assert_int_equal(reg(&bus, 0x100, 0x10, &d), 0);
	assert_int_equal(reg(&bus, 0x200, 0x10, &d), 0);
	memcpy(&copy, &bus, sizeof(bus));
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(reg(&bus, bad[i][0], bad[i][1], &d), -1);
		assert_memory_equal(&bus, &copy, sizeof(bus));
	}
	/* Adjacent on either side is fine. */
	assert_int_equal(reg(&bus, 0xF0, 0x10, &d), 0);
	assert_int_equal(reg(&bus, 0x110, 0xF0, &d), 0);
	assert_int_equal(reg(&bus, 0x210, 0x1, &d), 0);
	assert_int_equal(bus.n, 5);
}

static void test_zero_len_and_full(void **state)
{
	struct io_bus bus;
	struct tdev d[IO_BUS_MAX_RANGES];
	uint32_t v;

	(void)state;
	memset(&bus, 0, sizeof(bus));
	assert_int_equal(reg(&bus, 0x80, 0, &d[0]), -1);
	assert_int_equal(bus.n, 0);
	/* Registered in descending order: every insert shifts the whole array. */
	for (unsigned i = 0; i < IO_BUS_MAX_RANGES; i++) {
		unsigned k = IO_BUS_MAX_RANGES - 1 - i;
		d[k].id = k;
		assert_int_equal(reg(&bus, 0x100 * k, 0x10, &d[k]), 0);
	}
	assert_int_equal(bus.n, IO_BUS_MAX_RANGES);
	assert_int_equal(reg(&bus, 0x5000, 1, &d[0]), -1);
	assert_int_equal(reg(&bus, 0x80, 0, &d[0]), -1);
	assert_int_equal(bus.n, IO_BUS_MAX_RANGES);
	for (unsigned k = 0; k < IO_BUS_MAX_RANGES; k++) {
		assert_true(io_bus_read(&bus, 0x100 * k + 0xF, 1, &v));
		assert_int_equal(v, k << 24 | 0xF << 4 | 1);
		assert_false(io_bus_read(&bus, 0x100 * k + 0x10, 1, &v));
	}
	assert_false(io_bus_read(&bus, 0x5000, 1, &v));
}

/* The range of the previous access is tried first: an access elsewhere, a
 * miss, and a registration that shifts the array under the remembered index
 * must all still reach the right device or none. */
static void test_previous_range_is_only_a_hint(void **state)
{
	struct io_bus bus;
	struct tdev d[3] = {{.id = 0}, {.id = 1}, {.id = 2}};
	uint32_t v;

	(void)state;
	memset(&bus, 0, sizeof(bus));
	assert_int_equal(reg(&bus, 0x3F8, 8, &d[0]), 0);
	assert_int_equal(reg(&bus, 0x60, 1, &d[1]), 0);
	assert_true(io_bus_read(&bus, 0x3FD, 1, &v)); /* remembers 0x3F8 */
	assert_int_equal(v, 0u << 24 | 5 << 4 | 1);
	assert_true(io_bus_read(&bus, 0x3FD, 1, &v));
	assert_int_equal(d[0].reads, 2);
	assert_false(io_bus_read(&bus, 0x3F7, 1, &v)); /* just below the remembered range */
	assert_false(io_bus_read(&bus, 0x400, 1, &v)); /* just above it */
	assert_true(io_bus_read(&bus, 0x60, 1, &v));
	assert_int_equal(v, 1u << 24 | 1);
	/* A range below both moves them up one slot: the index remembered for
	 * 0x60 now holds the new range. */
	assert_int_equal(reg(&bus, 0x20, 2, &d[2]), 0);
	assert_true(io_bus_read(&bus, 0x60, 1, &v));
	assert_int_equal(v, 1u << 24 | 1);
	assert_true(io_bus_read(&bus, 0x21, 1, &v));
	assert_int_equal(v, 2u << 24 | 1 << 4 | 1);
	assert_false(io_bus_read(&bus, 0x22, 1, &v));
	assert_true(io_bus_write(&bus, 0x3F8, 1, 0x41));
	assert_int_equal(d[0].value, 0x41);
	assert_int_equal(d[0].writes, 1);
	assert_int_equal(d[1].writes + d[2].writes, 0);
}

static void test_routing(void **state)
{
	struct io_bus bus;
	struct tdev a = {.id = 1}, b = {.id = 2};
	uint32_t v = 0;

	(void)state;
	memset(&bus, 0, sizeof(bus));
	assert_int_equal(reg(&bus, 0x3F8, 8, &a), 0);
	assert_int_equal(reg(&bus, 0x2F8, 8, &b), 0);
	assert_true(io_bus_read(&bus, 0x3FB, 2, &v));
	assert_int_equal(v, 1 << 24 | 3 << 4 | 2);
	assert_int_equal(a.reads, 1);
	assert_int_equal(b.reads, 0);
	assert_true(io_bus_write(&bus, 0x2FD, 4, 0xDEADBEEF));
	assert_int_equal(b.writes, 1);
	assert_int_equal(b.off, 5);
	assert_int_equal(b.size, 4);
	assert_int_equal(b.value, 0xDEADBEEF);
	assert_int_equal(a.writes, 0);

	/* First and last port, one before and one past. */
	assert_true(io_bus_read(&bus, 0x3F8, 1, &v));
	assert_int_equal(a.off, 0);
	assert_true(io_bus_write(&bus, 0x3FF, 1, 7));
	assert_int_equal(a.off, 7);
	assert_int_equal(a.value, 7);
	v = 0x1234;
	assert_false(io_bus_read(&bus, 0x3F7, 1, &v));
	assert_false(io_bus_read(&bus, 0x400, 1, &v));
	assert_false(io_bus_read(&bus, 0x2F7, 1, &v));
	assert_false(io_bus_read(&bus, 0x300, 1, &v));
	assert_int_equal(v, 0x1234); /* untouched when unclaimed */
	assert_false(io_bus_write(&bus, 0x400, 1, 1));
	assert_false(io_bus_write(&bus, 0, 1, 1));
	assert_false(io_bus_write(&bus, UINT64_MAX, 1, 1));
	assert_int_equal(a.reads + a.writes + b.reads + b.writes, 4);
}

static void test_empty_bus(void **state)
{
	struct io_bus bus;
	uint32_t v = 5;

	(void)state;
	memset(&bus, 0, sizeof(bus));
	assert_false(io_bus_read(&bus, 0, 1, &v));
	assert_false(io_bus_write(&bus, 0x3F8, 1, 0));
	assert_int_equal(v, 5);
}

static void test_missing_callbacks(void **state)
{
	struct io_bus bus;
	struct io_range r = {0x80, 1, NULL, NULL, NULL};
	uint32_t v = 9;

	(void)state;
	memset(&bus, 0, sizeof(bus));
	assert_int_equal(io_bus_register(&bus, &r), 0);
	/* Current behaviour: a claimed port without a read callback reads as
	 * unclaimed, while a write without a callback is claimed and dropped. */
	assert_false(io_bus_read(&bus, 0x80, 1, &v));
	assert_int_equal(v, 9);
	assert_true(io_bus_write(&bus, 0x80, 1, 0));
}

/* Brute-force reference: a plain list of what was accepted. */
struct ref_range {
	uint64_t base, len;
	struct tdev *d;
};

static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_random_against_reference(void **state)
{
	static struct tdev devs[IO_BUS_MAX_RANGES + 1];

	(void)state;
	rng_state = 0x9E3779B97F4A7C15ULL;
	for (unsigned round = 0; round < 300; round++) {
		struct ref_range ref[IO_BUS_MAX_RANGES];
		unsigned nref = 0;
		struct io_bus bus;

		memset(&bus, 0, sizeof(bus));
		for (unsigned t = 0; t < 40; t++) {
			uint64_t base = rng() % 0x800, len = rng() % 0x60;
			struct tdev *d = &devs[nref];
			bool ok = len && nref < IO_BUS_MAX_RANGES;

			for (unsigned i = 0; ok && i < nref; i++)
				for (uint64_t p = base; ok && p < base + len; p++)
					if (p >= ref[i].base && p < ref[i].base + ref[i].len)
						ok = false;
			d->id = nref;
			assert_int_equal(reg(&bus, base, len, d), ok ? 0 : -1);
			if (ok)
				ref[nref++] = (struct ref_range){base, len, d};
			assert_int_equal(bus.n, nref);
		}
		for (unsigned q = 0; q < 200; q++) {
			uint64_t addr = rng() % 0x900;
			unsigned size = 1u << (rng() % 3);
			const struct ref_range *hit = NULL;
			uint32_t v = 0xFFFFFFFF, want = 0xFFFFFFFF; /* untouched if unclaimed */

			for (unsigned i = 0; i < nref; i++)
				if (addr >= ref[i].base && addr - ref[i].base < ref[i].len)
					hit = &ref[i];
			if (q & 1) {
				assert_int_equal(io_bus_read(&bus, addr, size, &v), hit != NULL);
				if (hit)
					want = hit->d->id << 24 |
					       (uint32_t)(addr - hit->base) << 4 | size;
				assert_int_equal(v, want);
				continue;
			}
			if (hit)
				hit->d->writes = 0;
			assert_int_equal(io_bus_write(&bus, addr, size, (uint32_t)q), hit != NULL);
			if (hit) {
				assert_int_equal(hit->d->writes, 1);
				assert_int_equal(hit->d->off, addr - hit->base);
				assert_int_equal(hit->d->size, size);
				assert_int_equal(hit->d->value, q);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sorted_insert),
	    cmocka_unit_test(test_overlap_refused),
	    cmocka_unit_test(test_zero_len_and_full),
	    cmocka_unit_test(test_previous_range_is_only_a_hint),
	    cmocka_unit_test(test_routing),
	    cmocka_unit_test(test_empty_bus),
	    cmocka_unit_test(test_missing_callbacks),
	    cmocka_unit_test(test_random_against_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
