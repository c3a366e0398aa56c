/* The host's PCI devices (drivers/pci.c): found at boot by walking every
 * bus through configuration mechanism 1 (0xCF8/0xCFC), their BARs sized and
 * their memory BARs mapped uncached, for the host drivers (NVMe, virtio)
 * to claim. Guests never see these: their PCI is vdev/pci_host.c. */
#ifndef KEEL_HOSTPCI_H
#define KEEL_HOSTPCI_H

#include <stdbool.h>
#include <stdint.h>

#define HOSTPCI_MAX 64

struct hostpci_bar {
	uint64_t base; /* physical; 0 if absent */
	uint64_t size;
	bool io; /* an I/O-port BAR */
};

struct hostpci_dev {
	uint8_t bus, dev, fn;
	uint16_t vendor, device;
	uint32_t class_code; /* class << 16 | subclass << 8 | prog-if */
	uint16_t subsystem_id;
	struct hostpci_bar bar[6];
	bool claimed; /* by a driver */
};

/* Walk the buses once; log one line per device found. */
void hostpci_scan(void);
unsigned hostpci_count(void);
struct hostpci_dev *hostpci_get(unsigned i);

uint32_t hostpci_read32(const struct hostpci_dev *d, unsigned off);
uint16_t hostpci_read16(const struct hostpci_dev *d, unsigned off);
uint8_t hostpci_read8(const struct hostpci_dev *d, unsigned off);
void hostpci_write32(const struct hostpci_dev *d, unsigned off, uint32_t v);
void hostpci_write16(const struct hostpci_dev *d, unsigned off, uint16_t v);
void hostpci_write8(const struct hostpci_dev *d, unsigned off, uint8_t v);

/* Offset of the first capability with ID CAP_ID at or after START (0: the
 * list's head); 0 if none. Walk on with start = previous offset. */
unsigned hostpci_find_cap(const struct hostpci_dev *d, uint8_t cap_id, unsigned start);
/* Enable memory decoding and bus mastering (DMA). */
void hostpci_enable(struct hostpci_dev *d);
/* Keel's virtual address of BAR N + OFFSET (Keel is identity-mapped; the
 * BAR's pages are mapped uncached by the scan). NULL if N is not a memory BAR. */
volatile void *hostpci_bar_ptr(const struct hostpci_dev *d, unsigned n, uint64_t offset);

#endif
