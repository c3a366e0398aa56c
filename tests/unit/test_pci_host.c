/* Unit tests for the PCI host bridge and configuration mechanism #1
 * (vdev/pci_host.c), driven through 0xCF8/0xCFC as Linux's pci_conf1 and
 * a BIOS drive them, with a fake device behind pci_host_add_device(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <keel/pci_host.h>

#define ADDR 0xCF8
#define DATA 0xCFC
#define CFG(bus, dev, fn, reg)                                                               \
	(0x80000000u | (uint32_t)(bus) << 16 | (uint32_t)(dev) << 11 | (uint32_t)(fn) << 8 | \
	 ((reg)&0xFC))

static struct pci_host ph;

static int setup(void **state)
{
	(void)state;
	pci_host_init(&ph);
	return 0;
}

/* Read SIZE bytes at register REG of BUS:DEV.FN as Linux does. */
static uint32_t cfg_read(unsigned bus, unsigned dev, unsigned fn, unsigned reg, unsigned size)
{
	pci_host_write(&ph, ADDR, 4, CFG(bus, dev, fn, reg));
	return pci_host_read(&ph, (uint16_t)(DATA + (reg & 3)), size);
}

static void cfg_write(unsigned bus, unsigned dev, unsigned fn, unsigned reg, unsigned size,
		      uint32_t v)
{
	pci_host_write(&ph, ADDR, 4, CFG(bus, dev, fn, reg));
	pci_host_write(&ph, (uint16_t)(DATA + (reg & 3)), size, v);
}

static void test_bridge_ids(void **state)
{
	(void)state;
	assert_int_equal(cfg_read(0, 0, 0, 0x00, 4), 0x12378086);
	assert_int_equal(cfg_read(0, 0, 0, 0x00, 2), 0x8086);
	assert_int_equal(cfg_read(0, 0, 0, 0x02, 2), 0x1237);
	assert_int_equal(cfg_read(0, 0, 0, 0x00, 1), 0x86);
	assert_int_equal(cfg_read(0, 0, 0, 0x01, 1), 0x80);
	assert_int_equal(cfg_read(0, 0, 0, 0x02, 1), 0x37);
	assert_int_equal(cfg_read(0, 0, 0, 0x03, 1), 0x12);
	assert_int_equal(cfg_read(0, 0, 0, 0x04, 4), 0x02800006); /* status | command */
	assert_int_equal(cfg_read(0, 0, 0, 0x08, 4), 0x06000002); /* class, revision */
	assert_int_equal(cfg_read(0, 0, 0, 0x0B, 1), 0x06);
	assert_int_equal(cfg_read(0, 0, 0, 0x0A, 2), 0x0600);
	assert_int_equal(cfg_read(0, 0, 0, 0x0E, 1), 0x00); /* header type 0 */
	for (unsigned reg = 0x10; reg < 0x100; reg += 4)
		assert_int_equal(cfg_read(0, 0, 0, reg, 4), 0); /* no BARs, no caps */
}

static void test_address_register(void **state)
{
	(void)state;
	assert_int_equal(pci_host_read(&ph, ADDR, 4), 0);
	pci_host_write(&ph, ADDR, 4, 0xFFFFFFFF);
	assert_int_equal(pci_host_read(&ph, ADDR, 4), 0x80FFFFFC); /* reserved bits 0 */
	pci_host_write(&ph, ADDR, 4, CFG(0, 0, 0, 0x08));
	assert_int_equal(pci_host_read(&ph, ADDR, 4), 0x80000008);
	/* Narrow accesses to 0xCF8-0xCFB are not CONFIG_ADDRESS. */
	pci_host_write(&ph, ADDR, 2, 0);
	pci_host_write(&ph, ADDR, 1, 0);
	pci_host_write(&ph, ADDR + 2, 2, 0);
	pci_host_write(&ph, ADDR + 1, 1, 0x06); /* 0xCF9: not ours */
	assert_int_equal(pci_host_read(&ph, ADDR, 4), 0x80000008);
	assert_int_equal(pci_host_read(&ph, ADDR, 2), 0xFFFF);
	assert_int_equal(pci_host_read(&ph, ADDR, 1), 0xFF);
	assert_int_equal(pci_host_read(&ph, ADDR + 1, 1), 0xFF);
	assert_int_equal(pci_host_read(&ph, ADDR + 2, 2), 0xFFFF);
	assert_int_equal(pci_host_read(&ph, ADDR + 3, 1), 0xFF);
	/* A dword at 0xCFA or elsewhere is not CONFIG_ADDRESS either. */
	pci_host_write(&ph, ADDR + 2, 4, 0);
	assert_int_equal(pci_host_read(&ph, ADDR + 2, 4), 0xFFFFFFFF);
	assert_int_equal(pci_host_read(&ph, ADDR, 4), 0x80000008);
}

static void test_absent(void **state)
{
	(void)state;
	for (unsigned dev = 1; dev < 32; dev++)
		assert_int_equal(cfg_read(0, dev, 0, 0, 4), 0xFFFFFFFF);
	for (unsigned fn = 1; fn < 8; fn++)
		assert_int_equal(cfg_read(0, 0, fn, 0, 4), 0xFFFFFFFF);
	for (unsigned bus = 1; bus < 256; bus++)
		assert_int_equal(cfg_read(bus, 0, 0, 0, 4), 0xFFFFFFFF);
	assert_int_equal(cfg_read(0, 3, 0, 0x02, 2), 0xFFFF);
	assert_int_equal(cfg_read(0, 3, 0, 0x03, 1), 0xFF);
	cfg_write(0, 3, 0, 0x04, 4, 0); /* dropped, harmlessly */
	cfg_write(1, 0, 0, 0x04, 4, 0); /* bus 1's 00.0 is not the bridge */
	assert_int_equal(cfg_read(0, 0, 0, 0x04, 2), 0x0006);
}

static void test_disabled(void **state)
{
	(void)state;
	pci_host_write(&ph, ADDR, 4, CFG(0, 0, 0, 0) & 0x7FFFFFFF);
	assert_int_equal(pci_host_read(&ph, DATA, 4), 0xFFFFFFFF);
	assert_int_equal(pci_host_read(&ph, DATA + 2, 2), 0xFFFF);
	assert_int_equal(pci_host_read(&ph, DATA + 3, 1), 0xFF);
	pci_host_write(&ph, ADDR, 4, CFG(0, 0, 0, 0x04) & 0x7FFFFFFF);
	pci_host_write(&ph, DATA, 2, 0);
	assert_int_equal(cfg_read(0, 0, 0, 0x04, 2), 0x0006);
}

static void test_read_only(void **state)
{
	(void)state;
	cfg_write(0, 0, 0, 0x00, 4, 0);
	cfg_write(0, 0, 0, 0x00, 2, 0x1234);
	cfg_write(0, 0, 0, 0x03, 1, 0);
	cfg_write(0, 0, 0, 0x08, 4, 0xFFFFFFFF);
	cfg_write(0, 0, 0, 0x0E, 1, 0x80); /* header type */
	cfg_write(0, 0, 0, 0x10, 4, 0xFFFFFFFF); /* BAR sizing: no BARs */
	cfg_write(0, 0, 0, 0x59, 1, 0x33); /* PAM: not modelled */
	cfg_write(0, 0, 0, 0x06, 2, 0xFFFF); /* status: nothing to clear */
	assert_int_equal(cfg_read(0, 0, 0, 0x00, 4), 0x12378086);
	assert_int_equal(cfg_read(0, 0, 0, 0x08, 4), 0x06000002);
	assert_int_equal(cfg_read(0, 0, 0, 0x0C, 4), 0);
	assert_int_equal(cfg_read(0, 0, 0, 0x10, 4), 0);
	assert_int_equal(cfg_read(0, 0, 0, 0x59, 1), 0);
	assert_int_equal(cfg_read(0, 0, 0, 0x06, 2), 0x0280);
}

static void test_writable(void **state)
{
	(void)state;
	/* Command: I/O, memory, bus master, parity, SERR# only. */
	cfg_write(0, 0, 0, 0x04, 2, 0xFFFF);
	assert_int_equal(cfg_read(0, 0, 0, 0x04, 2), 0x0147);
	assert_int_equal(cfg_read(0, 0, 0, 0x06, 2), 0x0280); /* status untouched */
	cfg_write(0, 0, 0, 0x04, 1, 0x00);
	assert_int_equal(cfg_read(0, 0, 0, 0x04, 2), 0x0100);
	cfg_write(0, 0, 0, 0x05, 1, 0x00);
	assert_int_equal(cfg_read(0, 0, 0, 0x04, 2), 0x0000);
	/* A dword write to command+status. */
	cfg_write(0, 0, 0, 0x04, 4, 0xFFFF0006);
	assert_int_equal(cfg_read(0, 0, 0, 0x04, 4), 0x02800006);
	/* Latency timer: bits 7:3, by byte, word and dword. */
	cfg_write(0, 0, 0, 0x0D, 1, 0xFF);
	assert_int_equal(cfg_read(0, 0, 0, 0x0D, 1), 0xF8);
	cfg_write(0, 0, 0, 0x0C, 2, 0x4000 | 0x10);
	assert_int_equal(cfg_read(0, 0, 0, 0x0C, 4), 0x00004000); /* cache line: RO 0 */
	cfg_write(0, 0, 0, 0x0C, 4, 0xFFFF2000);
	assert_int_equal(cfg_read(0, 0, 0, 0x0C, 4), 0x00002000);
}

static void test_misaligned(void **state)
{
	(void)state;
	pci_host_write(&ph, ADDR, 4, CFG(0, 0, 0, 0));
	assert_int_equal(pci_host_read(&ph, DATA + 1, 2), 0xFFFF);
	assert_int_equal(pci_host_read(&ph, DATA + 3, 2), 0xFFFF);
	assert_int_equal(pci_host_read(&ph, DATA + 2, 4), 0xFFFFFFFF);
	assert_int_equal(pci_host_read(&ph, DATA, 3), 0xFFFFFFFF);
	assert_int_equal(pci_host_read(&ph, DATA, 0), 0xFFFFFFFF);
	assert_int_equal(pci_host_read(&ph, 0xD00, 4), 0xFFFFFFFF);
	assert_int_equal(pci_host_read(&ph, 0xCF7, 1), 0xFF);
	pci_host_write(&ph, ADDR, 4, CFG(0, 0, 0, 0x04));
	pci_host_write(&ph, DATA + 1, 2, 0);
	pci_host_write(&ph, DATA, 8, 0);
	assert_int_equal(cfg_read(0, 0, 0, 0x04, 2), 0x0006);
}

/* A fake device: 256 bytes of configuration space, all writable, and a
 * log of the last access. */
struct fake {
	uint8_t cfg[256];
	unsigned last_off, last_size, reads, writes;
	uint32_t junk; /* ORed into reads: the host must mask it */
};

static uint32_t fake_read(void *dev, unsigned off, unsigned size)
{
	struct fake *f = dev;
	uint32_t v = 0;

	assert_true(off < 256 && off % size == 0);
	f->last_off = off;
	f->last_size = size;
	f->reads++;
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)f->cfg[off + i] << (8 * i);
	return v | f->junk;
}

static void fake_write(void *dev, unsigned off, unsigned size, uint32_t value)
{
	struct fake *f = dev;

	assert_true(off < 256 && off % size == 0);
	assert_true(size == 4 || value >> (8 * size) == 0);
	f->last_off = off;
	f->last_size = size;
	f->writes++;
	for (unsigned i = 0; i < size; i++)
		f->cfg[off + i] = (uint8_t)(value >> (8 * i));
}

static const struct pci_dev_ops fake_ops = {.cfg_read = fake_read, .cfg_write = fake_write};

static void test_added_device(void **state)
{
	static const struct pci_dev_ops half = {.cfg_read = fake_read};
	struct fake f = {0}, g = {0};

	(void)state;
	f.cfg[0] = 0xF4;
	f.cfg[1] = 0x1A; /* 1af4: a virtio device, say */
	f.cfg[2] = 0x00;
	f.cfg[3] = 0x10;
	assert_int_equal(pci_host_add_device(&ph, PCI_DEVFN(3, 0), &fake_ops, &f), 0);
	assert_int_equal(pci_host_add_device(&ph, PCI_DEVFN(3, 0), &fake_ops, &g), -1);
	assert_int_equal(pci_host_add_device(&ph, 0, &fake_ops, &g), -1);
	assert_int_equal(pci_host_add_device(&ph, 256, &fake_ops, &g), -1);
	assert_int_equal(pci_host_add_device(&ph, PCI_DEVFN(4, 0), NULL, &g), -1);
	assert_int_equal(pci_host_add_device(&ph, PCI_DEVFN(4, 0), &half, &g), -1);
	assert_int_equal(pci_host_add_device(&ph, PCI_DEVFN(31, 7), &fake_ops, &g), 0);

	assert_int_equal(cfg_read(0, 3, 0, 0x00, 4), 0x10001AF4);
	assert_int_equal(f.last_off, 0);
	assert_int_equal(f.last_size, 4);
	assert_int_equal(cfg_read(0, 3, 0, 0x02, 2), 0x1000);
	assert_int_equal(f.last_off, 2);
	assert_int_equal(f.last_size, 2);
	assert_int_equal(cfg_read(0, 3, 0, 0xFF, 1), 0);
	assert_int_equal(f.last_off, 0xFF);
	cfg_write(0, 3, 0, 0x3C, 1, 0x0B);
	assert_int_equal(f.cfg[0x3C], 0x0B);
	assert_int_equal(f.last_size, 1);
	cfg_write(0, 3, 0, 0x12, 2, 0xFFFFBEEF); /* the host masks to the size */
	assert_int_equal(f.cfg[0x12] | f.cfg[0x13] << 8, 0xBEEF);
	assert_int_equal(f.cfg[0x14], 0);
	f.junk = 0xFFFFFF00;
	assert_int_equal(cfg_read(0, 3, 0, 0x3C, 1), 0x0B);
	f.junk = 0;
	/* Neighbours and other functions are still absent; the other device
	 * gets its own accesses. */
	assert_int_equal(cfg_read(0, 3, 1, 0, 4), 0xFFFFFFFF);
	assert_int_equal(cfg_read(0, 2, 0, 0, 4), 0xFFFFFFFF);
	assert_int_equal(cfg_read(1, 3, 0, 0, 4), 0xFFFFFFFF);
	g.cfg[0x40] = 0x77;
	assert_int_equal(cfg_read(0, 31, 7, 0x40, 1), 0x77);
	/* Disabled or misaligned accesses never reach the device. */
	unsigned reads = f.reads, writes = f.writes;
	pci_host_write(&ph, ADDR, 4, CFG(0, 3, 0, 0) & 0x7FFFFFFF);
	assert_int_equal(pci_host_read(&ph, DATA, 4), 0xFFFFFFFF);
	pci_host_write(&ph, DATA, 4, 0);
	pci_host_write(&ph, ADDR, 4, CFG(0, 3, 0, 0));
	assert_int_equal(pci_host_read(&ph, DATA + 1, 2), 0xFFFF);
	pci_host_write(&ph, DATA + 1, 2, 0);
	assert_int_equal(f.reads, reads);
	assert_int_equal(f.writes, writes);
	/* The bridge is unaffected. */
	assert_int_equal(cfg_read(0, 0, 0, 0, 4), 0x12378086);
}

/* ECAM reaches the same registers as mechanism #1, by address. */
static void test_ecam(void **state)
{
	static struct fake f;
	const uint64_t dev3 = (uint64_t)PCI_DEVFN(3, 0) << 12;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.cfg[0] = 0xF4;
	f.cfg[1] = 0x1A;
	assert_int_equal(pci_host_add_device(&ph, PCI_DEVFN(3, 0), &fake_ops, &f), 0);
	/* The bridge's identity, in every width. */
	assert_int_equal(pci_host_ecam_read(&ph, 0, 4), 0x12378086);
	assert_int_equal(pci_host_ecam_read(&ph, 2, 2), 0x1237);
	assert_int_equal(pci_host_ecam_read(&ph, 1, 1), 0x80);
	/* A write through ECAM is seen through mechanism #1 and back. */
	pci_host_ecam_write(&ph, 0x0D, 1, 0xFF);
	assert_int_equal(cfg_read(0, 0, 0, 0x0D, 1), 0xF8);
	cfg_write(0, 3, 0, 0x40, 4, 0xCAFEF00D);
	assert_int_equal(pci_host_ecam_read(&ph, dev3 + 0x40, 4), 0xCAFEF00D);
	pci_host_ecam_write(&ph, dev3 + 0x44, 2, 0xBEEF);
	assert_int_equal(f.cfg[0x44], 0xEF);
	assert_int_equal(f.last_off, 0x44);
	assert_int_equal(f.last_size, 2);
	assert_int_equal(pci_host_ecam_read(&ph, dev3, 4), 0x00001AF4);
	/* Extended space of a conventional function: 0, writes dropped. */
	unsigned writes = f.writes;
	assert_int_equal(pci_host_ecam_read(&ph, dev3 + 0x100, 4), 0);
	pci_host_ecam_write(&ph, dev3 + 0x100, 4, 0xFFFFFFFF);
	assert_int_equal(f.writes, writes);
	/* Master aborts: absent function, misaligned, bad size, past bus 0. */
	assert_int_equal(pci_host_ecam_read(&ph, (uint64_t)PCI_DEVFN(4, 0) << 12, 4), 0xFFFFFFFF);
	assert_int_equal(pci_host_ecam_read(&ph, dev3 + 2, 4), 0xFFFFFFFF);
	assert_int_equal(pci_host_ecam_read(&ph, dev3 + 1, 2), 0xFFFF);
	assert_int_equal(pci_host_ecam_read(&ph, dev3, 3), 0xFFFFFFFF);
	assert_int_equal(pci_host_ecam_read(&ph, PCI_HOST_ECAM_SIZE, 4), 0xFFFFFFFF);
	pci_host_ecam_write(&ph, dev3 + 0x42, 4, 0);
	pci_host_ecam_write(&ph, (1u << 20) + 0x40, 4, 0);
	assert_int_equal(cfg_read(0, 3, 0, 0x40, 4), 0xCAFEF00D); /* untouched */
	assert_int_equal(cfg_read(0, 3, 0, 0x44, 2), 0xBEEF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_bridge_ids, setup),
	    cmocka_unit_test_setup(test_address_register, setup),
	    cmocka_unit_test_setup(test_absent, setup),
	    cmocka_unit_test_setup(test_disabled, setup),
	    cmocka_unit_test_setup(test_read_only, setup),
	    cmocka_unit_test_setup(test_writable, setup),
	    cmocka_unit_test_setup(test_misaligned, setup),
	    cmocka_unit_test_setup(test_added_device, setup),
	    cmocka_unit_test_setup(test_ecam, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
