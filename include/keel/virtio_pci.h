/* The virtio 1.x PCI transport ("Virtio Over PCI Bus", virtio 1.2 section
 * 4.1), modern only (no legacy I/O BAR), as a pure device model: no locks,
 * no clocks, no heap, no VM (the caller serialises calls and routes what
 * comes out). Names are virtio_pci_* (VIRTIO_PCI_* for constants, VIRTIO_*
 * for the transport-independent virtio ones). One struct virtio_pci is one
 * PCI function: its configuration space and its BAR 0 register block. A
 * device model (virtio-rng, -blk, -net, -console) sits below it: it gives
 * its identity and features at init, serves its configuration window
 * through struct virtio_pci_device_ops, and runs its queues (virtqueue.h)
 * on the events this transport reports.
 *
 * Configuration space (256 bytes, header type 0, conventional PCI):
 * - Vendor 0x1AF4, device 0x1040 + the virtio device ID, revision 1 (a
 *   non-transitional device, so legacy drivers leave it alone), class code
 *   from init, subsystem vendor 0x1AF4 and subsystem ID = the PCI device
 *   ID (the spec wants it >= 0x40 for non-transitional devices), interrupt
 *   pin INTA (1). Status reads 0x0010 (capabilities list) plus bit 3
 *   (interrupt status: INTx wanted, whether or not command bit 10 masks
 *   it); nothing sets its error bits. Capabilities pointer 0x40.
 * - Writable: command bits 0-2 (I/O, memory, bus master) and 10 (INTx
 *   disable), the interrupt line (0x3C), BAR 0 bits 31:14, the MSI-X
 *   enable and function mask bits and the fields of the PCI configuration
 *   access capability. Everything else ignores writes.
 * - BAR 0: 32-bit non-prefetchable memory, VIRTIO_PCI_BAR_SIZE (16 KiB).
 *   Bits 13:0 read 0, so writing all ones reads back 0xFFFFC000 (the size
 *   mask). Its initial address comes from init (Keel assigns it as
 *   firmware would). BARs 1-5, the CardBus pointer and the expansion ROM
 *   BAR read 0 and ignore writes. I/O decode has nothing to decode.
 * - Capabilities, in chain order (virtio ones are vendor-specific, ID 9,
 *   cfg_type in byte 3, BAR in byte 4, offset and length at +8 and +12):
 *     0x40 common cfg (type 1)   BAR0 0x0000, 0x38 bytes (the 1.1 layout:
 *                                no queue_notify_data / queue_reset, whose
 *                                features are never offered)
 *     0x50 notify (type 2)       BAR0 0x3000, 4 bytes per queue, with
 *                                notify_off_multiplier 4 at +16 (20 bytes)
 *     0x64 ISR (type 3)          BAR0 0x1000, 1 byte
 *     0x74 device cfg (type 4)   BAR0 0x2000, the device's length; absent
 *                                (skipped in the chain) if that is 0
 *     0x84 PCI cfg access (5)    20 bytes: bar, offset and length at +4,
 *                                +8, +12 and the window pci_cfg_data at
 *                                +16 are writable. A config access that
 *                                touches pci_cfg_data performs a BAR access
 *                                of `length` (1, 2 or 4) bytes at `offset`
 *                                (aligned to length, inside BAR 0; bar must
 *                                be 0), a read storing its result in the
 *                                window's first bytes before they are
 *                                returned. Any other setting does nothing.
 *                                It works whatever the command register
 *                                says: that is its purpose (firmware).
 *     0x98 MSI-X (ID 0x11)       table size num_queues + 1, table in BAR0
 *                                at 0x3800, PBA at 0x3C00; last in chain.
 *
 * BAR 0 (offsets relative to the BAR; 1-, 2- and 4-byte accesses aligned
 * to their size; anything else, and offsets no region claims, read 0 and
 * ignore writes. 8-byte accesses to the 64-bit fields are the caller's to
 * split into two 4-byte ones, low half first):
 *   0x0000-0x0037  common cfg. Reads of any size return the bytes of the
 *                  fields they cover. Writes take effect only at a field's
 *                  natural width (4-byte halves for the 64-bit ones), as
 *                  the spec requires of drivers; others are ignored.
 *   0x1000         ISR status, read to clear (any size at 0x1000).
 *   0x2000-        device cfg, forwarded to the device model for accesses
 *                  inside its length; outside, reads 0.
 *   0x3000-        notify: a write of any size at 0x3000 + 4 * q (q <
 *                  num_queues, queue_notify_off(q) = q) reports
 *                  QUEUE_NOTIFY for q if that queue is enabled. Its value
 *                  is ignored (VIRTIO_F_NOTIFICATION_DATA is not offered).
 *   0x3800-        MSI-X table, 16 bytes per vector: address low (bits
 *                  1:0 read 0), address high, data, vector control (bit
 *                  0 mask, 1 at reset; others read 0). 4-byte accesses
 *                  only; others read 0 and ignore writes.
 *   0x3C00-0x3C07  MSI-X PBA, read-only (4-byte reads of either half).
 *
 * Common cfg semantics:
 * - device_feature: the device model's 64 bits plus VIRTIO_F_VERSION_1
 *   (the only bit the transport adds), 32 at a time by select (0 low, 1
 *   high, others read 0). driver_feature likewise, writable only while
 *   device_status lacks FEATURES_OK.
 * - device_status: writing 0 resets the device: driver features, selects,
 *   queues (size back to the maximum, disabled, addresses 0, vector
 *   NO_VECTOR), config_msix_vector, status, ISR and PBA are cleared (the
 *   MSI-X table and enable bits belong to PCI and stay) and RESET is
 *   reported. Any other write adds bits (ACKNOWLEDGE, DRIVER, DRIVER_OK,
 *   FEATURES_OK, FAILED; others, NEEDS_RESET included, are the device's)
 *   and never clears one. FEATURES_OK is refused (does not stick) unless
 *   the driver's features are a subset of the device's and include
 *   VERSION_1. STATUS is reported when a driver write changes the value
 *   (NEEDS_RESET is the device model's own doing, so it is not).
 * - config_generation counts virtio_pci_config_changed() calls (mod 256).
 * - queue_select: any value; one >= num_queues selects nothing: its
 *   fields read 0 (queue_size 0: "unavailable") and ignore writes.
 * - queue_size: the maximum at reset; the driver may write a smaller
 *   power of two (not 0) while the queue is disabled; other writes are
 *   ignored.
 * - config_msix_vector, queue_msix_vector: a value below the MSI-X table
 *   size sticks; any other reads back NO_VECTOR (0xFFFF), which the spec
 *   reads as "could not map". Writable at any time.
 * - queue_enable: writing 1 to a disabled queue enables it and reports
 *   QUEUE_ENABLED with its size and three addresses; 0 is ignored (the
 *   spec forbids it; a queue is disabled by resetting the device).
 * - queue_desc/driver/device (low and high halves): writable only while
 *   the queue is disabled. Alignment is the virtqueue's to check.
 *
 * Interrupts (virtio_pci_signal_queue / _signal_config):
 * - MSI-X enabled (enable bit set in message control): the queue's or the
 *   config vector is used; NO_VECTOR means no interrupt. If the function
 *   or the vector's entry is masked, its PBA bit is set instead, and the
 *   message goes out (the bit clearing) as soon as both are unmasked: the
 *   write that unmasks produces it. A message whose address/data
 *   msi_decode() refuses is counted in msi_dropped and not reported. The
 *   ISR is not used.
 * - MSI-X disabled: the ISR gets bit 0 (queue) or 1 (config) and INTx is
 *   asserted while the ISR is non-zero, unless command bit 10 disables it.
 *   Reading the ISR clears it and so de-asserts INTx. Enabling MSI-X
 *   de-asserts it too (a function must not use INTx then).
 * - virtio_pci_needs_reset() sets NEEDS_RESET and, if the driver has set
 *   DRIVER_OK, signals a config change, as the spec requires. Before that
 *   there is no driver to tell (and an INTx nobody acknowledges would stay
 *   asserted).
 *
 * Events: every call that can produce something appends to a ring of
 * VIRTIO_PCI_EVENT_QUEUE events in the state, oldest first. The caller,
 * holding its lock, makes any call and then drains:
 *   while (virtio_pci_take_event(s, &ev)) switch (ev.kind) ...
 * RESET (stop the device model, drop its queues), STATUS (ev.value: the
 * new device_status; features are final once it has FEATURES_OK, and the
 * device may use its queues once it has DRIVER_OK), QUEUE_ENABLED
 * (ev.queue, ev.size and the three addresses: set the virtqueue up),
 * QUEUE_NOTIFY (ev.queue: the driver kicked it), MSI (ev.msi: decode with
 * msi_decode(), which succeeds, and deliver) and INTX (ev.value: drive the
 * INTx line to this level; virtio_pci_intx_level() says the same). One
 * call produces at most VIRTIO_PCI_MSIX_MAX + 1 events (enabling MSI-X
 * with every vector pending, then INTX), so a caller that drains after
 * each call never fills the ring; if it does not, events that find it
 * full are counted in ev_dropped and lost.
 *
 * State: everything is plain data except `ops` and `dev` (the device model
 * below): a snapshot saves the rest and a restore puts the live pointers
 * back. Check a restored state with virtio_pci_state_valid(). */
#ifndef KEEL_VIRTIO_PCI_H
#define KEEL_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include <keel/msi.h>
#include <keel/pci_host.h>

#define VIRTIO_PCI_VENDOR 0x1AF4
#define VIRTIO_PCI_DEVICE_BASE 0x1040 /* + virtio device ID */
#define VIRTIO_PCI_DEVICE_ID_MAX 0x3F /* PCI device IDs 0x1040-0x107F */
#define VIRTIO_PCI_REVISION 1
#define VIRTIO_PCI_MAX_QUEUES 16
#define VIRTIO_PCI_QUEUE_SIZE_MAX 32768
#define VIRTIO_PCI_MSIX_MAX (VIRTIO_PCI_MAX_QUEUES + 1) /* one per queue, config */
#define VIRTIO_PCI_NO_VECTOR 0xFFFF
#define VIRTIO_PCI_EVENT_QUEUE 32

/* BAR 0 layout. */
#define VIRTIO_PCI_BAR_SIZE 0x4000u
#define VIRTIO_PCI_COMMON_OFF 0x0000u
#define VIRTIO_PCI_COMMON_LEN 0x38u
#define VIRTIO_PCI_ISR_OFF 0x1000u
#define VIRTIO_PCI_ISR_LEN 1u
#define VIRTIO_PCI_DEVICE_OFF 0x2000u
#define VIRTIO_PCI_DEVICE_CFG_MAX 0x1000u
#define VIRTIO_PCI_NOTIFY_OFF 0x3000u
#define VIRTIO_PCI_NOTIFY_MULT 4u
#define VIRTIO_PCI_MSIX_TABLE_OFF 0x3800u
#define VIRTIO_PCI_MSIX_PBA_OFF 0x3C00u

/* Common cfg registers (offsets within it). */
#define VIRTIO_PCI_CC_DFSELECT 0x00 /* le32 device_feature_select */
#define VIRTIO_PCI_CC_DF 0x04 /* le32 device_feature (RO) */
#define VIRTIO_PCI_CC_GFSELECT 0x08 /* le32 driver_feature_select */
#define VIRTIO_PCI_CC_GF 0x0C /* le32 driver_feature */
#define VIRTIO_PCI_CC_MSIX 0x10 /* le16 config_msix_vector */
#define VIRTIO_PCI_CC_NUMQ 0x12 /* le16 num_queues (RO) */
#define VIRTIO_PCI_CC_STATUS 0x14 /* u8 device_status */
#define VIRTIO_PCI_CC_CFGGEN 0x15 /* u8 config_generation (RO) */
#define VIRTIO_PCI_CC_Q_SELECT 0x16 /* le16 */
#define VIRTIO_PCI_CC_Q_SIZE 0x18 /* le16 */
#define VIRTIO_PCI_CC_Q_MSIX 0x1A /* le16 */
#define VIRTIO_PCI_CC_Q_ENABLE 0x1C /* le16 */
#define VIRTIO_PCI_CC_Q_NOFF 0x1E /* le16 queue_notify_off (RO) */
#define VIRTIO_PCI_CC_Q_DESC 0x20 /* le64, as two le32 */
#define VIRTIO_PCI_CC_Q_DRIVER 0x28
#define VIRTIO_PCI_CC_Q_DEVICE 0x30

/* Configuration space. */
#define VIRTIO_PCI_CMD_IO 0x0001u
#define VIRTIO_PCI_CMD_MEM 0x0002u
#define VIRTIO_PCI_CMD_MASTER 0x0004u
#define VIRTIO_PCI_CMD_INTX_OFF 0x0400u
#define VIRTIO_PCI_STS_INTX 0x0008u /* interrupt status */
#define VIRTIO_PCI_STS_CAPS 0x0010u
#define VIRTIO_PCI_CAP_ID_VNDR 0x09
#define VIRTIO_PCI_CAP_COMMON 0x40
#define VIRTIO_PCI_CAP_NOTIFY 0x50
#define VIRTIO_PCI_CAP_ISR 0x64
#define VIRTIO_PCI_CAP_DEVICE 0x74
#define VIRTIO_PCI_CAP_PCI 0x84
#define VIRTIO_PCI_CAP_MSIX 0x98

/* cfg_type of the virtio vendor-specific capabilities. */
enum {
	VIRTIO_PCI_CAP_COMMON_CFG = 1,
	VIRTIO_PCI_CAP_NOTIFY_CFG = 2,
	VIRTIO_PCI_CAP_ISR_CFG = 3,
	VIRTIO_PCI_CAP_DEVICE_CFG = 4,
	VIRTIO_PCI_CAP_PCI_CFG = 5,
};

/* device_status bits, ISR bits, and the feature the transport adds. */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER 0x02
#define VIRTIO_STATUS_DRIVER_OK 0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80
#define VIRTIO_PCI_ISR_QUEUE 0x01
#define VIRTIO_PCI_ISR_CONFIG 0x02
#define VIRTIO_F_VERSION_1 (1ull << 32)

/* The device model below the transport. Its configuration structure is
 * cfg_len bytes (init); OFF + SIZE <= cfg_len, OFF aligned to SIZE (1, 2
 * or 4), values little-endian. Reads may not have side effects the driver
 * can see twice: the PCI cfg access window may repeat them. */
struct virtio_pci_device_ops {
	uint32_t (*cfg_read)(void *dev, unsigned off, unsigned size);
	void (*cfg_write)(void *dev, unsigned off, unsigned size, uint32_t value);
};

/* What the device model and Keel choose for one function. */
struct virtio_pci_params {
	uint16_t device_id; /* virtio device ID: 1 net, 2 blk, 3 console, 4 rng ... */
	uint32_t class_code; /* 24 bits: class, subclass, prog-if (0x00FF00: other) */
	uint64_t features; /* the device model's; VERSION_1 is added */
	uint16_t num_queues; /* 1..VIRTIO_PCI_MAX_QUEUES */
	uint16_t queue_size; /* every queue's maximum, a power of two up to 32768 */
	uint32_t cfg_len; /* device cfg bytes, 0..VIRTIO_PCI_DEVICE_CFG_MAX */
	uint32_t bar0; /* BAR 0 address, VIRTIO_PCI_BAR_SIZE-aligned; 0 unassigned */
	const struct virtio_pci_device_ops *ops; /* both callbacks; NULL if cfg_len is 0 */
	void *dev;
};

struct virtio_pci_msi {
	uint64_t addr;
	uint32_t data;
};

enum {
	VIRTIO_PCI_EV_RESET = 1,
	VIRTIO_PCI_EV_STATUS,
	VIRTIO_PCI_EV_QUEUE_ENABLED,
	VIRTIO_PCI_EV_QUEUE_NOTIFY,
	VIRTIO_PCI_EV_MSI,
	VIRTIO_PCI_EV_INTX,
};

struct virtio_pci_event {
	uint8_t kind; /* VIRTIO_PCI_EV_* */
	uint8_t value; /* STATUS: device_status; INTX: level (0/1) */
	uint16_t queue; /* QUEUE_ENABLED, QUEUE_NOTIFY */
	uint16_t size; /* QUEUE_ENABLED: the queue size */
	uint64_t desc, driver, device; /* QUEUE_ENABLED: the three areas */
	struct virtio_pci_msi msi; /* MSI */
};

struct virtio_pci_queue {
	uint16_t size;
	uint16_t msix_vector;
	uint8_t enabled;
	uint64_t desc, driver, device;
};

struct virtio_pci {
	uint8_t cfg[PCI_CFG_SIZE]; /* as read, but for pci_cfg_data side effects */
	/* Identity, from init. */
	uint16_t device_id;
	uint16_t num_queues;
	uint16_t queue_max;
	uint32_t class_code;
	uint32_t cfg_len;
	uint64_t device_features; /* VERSION_1 included */
	/* Common cfg. */
	uint32_t dfselect, gfselect;
	uint64_t driver_features;
	uint16_t config_vector;
	uint16_t queue_select;
	uint8_t status;
	uint8_t config_generation;
	struct virtio_pci_queue queue[VIRTIO_PCI_MAX_QUEUES]; /* unused ones all 0 */
	uint8_t isr;
	uint8_t intx; /* INTx level as last reported */
	struct msix msix; /* num_queues + 1 vectors */
	uint32_t msi_dropped; /* messages msi_decode() refused */
	/* Events for the caller. */
	struct virtio_pci_event ev[VIRTIO_PCI_EVENT_QUEUE];
	uint32_t ev_head, ev_count;
	uint32_t ev_dropped;
	/* The device model (not part of a snapshot). */
	const struct virtio_pci_device_ops *ops;
	void *dev;
};

/* Power-on state for P: configuration space as above (command 0, BAR 0 at
 * P->bar0, MSI-X disabled, every vector masked), the device reset, no
 * events. Returns 0, or -1 (S untouched) if P is out of range. */
int virtio_pci_init(struct virtio_pci *s, const struct virtio_pci_params *p);

/* Configuration space, for pci_host_add_device(&ph, devfn,
 * &virtio_pci_cfg_ops, s): cfg_read/cfg_write with (void *dev = s, off,
 * size) as struct pci_dev_ops specifies. */
extern const struct pci_dev_ops virtio_pci_cfg_ops;

/* Where BAR 0 decodes: true with *BASE if memory decode is enabled and
 * the BAR holds a non-zero address. The caller routes MMIO in [*BASE,
 * *BASE + VIRTIO_PCI_BAR_SIZE) here; overlaps with its own map are its
 * business. */
bool virtio_pci_bar0(const struct virtio_pci *s, uint64_t *base);
/* BAR 0 access at OFFSET, SIZE 1, 2 or 4 (see the layout above). */
uint32_t virtio_pci_mmio_read(struct virtio_pci *s, uint32_t offset, unsigned size);
void virtio_pci_mmio_write(struct virtio_pci *s, uint32_t offset, unsigned size, uint32_t value);

/* The device model's side. Queue Q (< num_queues) has used buffers for the
 * driver; the configuration has changed (bumps config_generation, then
 * signals); the device is broken and needs a reset (NEEDS_RESET). */
void virtio_pci_signal_queue(struct virtio_pci *s, unsigned q);
void virtio_pci_signal_config(struct virtio_pci *s);
void virtio_pci_config_changed(struct virtio_pci *s);
void virtio_pci_needs_reset(struct virtio_pci *s);

/* The INTx line: asserted while the ISR is non-zero, MSI-X is disabled
 * and command bit 10 is clear. */
bool virtio_pci_intx_level(const struct virtio_pci *s);

/* The oldest event; false if none. */
bool virtio_pci_take_event(struct virtio_pci *s, struct virtio_pci_event *out);

/* True if S is a state this code can run from (every field in range, the
 * read-only configuration space as init made it for S's identity). */
bool virtio_pci_state_valid(const struct virtio_pci *s);

#endif
