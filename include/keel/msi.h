/* Message-signalled interrupts for device models: decoding the x86
 * address/data pair a PCI function writes (MSI or MSI-X) into what
 * apic_deliver_msg() takes (msi_decode(), inline), and the MSI-X table and
 * pending bit array as a pure model (msix_*, vdev/msix.c): no locks, no
 * clocks, no heap.
 *
 * Format (Intel SDM vol. 3, 11.11 "Message Signalled Interrupts"):
 * - Address: bits 31:20 are 0xFEE, bits 63:32 zero (the interrupt window
 *   sits below 4 GiB); bits 19:12 the destination (an APIC ID, or a
 *   logical mask, 0xFF broadcast); bit 3 the redirection hint; bit 2 the
 *   destination mode (1 logical). Bits 11:4 are reserved: the "extended
 *   destination ID" some hypervisors put there for APIC IDs above 255 is
 *   not decoded (Keel does not advertise it), so they are ignored.
 * - Data: bits 7:0 the vector, 10:8 the delivery mode (the I/O APIC's
 *   encoding: 0 fixed, 1 lowest priority, 2 SMI, 4 NMI, 5 INIT, 7 ExtINT;
 *   3 and 6 are reserved), bit 14 the level (assert) and bit 15 the
 *   trigger mode (1 level). Other bits are reserved and ignored.
 * - The destination mode bit is honoured whatever the redirection hint
 *   says, as KVM does: the SDM's "DM is ignored when RH is 0" would turn
 *   a logical message into a physical one, which no driver intends.
 *
 * A message whose address is outside 0xFEE00000-0xFEEFFFFF, or whose
 * delivery mode is reserved, is not an interrupt: msi_decode() refuses it
 * and the device model counts it as dropped (on real hardware it would be
 * a DMA write to that address, which Keel never lets a device model do). */
#ifndef KEEL_MSI_H
#define KEEL_MSI_H

#include <stdbool.h>
#include <stdint.h>

#define MSI_ADDR_BASE 0xFEE00000u
#define MSI_ADDR_BASE_MASK 0xFFFFFFFFFFF00000ull /* bits that must equal the base */
#define MSI_ADDR_DEST_SHIFT 12
#define MSI_ADDR_REDIR_HINT (1u << 3)
#define MSI_ADDR_LOGICAL (1u << 2)
#define MSI_DATA_VECTOR 0xFFu
#define MSI_DATA_DM_SHIFT 8
#define MSI_DATA_ASSERT (1u << 14)
#define MSI_DATA_LEVEL (1u << 15)

/* A decoded message, in the terms of apic_deliver_msg(). */
struct msi_x86 {
	uint32_t dest; /* 8 bits: APIC ID or logical mask, 0xFF broadcast */
	uint8_t vector;
	uint8_t delivery; /* 0 fixed, 1 lowest, 2 SMI, 4 NMI, 5 INIT, 7 ExtINT */
	uint8_t logical; /* 0 physical, 1 logical destination */
	uint8_t redir_hint; /* 1: lowest priority among the destinations */
	uint8_t trigger_level; /* 1 level, 0 edge */
};

/* Decode ADDR/DATA into *OUT; false (OUT untouched) if it is no interrupt. */
static inline bool msi_decode(uint64_t addr, uint32_t data, struct msi_x86 *out)
{
	unsigned dm = (data >> MSI_DATA_DM_SHIFT) & 7u;

	if ((addr & MSI_ADDR_BASE_MASK) != MSI_ADDR_BASE || dm == 3 || dm == 6)
		return false;
	out->dest = (uint32_t)(addr >> MSI_ADDR_DEST_SHIFT) & 0xFFu;
	out->vector = (uint8_t)(data & MSI_DATA_VECTOR);
	out->delivery = (uint8_t)dm;
	out->logical = !!(addr & MSI_ADDR_LOGICAL);
	out->redir_hint = !!(addr & MSI_ADDR_REDIR_HINT);
	out->trigger_level = !!(data & MSI_DATA_LEVEL);
	return true;
}

/* MSI-X (PCI Local Bus 3.0, 6.8.2) for one function.
 * - The capability (MSIX_CAP_LEN bytes: ID 0x11, next pointer, message
 *   control with the table size N - 1 in bits 10:0, function mask bit 14
 *   and enable bit 15, then the table and PBA offset/BIR dwords) lives in
 *   the device's configuration space: msix_cap_init() writes it there,
 *   msix_cap_wmask() says which of its bits the guest may write (function
 *   mask and enable), msix_cap_enabled()/_open() read it. The device passes
 *   "open" (enable set, function mask clear) to the calls that deliver.
 * - Entries (MSIX_ENTRY_SIZE bytes each): address low (bits 1:0 read 0:
 *   the address is dword-aligned), address high, data, vector control
 *   (bit 0 mask, set at reset; other bits reserved, read 0). The table is
 *   read and written as dwords at a table-relative offset, a multiple of
 *   4; other access sizes are the device's to refuse. Past the last entry
 *   reads 0 and ignores writes.
 * - PBA: one pending bit per vector (at most MSIX_MAX_VECTORS, so one
 *   dword; the rest of the array reads 0), read-only.
 * - msix_fire(): a vector whose masks are all open sends at once; any
 *   other gets its pending bit. msix_take_pending() sends (and clears) a
 *   pending vector once its masks are open: the device calls it until it
 *   returns false after anything that may unmask (a table write, a message
 *   control write), so the unmasking write is the one that sends, as PCI
 *   requires. Messages are raw address/data: the device decodes them. */
#define MSIX_MAX_VECTORS 32
#define MSIX_ENTRY_SIZE 16
#define MSIX_VCTRL_MASK 1u
#define MSIX_CAP_ID 0x11
#define MSIX_CAP_LEN 12
#define MSIX_CAP_CTRL 2 /* message control, within the capability */
#define MSIX_CTRL_FMASK 0x4000u
#define MSIX_CTRL_ENABLE 0x8000u

struct msix_entry {
	uint32_t addr_lo, addr_hi, data, vctrl;
};

struct msix {
	struct msix_entry entry[MSIX_MAX_VECTORS]; /* past nvec: all 0 */
	uint32_t pba; /* bit per vector */
	uint32_t nvec; /* 1..MSIX_MAX_VECTORS */
};

/* The capability at CAP for NVEC vectors, next pointer NEXT, table and PBA
 * in BAR BIR at TABLE and PBA (8-byte aligned); MSI-X disabled. */
void msix_cap_init(uint8_t *cap, unsigned nvec, uint8_t next, unsigned bir, uint32_t table,
		   uint32_t pba);
/* The guest-writable bits of byte OFF (0..MSIX_CAP_LEN - 1) of it. */
uint8_t msix_cap_wmask(unsigned off);
/* Enable set; enable set and function mask clear. */
bool msix_cap_enabled(const uint8_t *cap);
bool msix_cap_open(const uint8_t *cap);

/* NVEC vectors (clamped to 1..MSIX_MAX_VECTORS), all masked, none pending. */
void msix_init(struct msix *m, unsigned nvec);
/* Table dword at byte OFF of the table (a multiple of 4). */
uint32_t msix_read(const struct msix *m, uint32_t off);
void msix_write(struct msix *m, uint32_t off, uint32_t value);
/* PBA dword at byte OFF of the array (a multiple of 4). */
uint32_t msix_pba_read(const struct msix *m, uint32_t off);
/* Vector V (< nvec; others do nothing) has an interrupt: true with its
 * message in *ADDR, *DATA if OPEN and its entry is unmasked, else false
 * and its pending bit set. */
bool msix_fire(struct msix *m, unsigned v, bool open, uint64_t *addr, uint32_t *data);
/* The lowest pending vector that OPEN and its entry now let through: its
 * pending bit clears and true with its message; false if none. */
bool msix_take_pending(struct msix *m, bool open, uint64_t *addr, uint32_t *data);
/* True if M is a state this code can run from. */
bool msix_state_valid(const struct msix *m);

#endif
