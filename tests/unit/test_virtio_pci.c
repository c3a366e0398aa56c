/* Unit tests for the virtio 1.x modern PCI transport (vdev/virtio_pci.c,
 * with vdev/msix.c), plugged into the PCI host bridge (vdev/pci_host.c)
 * at 00:03.0 and driven as Linux's virtio_pci_modern drives one: the
 * configuration space through 0xCF8/0xCFC, BAR 0 through
 * virtio_pci_mmio_*(), natural-width accesses to the common cfg. A fake
 * device model (8 bytes of config, like virtio-blk's capacity) sits
 * below, and the caller is played by virtio_pci_take_event(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <keel/msi.h>
#include <keel/pci_host.h>
#include <keel/virtio_pci.h>

#define DEV 3
#define BAR 0xFE000000u
#define NQ 2
#define QMAX 256
#define FEATURES ((1ull << 0) | (1ull << 9) | (1ull << 28) | (1ull << 33))
#define CC(reg) (VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_CC_##reg)
#define TABLE(v, field) (VIRTIO_PCI_MSIX_TABLE_OFF + 16 * (v) + (field))
#define MSIX_CTRL (VIRTIO_PCI_CAP_MSIX + MSIX_CAP_CTRL)

/* ---- The fake device model ---- */

static uint8_t dev_cfg[8];
static unsigned dev_writes;

static uint32_t dev_read(void *dev, unsigned off, unsigned size)
{
	uint32_t v = 0;

	assert_ptr_equal(dev, dev_cfg);
	assert_true(off + size <= sizeof(dev_cfg) && off % size == 0);
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)dev_cfg[off + i] << (8 * i);
	return v;
}

static void dev_write(void *dev, unsigned off, unsigned size, uint32_t v)
{
	assert_ptr_equal(dev, dev_cfg);
	assert_true(off + size <= sizeof(dev_cfg) && off % size == 0);
	for (unsigned i = 0; i < size; i++)
		dev_cfg[off + i] = (uint8_t)(v >> (8 * i));
	dev_writes++;
}

static const struct virtio_pci_device_ops dev_ops = {dev_read, dev_write};

static struct pci_host ph;
static struct virtio_pci s;

static struct virtio_pci_params params(void)
{
	return (struct virtio_pci_params){
	    .device_id = 2,
	    .class_code = 0x010000,
	    .features = FEATURES,
	    .num_queues = NQ,
	    .queue_size = QMAX,
	    .cfg_len = sizeof(dev_cfg),
	    .bar0 = BAR,
	    .ops = &dev_ops,
	    .dev = dev_cfg,
	};
}

static int setup(void **state)
{
	struct virtio_pci_params p = params();

	(void)state;
	for (unsigned i = 0; i < sizeof(dev_cfg); i++)
		dev_cfg[i] = (uint8_t)(0x10 + i);
	dev_writes = 0;
	pci_host_init(&ph);
	assert_int_equal(virtio_pci_init(&s, &p), 0);
	assert_int_equal(pci_host_add_device(&ph, PCI_DEVFN(DEV, 0), &virtio_pci_cfg_ops, &s), 0);
	return 0;
}

/* ---- Access helpers ---- */

static uint32_t cfg_rd(unsigned reg, unsigned size)
{
	pci_host_write(&ph, PCI_HOST_PORT_ADDR, 4, 0x80000000u | DEV << 11 | (reg & 0xFC));
	return pci_host_read(&ph, (uint16_t)(PCI_HOST_PORT_DATA + (reg & 3)), size);
}

static void cfg_wr(unsigned reg, unsigned size, uint32_t v)
{
	pci_host_write(&ph, PCI_HOST_PORT_ADDR, 4, 0x80000000u | DEV << 11 | (reg & 0xFC));
	pci_host_write(&ph, (uint16_t)(PCI_HOST_PORT_DATA + (reg & 3)), size, v);
}

static uint32_t rd(uint32_t off, unsigned size)
{
	return virtio_pci_mmio_read(&s, off, size);
}

static void wr(uint32_t off, unsigned size, uint32_t v)
{
	virtio_pci_mmio_write(&s, off, size, v);
}

static struct virtio_pci_event expect_event(uint8_t kind)
{
	struct virtio_pci_event ev;

	assert_true(virtio_pci_take_event(&s, &ev));
	assert_int_equal(ev.kind, kind);
	return ev;
}

static void expect_none(void)
{
	struct virtio_pci_event ev;

	assert_false(virtio_pci_take_event(&s, &ev));
}

static void expect_status(uint8_t status)
{
	assert_int_equal(expect_event(VIRTIO_PCI_EV_STATUS).value, status);
	assert_int_equal(rd(CC(STATUS), 1), status);
}

static void expect_msi(uint64_t addr, uint32_t data)
{
	struct virtio_pci_event ev = expect_event(VIRTIO_PCI_EV_MSI);

	assert_int_equal(ev.msi.addr, addr);
	assert_int_equal(ev.msi.data, data);
}

static void expect_intx(bool level)
{
	assert_int_equal(expect_event(VIRTIO_PCI_EV_INTX).value, level);
	assert_int_equal(virtio_pci_intx_level(&s), level);
}

static void set_status(uint8_t v)
{
	wr(CC(STATUS), 1, v);
}

static void select_queue(uint16_t q)
{
	wr(CC(Q_SELECT), 2, q);
}

/* Program vector V's entry (Linux: address, data, then unmask). */
static void program_vector(unsigned v, uint8_t apic, uint8_t vector, bool masked)
{
	wr(TABLE(v, 0), 4, MSI_ADDR_BASE | (uint32_t)apic << 12);
	wr(TABLE(v, 4), 4, 0);
	wr(TABLE(v, 8), 4, vector);
	wr(TABLE(v, 12), 4, masked);
}

static void msix_ctrl(uint16_t bits)
{
	cfg_wr(MSIX_CTRL, 2, bits);
}

/* A queue set up as vp_modern's setup_vq() does, then enabled. */
static void setup_queue(uint16_t q, uint16_t size, uint64_t base, uint16_t vector)
{
	struct virtio_pci_event ev;

	select_queue(q);
	assert_int_equal(rd(CC(Q_SIZE), 2), QMAX);
	assert_int_equal(rd(CC(Q_NOFF), 2), q);
	wr(CC(Q_SIZE), 2, size);
	wr(CC(Q_DESC), 4, (uint32_t)base);
	wr(CC(Q_DESC) + 4, 4, (uint32_t)(base >> 32));
	wr(CC(Q_DRIVER), 4, (uint32_t)(base + 0x1000));
	wr(CC(Q_DRIVER) + 4, 4, (uint32_t)(base >> 32));
	wr(CC(Q_DEVICE), 4, (uint32_t)(base + 0x2000));
	wr(CC(Q_DEVICE) + 4, 4, (uint32_t)(base >> 32));
	wr(CC(Q_MSIX), 2, vector);
	assert_int_equal(rd(CC(Q_MSIX), 2), vector);
	expect_none();
	wr(CC(Q_ENABLE), 2, 1);
	ev = expect_event(VIRTIO_PCI_EV_QUEUE_ENABLED);
	assert_int_equal(ev.queue, q);
	assert_int_equal(ev.size, size);
	assert_int_equal(ev.desc, base);
	assert_int_equal(ev.driver, base + 0x1000);
	assert_int_equal(ev.device, base + 0x2000);
	assert_int_equal(rd(CC(Q_ENABLE), 2), 1);
}

/* Feature negotiation as virtio_dev_probe() does it; returns the
 * device's 64 features as read. */
static uint64_t negotiate(uint64_t driver)
{
	uint64_t dev;

	set_status(0);
	expect_event(VIRTIO_PCI_EV_RESET);
	assert_int_equal(rd(CC(STATUS), 1), 0);
	set_status(VIRTIO_STATUS_ACKNOWLEDGE);
	expect_status(VIRTIO_STATUS_ACKNOWLEDGE);
	set_status(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	expect_status(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(CC(DFSELECT), 4, 0);
	dev = rd(CC(DF), 4);
	wr(CC(DFSELECT), 4, 1);
	dev |= (uint64_t)rd(CC(DF), 4) << 32;
	wr(CC(GFSELECT), 4, 0);
	wr(CC(GF), 4, (uint32_t)driver);
	wr(CC(GFSELECT), 4, 1);
	wr(CC(GF), 4, (uint32_t)(driver >> 32));
	set_status(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	return dev;
}

#define ACK_DRV (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER)
#define FEAT_OK (ACK_DRV | VIRTIO_STATUS_FEATURES_OK)
#define ALL_OK (FEAT_OK | VIRTIO_STATUS_DRIVER_OK)

/* Linux's full probe with MSI-X: one vector for config, one per queue. */
static void linux_probe_msix(void)
{
	msix_ctrl(MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);
	for (unsigned v = 0; v <= NQ; v++)
		program_vector(v, 1, (uint8_t)(0x40 + v), false);
	msix_ctrl(MSIX_CTRL_ENABLE);
	assert_int_equal(negotiate(FEATURES | VIRTIO_F_VERSION_1), FEATURES | VIRTIO_F_VERSION_1);
	expect_status(FEAT_OK);
	wr(CC(MSIX), 2, 0);
	assert_int_equal(rd(CC(MSIX), 2), 0);
	for (uint16_t q = 0; q < NQ; q++)
		setup_queue(q, 128, 0x100000ull * (q + 1), (uint16_t)(q + 1));
	set_status(ALL_OK);
	expect_status(ALL_OK);
	expect_none();
}

/* ---- Configuration space ---- */

static void test_identity(void **state)
{
	(void)state;
	assert_int_equal(cfg_rd(0x00, 4), 0x10421AF4); /* 0x1040 + 2 */
	assert_int_equal(cfg_rd(0x04, 4), 0x00100000); /* caps list, command 0 */
	assert_int_equal(cfg_rd(0x08, 4), 0x01000001); /* class 01/00/00, rev 1 */
	assert_int_equal(cfg_rd(0x0C, 4), 0); /* header type 0, single function */
	assert_int_equal(cfg_rd(0x10, 4), BAR); /* memory, 32-bit, non-prefetchable */
	assert_int_equal(cfg_rd(0x2C, 4), 0x10421AF4); /* subsystem */
	assert_int_equal(cfg_rd(0x34, 1), 0x40);
	assert_int_equal(cfg_rd(0x3C, 4), 0x00000100); /* INTA, line 0 */
	assert_int_equal(cfg_rd(0x2E, 2), 0x1042);
	assert_true(cfg_rd(0x2E, 2) >= 0x40);
	/* Other BARs, CardBus and the ROM BAR read 0 and ignore writes. */
	for (unsigned reg = 0x14; reg <= 0x30; reg += 4) {
		if (reg == 0x2C)
			continue;
		cfg_wr(reg, 4, 0xFFFFFFFF);
		assert_int_equal(cfg_rd(reg, 4), 0);
	}
	/* Identity, class, status, header and pin are read-only. */
	cfg_wr(0x00, 4, 0);
	cfg_wr(0x08, 4, 0);
	cfg_wr(0x0C, 4, 0xFFFFFFFF);
	cfg_wr(0x06, 2, 0xFFFF); /* write-1-to-clear bits: none set */
	cfg_wr(0x2C, 4, 0);
	cfg_wr(0x34, 1, 0);
	cfg_wr(0x3C, 2, 0xFF0B);
	assert_int_equal(cfg_rd(0x00, 4), 0x10421AF4);
	assert_int_equal(cfg_rd(0x08, 4), 0x01000001);
	assert_int_equal(cfg_rd(0x0C, 4), 0);
	assert_int_equal(cfg_rd(0x06, 2), 0x0010);
	assert_int_equal(cfg_rd(0x2C, 4), 0x10421AF4);
	assert_int_equal(cfg_rd(0x34, 1), 0x40);
	assert_int_equal(cfg_rd(0x3C, 2), 0x010B); /* line writable, pin not */
	/* The same bytes through ECAM. */
	assert_int_equal(pci_host_ecam_read(&ph, (uint64_t)PCI_DEVFN(DEV, 0) << 12, 4), 0x10421AF4);
	assert_true(virtio_pci_state_valid(&s));
	expect_none();
}

struct region {
	uint32_t off, len;
};

static void test_cap_chain(void **state)
{
	struct region r[8];
	unsigned n = 0, seen = 0, ptr, steps = 0;
	bool msix = false;

	(void)state;
	for (ptr = cfg_rd(0x34, 1); ptr; ptr = cfg_rd(ptr + 1, 1)) {
		unsigned id = cfg_rd(ptr, 1);

		assert_true(ptr >= 0x40 && ptr % 4 == 0 && ++steps < 16);
		if (id == MSIX_CAP_ID) {
			uint32_t ctrl = cfg_rd(ptr + 2, 2), tab = cfg_rd(ptr + 4, 4),
				 pba = cfg_rd(ptr + 8, 4);

			assert_int_equal(ptr, VIRTIO_PCI_CAP_MSIX);
			assert_int_equal(ctrl, NQ); /* N - 1, disabled, unmasked */
			assert_int_equal(tab & 7, 0); /* BIR 0 */
			assert_int_equal(pba & 7, 0);
			r[n++] = (struct region){tab & ~7u, 16 * (NQ + 1)};
			r[n++] = (struct region){pba & ~7u, 8};
			msix = true;
			continue;
		}
		assert_int_equal(id, VIRTIO_PCI_CAP_ID_VNDR);
		unsigned type = cfg_rd(ptr + 3, 1), len = cfg_rd(ptr + 2, 1);
		uint32_t off = cfg_rd(ptr + 8, 4), length = cfg_rd(ptr + 12, 4);

		assert_int_equal(cfg_rd(ptr + 4, 1), 0); /* BAR 0 */
		assert_true(type >= 1 && type <= 5 && !(seen & 1u << type));
		seen |= 1u << type;
		assert_int_equal(len, type == VIRTIO_PCI_CAP_NOTIFY_CFG || type == 5 ? 20 : 16);
		switch (type) {
		case VIRTIO_PCI_CAP_COMMON_CFG:
			assert_int_equal(off, 0);
			assert_int_equal(length, 0x38);
			break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			assert_int_equal(cfg_rd(ptr + 16, 4), 4); /* notify_off_multiplier */
			assert_int_equal(off % 2, 0);
			assert_true(length >= 4 * (NQ - 1) + 2);
			break;
		case VIRTIO_PCI_CAP_ISR_CFG:
			assert_true(length >= 1);
			break;
		case VIRTIO_PCI_CAP_DEVICE_CFG:
			assert_int_equal(length, sizeof(dev_cfg));
			break;
		default: /* PCI cfg access: the driver's fields, zero at reset */
			assert_int_equal(off, 0);
			assert_int_equal(length, 0);
			assert_int_equal(cfg_rd(ptr + 16, 4), 0);
			continue;
		}
		r[n++] = (struct region){off, length};
	}
	assert_int_equal(seen, 0x3E);
	assert_true(msix);
	/* Every region fits in BAR 0 and none overlaps another. */
	for (unsigned i = 0; i < n; i++) {
		assert_true(r[i].len && r[i].off + r[i].len <= VIRTIO_PCI_BAR_SIZE);
		for (unsigned j = 0; j < i; j++)
			assert_true(r[i].off + r[i].len <= r[j].off ||
				    r[j].off + r[j].len <= r[i].off);
	}
	/* Capability bytes are read-only (but the PCI cfg access fields). */
	cfg_wr(VIRTIO_PCI_CAP_COMMON, 4, 0);
	cfg_wr(VIRTIO_PCI_CAP_NOTIFY + 16, 4, 0);
	cfg_wr(VIRTIO_PCI_CAP_MSIX + 4, 4, 0xFFFFFFFF);
	cfg_wr(MSIX_CTRL, 2, 0x3FFF);
	assert_int_equal(cfg_rd(VIRTIO_PCI_CAP_COMMON, 4), 0x01105009);
	assert_int_equal(cfg_rd(VIRTIO_PCI_CAP_NOTIFY + 16, 4), 4);
	assert_int_equal(cfg_rd(VIRTIO_PCI_CAP_MSIX + 4, 4), VIRTIO_PCI_MSIX_TABLE_OFF);
	assert_int_equal(cfg_rd(MSIX_CTRL, 2), NQ);
	assert_true(virtio_pci_state_valid(&s));
}

static void test_cap_chain_without_device_cfg(void **state)
{
	struct virtio_pci_params p = params();
	unsigned seen = 0;

	(void)state;
	p.device_id = 4; /* virtio-rng: no config, one queue */
	p.class_code = 0x00FF00;
	p.cfg_len = 0;
	p.ops = NULL;
	p.num_queues = 1;
	assert_int_equal(virtio_pci_init(&s, &p), 0);
	assert_int_equal(cfg_rd(0x00, 4), 0x10441AF4);
	for (unsigned ptr = cfg_rd(0x34, 1); ptr; ptr = cfg_rd(ptr + 1, 1))
		seen |=
		    cfg_rd(ptr, 1) == VIRTIO_PCI_CAP_ID_VNDR ? 1u << cfg_rd(ptr + 3, 1) : 1u << 7;
	assert_int_equal(seen, 0xAE); /* 1, 2, 3, 5 and MSI-X */
	assert_int_equal(cfg_rd(MSIX_CTRL, 2), 1); /* two vectors */
	assert_int_equal(cfg_rd(VIRTIO_PCI_CAP_NOTIFY + 12, 4), 4);
	/* The device window reads 0 and writes go nowhere. */
	assert_int_equal(rd(VIRTIO_PCI_DEVICE_OFF, 4), 0);
	wr(VIRTIO_PCI_DEVICE_OFF, 4, 1);
	assert_true(virtio_pci_state_valid(&s));
	expect_none();
}

static void test_bar_sizing(void **state)
{
	uint64_t base = 0;

	(void)state;
	assert_false(virtio_pci_bar0(&s, &base)); /* memory decode off */
	/* Sizing as pci_read_bases() does, decode off. */
	cfg_wr(0x10, 4, 0xFFFFFFFF);
	assert_int_equal(cfg_rd(0x10, 4), 0xFFFFC000);
	assert_int_equal(~(cfg_rd(0x10, 4) & ~0xFu) + 1, VIRTIO_PCI_BAR_SIZE);
	cfg_wr(0x10, 4, BAR);
	assert_int_equal(cfg_rd(0x10, 4), BAR);
	/* Bits 13:0 are read-only; byte writes land. */
	cfg_wr(0x10, 4, 0xC0001FFF);
	assert_int_equal(cfg_rd(0x10, 4), 0xC0000000);
	cfg_wr(0x13, 1, 0xFE);
	cfg_wr(0x11, 1, 0xFF);
	assert_int_equal(cfg_rd(0x10, 4), 0xFE00C000);
	cfg_wr(0x10, 2, 0x0000);
	assert_int_equal(cfg_rd(0x10, 4), 0xFE000000);
	cfg_wr(0x04, 2, VIRTIO_PCI_CMD_MEM);
	assert_true(virtio_pci_bar0(&s, &base));
	assert_int_equal(base, 0xFE000000u);
	cfg_wr(0x10, 4, 0);
	assert_false(virtio_pci_bar0(&s, &base)); /* unassigned */
	cfg_wr(0x10, 4, 0x80004000);
	assert_true(virtio_pci_bar0(&s, &base));
	assert_int_equal(base, 0x80004000u);
	assert_true(virtio_pci_state_valid(&s));
}

static void test_command_register(void **state)
{
	(void)state;
	cfg_wr(0x04, 2, 0xFFFF);
	assert_int_equal(cfg_rd(0x04, 2), 0x0407);
	assert_int_equal(cfg_rd(0x06, 2), 0x0010);
	cfg_wr(0x04, 4, 0xFFFF0000); /* status half: nothing writable */
	assert_int_equal(cfg_rd(0x04, 4), 0x00100000);
	cfg_wr(0x05, 1, 0x04);
	assert_int_equal(cfg_rd(0x04, 2), 0x0400);
	cfg_wr(0x04, 1, 0x06);
	assert_int_equal(cfg_rd(0x04, 2), 0x0406);
	assert_true(virtio_pci_state_valid(&s));
	expect_none();
}

/* ---- Common configuration ---- */

static void test_linux_probe(void **state)
{
	struct virtio_pci_event ev;

	(void)state;
	assert_int_equal(rd(CC(NUMQ), 2), NQ);
	assert_int_equal(rd(CC(MSIX), 2), VIRTIO_PCI_NO_VECTOR);
	assert_int_equal(negotiate(FEATURES | VIRTIO_F_VERSION_1), FEATURES | VIRTIO_F_VERSION_1);
	expect_status(FEAT_OK);
	assert_int_equal(s.driver_features, FEATURES | VIRTIO_F_VERSION_1);
	/* Features are final now. */
	wr(CC(GFSELECT), 4, 0);
	wr(CC(GF), 4, 0);
	assert_int_equal(rd(CC(GF), 4), (uint32_t)FEATURES);
	wr(CC(GFSELECT), 4, 1);
	assert_int_equal(rd(CC(GF), 4), (uint32_t)((FEATURES | VIRTIO_F_VERSION_1) >> 32));
	/* INTx mode: no vectors. */
	setup_queue(0, 128, 0x200000, VIRTIO_PCI_NO_VECTOR);
	setup_queue(1, QMAX, 0x1234500000ull, VIRTIO_PCI_NO_VECTOR);
	set_status(ALL_OK);
	expect_status(ALL_OK);
	/* Rewriting a bit already set changes nothing; no bit is cleared. */
	set_status(VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(rd(CC(STATUS), 1), ALL_OK);
	expect_none();
	/* Kicks: queue_notify_off(q) * 4, any width; the value is ignored. */
	wr(VIRTIO_PCI_NOTIFY_OFF + 4, 2, 1);
	ev = expect_event(VIRTIO_PCI_EV_QUEUE_NOTIFY);
	assert_int_equal(ev.queue, 1);
	wr(VIRTIO_PCI_NOTIFY_OFF, 4, 0xFFFF);
	assert_int_equal(expect_event(VIRTIO_PCI_EV_QUEUE_NOTIFY).queue, 0);
	wr(VIRTIO_PCI_NOTIFY_OFF, 1, 0);
	assert_int_equal(expect_event(VIRTIO_PCI_EV_QUEUE_NOTIFY).queue, 0);
	wr(VIRTIO_PCI_NOTIFY_OFF + 2, 2, 0); /* not a queue's slot */
	wr(VIRTIO_PCI_NOTIFY_OFF + 8, 2, 2); /* no queue 2 */
	assert_int_equal(rd(VIRTIO_PCI_NOTIFY_OFF, 4), 0);
	expect_none();
	/* Everything Linux did leaves a valid state. */
	assert_true(virtio_pci_state_valid(&s));
}

static void test_features_refused(void **state)
{
	(void)state;
	/* A feature the device does not offer. */
	negotiate(FEATURES | VIRTIO_F_VERSION_1 | (1ull << 1));
	assert_int_equal(rd(CC(STATUS), 1), ACK_DRV);
	expect_none();
	/* The driver may fix its features and try again. */
	wr(CC(GFSELECT), 4, 0);
	wr(CC(GF), 4, (uint32_t)FEATURES);
	set_status(FEAT_OK);
	expect_status(FEAT_OK);
	/* Without VERSION_1 (a legacy driver's choice). */
	negotiate(FEATURES);
	assert_int_equal(rd(CC(STATUS), 1), ACK_DRV);
	/* Other bits of the same write still land. */
	set_status(FEAT_OK | VIRTIO_STATUS_FAILED);
	expect_status(ACK_DRV | VIRTIO_STATUS_FAILED);
	/* Selects past the second word read 0 and take no writes. */
	wr(CC(DFSELECT), 4, 2);
	assert_int_equal(rd(CC(DF), 4), 0);
	assert_int_equal(rd(CC(DFSELECT), 4), 2);
	wr(CC(GFSELECT), 4, 7);
	wr(CC(GF), 4, 0xFFFFFFFF);
	assert_int_equal(rd(CC(GF), 4), 0);
	assert_int_equal(s.driver_features, FEATURES);
	/* device_feature is read-only. */
	wr(CC(DFSELECT), 4, 0);
	wr(CC(DF), 4, 0);
	assert_int_equal(rd(CC(DF), 4), (uint32_t)FEATURES);
	assert_true(virtio_pci_state_valid(&s));
	expect_none();
}

static void test_queue_locked_after_enable(void **state)
{
	(void)state;
	negotiate(FEATURES | VIRTIO_F_VERSION_1);
	expect_status(FEAT_OK);
	/* Sizes: powers of two up to the maximum, not 0. */
	select_queue(1);
	wr(CC(Q_SIZE), 2, 100);
	wr(CC(Q_SIZE), 2, 0);
	wr(CC(Q_SIZE), 2, 512);
	assert_int_equal(rd(CC(Q_SIZE), 2), QMAX);
	wr(CC(Q_SIZE), 2, 1);
	assert_int_equal(rd(CC(Q_SIZE), 2), 1);
	setup_queue(0, 64, 0x300000, VIRTIO_PCI_NO_VECTOR);
	/* Enabled: addresses and size are fixed; enable 0 and 1 do nothing. */
	wr(CC(Q_DESC), 4, 0xDEAD0000);
	wr(CC(Q_DESC) + 4, 4, 1);
	wr(CC(Q_DRIVER), 4, 0);
	wr(CC(Q_DEVICE) + 4, 4, 0xFFFFFFFF);
	wr(CC(Q_SIZE), 2, 16);
	wr(CC(Q_ENABLE), 2, 0);
	wr(CC(Q_ENABLE), 2, 1);
	assert_int_equal(rd(CC(Q_DESC), 4), 0x300000);
	assert_int_equal(rd(CC(Q_DESC) + 4, 4), 0);
	assert_int_equal(rd(CC(Q_DRIVER), 4), 0x301000);
	assert_int_equal(rd(CC(Q_DEVICE) + 4, 4), 0);
	assert_int_equal(rd(CC(Q_SIZE), 2), 64);
	assert_int_equal(rd(CC(Q_ENABLE), 2), 1);
	/* The vector stays writable. */
	wr(CC(Q_MSIX), 2, 2);
	assert_int_equal(rd(CC(Q_MSIX), 2), 2);
	/* Queue 1 is still open. */
	select_queue(1);
	assert_int_equal(rd(CC(Q_ENABLE), 2), 0);
	wr(CC(Q_DESC), 4, 0x5000);
	assert_int_equal(rd(CC(Q_DESC), 4), 0x5000);
	/* A disabled queue's kick is nothing to process. */
	wr(VIRTIO_PCI_NOTIFY_OFF + 4, 2, 1);
	expect_none();
	assert_true(virtio_pci_state_valid(&s));
}

static void test_queue_select_out_of_range(void **state)
{
	(void)state;
	for (uint32_t q = NQ; q <= 0xFFFF; q += 0x3FFF) {
		select_queue((uint16_t)q);
		assert_int_equal(rd(CC(Q_SELECT), 2), q);
		assert_int_equal(rd(CC(Q_SIZE), 2), 0); /* unavailable */
		assert_int_equal(rd(CC(Q_MSIX), 2), 0);
		assert_int_equal(rd(CC(Q_ENABLE), 4), 0); /* enable and notify_off */
		wr(CC(Q_SIZE), 2, 16);
		wr(CC(Q_MSIX), 2, 0);
		wr(CC(Q_DESC), 4, 0x1000);
		wr(CC(Q_ENABLE), 2, 1);
		assert_int_equal(rd(CC(Q_SIZE), 2), 0);
		assert_int_equal(rd(CC(Q_DESC), 4), 0);
		expect_none();
	}
	assert_true(virtio_pci_state_valid(&s));
}

static void test_access_widths(void **state)
{
	(void)state;
	/* Reads of any width return the bytes they cover. */
	wr(CC(DFSELECT), 4, 1);
	assert_int_equal(rd(CC(DF), 1), 0x03); /* VERSION_1 and bit 33 */
	assert_int_equal(rd(CC(DF) + 2, 2), 0);
	assert_int_equal(rd(CC(MSIX), 4), 0x0002FFFF); /* num_queues, vector */
	assert_int_equal(rd(CC(NUMQ), 1), NQ);
	assert_int_equal(rd(CC(STATUS), 4), 0); /* status, generation, select */
	/* Writes at other than the natural width are ignored. */
	wr(CC(DFSELECT), 2, 0);
	wr(CC(DFSELECT), 1, 0);
	assert_int_equal(rd(CC(DFSELECT), 4), 1);
	wr(CC(STATUS), 2, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(CC(STATUS), 4, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(CC(Q_SELECT), 4, 1);
	wr(CC(Q_SELECT), 1, 1);
	wr(CC(MSIX), 4, 0);
	assert_int_equal(rd(CC(STATUS), 1), 0);
	assert_int_equal(rd(CC(Q_SELECT), 2), 0);
	assert_int_equal(rd(CC(MSIX), 2), VIRTIO_PCI_NO_VECTOR);
	/* Read-only fields. */
	wr(CC(NUMQ), 2, 9);
	wr(CC(CFGGEN), 1, 9);
	wr(CC(Q_NOFF), 2, 9);
	assert_int_equal(rd(CC(NUMQ), 2), NQ);
	assert_int_equal(rd(CC(CFGGEN), 1), 0);
	assert_int_equal(rd(CC(Q_NOFF), 2), 0);
	/* Misaligned or odd-sized accesses read 0 and do nothing. */
	assert_int_equal(rd(CC(MSIX) + 1, 2), 0);
	assert_int_equal(rd(CC(DF), 3), 0);
	assert_int_equal(rd(CC(DF), 8), 0);
	wr(CC(Q_SELECT) + 1, 2, 0x100);
	wr(CC(DFSELECT) + 2, 4, 0);
	assert_int_equal(rd(CC(DFSELECT), 4), 1);
	/* Gaps and the end of the BAR. */
	assert_int_equal(rd(0x38, 4), 0);
	assert_int_equal(rd(0x0FFC, 4), 0);
	assert_int_equal(rd(VIRTIO_PCI_ISR_OFF + 4, 4), 0);
	assert_int_equal(rd(0x3FFC, 4), 0);
	assert_int_equal(rd(0x4000, 4), 0);
	wr(0x4000, 4, 0);
	assert_true(virtio_pci_state_valid(&s));
	expect_none();
}

static void test_device_cfg_window(void **state)
{
	(void)state;
	assert_int_equal(rd(VIRTIO_PCI_DEVICE_OFF, 4), 0x13121110);
	assert_int_equal(rd(VIRTIO_PCI_DEVICE_OFF + 4, 4), 0x17161514);
	assert_int_equal(rd(VIRTIO_PCI_DEVICE_OFF + 6, 2), 0x1716);
	assert_int_equal(rd(VIRTIO_PCI_DEVICE_OFF + 7, 1), 0x17);
	wr(VIRTIO_PCI_DEVICE_OFF + 2, 2, 0xBEEF);
	assert_int_equal(dev_writes, 1);
	assert_int_equal(dev_cfg[2], 0xEF);
	assert_int_equal(rd(VIRTIO_PCI_DEVICE_OFF, 4), 0xBEEF1110);
	/* Past the device's length: 0, and the device never sees it. */
	assert_int_equal(rd(VIRTIO_PCI_DEVICE_OFF + 8, 4), 0);
	assert_int_equal(rd(VIRTIO_PCI_DEVICE_OFF + 8, 1), 0);
	wr(VIRTIO_PCI_DEVICE_OFF + 8, 4, 0);
	wr(VIRTIO_PCI_DEVICE_OFF + 3, 2, 0); /* misaligned */
	assert_int_equal(dev_writes, 1);
	/* A device change bumps config_generation and tells the driver. */
	virtio_pci_config_changed(&s);
	assert_int_equal(rd(CC(CFGGEN), 1), 1);
	assert_int_equal(rd(VIRTIO_PCI_ISR_OFF, 1), VIRTIO_PCI_ISR_CONFIG);
	assert_true(virtio_pci_state_valid(&s));
}

/* The PCI configuration access capability, as SeaBIOS uses it. */
static void test_pci_cfg_window(void **state)
{
	const unsigned cap = VIRTIO_PCI_CAP_PCI;

	(void)state;
	/* Works with memory decode off, which is its point. */
	cfg_wr(cap + 4, 1, 0);
	cfg_wr(cap + 8, 4, CC(DF));
	cfg_wr(cap + 12, 4, 4);
	assert_int_equal(cfg_rd(cap + 16, 4), (uint32_t)FEATURES);
	cfg_wr(cap + 8, 4, VIRTIO_PCI_DEVICE_OFF + 1);
	cfg_wr(cap + 12, 4, 1);
	assert_int_equal(cfg_rd(cap + 16, 1), 0x11);
	/* Only the first byte is replaced: the rest is the last read's. */
	assert_int_equal(cfg_rd(cap + 16, 4), ((uint32_t)FEATURES & 0xFFFFFF00u) | 0x11);
	/* Writes: the first LENGTH bytes of the window. */
	cfg_wr(cap + 8, 4, CC(STATUS));
	cfg_wr(cap + 16, 4, 0xFFFFFF00 | VIRTIO_STATUS_ACKNOWLEDGE);
	expect_status(VIRTIO_STATUS_ACKNOWLEDGE);
	cfg_wr(cap + 8, 4, CC(Q_SELECT));
	cfg_wr(cap + 12, 4, 2);
	cfg_wr(cap + 16, 2, 1);
	assert_int_equal(s.queue_select, 1);
	/* The ISR through the window clears it, and INTx with it. */
	virtio_pci_signal_queue(&s, 0);
	expect_intx(true);
	cfg_wr(cap + 8, 4, VIRTIO_PCI_ISR_OFF);
	cfg_wr(cap + 12, 4, 1);
	assert_int_equal(cfg_rd(cap + 16, 1), VIRTIO_PCI_ISR_QUEUE);
	expect_intx(false);
	assert_int_equal(cfg_rd(0x06, 2), 0x0010);
	/* Settings that name no access: another BAR, bad length, misaligned,
	 * outside the BAR. The window keeps what it had. */
	cfg_wr(cap + 16, 4, 0xA5A5A5A5);
	cfg_wr(cap + 8, 4, CC(DF));
	cfg_wr(cap + 12, 4, 4);
	cfg_wr(cap + 4, 1, 1);
	assert_int_equal(cfg_rd(cap + 16, 4), 0xA5A5A5A5);
	cfg_wr(cap + 4, 1, 0);
	cfg_wr(cap + 12, 4, 3);
	assert_int_equal(cfg_rd(cap + 16, 4), 0xA5A5A5A5);
	cfg_wr(cap + 12, 4, 4);
	cfg_wr(cap + 8, 4, CC(DF) + 2);
	assert_int_equal(cfg_rd(cap + 16, 4), 0xA5A5A5A5);
	cfg_wr(cap + 8, 4, VIRTIO_PCI_BAR_SIZE);
	assert_int_equal(cfg_rd(cap + 16, 4), 0xA5A5A5A5);
	/* Its header (ID, next, len, type) is read-only. */
	cfg_wr(cap, 4, 0);
	assert_int_equal(cfg_rd(cap, 4), 0x0514 << 16 | VIRTIO_PCI_CAP_MSIX << 8 | 0x09);
	assert_true(virtio_pci_state_valid(&s));
	expect_none();
}

/* ---- Interrupts ---- */

static void test_isr_intx(void **state)
{
	(void)state;
	assert_false(virtio_pci_intx_level(&s));
	virtio_pci_signal_queue(&s, 1);
	expect_intx(true);
	assert_int_equal(cfg_rd(0x06, 2), 0x0018); /* interrupt status */
	virtio_pci_signal_config(&s);
	expect_none(); /* already asserted */
	assert_int_equal(rd(VIRTIO_PCI_ISR_OFF, 1), VIRTIO_PCI_ISR_QUEUE | VIRTIO_PCI_ISR_CONFIG);
	expect_intx(false);
	assert_int_equal(rd(VIRTIO_PCI_ISR_OFF, 1), 0);
	assert_int_equal(cfg_rd(0x06, 2), 0x0010);
	/* Writes do not touch the ISR. */
	virtio_pci_signal_queue(&s, 0);
	expect_intx(true);
	wr(VIRTIO_PCI_ISR_OFF, 1, 0);
	assert_int_equal(s.isr, VIRTIO_PCI_ISR_QUEUE);
	/* INTx disable masks the line, not the status bit. */
	cfg_wr(0x04, 2, VIRTIO_PCI_CMD_INTX_OFF);
	expect_intx(false);
	assert_int_equal(cfg_rd(0x06, 2), 0x0018);
	cfg_wr(0x04, 2, 0);
	expect_intx(true);
	assert_int_equal(rd(VIRTIO_PCI_ISR_OFF, 4), VIRTIO_PCI_ISR_QUEUE);
	expect_intx(false);
	/* Queues out of range signal nothing. */
	virtio_pci_signal_queue(&s, NQ);
	assert_int_equal(s.isr, 0);
	assert_true(virtio_pci_state_valid(&s));
	expect_none();
}

static void test_msix_delivery(void **state)
{
	struct msi_x86 m;

	(void)state;
	linux_probe_msix();
	virtio_pci_signal_queue(&s, 1);
	expect_msi(0xFEE01000, 0x42);
	assert_true(msi_decode(0xFEE01000, 0x42, &m));
	assert_int_equal(m.dest, 1);
	assert_int_equal(m.vector, 0x42);
	virtio_pci_signal_queue(&s, 0);
	expect_msi(0xFEE01000, 0x41);
	virtio_pci_signal_config(&s);
	expect_msi(0xFEE01000, 0x40);
	/* MSI-X on: no ISR, no INTx; the status bit stays clear. */
	assert_int_equal(s.isr, 0);
	assert_false(virtio_pci_intx_level(&s));
	assert_int_equal(cfg_rd(0x06, 2), 0x0010);
	/* The entry is read as it is now: reprogramming redirects. */
	program_vector(2, 3, 0x77, false);
	virtio_pci_signal_queue(&s, 1);
	expect_msi(0xFEE03000, 0x77);
	/* The table reads back; address bits 1:0 and vector control bits
	 * 31:1 are reserved. */
	wr(TABLE(2, 0), 4, 0xFEE0300F);
	wr(TABLE(2, 12), 4, 0xFFFFFFFE);
	assert_int_equal(rd(TABLE(2, 0), 4), 0xFEE0300C);
	assert_int_equal(rd(TABLE(2, 4), 4), 0);
	assert_int_equal(rd(TABLE(2, 8), 4), 0x77);
	assert_int_equal(rd(TABLE(2, 12), 4), 0);
	assert_int_equal(rd(TABLE(2, 0), 2), 0); /* dwords only */
	wr(TABLE(2, 8), 2, 0x99);
	assert_int_equal(rd(TABLE(2, 8), 4), 0x77);
	assert_int_equal(rd(TABLE(NQ + 1, 0), 4), 0); /* past the table */
	assert_true(virtio_pci_state_valid(&s));
	expect_none();
}

static void test_msix_mask_pending(void **state)
{
	(void)state;
	linux_probe_msix();
	/* Masked vector: pending, then sent by the unmasking write. */
	wr(TABLE(1, 12), 4, 1);
	virtio_pci_signal_queue(&s, 0);
	virtio_pci_signal_queue(&s, 0); /* coalesces in the pending bit */
	expect_none();
	assert_int_equal(rd(VIRTIO_PCI_MSIX_PBA_OFF, 4), 1u << 1);
	assert_int_equal(rd(VIRTIO_PCI_MSIX_PBA_OFF + 4, 4), 0);
	wr(VIRTIO_PCI_MSIX_PBA_OFF, 4, 0); /* read-only */
	assert_int_equal(rd(VIRTIO_PCI_MSIX_PBA_OFF, 4), 1u << 1);
	program_vector(1, 2, 0x51, true); /* reprogrammed while masked */
	expect_none();
	wr(TABLE(1, 12), 4, 0);
	expect_msi(0xFEE02000, 0x51);
	expect_none();
	assert_int_equal(rd(VIRTIO_PCI_MSIX_PBA_OFF, 4), 0);
	/* Function mask: every vector pends; clearing it sends them all. */
	msix_ctrl(MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);
	virtio_pci_signal_queue(&s, 1);
	virtio_pci_signal_config(&s);
	expect_none();
	assert_int_equal(rd(VIRTIO_PCI_MSIX_PBA_OFF, 4), 0x5);
	wr(TABLE(0, 12), 4, 1); /* config vector also masked on its own */
	msix_ctrl(MSIX_CTRL_ENABLE);
	expect_msi(0xFEE01000, 0x42);
	expect_none();
	assert_int_equal(rd(VIRTIO_PCI_MSIX_PBA_OFF, 4), 0x1);
	wr(TABLE(0, 12), 4, 0);
	expect_msi(0xFEE01000, 0x40);
	assert_int_equal(s.isr, 0);
	assert_true(virtio_pci_state_valid(&s));
	expect_none();
}

static void test_msix_enable_disable(void **state)
{
	(void)state;
	program_vector(0, 0, 0x30, false);
	wr(CC(MSIX), 2, 0);
	/* Disabled: INTx, even with vectors set. */
	virtio_pci_signal_config(&s);
	expect_intx(true);
	/* Enabling MSI-X takes INTx down; the ISR keeps its bit. */
	msix_ctrl(MSIX_CTRL_ENABLE);
	expect_intx(false);
	assert_int_equal(cfg_rd(0x06, 2), 0x0010);
	assert_int_equal(cfg_rd(MSIX_CTRL, 2), 0x8000 | NQ);
	virtio_pci_signal_config(&s);
	expect_msi(0xFEE00000, 0x30);
	/* Enabled but function-masked from the start, as Linux enables. */
	msix_ctrl(MSIX_CTRL_FMASK);
	expect_intx(true); /* the old ISR bit shows again */
	assert_int_equal(rd(VIRTIO_PCI_ISR_OFF, 1), VIRTIO_PCI_ISR_CONFIG);
	expect_intx(false);
	msix_ctrl(MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);
	virtio_pci_signal_config(&s);
	expect_none();
	msix_ctrl(MSIX_CTRL_ENABLE);
	expect_msi(0xFEE00000, 0x30);
	assert_true(virtio_pci_state_valid(&s));
	expect_none();
}

static void test_msix_no_vector(void **state)
{
	(void)state;
	linux_probe_msix();
	/* Vectors past the table (NQ + 1 entries) read back NO_VECTOR. */
	wr(CC(MSIX), 2, NQ + 1);
	assert_int_equal(rd(CC(MSIX), 2), VIRTIO_PCI_NO_VECTOR);
	select_queue(0);
	wr(CC(Q_MSIX), 2, 0x8000);
	assert_int_equal(rd(CC(Q_MSIX), 2), VIRTIO_PCI_NO_VECTOR);
	wr(CC(Q_MSIX), 2, NQ);
	assert_int_equal(rd(CC(Q_MSIX), 2), NQ);
	wr(CC(Q_MSIX), 2, VIRTIO_PCI_NO_VECTOR);
	/* NO_VECTOR with MSI-X on: no interrupt at all, no ISR either. */
	virtio_pci_signal_queue(&s, 0);
	virtio_pci_signal_config(&s);
	expect_none();
	assert_int_equal(s.isr, 0);
	assert_int_equal(rd(VIRTIO_PCI_MSIX_PBA_OFF, 4), 0);
	/* A vector shared by two sources. */
	wr(CC(MSIX), 2, 2);
	virtio_pci_signal_config(&s);
	expect_msi(0xFEE01000, 0x42);
	assert_true(virtio_pci_state_valid(&s));
	expect_none();
}

static void test_msi_dropped(void **state)
{
	struct msi_x86 m;

	(void)state;
	linux_probe_msix();
	/* An entry that is no interrupt (here: into RAM) is dropped. */
	wr(TABLE(1, 0), 4, 0x00100000);
	virtio_pci_signal_queue(&s, 0);
	expect_none();
	assert_int_equal(s.msi_dropped, 1);
	wr(TABLE(1, 0), 4, 0xFEE00000);
	wr(TABLE(1, 4), 4, 1); /* above 4 GiB */
	virtio_pci_signal_queue(&s, 0);
	wr(TABLE(1, 4), 4, 0);
	wr(TABLE(1, 8), 4, 3 << 8); /* reserved delivery mode */
	virtio_pci_signal_queue(&s, 0);
	expect_none();
	assert_int_equal(s.msi_dropped, 3);
	/* Decoding. */
	assert_true(msi_decode(0xFEEAB00C, 0xC431, &m));
	assert_int_equal(m.dest, 0xAB);
	assert_int_equal(m.vector, 0x31);
	assert_int_equal(m.delivery, 4); /* NMI */
	assert_true(m.logical);
	assert_true(m.redir_hint);
	assert_true(m.trigger_level);
	assert_true(msi_decode(0xFEEFF000, 0x0130, &m));
	assert_int_equal(m.dest, 0xFF);
	assert_int_equal(m.delivery, 1);
	assert_false(m.logical);
	assert_false(m.redir_hint);
	assert_false(m.trigger_level);
	assert_false(msi_decode(0xFED00000, 0x30, &m));
	assert_false(msi_decode(0xFEF00000, 0x30, &m));
	assert_false(msi_decode(0x1FEE00000ull, 0x30, &m));
	assert_false(msi_decode(0xFEE00000, 0x630, &m));
	assert_true(virtio_pci_state_valid(&s));
}

static void test_needs_reset(void **state)
{
	(void)state;
	/* Before DRIVER_OK: the bit, but no interrupt. */
	virtio_pci_needs_reset(&s);
	assert_int_equal(rd(CC(STATUS), 1), VIRTIO_STATUS_NEEDS_RESET);
	expect_none();
	assert_int_equal(s.isr, 0);
	set_status(0);
	expect_event(VIRTIO_PCI_EV_RESET);
	assert_int_equal(rd(CC(STATUS), 1), 0);
	/* The driver cannot set it. */
	set_status(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_NEEDS_RESET | 0x30);
	expect_status(VIRTIO_STATUS_ACKNOWLEDGE);
	/* After DRIVER_OK: a config change interrupt, by MSI-X here. */
	linux_probe_msix();
	virtio_pci_needs_reset(&s);
	expect_msi(0xFEE01000, 0x40);
	assert_int_equal(rd(CC(STATUS), 1), ALL_OK | VIRTIO_STATUS_NEEDS_RESET);
	assert_true(virtio_pci_state_valid(&s));
	set_status(VIRTIO_STATUS_FAILED);
	expect_status(ALL_OK | VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED);
	set_status(0);
	expect_event(VIRTIO_PCI_EV_RESET);
	assert_int_equal(rd(CC(STATUS), 1), 0);
	expect_none();
}

static void test_reset_clears_everything(void **state)
{
	(void)state;
	linux_probe_msix();
	wr(TABLE(1, 12), 4, 1);
	virtio_pci_signal_queue(&s, 0); /* pending */
	msix_ctrl(0); /* back to INTx for an ISR bit */
	virtio_pci_signal_queue(&s, 1);
	expect_intx(true);
	virtio_pci_config_changed(&s);
	wr(CC(DFSELECT), 4, 1);
	select_queue(1);
	set_status(0);
	expect_event(VIRTIO_PCI_EV_RESET);
	expect_intx(false);
	expect_none();
	assert_int_equal(rd(CC(STATUS), 1), 0);
	assert_int_equal(rd(CC(DFSELECT), 4), 0);
	assert_int_equal(rd(CC(GFSELECT), 4), 0);
	assert_int_equal(s.driver_features, 0);
	assert_int_equal(rd(CC(MSIX), 2), VIRTIO_PCI_NO_VECTOR);
	assert_int_equal(rd(CC(Q_SELECT), 2), 0);
	assert_int_equal(rd(CC(CFGGEN), 1), 1); /* a count, not state */
	for (uint16_t q = 0; q < NQ; q++) {
		select_queue(q);
		assert_int_equal(rd(CC(Q_SIZE), 2), QMAX);
		assert_int_equal(rd(CC(Q_MSIX), 2), VIRTIO_PCI_NO_VECTOR);
		assert_int_equal(rd(CC(Q_ENABLE), 2), 0);
		for (unsigned off = CC(Q_DESC); off < CC(Q_DEVICE) + 8; off += 4)
			assert_int_equal(rd(off, 4), 0);
	}
	assert_int_equal(rd(VIRTIO_PCI_ISR_OFF, 1), 0);
	assert_int_equal(rd(VIRTIO_PCI_MSIX_PBA_OFF, 4), 0);
	/* The MSI-X table is PCI's, not the device's. */
	assert_int_equal(rd(TABLE(1, 8), 4), 0x41);
	assert_int_equal(rd(TABLE(1, 12), 4), 1);
	/* And the device starts over. */
	linux_probe_msix();
	assert_true(virtio_pci_state_valid(&s));
}

static void test_event_ring(void **state)
{
	struct virtio_pci_event ev;

	(void)state;
	negotiate(FEATURES | VIRTIO_F_VERSION_1);
	expect_status(FEAT_OK);
	setup_queue(0, 16, 0x400000, VIRTIO_PCI_NO_VECTOR);
	/* A caller that does not drain loses what finds the ring full. */
	for (unsigned i = 0; i < VIRTIO_PCI_EVENT_QUEUE + 3; i++)
		wr(VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	assert_int_equal(s.ev_count, VIRTIO_PCI_EVENT_QUEUE);
	assert_int_equal(s.ev_dropped, 3);
	assert_true(virtio_pci_state_valid(&s));
	for (unsigned i = 0; i < VIRTIO_PCI_EVENT_QUEUE; i++) {
		assert_true(virtio_pci_take_event(&s, &ev));
		assert_int_equal(ev.kind, VIRTIO_PCI_EV_QUEUE_NOTIFY);
	}
	expect_none();
	/* The worst single call: MSI-X enabled with every vector pending. */
	for (unsigned v = 0; v <= NQ; v++)
		program_vector(v, 0, (uint8_t)(0x50 + v), false);
	wr(CC(MSIX), 2, 0);
	select_queue(0);
	wr(CC(Q_MSIX), 2, 1);
	msix_ctrl(MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);
	virtio_pci_signal_config(&s);
	virtio_pci_signal_queue(&s, 0);
	msix_ctrl(MSIX_CTRL_ENABLE);
	expect_msi(0xFEE00000, 0x50);
	expect_msi(0xFEE00000, 0x51);
	expect_none();
}

/* ---- Life cycle ---- */

static void test_init_params(void **state)
{
	struct virtio_pci_params p;
	struct virtio_pci t;

	(void)state;
	memset(&t, 0xAA, sizeof(t));
	p = params();
	p.device_id = 0;
	assert_int_equal(virtio_pci_init(&t, &p), -1);
	p = params();
	p.device_id = 0x40;
	assert_int_equal(virtio_pci_init(&t, &p), -1);
	p = params();
	p.num_queues = 0;
	assert_int_equal(virtio_pci_init(&t, &p), -1);
	p.num_queues = VIRTIO_PCI_MAX_QUEUES + 1;
	assert_int_equal(virtio_pci_init(&t, &p), -1);
	p = params();
	p.queue_size = 100;
	assert_int_equal(virtio_pci_init(&t, &p), -1);
	p.queue_size = 0;
	assert_int_equal(virtio_pci_init(&t, &p), -1);
	p = params();
	p.cfg_len = VIRTIO_PCI_DEVICE_CFG_MAX + 1;
	assert_int_equal(virtio_pci_init(&t, &p), -1);
	p = params();
	p.ops = NULL;
	assert_int_equal(virtio_pci_init(&t, &p), -1);
	p = params();
	p.bar0 = BAR + 0x1000;
	assert_int_equal(virtio_pci_init(&t, &p), -1);
	p = params();
	p.class_code = 0x1000000;
	assert_int_equal(virtio_pci_init(&t, &p), -1);
	assert_int_equal(t.num_queues, 0xAAAA); /* untouched */
	/* The limits themselves are fine. */
	p = params();
	p.device_id = VIRTIO_PCI_DEVICE_ID_MAX;
	p.num_queues = VIRTIO_PCI_MAX_QUEUES;
	p.queue_size = VIRTIO_PCI_QUEUE_SIZE_MAX;
	p.bar0 = 0;
	assert_int_equal(virtio_pci_init(&t, &p), 0);
	assert_int_equal(t.msix.nvec, VIRTIO_PCI_MAX_QUEUES + 1);
	assert_true(virtio_pci_state_valid(&t));
}

static void test_state_valid(void **state)
{
	struct virtio_pci t;

	(void)state;
	assert_true(virtio_pci_state_valid(&s));
	linux_probe_msix();
	wr(TABLE(1, 12), 4, 1);
	virtio_pci_signal_queue(&s, 0);
	assert_true(virtio_pci_state_valid(&s));
#define BAD(stmt)                                         \
	do {                                              \
		t = s;                                    \
		stmt;                                     \
		assert_false(virtio_pci_state_valid(&t)); \
	} while (0)
	BAD(t.cfg[0x00] = 0);
	BAD(t.cfg[0x10] = 0x08); /* a BAR's read-only bits */
	BAD(t.cfg[VIRTIO_PCI_CAP_ISR + 1] = 0);
	BAD(t.cfg[MSIX_CTRL] = 0x20); /* table size */
	BAD(t.cfg[0x06] |= VIRTIO_PCI_STS_INTX); /* no INTx wanted */
	BAD(t.num_queues = 0);
	BAD(t.num_queues = 3); /* the capabilities say 2 */
	BAD(t.queue_max = 100);
	BAD(t.device_features = FEATURES);
	BAD(t.config_vector = NQ + 1);
	BAD(t.status |= 0x20);
	BAD(t.driver_features |= 1ull << 1); /* with FEATURES_OK */
	BAD(t.isr = 4);
	BAD(t.intx = 1);
	BAD(t.queue[0].size = 3);
	BAD(t.queue[0].size = QMAX * 2);
	BAD(t.queue[1].msix_vector = 7);
	BAD(t.queue[1].enabled = 2);
	BAD(t.queue[NQ].desc = 1); /* beyond num_queues */
	BAD(t.msix.pba = 1u << (NQ + 1));
	BAD(t.msix.entry[0].addr_lo |= 1);
	BAD(t.msix.entry[0].vctrl = 2);
	BAD(t.msix.entry[NQ + 1].data = 1);
	BAD(t.msix.nvec = NQ);
	BAD(t.ev_head = VIRTIO_PCI_EVENT_QUEUE);
	BAD(t.ev_count = VIRTIO_PCI_EVENT_QUEUE + 1);
	BAD((t.ev_count = 1, t.ev[t.ev_head].kind = 0));
	BAD((t.ev_count = 1, t.ev[t.ev_head].kind = VIRTIO_PCI_EV_QUEUE_NOTIFY,
	     t.ev[t.ev_head].queue = NQ));
	BAD(t.ops = NULL);
#undef BAD
	/* Writable bits may hold anything. */
	t = s;
	t.cfg[0x13] = 0x12;
	t.cfg[0x3C] = 0x0B;
	t.cfg[VIRTIO_PCI_CAP_PCI + 9] = 0x77;
	t.queue_select = 0x1234;
	t.dfselect = 99;
	assert_true(virtio_pci_state_valid(&t));
	/* A valid snapshot copied whole runs on. */
	t = s;
	wr(TABLE(1, 12), 4, 0);
	expect_msi(0xFEE01000, 0x41);
	s = t;
	wr(TABLE(1, 12), 4, 0);
	expect_msi(0xFEE01000, 0x41);
	expect_none();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_identity, setup),
	    cmocka_unit_test_setup(test_cap_chain, setup),
	    cmocka_unit_test_setup(test_cap_chain_without_device_cfg, setup),
	    cmocka_unit_test_setup(test_bar_sizing, setup),
	    cmocka_unit_test_setup(test_command_register, setup),
	    cmocka_unit_test_setup(test_linux_probe, setup),
	    cmocka_unit_test_setup(test_features_refused, setup),
	    cmocka_unit_test_setup(test_queue_locked_after_enable, setup),
	    cmocka_unit_test_setup(test_queue_select_out_of_range, setup),
	    cmocka_unit_test_setup(test_access_widths, setup),
	    cmocka_unit_test_setup(test_device_cfg_window, setup),
	    cmocka_unit_test_setup(test_pci_cfg_window, setup),
	    cmocka_unit_test_setup(test_isr_intx, setup),
	    cmocka_unit_test_setup(test_msix_delivery, setup),
	    cmocka_unit_test_setup(test_msix_mask_pending, setup),
	    cmocka_unit_test_setup(test_msix_enable_disable, setup),
	    cmocka_unit_test_setup(test_msix_no_vector, setup),
	    cmocka_unit_test_setup(test_msi_dropped, setup),
	    cmocka_unit_test_setup(test_needs_reset, setup),
	    cmocka_unit_test_setup(test_reset_clears_everything, setup),
	    cmocka_unit_test_setup(test_event_ring, setup),
	    cmocka_unit_test_setup(test_init_params, setup),
	    cmocka_unit_test_setup(test_state_valid, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
