/* A PCI host bridge with configuration mechanism #1 (PCI Local Bus 3.0,
 * 3.2.2.3.2) as a pure device model: CONFIG_ADDRESS at 0xCF8, CONFIG_DATA
 * at 0xCFC-0xCFF, one bus (0).
 *
 * - CONFIG_ADDRESS: only 32-bit accesses at 0xCF8 reach it. Bit 31 enables
 *   configuration cycles, bits 23:16 bus, 15:11 device, 10:8 function, 7:2
 *   register; bits 30:24 and 1:0 are reserved and read 0 (AMD's extended
 *   register bits 27:24 are not supported). Narrower accesses anywhere in
 *   0xCF8-0xCFB are ordinary I/O to nothing, as on real chipsets: reads
 *   return all ones, writes are dropped. The PIIX reset control register is
 *   one of them (byte 0xCF9): the port bus must route byte accesses to
 *   0xCF9 to reset_cf9 (include/keel/acpi_pm.h) before this device.
 * - CONFIG_DATA: a 1-, 2- or 4-byte access at 0xCFC + k reaches register
 *   (CONFIG_ADDRESS & 0xFC) + k of the addressed function. It must be
 *   naturally aligned (k a multiple of the size); others, accesses with the
 *   enable bit clear, and accesses to absent functions or buses other than
 *   0 read all ones and drop writes (a master abort).
 * - 00:00.0 is an Intel 440FX-like host bridge (8086:1237, revision 02,
 *   class 06/00/00, header type 0, single function). Writable: command bits
 *   0-2, 6 and 8 (I/O, memory, bus master, parity error response, SERR#;
 *   reset value 0x0006) and the latency timer bits 7:3. Status reads 0x0280
 *   (fast back-to-back capable, medium DEVSEL); its error bits are never
 *   set, so writing ones to clear them changes nothing. Everything else,
 *   including the chipset registers 0x40-0xFF (PAM, SMRAM, DRB: not
 *   modelled), reads as its reset value (0 but the identity) and ignores
 *   writes.
 * - ECAM (PCI Express 4.0, 7.2.2), for bus 0 only: a 1 MiB window where
 *   offset (devfn << 12) | register reaches the function's register. The
 *   same master-abort rules apply (misaligned, absent: all ones, writes
 *   dropped); registers 256-4095 read 0 and ignore writes, since every
 *   function here is conventional PCI (no extended capabilities).
 * - Other functions are added with pci_host_add_device(); this device
 *   decodes the address and hands them aligned accesses.
 *
 * State: `addr` and the bridge's `cfg` are plain data (what a snapshot
 * saves); the device table holds the caller's pointers. */
#ifndef KEEL_PCI_HOST_H
#define KEEL_PCI_HOST_H

#include <stdbool.h>
#include <stdint.h>

#define PCI_HOST_PORT_ADDR 0xCF8
#define PCI_HOST_PORT_DATA 0xCFC
#define PCI_HOST_NPORTS 8 /* 0xCF8-0xCFF */
#define PCI_HOST_ECAM_BASE 0xB0000000u /* where the VM's MCFG puts it */
#define PCI_HOST_ECAM_SIZE 0x100000u /* bus 0 */

#define PCI_DEVFN(dev, fn) ((((dev)&0x1F) << 3) | ((fn)&7))
#define PCI_NDEVFN 256
#define PCI_CFG_SIZE 256
#define PCI_HOST_MAX_MEM 16 /* functions with memory BARs */

/* Configuration-space callbacks of a device function. OFF is 0-255 and a
 * multiple of SIZE (1, 2 or 4); the read's result is masked to SIZE bytes
 * (little-endian: register OFF in bits 7:0). */
struct pci_dev_ops {
	uint32_t (*cfg_read)(void *dev, unsigned off, unsigned size);
	void (*cfg_write)(void *dev, unsigned off, unsigned size, uint32_t value);
	/* Optional: an access to guest-physical ADDR in the PCI memory window.
	 * True if one of the function's memory BARs decodes it (and the access
	 * was carried out), false to let another function claim it. */
	bool (*mem_read)(void *dev, uint64_t addr, unsigned size, uint32_t *value);
	bool (*mem_write)(void *dev, uint64_t addr, unsigned size, uint32_t value);
};

struct pci_host_slot {
	const struct pci_dev_ops *ops; /* NULL: no function here */
	void *dev;
};

struct pci_host {
	uint32_t addr; /* CONFIG_ADDRESS, reserved bits clear */
	uint8_t cfg[PCI_CFG_SIZE]; /* 00:00.0, the host bridge */
	struct pci_host_slot slot[PCI_NDEVFN]; /* bus 0, by devfn; slot 0 unused */
	uint8_t mem_devfn[PCI_HOST_MAX_MEM]; /* functions with memory BARs */
	unsigned nmem;
};

/* Power-on state: CONFIG_ADDRESS 0, the host bridge at reset, no other
 * devices. */
void pci_host_init(struct pci_host *ph);
/* Put a function at bus 0, DEVFN (PCI_DEVFN(dev, fn); 1-255, since 0 is the
 * host bridge). OPS (both callbacks set) and DEV must outlive the host.
 * Returns 0, or -1 if DEVFN is out of range or taken or OPS incomplete. */
int pci_host_add_device(struct pci_host *ph, unsigned devfn, const struct pci_dev_ops *ops,
			void *dev);
/* Port access in 0xCF8-0xCFF, SIZE 1, 2 or 4 (anything else reads all ones
 * and drops writes). */
uint32_t pci_host_read(struct pci_host *ph, uint16_t port, unsigned size);
void pci_host_write(struct pci_host *ph, uint16_t port, unsigned size, uint32_t value);
/* An access to the PCI memory window: to the function whose BAR decodes
 * ADDR; false if none does (the caller reads all ones: a master abort).
 * The device table is fixed once the VM runs: no lock is needed here. */
bool pci_host_mem_read(struct pci_host *ph, uint64_t addr, unsigned size, uint32_t *value);
bool pci_host_mem_write(struct pci_host *ph, uint64_t addr, unsigned size, uint32_t value);
/* ECAM access at offset OFF of the window, SIZE 1, 2 or 4. */
uint32_t pci_host_ecam_read(struct pci_host *ph, uint64_t off, unsigned size);
void pci_host_ecam_write(struct pci_host *ph, uint64_t off, unsigned size, uint32_t value);

#endif
