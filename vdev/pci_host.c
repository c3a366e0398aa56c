/* PCI configuration mechanism #1 and an i440FX-like host bridge (see
 * include/keel/pci_host.h). */
#include <stdbool.h>

#include <keel/pci_host.h>
#include <keel/string.h>

#define ADDR_ENABLE 0x80000000u
#define ADDR_MASK 0x80FFFFFCu /* bits 30:24 and 1:0 read 0 */
#define ADDR_BUS(a) (((a) >> 16) & 0xFF)
#define ADDR_DEVFN(a) (((a) >> 8) & 0xFF)
#define ADDR_REG(a) ((a)&0xFC)

#define CFG_COMMAND 0x04
#define CFG_STATUS 0x06
#define CFG_LATENCY 0x0D

static uint32_t ones(unsigned size)
{
	return size == 1 ? 0xFFu : size == 2 ? 0xFFFFu : 0xFFFFFFFFu;
}

static bool valid_size(unsigned size)
{
	return size == 1 || size == 2 || size == 4;
}

/* The host bridge's writable bits, per byte of its configuration space. */
static uint8_t bridge_wmask(unsigned off)
{
	switch (off) {
	case CFG_COMMAND:
		return 0x47; /* I/O, memory, bus master, parity error response */
	case CFG_COMMAND + 1:
		return 0x01; /* SERR# enable */
	case CFG_LATENCY:
		return 0xF8;
	default:
		return 0;
	}
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void pci_host_init(struct pci_host *ph)
{
	memset(ph, 0, sizeof(*ph));
	put16(ph->cfg + 0x00, 0x8086); /* vendor: Intel */
	put16(ph->cfg + 0x02, 0x1237); /* device: 82441FX (440FX PMC) */
	put16(ph->cfg + CFG_COMMAND, 0x0006); /* memory, bus master */
	put16(ph->cfg + CFG_STATUS, 0x0280); /* fast back-to-back, medium DEVSEL */
	ph->cfg[0x08] = 0x02; /* revision */
	ph->cfg[0x09] = 0x00; /* programming interface */
	ph->cfg[0x0A] = 0x00; /* subclass: host bridge */
	ph->cfg[0x0B] = 0x06; /* class: bridge */
	ph->cfg[0x0E] = 0x00; /* header type 0, single function */
}

int pci_host_add_device(struct pci_host *ph, unsigned devfn, const struct pci_dev_ops *ops,
			void *dev)
{
	if (devfn == 0 || devfn >= PCI_NDEVFN || !ops || !ops->cfg_read || !ops->cfg_write ||
	    ph->slot[devfn].ops)
		return -1;
	if ((ops->mem_read || ops->mem_write) &&
	    (!ops->mem_read || !ops->mem_write || ph->nmem == PCI_HOST_MAX_MEM))
		return -1;
	ph->slot[devfn].ops = ops;
	ph->slot[devfn].dev = dev;
	if (ops->mem_read)
		ph->mem_devfn[ph->nmem++] = (uint8_t)devfn;
	return 0;
}

/* The configuration register a CONFIG_DATA access at PORT reaches, or -1
 * for a master abort (disabled, misaligned, another bus, nothing there).
 * *DEVFN is the function. */
static int target(const struct pci_host *ph, uint16_t port, unsigned size, unsigned *devfn)
{
	unsigned k = port - PCI_HOST_PORT_DATA;

	if (!(ph->addr & ADDR_ENABLE) || k & (size - 1) || ADDR_BUS(ph->addr) != 0)
		return -1;
	*devfn = ADDR_DEVFN(ph->addr);
	if (*devfn != 0 && !ph->slot[*devfn].ops)
		return -1;
	return (int)(ADDR_REG(ph->addr) + k);
}

static uint32_t bridge_read(const struct pci_host *ph, unsigned off, unsigned size)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)ph->cfg[off + i] << (8 * i);
	return v;
}

static void bridge_write(struct pci_host *ph, unsigned off, unsigned size, uint32_t value)
{
	for (unsigned i = 0; i < size; i++) {
		uint8_t m = bridge_wmask(off + i), b = (uint8_t)(value >> (8 * i));

		ph->cfg[off + i] = (uint8_t)((ph->cfg[off + i] & ~m) | (b & m));
	}
}

/* A configuration access to function DEVFN of bus 0 at register OFF, which
 * is aligned to SIZE. Registers past the first 256 (PCI Express extended
 * space, reached through ECAM only) read 0 (no extended capabilities) and
 * ignore writes on every function here: they are all conventional PCI. */
static uint32_t cfg_read(struct pci_host *ph, unsigned devfn, unsigned off, unsigned size)
{
	if (off >= PCI_CFG_SIZE)
		return 0;
	if (devfn == 0)
		return bridge_read(ph, off, size);
	return ph->slot[devfn].ops->cfg_read(ph->slot[devfn].dev, off, size) & ones(size);
}

static void cfg_write(struct pci_host *ph, unsigned devfn, unsigned off, unsigned size,
		      uint32_t value)
{
	value &= ones(size);
	if (off >= PCI_CFG_SIZE)
		return;
	if (devfn == 0)
		bridge_write(ph, off, size, value);
	else
		ph->slot[devfn].ops->cfg_write(ph->slot[devfn].dev, off, size, value);
}

/* The function an ECAM access at window offset OFF reaches, or -1 for a
 * master abort (misaligned, another bus, nothing there). */
static int ecam_target(const struct pci_host *ph, uint64_t off, unsigned size)
{
	unsigned devfn = (unsigned)(off >> 12) & 0xFF;

	if (!valid_size(size) || (off & (size - 1)) || off >= PCI_HOST_ECAM_SIZE)
		return -1;
	if (devfn != 0 && !ph->slot[devfn].ops)
		return -1;
	return (int)devfn;
}

bool pci_host_mem_read(struct pci_host *ph, uint64_t addr, unsigned size, uint32_t *value)
{
	for (unsigned i = 0; i < ph->nmem; i++) {
		const struct pci_host_slot *s = &ph->slot[ph->mem_devfn[i]];
		if (s->ops->mem_read(s->dev, addr, size, value))
			return true;
	}
	return false;
}

bool pci_host_mem_write(struct pci_host *ph, uint64_t addr, unsigned size, uint32_t value)
{
	for (unsigned i = 0; i < ph->nmem; i++) {
		const struct pci_host_slot *s = &ph->slot[ph->mem_devfn[i]];
		if (s->ops->mem_write(s->dev, addr, size, value))
			return true;
	}
	return false;
}

uint32_t pci_host_ecam_read(struct pci_host *ph, uint64_t off, unsigned size)
{
	int devfn = ecam_target(ph, off, size);

	if (devfn < 0)
		return ones(size > 4 ? 4 : size);
	return cfg_read(ph, (unsigned)devfn, (unsigned)(off & 0xFFF), size);
}

void pci_host_ecam_write(struct pci_host *ph, uint64_t off, unsigned size, uint32_t value)
{
	int devfn = ecam_target(ph, off, size);

	if (devfn >= 0)
		cfg_write(ph, (unsigned)devfn, (unsigned)(off & 0xFFF), size, value);
}

uint32_t pci_host_read(struct pci_host *ph, uint16_t port, unsigned size)
{
	unsigned devfn;
	int off;

	if (!valid_size(size) || port < PCI_HOST_PORT_ADDR ||
	    port >= PCI_HOST_PORT_ADDR + PCI_HOST_NPORTS)
		return ones(size);
	if (port < PCI_HOST_PORT_DATA)
		return port == PCI_HOST_PORT_ADDR && size == 4 ? ph->addr : ones(size);
	off = target(ph, port, size, &devfn);
	if (off < 0)
		return ones(size);
	return cfg_read(ph, devfn, (unsigned)off, size);
}

void pci_host_write(struct pci_host *ph, uint16_t port, unsigned size, uint32_t value)
{
	unsigned devfn;
	int off;

	if (!valid_size(size) || port < PCI_HOST_PORT_ADDR ||
	    port >= PCI_HOST_PORT_ADDR + PCI_HOST_NPORTS)
		return;
	if (port < PCI_HOST_PORT_DATA) {
		if (port == PCI_HOST_PORT_ADDR && size == 4)
			ph->addr = value & ADDR_MASK;
		return;
	}
	off = target(ph, port, size, &devfn);
	if (off >= 0)
		cfg_write(ph, devfn, (unsigned)off, size, value);
}
