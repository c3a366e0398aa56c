/* Unit tests for the fw_cfg device (vdev/fw_cfg.c), driven through ports
 * 0x510/0x511 the way SeaBIOS and Linux's qemu_fw_cfg driver read it. File
 * data lives in heap buffers of exactly their size, so AddressSanitizer
 * catches any read past a file's end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <keel/fw_cfg.h>

#define SEL FW_CFG_PORT_SEL
#define DATA FW_CFG_PORT_DATA
#define RAM (3ULL << 32 | 0x12345000) /* above 4 GiB: all 8 bytes matter */

static struct fw_cfg fc;

static int setup(void **state)
{
	(void)state;
	fw_cfg_init(&fc, 4, RAM);
	return 0;
}

static void select_item(uint16_t key)
{
	fw_cfg_write(&fc, SEL, 2, key);
}

static void read_bytes(void *buf, size_t n)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)fw_cfg_read(&fc, DATA, 1);
}

static uint64_t read_le(uint16_t key, unsigned n)
{
	uint8_t b[8];
	uint64_t v = 0;

	select_item(key);
	read_bytes(b, n);
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_signature(void **state)
{
	char sig[5] = {0};

	(void)state;
	/* Selected at reset: firmware may read before selecting. */
	read_bytes(sig, 4);
	assert_string_equal(sig, "QEMU");
	select_item(FW_CFG_SIGNATURE);
	memset(sig, 0, sizeof(sig));
	read_bytes(sig, 4);
	assert_string_equal(sig, "QEMU");
	/* Past the end: zeros. */
	assert_int_equal(fw_cfg_read(&fc, DATA, 1), 0);
	/* A dword read returns the bytes in order, the first lowest. */
	select_item(FW_CFG_SIGNATURE);
	assert_int_equal(fw_cfg_read(&fc, DATA, 4), 0x554D4551); /* "QEMU" */
	/* Reselecting rewinds. */
	select_item(FW_CFG_SIGNATURE);
	assert_int_equal(fw_cfg_read(&fc, DATA, 2), 0x4551);
	assert_int_equal(fw_cfg_read(&fc, DATA, 2), 0x554D);
	assert_int_equal(fw_cfg_read(&fc, DATA, 2), 0);
}

static void test_id(void **state)
{
	(void)state;
	assert_int_equal(read_le(FW_CFG_ID, 4), 1); /* traditional, no DMA */
	assert_int_equal(read_le(FW_CFG_ID, 8), 1); /* and nothing after */
}

static void test_cpus_and_ram(void **state)
{
	(void)state;
	assert_int_equal(read_le(FW_CFG_NB_CPUS, 2), 4);
	assert_int_equal(read_le(FW_CFG_MAX_CPUS, 2), 4);
	assert_int_equal(read_le(FW_CFG_NB_CPUS, 4), 4); /* 2 bytes only */
	assert_true(read_le(FW_CFG_RAM_SIZE, 8) == RAM);
	fw_cfg_init(&fc, 0x1234, 0);
	assert_int_equal(read_le(FW_CFG_NB_CPUS, 2), 0x1234);
	assert_int_equal(read_le(FW_CFG_RAM_SIZE, 8), 0);
}

/* Parse the directory as firmware does: count, then 64-byte entries. */
static void test_file_directory(void **state)
{
	static const uint8_t a[3] = {1, 2, 3};
	static const uint8_t b[70000];
	char longest[FW_CFG_NAME_SIZE];
	uint8_t hdr[4], ent[FW_CFG_DIR_ENTRY_SIZE];

	(void)state;
	assert_int_equal(read_le(FW_CFG_FILE_DIR, 4), 0); /* empty: count 0 */
	assert_int_equal(fw_cfg_add_file(&fc, "etc/acpi/tables", a, sizeof(a)), 0x20);
	assert_int_equal(fw_cfg_add_file(&fc, "etc/table-loader", b, sizeof(b)), 0x21);
	memset(longest, 'x', sizeof(longest));
	longest[sizeof(longest) - 1] = 0; /* 55 characters: the most allowed */
	assert_int_equal(fw_cfg_add_file(&fc, longest, NULL, 0), 0x22);

	select_item(FW_CFG_FILE_DIR);
	read_bytes(hdr, 4);
	assert_int_equal(be32(hdr), 3);
	read_bytes(ent, sizeof(ent));
	assert_int_equal(be32(ent), 3);
	assert_int_equal(ent[4] << 8 | ent[5], 0x20);
	assert_int_equal(ent[6] | ent[7], 0);
	assert_string_equal((const char *)ent + 8, "etc/acpi/tables");
	for (size_t i = 8 + strlen("etc/acpi/tables"); i < sizeof(ent); i++)
		assert_int_equal(ent[i], 0); /* NUL-padded */
	read_bytes(ent, sizeof(ent));
	assert_int_equal(be32(ent), 70000);
	assert_int_equal(ent[4] << 8 | ent[5], 0x21);
	assert_string_equal((const char *)ent + 8, "etc/table-loader");
	read_bytes(ent, sizeof(ent));
	assert_int_equal(be32(ent), 0);
	assert_int_equal(ent[4] << 8 | ent[5], 0x22);
	assert_memory_equal(ent + 8, longest, sizeof(longest));
	assert_int_equal(fw_cfg_read(&fc, DATA, 4), 0); /* end of directory */
}

static void test_add_file_refused(void **state)
{
	static const uint8_t d[1];
	char name[FW_CFG_NAME_SIZE + 1];

	(void)state;
	memset(name, 'y', sizeof(name));
	name[FW_CFG_NAME_SIZE] = 0; /* 56 characters: no room for the NUL */
	assert_int_equal(fw_cfg_add_file(&fc, name, d, 1), -1);
	assert_int_equal(fw_cfg_add_file(&fc, "", d, 1), -1);
	assert_int_equal(fw_cfg_add_file(&fc, NULL, d, 1), -1);
	assert_int_equal(fw_cfg_add_file(&fc, "f", NULL, 1), -1);
	assert_int_equal(fw_cfg_add_file(&fc, "f", d, 1), 0x20);
	assert_int_equal(fw_cfg_add_file(&fc, "f", d, 1), -1); /* duplicate */
	assert_int_equal(fw_cfg_add_file(&fc, "f2", d, 1), 0x21); /* prefix is fine */
	for (int i = 2; i < FW_CFG_MAX_FILES; i++) {
		char n[8] = {'n', (char)('a' + i / 26), (char)('a' + i % 26), 0};

		assert_int_equal(fw_cfg_add_file(&fc, n, d, 1), 0x20 + i);
	}
	assert_int_equal(fw_cfg_add_file(&fc, "full", d, 1), -1);
	assert_int_equal(read_le(FW_CFG_FILE_DIR, 4), (uint64_t)FW_CFG_MAX_FILES << 24);
}

/* A file read in chunks of every access size, each byte exactly once;
 * the buffer is exactly the file's size (ASan guards its end). */
static void test_file_chunks(void **state)
{
	const uint32_t size = 1001;
	uint8_t *data = malloc(size), *got = malloc(size + 8);
	uint32_t off = 0;
	int sel;

	(void)state;
	for (uint32_t i = 0; i < size; i++)
		data[i] = (uint8_t)(i * 7 + 3);
	sel = fw_cfg_add_file(&fc, "opt/keel/blob", data, size);
	assert_int_equal(sel, 0x20);
	select_item((uint16_t)sel);
	for (unsigned step = 0; off < size; step++) {
		unsigned n = step % 3 == 0 ? 1 : step % 3 == 1 ? 2 : 4;
		uint32_t v = fw_cfg_read(&fc, DATA, n);

		for (unsigned i = 0; i < n; i++)
			got[off + i] = (uint8_t)(v >> (8 * i));
		off += n;
	}
	assert_memory_equal(got, data, size);
	/* Bytes of the last access beyond the end were zeros. */
	for (uint32_t i = size; i < off; i++)
		assert_int_equal(got[i], 0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(fw_cfg_read(&fc, DATA, 4), 0);
	/* Rewind and read again, interleaved with another item. */
	select_item((uint16_t)sel);
	assert_int_equal(fw_cfg_read(&fc, DATA, 1), data[0]);
	select_item(FW_CFG_NB_CPUS);
	assert_int_equal(fw_cfg_read(&fc, DATA, 2), 4);
	select_item((uint16_t)sel);
	read_bytes(got, size);
	assert_memory_equal(got, data, size);
	free(data);
	free(got);
}

static void test_unknown_items(void **state)
{
	static const uint8_t d[4] = {9, 9, 9, 9};
	static const uint16_t keys[] = {0x0002, 0x0004, 0x000e, 0x0018, 0x001f,
					0x0021, 0x7fff, 0x8000, 0x8020, 0xffff};

	(void)state;
	fw_cfg_add_file(&fc, "one", d, sizeof(d));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		select_item(keys[i]);
		for (int j = 0; j < 16; j++)
			assert_int_equal(fw_cfg_read(&fc, DATA, 4), 0);
	}
	/* The write-channel bit is ignored: the item reads as usual. */
	select_item(FW_CFG_WRITE_CHANNEL | 0x20);
	assert_int_equal(fw_cfg_read(&fc, DATA, 4), 0x09090909);
	/* But the architecture-local bit names another item set (empty). */
	select_item(FW_CFG_ARCH_LOCAL | FW_CFG_SIGNATURE);
	assert_int_equal(fw_cfg_read(&fc, DATA, 4), 0);
}

static void test_hostile_access(void **state)
{
	static const uint8_t d[2] = {0xAB, 0xCD};

	(void)state;
	fw_cfg_add_file(&fc, "two", d, sizeof(d));
	select_item(0x20);
	/* Byte or dword writes to the selector do nothing; data writes do
	 * nothing. */
	fw_cfg_write(&fc, SEL, 1, FW_CFG_NB_CPUS);
	fw_cfg_write(&fc, SEL, 4, FW_CFG_NB_CPUS);
	fw_cfg_write(&fc, DATA, 1, 0x55);
	fw_cfg_write(&fc, 0x512, 2, FW_CFG_NB_CPUS);
	assert_int_equal(fw_cfg_read(&fc, DATA, 1), 0xAB);
	/* Odd sizes and other ports read all ones and do not advance. */
	assert_int_equal(fw_cfg_read(&fc, DATA, 3), 0xFFFFFFFF);
	assert_int_equal(fw_cfg_read(&fc, DATA, 0), 0xFFFFFFFF);
	assert_int_equal(fw_cfg_read(&fc, SEL, 2), 0xFFFF);
	assert_int_equal(fw_cfg_read(&fc, 0x514, 1), 0xFF);
	assert_int_equal(fw_cfg_read(&fc, DATA, 1), 0xCD);
	assert_int_equal(fw_cfg_read(&fc, DATA, 1), 0);
	assert_int_equal(fc.offset, 2); /* never advances past the end */
	/* Only the value's low 16 bits select. */
	fw_cfg_write(&fc, SEL, 2, 0xFFFF0000u | FW_CFG_NB_CPUS);
	assert_int_equal(fw_cfg_read(&fc, DATA, 2), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_signature, setup),
	    cmocka_unit_test_setup(test_id, setup),
	    cmocka_unit_test_setup(test_cpus_and_ram, setup),
	    cmocka_unit_test_setup(test_file_directory, setup),
	    cmocka_unit_test_setup(test_add_file_refused, setup),
	    cmocka_unit_test_setup(test_file_chunks, setup),
	    cmocka_unit_test_setup(test_unknown_items, setup),
	    cmocka_unit_test_setup(test_hostile_access, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
