/* The datastore's on-disk format: CRC-32C, encoding round trips, every
 * refusal of a damaged or hostile metadata copy, volume allocation (first
 * fit, rounding, refusals) and a long random create/delete run that checks
 * the allocator's invariants against an independent model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <keel/crc32c.h>
#include <keel/datastore_fmt.h>

/* Field offsets, copied from core/datastore_fmt.c (the format is the
 * contract: a change there must show up here). */
#define H_MAGIC 0
#define H_VERSION 8
#define H_HEADER_BYTES 12
#define H_GENERATION 16
#define H_DEVICE_BYTES 24
#define H_DATA_START 32
#define H_MAX_VOLUMES 40
#define H_ENTRY_BYTES 44
#define H_TABLE_CRC 48
#define H_HEADER_CRC 52
#define H_UUID 56
#define E_NAME 0
#define E_START 32
#define E_SIZE 40
#define E_CREATED 48

#define MiB (1024ull * 1024)
#define GiB (1024ull * MiB)
#define TABLE_BYTES (DS_MAX_VOLUMES * DS_ENTRY_BYTES)

static const uint8_t uuid[16] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static struct ds_meta m, m2;
static uint8_t buf[DS_META_BYTES];
static char why[160];

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint8_t *entry(unsigned i)
{
	return buf + DS_HEADER_BYTES + i * DS_ENTRY_BYTES;
}

/* Recompute both checksums as the header documents them: the table CRC over
 * the table, then the header CRC over the 512 header bytes with its own
 * field zero. A buffer patched by hand is then "valid" to the checksums. */
static void reseal(void)
{
	put32(buf + H_TABLE_CRC, crc32c(0, buf + DS_HEADER_BYTES, TABLE_BYTES));
	put32(buf + H_HEADER_CRC, 0);
	put32(buf + H_HEADER_CRC, crc32c(0, buf, DS_HEADER_BYTES));
}

/* Write entry I by hand: NAME (up to 32 bytes copied as given), START, SIZE. */
static void set_entry(unsigned i, const char *name, size_t name_len, uint64_t start, uint64_t size)
{
	uint8_t *e = entry(i);

	memset(e, 0, DS_ENTRY_BYTES);
	memcpy(e + E_NAME, name, name_len);
	put64(e + E_START, start);
	put64(e + E_SIZE, size);
	put64(e + E_CREATED, 1);
}

/* Decode BUF from a device of DEV bytes: expect RESULT and, when not DS_OK,
 * a reason containing WANT. */
static void expect_decode(uint64_t dev, enum ds_check result, const char *want)
{
	memset(why, 0, sizeof(why));
	enum ds_check r = ds_decode(buf, dev, &m2, why, sizeof(why));
	if (r != result)
		fail_msg("decode gave %d ('%s'), expected %d", r, why, result);
	if (want && !strstr(why, want))
		fail_msg("reason '%s' does not mention '%s'", why, want);
	/* The same answer without a reason buffer. */
	assert_int_equal(ds_decode(buf, dev, &m2, NULL, 0), result);
}

static void expect_why(const char *want)
{
	if (!strstr(why, want))
		fail_msg("reason '%s' does not mention '%s'", why, want);
}

static int setup(void **state)
{
	(void)state;
	memset(&m, 0, sizeof(m));
	memset(&m2, 0, sizeof(m2));
	memset(buf, 0, sizeof(buf));
	memset(why, 0, sizeof(why));
	return 0;
}

/* ---- CRC-32C ---- */

static void test_crc32c_vector(void **state)
{
	(void)state;
	assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(crc32c(0, "", 0), 0);
	/* Chaining: any split equals one pass. */
	for (size_t cut = 0; cut <= 9; cut++) {
		uint32_t c = crc32c(0, "123456789", cut);
		assert_int_equal(crc32c(c, "123456789" + cut, 9 - cut), 0xE3069283u);
	}
	/* 32 zero bytes: RFC 3720 B.4's vector. */
	uint8_t z[32] = {0};
	assert_int_equal(crc32c(0, z, sizeof(z)), 0x8A9136AAu);
}

/* ---- encode / decode ---- */

static const char name31[] = "abcdefghijklmnopqrstuvwxyz01234"; /* 31 chars */

static void test_round_trip(void **state)
{
	(void)state;
	assert_int_equal(strlen(name31), 31);
	ds_format(&m, 10 * GiB + 12345, uuid);
	assert_int_equal(m.generation, 1);
	assert_int_equal(m.device_bytes, 10 * GiB + 12345);
	assert_memory_equal(m.uuid, uuid, 16);
	assert_int_equal(ds_free_bytes(&m, NULL), 10 * GiB - DS_DATA_START);

	assert_non_null(ds_create(&m, "root", 4 * GiB, why, sizeof(why)));
	assert_non_null(ds_create(&m, name31, 3 * MiB + 1, why, sizeof(why)));
	assert_non_null(ds_create(&m, "A.b-c_9", 1, why, sizeof(why)));
	m.generation = 0x0123456789abcdefull;
	ds_encode(&m, buf);

	/* The documented layout. */
	assert_memory_equal(buf + H_MAGIC, DS_MAGIC, 8);
	assert_int_equal(get32(buf + H_VERSION), 1);
	assert_memory_equal(buf + H_UUID, uuid, 16);
	assert_memory_equal(entry(1) + E_NAME, name31, 32); /* NUL included */

	expect_decode(10 * GiB + 12345, DS_OK, NULL);
	assert_int_equal(m2.generation, 0x0123456789abcdefull);
	assert_int_equal(m2.device_bytes, 10 * GiB + 12345);
	assert_memory_equal(m2.uuid, uuid, 16);
	struct ds_volume *v = ds_find(&m2, name31);
	assert_non_null(v);
	assert_string_equal(v->name, name31);
	assert_int_equal(v->size, 4 * MiB);
	assert_int_equal(v->start, DS_DATA_START + 4 * GiB);
	assert_int_equal(v->created, 2);
	v = ds_find(&m2, "root");
	assert_non_null(v);
	assert_int_equal(v->start, DS_DATA_START);
	assert_int_equal(v->size, 4 * GiB);
	v = ds_find(&m2, "A.b-c_9");
	assert_non_null(v);
	assert_int_equal(v->start, DS_DATA_START + 4 * GiB + 4 * MiB);
	assert_int_equal(v->size, MiB);
	assert_null(ds_find(&m2, "nope"));
	assert_memory_equal(&m, &m2, sizeof(m));

	/* Decoding onto a device that grew is fine; re-encoding is stable. */
	expect_decode(20 * GiB, DS_OK, NULL);
	assert_int_equal(m2.device_bytes, 10 * GiB + 12345);
	uint8_t again[DS_META_BYTES];
	ds_encode(&m2, again);
	assert_memory_equal(again, buf, DS_META_BYTES);
}

static void test_empty_round_trip(void **state)
{
	(void)state;
	ds_format(&m, DS_MIN_DEVICE, uuid);
	ds_encode(&m, buf);
	expect_decode(DS_MIN_DEVICE, DS_OK, NULL);
	assert_memory_equal(&m, &m2, sizeof(m));
	assert_int_equal(ds_free_bytes(&m2, NULL), DS_ALIGN);
}

static void test_no_magic(void **state)
{
	(void)state;
	expect_decode(GiB, DS_NO_MAGIC, "signature");
	/* A datastore with one byte of its magic wrong is not one either. */
	ds_format(&m, GiB, uuid);
	ds_encode(&m, buf);
	buf[H_MAGIC + 7] = 0x02;
	reseal();
	expect_decode(GiB, DS_NO_MAGIC, "signature");
}

static void test_bad_version(void **state)
{
	(void)state;
	ds_format(&m, GiB, uuid);
	ds_encode(&m, buf);
	put32(buf + H_VERSION, 2);
	reseal();
	expect_decode(GiB, DS_BAD_VERSION, "version 2");
	put32(buf + H_VERSION, 0);
	reseal();
	expect_decode(GiB, DS_BAD_VERSION, "version 0");
}

static void build_sample(void)
{
	ds_format(&m, 64 * GiB, uuid);
	assert_non_null(ds_create(&m, "alpha", 10 * MiB, why, sizeof(why)));
	assert_non_null(ds_create(&m, "beta", 20 * MiB, why, sizeof(why)));
	m.generation = 7;
	ds_encode(&m, buf);
}

/* Every single-bit flip in the header is refused. Flips in the magic or the
 * version make it no datastore / an unknown version (checked first); every
 * other bit, the checksums' own included, is a checksum mismatch. */
static void test_header_bit_flips(void **state)
{
	(void)state;
	build_sample();
	for (unsigned bit = 0; bit < DS_HEADER_BYTES * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		enum ds_check want = DS_BAD_CHECKSUM;
		const char *reason = "header checksum";
		if (bit / 8 < H_VERSION) {
			want = DS_NO_MAGIC;
			reason = "signature";
		} else if (bit / 8 < H_HEADER_BYTES) {
			want = DS_BAD_VERSION;
			reason = "version";
		}
		memset(why, 0, sizeof(why));
		enum ds_check r = ds_decode(buf, 64 * GiB, &m2, why, sizeof(why));
		if (r != want || !strstr(why, reason))
			fail_msg("header bit %u: got %d '%s', expected %d", bit, r, why, want);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	expect_decode(64 * GiB, DS_OK, NULL);
}

/* A flipped bit anywhere in the table, used entries or free ones. */
static void test_table_bit_flips(void **state)
{
	(void)state;
	build_sample();
	for (unsigned byte = 0; byte < TABLE_BYTES; byte++) {
		unsigned bit = (byte * 5) % 8;
		uint8_t *p = buf + DS_HEADER_BYTES + byte;
		*p ^= (uint8_t)(1u << bit);
		memset(why, 0, sizeof(why));
		enum ds_check r = ds_decode(buf, 64 * GiB, &m2, why, sizeof(why));
		if (r != DS_BAD_CHECKSUM || !strstr(why, "table checksum"))
			fail_msg("table byte %u bit %u: got %d '%s'", byte, bit, r, why);
		*p ^= (uint8_t)(1u << bit);
	}
	/* Every bit of the first entry too. */
	for (unsigned bit = 0; bit < DS_ENTRY_BYTES * 8; bit++) {
		entry(0)[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(ds_decode(buf, 64 * GiB, &m2, why, sizeof(why)), DS_BAD_CHECKSUM);
		entry(0)[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	expect_decode(64 * GiB, DS_OK, NULL);
}

static void test_device_smaller_than_formatted(void **state)
{
	(void)state;
	build_sample();
	expect_decode(64 * GiB - 1, DS_BAD_LAYOUT, "formatted for");
	expect_decode(GiB, DS_BAD_LAYOUT, "formatted for");
	expect_decode(64 * GiB, DS_OK, NULL);
	/* A header claiming a device too small to hold one volume. */
	put64(buf + H_DEVICE_BYTES, DS_MIN_DEVICE - 1);
	memset(buf + DS_HEADER_BYTES, 0, TABLE_BYTES);
	reseal();
	expect_decode(64 * GiB, DS_BAD_LAYOUT, "formatted for");
}

static void test_header_sizes(void **state)
{
	(void)state;
	static const struct {
		unsigned off, width;
		uint64_t value;
	} bad[] = {
	    {H_HEADER_BYTES, 4, 4096},
	    {H_MAX_VOLUMES, 4, 256},
	    {H_ENTRY_BYTES, 4, 128},
	    {H_DATA_START, 8, 2 * MiB},
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		build_sample();
		if (bad[i].width == 4)
			put32(buf + bad[i].off, (uint32_t)bad[i].value);
		else
			put64(buf + bad[i].off, bad[i].value);
		reseal();
		expect_decode(64 * GiB, DS_BAD_LAYOUT, "header sizes");
	}
}

#define DEV (1 * GiB)

/* A valid empty datastore of DEV bytes in BUF, ready for hand-made entries. */
static void blank(void)
{
	ds_format(&m, DEV, uuid);
	ds_encode(&m, buf);
}

static void hostile(const char *want)
{
	reseal();
	expect_decode(DEV, DS_BAD_LAYOUT, want);
}

static void test_hostile_extents(void **state)
{
	(void)state;
	static const struct {
		uint64_t start, size;
	} bad[] = {
	    {DEV - MiB, 2 * MiB}, /* runs off the end */
	    {DEV, MiB}, /* starts at the end */
	    {DEV + 10 * GiB, MiB}, /* far outside */
	    {0, MiB}, /* on the metadata */
	    {DS_DATA_START - DS_ALIGN / 2, DS_ALIGN}, /* on the metadata, unaligned */
	    {DS_DATA_START + 4096, MiB}, /* start not 1 MiB aligned */
	    {DS_DATA_START + 1, MiB},
	    {DS_DATA_START, MiB + 512}, /* size not a MiB multiple */
	    {DS_DATA_START, 0}, /* empty */
	    {~(DS_ALIGN - 1), 2 * MiB}, /* start + size overflows */
	    {~(DS_ALIGN - 1), DS_ALIGN}, /* ends exactly at 2^64 */
	    {2 * MiB, ~(DS_ALIGN - 1)}, /* huge size, sum overflows */
	    {2 * MiB, UINT64_MAX - 2 * MiB + 1}, /* sum is exactly 0 mod 2^64 */
	    {2 * MiB, DEV}, /* one MiB too long */
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		blank();
		set_entry(0, "ok", 2, DS_DATA_START + 100 * MiB, MiB);
		set_entry(3, "vol", 3, bad[i].start, bad[i].size);
		reseal();
		memset(why, 0, sizeof(why));
		enum ds_check r = ds_decode(buf, DEV, &m2, why, sizeof(why));
		if (r != DS_BAD_LAYOUT || !strstr(why, "'vol'") || !strstr(why, "not inside"))
			fail_msg("extent %#llx+%#llx: got %d '%s'",
				 (unsigned long long)bad[i].start, (unsigned long long)bad[i].size,
				 r, why);
	}
	/* The limits themselves are fine: the first and the last MiB. */
	blank();
	set_entry(0, "first", 5, DS_DATA_START, MiB);
	set_entry(1, "last", 4, DEV - MiB, MiB);
	set_entry(2, "all", 3, DS_DATA_START + MiB, DEV - DS_DATA_START - 2 * MiB);
	reseal();
	expect_decode(DEV, DS_OK, NULL);
	assert_int_equal(ds_free_bytes(&m2, NULL), 0);
}

static void test_hostile_overlaps(void **state)
{
	(void)state;
	static const struct {
		uint64_t a_start, a_size, b_start, b_size;
	} bad[] = {
	    {2 * MiB, 2 * MiB, 3 * MiB, 2 * MiB}, /* tail over head */
	    {3 * MiB, 2 * MiB, 2 * MiB, 2 * MiB}, /* head over tail, reversed order */
	    {2 * MiB, 8 * MiB, 4 * MiB, MiB}, /* contains */
	    {4 * MiB, MiB, 2 * MiB, 8 * MiB}, /* contained */
	    {2 * MiB, MiB, 2 * MiB, MiB}, /* identical */
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		blank();
		set_entry(5, "a", 1, bad[i].a_start, bad[i].a_size);
		set_entry(9, "b", 1, 500 * MiB, MiB);
		set_entry(17, "c", 1, bad[i].b_start, bad[i].b_size);
		hostile("overlap");
		expect_why("'a'");
		expect_why("'c'");
	}
	/* Touching is not overlapping. */
	blank();
	set_entry(5, "a", 1, 2 * MiB, 2 * MiB);
	set_entry(6, "c", 1, 4 * MiB, 2 * MiB);
	set_entry(7, "z", 1, MiB, MiB);
	reseal();
	expect_decode(DEV, DS_OK, NULL);
}

static void test_hostile_names(void **state)
{
	(void)state;
	/* The same name twice, far apart in the table. */
	blank();
	set_entry(0, "disk", 4, 2 * MiB, MiB);
	set_entry(127, "disk", 4, 8 * MiB, MiB);
	hostile("twice");
	expect_why("'disk'");

	/* 32 name bytes, no NUL. */
	blank();
	set_entry(4, "abcdefghijklmnopqrstuvwxyz012345", 32, 2 * MiB, MiB);
	hostile("not terminated");
	expect_why("entry 4");

	static const char *const bad[] = {
	    "a/b", "a b",  "../x", "tab\t",     "nl\n", "\xc3\xa9t\xc3\xa9",
	    "x:y", "\x7f", "q\"",  "semi;colon"};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		blank();
		set_entry(2, bad[i], strlen(bad[i]), 2 * MiB, MiB);
		reseal();
		memset(why, 0, sizeof(why));
		enum ds_check r = ds_decode(buf, DEV, &m2, why, sizeof(why));
		if (r != DS_BAD_LAYOUT || !strstr(why, "bad name"))
			fail_msg("name '%s': got %d '%s'", bad[i], r, why);
	}

	/* A free entry (first byte NUL) is ignored whatever else it holds. */
	blank();
	set_entry(1, "\0junk", 5, ~0ull, 0);
	reseal();
	expect_decode(DEV, DS_OK, NULL);
	assert_int_equal(m2.vol[1].name[0], 0);
	assert_int_equal(ds_free_bytes(&m2, NULL), DEV - DS_DATA_START);
}

/* ---- allocation ---- */

static void test_create_rounds_up(void **state)
{
	(void)state;
	ds_format(&m, GiB, uuid);
	m.generation = 41;
	struct ds_volume *v = ds_create(&m, "one", 1, why, sizeof(why));
	assert_non_null(v);
	assert_string_equal(v->name, "one");
	assert_int_equal(v->start, DS_DATA_START);
	assert_int_equal(v->size, MiB);
	assert_int_equal(v->created, 42);
	assert_int_equal(m.generation, 41); /* the caller bumps it */
	v = ds_create(&m, "two", MiB, why, sizeof(why));
	assert_non_null(v);
	assert_int_equal(v->start, DS_DATA_START + MiB);
	assert_int_equal(v->size, MiB);
	v = ds_create(&m, "three", MiB + 1, why, sizeof(why));
	assert_non_null(v);
	assert_int_equal(v->start, DS_DATA_START + 2 * MiB);
	assert_int_equal(v->size, 2 * MiB);
	assert_ptr_equal(ds_find(&m, "three"), v);
	assert_int_equal(ds_free_bytes(&m, NULL), GiB - DS_DATA_START - 4 * MiB);
}

static void test_first_fit_fills_gap(void **state)
{
	(void)state;
	uint64_t largest;

	ds_format(&m, 100 * MiB, uuid);
	struct ds_volume *a = ds_create(&m, "a", 4 * MiB, why, sizeof(why));
	struct ds_volume *b = ds_create(&m, "b", 8 * MiB, why, sizeof(why));
	struct ds_volume *c = ds_create(&m, "c", 4 * MiB, why, sizeof(why));
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_int_equal(a->start, MiB);
	assert_int_equal(b->start, 5 * MiB);
	assert_int_equal(c->start, 13 * MiB);
	assert_int_equal(ds_free_bytes(&m, &largest), 83 * MiB);
	assert_int_equal(largest, 83 * MiB);

	uint64_t b_start = b->start;
	memset(b->name, 0, sizeof(b->name)); /* delete b */
	assert_null(ds_find(&m, "b"));
	assert_int_equal(ds_free_bytes(&m, &largest), 91 * MiB);
	assert_int_equal(largest, 83 * MiB);

	struct ds_volume *d = ds_create(&m, "d", 2 * MiB, why, sizeof(why));
	assert_non_null(d);
	assert_ptr_equal(d, b); /* the free slot is reused */
	assert_int_equal(d->start, b_start);
	assert_int_equal(d->size, 2 * MiB);
	assert_int_equal(ds_free_bytes(&m, &largest), 89 * MiB);
	assert_int_equal(largest, 83 * MiB);

	/* Exactly the rest of the gap. */
	struct ds_volume *e = ds_create(&m, "e", 6 * MiB, why, sizeof(why));
	assert_non_null(e);
	assert_int_equal(e->start, b_start + 2 * MiB);
	/* Too big for any hole: after c. */
	struct ds_volume *f = ds_create(&m, "f", MiB, why, sizeof(why));
	assert_non_null(f);
	assert_int_equal(f->start, 17 * MiB);
	/* The whole of what is left fits exactly, then nothing. */
	assert_int_equal(ds_free_bytes(&m, &largest), 82 * MiB);
	struct ds_volume *g = ds_create(&m, "g", 82 * MiB, why, sizeof(why));
	assert_non_null(g);
	assert_int_equal(g->start + g->size, 100 * MiB);
	assert_int_equal(ds_free_bytes(&m, &largest), 0);
	assert_int_equal(largest, 0);
	assert_null(ds_create(&m, "h", 1, why, sizeof(why)));
	expect_why("no room");
}

/* ds_create refuses WHY-ing WANT, and leaves the metadata untouched. */
static void expect_refusal(const char *name, uint64_t size, const char *want)
{
	struct ds_meta before = m;

	memset(why, 0, sizeof(why));
	if (ds_create(&m, name, size, why, sizeof(why)))
		fail_msg("create '%s' of %llu bytes succeeded", name, (unsigned long long)size);
	if (!strstr(why, want))
		fail_msg("create '%s': reason '%s' does not mention '%s'", name, why, want);
	assert_memory_equal(&before, &m, sizeof(m));
	assert_null(ds_create(&m, name, size, NULL, 0));
}

static void test_create_refusals(void **state)
{
	(void)state;
	ds_format(&m, 100 * MiB, uuid);
	assert_non_null(ds_create(&m, "taken", 10 * MiB, why, sizeof(why)));
	assert_non_null(ds_create(&m, "mid", 10 * MiB, why, sizeof(why)));
	assert_non_null(ds_create(&m, "end", 10 * MiB, why, sizeof(why)));
	memset(ds_find(&m, "mid")->name, 0, DS_NAME_MAX);

	expect_refusal("", MiB, "cannot name");
	expect_refusal("abcdefghijklmnopqrstuvwxyz012345", MiB, "cannot name"); /* 32 */
	expect_refusal("a/b", MiB, "cannot name");
	expect_refusal("a b", MiB, "cannot name");
	expect_refusal("taken", MiB, "exists");
	expect_refusal("new", 0, "new");

	/* free: 69 MiB after 'end' + 10 in the hole = 79; largest 69. */
	uint64_t largest;
	assert_int_equal(ds_free_bytes(&m, &largest), 79 * MiB);
	assert_int_equal(largest, 69 * MiB);
	expect_refusal("new", 70 * MiB, "no room for 70 MiB");
	expect_why("free: 79 MiB");
	expect_why("largest gap 69 MiB");
	expect_refusal("new", 69 * MiB + 1, "no room for 70 MiB");
	expect_refusal("new", 100 * MiB, "no room");
	expect_refusal("new", 100 * MiB + 1, "new"); /* bigger than the device */
	expect_refusal("new", UINT64_MAX, "new");
	assert_non_null(ds_create(&m, "new", 69 * MiB, why, sizeof(why)));

	/* Rounding up cannot wrap to a tiny size on an absurdly big device. */
	ds_format(&m, UINT64_MAX, uuid);
	expect_refusal("wrap", UINT64_MAX - 5, "no room");
	expect_refusal("wrap", UINT64_MAX - DS_ALIGN + 2, "no room");
	struct ds_volume *v =
	    ds_create(&m, "huge", UINT64_MAX - 2 * DS_ALIGN + 1, why, sizeof(why));
	assert_non_null(v);
	assert_int_equal(v->start, DS_DATA_START);
	assert_int_equal(v->size, UINT64_MAX - DS_ALIGN + 1 - DS_DATA_START);
}

static void test_table_full(void **state)
{
	(void)state;
	char name[16];

	ds_format(&m, 4 * GiB, uuid);
	for (unsigned i = 0; i < DS_MAX_VOLUMES; i++) {
		snprintf(name, sizeof(name), "v%u", i);
		struct ds_volume *v = ds_create(&m, name, MiB, why, sizeof(why));
		if (!v)
			fail_msg("volume %u: %s", i, why);
		assert_int_equal(v->start, DS_DATA_START + i * MiB);
	}
	expect_refusal("more", MiB, "128 volumes");
	/* Plenty of room left, so only the table is in the way. */
	assert_int_equal(ds_free_bytes(&m, NULL), 4 * GiB - DS_DATA_START - 128 * MiB);
	/* A full table round-trips. */
	ds_encode(&m, buf);
	expect_decode(4 * GiB, DS_OK, NULL);
	assert_memory_equal(&m, &m2, sizeof(m));
	/* Delete one, and the name comes back into use. */
	memset(ds_find(&m, "v77")->name, 0, DS_NAME_MAX);
	struct ds_volume *v = ds_create(&m, "more", MiB, why, sizeof(why));
	assert_non_null(v);
	assert_int_equal(v->start, DS_DATA_START + 77 * MiB);
}

static void test_free_bytes(void **state)
{
	(void)state;
	uint64_t largest = 1;

	/* Unaligned device ends are not usable. */
	ds_format(&m, 10 * MiB + 4095, uuid);
	assert_int_equal(ds_free_bytes(&m, &largest), 9 * MiB);
	assert_int_equal(largest, 9 * MiB);
	assert_int_equal(ds_free_bytes(&m, NULL), 9 * MiB);
	struct ds_volume *v = ds_create(&m, "all", 9 * MiB, why, sizeof(why));
	assert_non_null(v);
	assert_int_equal(v->start + v->size, 10 * MiB);
	assert_int_equal(ds_free_bytes(&m, &largest), 0);
	assert_int_equal(largest, 0);

	/* No room at all on a device of the bare minimum minus one byte. */
	ds_format(&m, DS_MIN_DEVICE - 1, uuid);
	assert_int_equal(ds_free_bytes(&m, &largest), 0);
	assert_int_equal(largest, 0);
	expect_refusal("x", 1, "no room");
}

/* ---- a long random run against a model ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

struct ext {
	uint64_t start, end;
};

static int by_start(const void *a, const void *b)
{
	const struct ext *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* The model: sorted extents of the live volumes; gaps from them. */
static unsigned live_extents(const struct ds_meta *mm, struct ext *e)
{
	unsigned n = 0;

	for (unsigned i = 0; i < DS_MAX_VOLUMES; i++)
		if (mm->vol[i].name[0])
			e[n++] = (struct ext){mm->vol[i].start, mm->vol[i].start + mm->vol[i].size};
	qsort(e, n, sizeof(*e), by_start);
	return n;
}

/* Check the invariants; return the model's first fit for WANT (0 if none),
 * its free total and largest gap. */
static uint64_t check_invariants(const struct ds_meta *mm, uint64_t want, uint64_t *total,
				 uint64_t *largest)
{
	struct ext e[DS_MAX_VOLUMES];
	unsigned n = live_extents(mm, e);
	uint64_t end = mm->device_bytes & ~(DS_ALIGN - 1), pos = DS_DATA_START, fit = 0;

	for (unsigned i = 0; i < DS_MAX_VOLUMES; i++) {
		const struct ds_volume *v = &mm->vol[i];
		if (!v->name[0])
			continue;
		assert_true(ds_name_ok(v->name));
		assert_int_equal(v->start % DS_ALIGN, 0);
		assert_int_equal(v->size % DS_ALIGN, 0);
		assert_true(v->size > 0);
		assert_true(v->start >= DS_DATA_START);
		assert_true(v->start + v->size <= mm->device_bytes);
		for (unsigned j = 0; j < i; j++)
			if (mm->vol[j].name[0])
				assert_string_not_equal(mm->vol[j].name, v->name);
	}
	*total = *largest = 0;
	for (unsigned i = 0; i <= n; i++) {
		uint64_t gap_end = i < n ? e[i].start : end;
		assert_true(gap_end >= pos); /* no overlap */
		uint64_t gap = gap_end - pos;
		*total += gap;
		if (gap > *largest)
			*largest = gap;
		if (!fit && want && gap >= want)
			fit = pos;
		if (i < n)
			pos = e[i].end;
	}
	return fit;
}

static void test_random_create_delete(void **state)
{
	(void)state;
	const uint64_t dev = 300 * MiB + 777;
	unsigned serial = 0, created = 0, refused = 0, deleted = 0;
	char name[DS_NAME_MAX];

	ds_format(&m, dev, uuid);
	for (unsigned step = 0; step < 5000; step++) {
		uint64_t r = next_rand();
		unsigned live = 0;
		for (unsigned i = 0; i < DS_MAX_VOLUMES; i++)
			live += m.vol[i].name[0] != 0;

		if (live && r % 100 < 40) {
			/* Delete a random live volume. */
			unsigned k = (unsigned)((r >> 8) % live);
			for (unsigned i = 0; i < DS_MAX_VOLUMES; i++)
				if (m.vol[i].name[0] && !k--) {
					memset(m.vol[i].name, 0, DS_NAME_MAX);
					break;
				}
			deleted++;
		} else {
			/* Mostly small, sometimes big, sizes in bytes. */
			uint64_t size =
			    r >> 40 & 1 ? (r >> 8) % (4 * MiB) + 1 : (r >> 8) % (60 * MiB) + 1;
			uint64_t rounded = (size + DS_ALIGN - 1) & ~(DS_ALIGN - 1);
			uint64_t total, largest;
			uint64_t fit = check_invariants(&m, rounded, &total, &largest);
			snprintf(name, sizeof(name), "vol-%u", serial++);
			struct ds_volume *v = ds_create(&m, name, size, why, sizeof(why));
			if (fit && live < DS_MAX_VOLUMES) {
				if (!v)
					fail_msg(
					    "step %u: create %llu refused ('%s') with a fit at %#llx",
					    step, (unsigned long long)size, why,
					    (unsigned long long)fit);
				assert_int_equal(v->start, fit); /* first fit */
				assert_int_equal(v->size, rounded);
				created++;
			} else {
				if (v)
					fail_msg("step %u: create %llu at %#llx with no room", step,
						 (unsigned long long)size,
						 (unsigned long long)v->start);
				refused++;
			}
		}
		uint64_t total, largest, ds_largest;
		check_invariants(&m, 0, &total, &largest);
		assert_int_equal(ds_free_bytes(&m, &ds_largest), total);
		assert_int_equal(ds_largest, largest);
		if (step % 97 == 0) {
			m.generation++;
			ds_encode(&m, buf);
			expect_decode(dev, DS_OK, NULL);
			/* Deleted entries (name zeroed, extent left) come back all zero. */
			assert_int_equal(m2.generation, m.generation);
			assert_int_equal(m2.device_bytes, dev);
			for (unsigned i = 0; i < DS_MAX_VOLUMES; i++) {
				if (m.vol[i].name[0])
					assert_memory_equal(&m2.vol[i], &m.vol[i],
							    sizeof(m.vol[i]));
				else
					assert_int_equal(m2.vol[i].name[0], 0);
			}
		}
	}
	/* The run did exercise both outcomes. */
	assert_true(created > 1000);
	assert_true(refused > 100);
	assert_true(deleted > 1000);
}

/* ---- names ---- */

static void test_name_ok(void **state)
{
	(void)state;
	assert_true(ds_name_ok("a"));
	assert_true(ds_name_ok("Z"));
	assert_true(ds_name_ok("0"));
	assert_true(ds_name_ok("_"));
	assert_true(ds_name_ok("-"));
	assert_true(ds_name_ok("."));
	assert_true(ds_name_ok("web-01.root_disk"));
	assert_true(ds_name_ok("ABCXYZabcxyz0189"));
	assert_true(ds_name_ok(name31));
	assert_false(ds_name_ok(""));
	assert_false(ds_name_ok("abcdefghijklmnopqrstuvwxyz012345")); /* 32 */
	assert_false(ds_name_ok("abcdefghijklmnopqrstuvwxyz0123456789")); /* 36 */
	assert_false(ds_name_ok("a/b"));
	assert_false(ds_name_ok("/"));
	assert_false(ds_name_ok(" "));
	assert_false(ds_name_ok("a b"));
	assert_false(ds_name_ok("a\tb"));
	assert_false(ds_name_ok("a\n"));
	assert_false(ds_name_ok("a:b"));
	assert_false(ds_name_ok("a@b"));
	assert_false(ds_name_ok("a\\b"));
	assert_false(ds_name_ok("\x7f"));
	assert_false(ds_name_ok("\xff"));
	assert_false(ds_name_ok("caf\xc3\xa9"));
	/* Just outside each accepted range. */
	assert_false(ds_name_ok("`"));
	assert_false(ds_name_ok("{"));
	assert_false(ds_name_ok("@"));
	assert_false(ds_name_ok("["));
	assert_false(ds_name_ok("/"));
	assert_false(ds_name_ok(":"));
	assert_false(ds_name_ok(","));
	assert_false(ds_name_ok("^"));
	/* A bad character at the last allowed position. */
	assert_false(ds_name_ok("abcdefghijklmnopqrstuvwxyz0123 "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_crc32c_vector, setup),
	    cmocka_unit_test_setup(test_round_trip, setup),
	    cmocka_unit_test_setup(test_empty_round_trip, setup),
	    cmocka_unit_test_setup(test_no_magic, setup),
	    cmocka_unit_test_setup(test_bad_version, setup),
	    cmocka_unit_test_setup(test_header_bit_flips, setup),
	    cmocka_unit_test_setup(test_table_bit_flips, setup),
	    cmocka_unit_test_setup(test_device_smaller_than_formatted, setup),
	    cmocka_unit_test_setup(test_header_sizes, setup),
	    cmocka_unit_test_setup(test_hostile_extents, setup),
	    cmocka_unit_test_setup(test_hostile_overlaps, setup),
	    cmocka_unit_test_setup(test_hostile_names, setup),
	    cmocka_unit_test_setup(test_create_rounds_up, setup),
	    cmocka_unit_test_setup(test_first_fit_fills_gap, setup),
	    cmocka_unit_test_setup(test_create_refusals, setup),
	    cmocka_unit_test_setup(test_table_full, setup),
	    cmocka_unit_test_setup(test_free_bytes, setup),
	    cmocka_unit_test_setup(test_random_create_delete, setup),
	    cmocka_unit_test_setup(test_name_ok, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
