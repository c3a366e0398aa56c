/* Host PCI enumeration by configuration mechanism 1. Every bus number is
 * tried (256 x 32 x 8 reads of a vendor ID, once at boot), which finds
 * devices behind bridges without walking the bridge tree. BARs are sized
 * the standard way (write all ones with decoding off, read back the mask)
 * and memory BARs are mapped uncached for the drivers. */
#include <arch/x86.h>
#include <keel/console.h>
#include <keel/hostpci.h>
#include <keel/mem.h>
#include <keel/spinlock.h>

#define CONF_ADDR 0xCF8
#define CONF_DATA 0xCFC
#define PCI_COMMAND 0x04
#define CMD_IO 0x1
#define CMD_MEM 0x2
#define CMD_MASTER 0x4
#define PCI_HEADER_TYPE 0x0E
#define PCI_BAR0 0x10
#define PCI_SUBSYSTEM_ID 0x2E
#define PCI_STATUS 0x06
#define STATUS_CAPS 0x10
#define PCI_CAP_PTR 0x34

static struct hostpci_dev devs[HOSTPCI_MAX];
static unsigned ndevs;
static spinlock_t conf_lock = SPINLOCK_INIT;

static uint32_t conf_addr(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
	return 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (off & 0xFC);
}

static uint32_t conf_read(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
	spin_lock(&conf_lock);
	outl(CONF_ADDR, conf_addr(bus, dev, fn, off));
	uint32_t v = inl(CONF_DATA);
	spin_unlock(&conf_lock);
	return v;
}

static void conf_write(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint32_t v)
{
	spin_lock(&conf_lock);
	outl(CONF_ADDR, conf_addr(bus, dev, fn, off));
	outl(CONF_DATA, v);
	spin_unlock(&conf_lock);
}

uint32_t hostpci_read32(const struct hostpci_dev *d, unsigned off)
{
	return conf_read(d->bus, d->dev, d->fn, off);
}

uint16_t hostpci_read16(const struct hostpci_dev *d, unsigned off)
{
	return (uint16_t)(hostpci_read32(d, off) >> (8 * (off & 2)));
}

uint8_t hostpci_read8(const struct hostpci_dev *d, unsigned off)
{
	return (uint8_t)(hostpci_read32(d, off) >> (8 * (off & 3)));
}

void hostpci_write32(const struct hostpci_dev *d, unsigned off, uint32_t v)
{
	conf_write(d->bus, d->dev, d->fn, off, v);
}

/* Narrow writes merge into the dword: no register Keel writes this way has
 * write-one-to-clear bits beside it except the status word, which the
 * merge writes back as read (clearing what was set: harmless at probe). */
static void write_part(const struct hostpci_dev *d, unsigned off, uint32_t v, uint32_t mask)
{
	unsigned shift = 8 * (off & 3);
	uint32_t old = hostpci_read32(d, off & ~3u);
	hostpci_write32(d, off & ~3u, (old & ~(mask << shift)) | (v & mask) << shift);
}

void hostpci_write16(const struct hostpci_dev *d, unsigned off, uint16_t v)
{
	write_part(d, off, v, 0xFFFF);
}

void hostpci_write8(const struct hostpci_dev *d, unsigned off, uint8_t v)
{
	write_part(d, off, v, 0xFF);
}

unsigned hostpci_find_cap(const struct hostpci_dev *d, uint8_t cap_id, unsigned start)
{
	if (!(hostpci_read16(d, PCI_STATUS) & STATUS_CAPS))
		return 0;
	unsigned off = start ? hostpci_read8(d, start + 1) : hostpci_read8(d, PCI_CAP_PTR);
	for (unsigned guard = 0; off >= 0x40 && off < 0x100 && guard < 48; guard++) {
		off &= ~3u;
		if (hostpci_read8(d, off) == cap_id)
			return off;
		off = hostpci_read8(d, off + 1);
	}
	return 0;
}

void hostpci_enable(struct hostpci_dev *d)
{
	uint16_t cmd = hostpci_read16(d, PCI_COMMAND);
	hostpci_write16(d, PCI_COMMAND, cmd | CMD_MEM | CMD_MASTER | CMD_IO);
}

volatile void *hostpci_bar_ptr(const struct hostpci_dev *d, unsigned n, uint64_t offset)
{
	if (n >= 6 || !d->bar[n].base || d->bar[n].io || offset >= d->bar[n].size)
		return NULL;
	return (volatile void *)(uintptr_t)(d->bar[n].base + offset);
}

/* Size BAR N (and its upper half for a 64-bit BAR); returns how many BAR
 * slots it used. Decoding is off meanwhile so the probe pattern never
 * decodes as an address. */
static unsigned size_bar(struct hostpci_dev *d, unsigned n)
{
	unsigned off = PCI_BAR0 + 4 * n;
	uint32_t lo = hostpci_read32(d, off);
	struct hostpci_bar *b = &d->bar[n];

	hostpci_write32(d, off, 0xFFFFFFFF);
	uint32_t mask = hostpci_read32(d, off);
	hostpci_write32(d, off, lo);
	if (lo & 1) {
		uint32_t m = mask & ~3u;
		b->io = true;
		b->base = lo & ~3u;
		b->size = m ? (~m & 0xFFFF) + 1 : 0;
		return 1;
	}
	uint64_t base = lo & ~0xFull, m = mask & ~0xFull;
	unsigned used = 1;
	if ((lo & 0x6) == 0x4 && n < 5) {
		uint32_t hi = hostpci_read32(d, off + 4);
		hostpci_write32(d, off + 4, 0xFFFFFFFF);
		uint32_t mhi = hostpci_read32(d, off + 4);
		hostpci_write32(d, off + 4, hi);
		base |= (uint64_t)hi << 32;
		m |= (uint64_t)mhi << 32;
		used = 2;
	} else {
		m |= 0xFFFFFFFF00000000ull;
	}
	b->size = m ? ~m + 1 : 0;
	b->base = b->size ? base : 0;
	return used;
}

static void add_function(unsigned bus, unsigned dev, unsigned fn, uint32_t id)
{
	if (ndevs == HOSTPCI_MAX) {
		klog("pci %02x:%02x.%x: more than %u devices; ignored", bus, dev, fn, HOSTPCI_MAX);
		return;
	}
	struct hostpci_dev *d = &devs[ndevs];
	d->bus = (uint8_t)bus;
	d->dev = (uint8_t)dev;
	d->fn = (uint8_t)fn;
	d->vendor = id & 0xFFFF;
	d->device = id >> 16;
	d->class_code = hostpci_read32(d, 0x08) >> 8;
	uint8_t type = hostpci_read8(d, PCI_HEADER_TYPE) & 0x7F;
	if (type == 0) {
		uint16_t cmd = hostpci_read16(d, PCI_COMMAND);
		hostpci_write16(d, PCI_COMMAND, cmd & ~(CMD_IO | CMD_MEM));
		for (unsigned n = 0; n < 6;)
			n += size_bar(d, n);
		hostpci_write16(d, PCI_COMMAND, cmd);
		d->subsystem_id = hostpci_read16(d, PCI_SUBSYSTEM_ID);
		for (unsigned n = 0; n < 6; n++) {
			struct hostpci_bar *b = &d->bar[n];
			if (b->base && !b->io && arch_map_mmio(b->base, b->base + b->size)) {
				klog("pci %02x:%02x.%x: BAR %u at %#lx cannot be mapped; ignored",
				     bus, dev, fn, n, b->base);
				b->base = 0;
			}
		}
	}
	klog("pci %02x:%02x.%x: %04x:%04x class %06x", bus, dev, fn, d->vendor, d->device,
	     d->class_code);
	ndevs++;
}

void hostpci_scan(void)
{
	for (unsigned bus = 0; bus < 256; bus++)
		for (unsigned dev = 0; dev < 32; dev++) {
			uint32_t id = conf_read(bus, dev, 0, 0);
			if ((id & 0xFFFF) == 0xFFFF)
				continue;
			add_function(bus, dev, 0, id);
			if (!(conf_read(bus, dev, 0, PCI_HEADER_TYPE & ~3u) >> 16 & 0x80))
				continue;
			for (unsigned fn = 1; fn < 8; fn++) {
				id = conf_read(bus, dev, fn, 0);
				if ((id & 0xFFFF) != 0xFFFF)
					add_function(bus, dev, fn, id);
			}
		}
}

unsigned hostpci_count(void)
{
	return ndevs;
}

struct hostpci_dev *hostpci_get(unsigned i)
{
	return i < ndevs ? &devs[i] : NULL;
}
