/* The virtio 1.x modern PCI transport (see include/keel/virtio_pci.h for the
 * model). The configuration space is kept as read, in cfg[]: init writes
 * the read-only parts, guest writes go through a per-byte writable mask,
 * and the one derived bit (status bit 3) is refreshed after every call.
 * Every guest access ends in settle(), which sends what MSI-X can now
 * deliver (an access may unmask) and reports an INTx level change, so no
 * path forgets to; the device model's signals end in update_intx(). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <keel/msi.h>
#include <keel/string.h>
#include <keel/virtio_pci.h>

#define CFG_COMMAND 0x04
#define CFG_STATUS 0x06
#define CFG_BAR0 0x10
#define CFG_SUBSYS_VENDOR 0x2C
#define CFG_SUBSYS_ID 0x2E
#define CFG_CAP_PTR 0x34
#define CFG_INT_LINE 0x3C
#define CFG_INT_PIN 0x3D

#define BAR_ADDR_MASK (~(VIRTIO_PCI_BAR_SIZE - 1))
#define WINDOW (VIRTIO_PCI_CAP_PCI + 16) /* pci_cfg_data */
#define CAP_LEN 16
#define CAP_LEN_EXT 20 /* notify and PCI cfg access: one more dword */

/* What a driver may set in device_status; NEEDS_RESET is the device's. */
#define STATUS_DRIVER                                                                 \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK | \
	 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_FAILED)
#define STATUS_ALL (STATUS_DRIVER | VIRTIO_STATUS_NEEDS_RESET)

/* Enabling MSI-X with every vector pending, then INTx going low, must fit
 * in the ring, or a caller draining after each call could still lose. */
_Static_assert(VIRTIO_PCI_MSIX_MAX + 1 <= VIRTIO_PCI_EVENT_QUEUE, "event ring too small");
_Static_assert(VIRTIO_PCI_MSIX_MAX <= MSIX_MAX_VECTORS, "more vectors than struct msix holds");
/* BAR 0 regions, at their largest, in order and apart. */
_Static_assert(VIRTIO_PCI_DEVICE_OFF + VIRTIO_PCI_DEVICE_CFG_MAX <= VIRTIO_PCI_NOTIFY_OFF &&
		   VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * VIRTIO_PCI_MAX_QUEUES <=
		       VIRTIO_PCI_MSIX_TABLE_OFF &&
		   VIRTIO_PCI_MSIX_TABLE_OFF + MSIX_ENTRY_SIZE * VIRTIO_PCI_MSIX_MAX <=
		       VIRTIO_PCI_MSIX_PBA_OFF &&
		   VIRTIO_PCI_MSIX_PBA_OFF + 8 <= VIRTIO_PCI_BAR_SIZE,
	       "BAR 0 regions overlap");

static uint32_t ones(unsigned size)
{
	return size == 1 ? 0xFFu : size == 2 ? 0xFFFFu : 0xFFFFFFFFu;
}

/* 1, 2 or 4 bytes, naturally aligned. */
static bool access_ok(uint32_t off, unsigned size)
{
	return (size == 1 || size == 2 || size == 4) && !(off & (size - 1));
}

/* N (1-4) little-endian bytes at P. */
static uint32_t get(const uint8_t *p, unsigned n)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void put(uint8_t *p, unsigned n, uint32_t v)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static bool pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

/* ---- Events ---- */

static void push(struct virtio_pci *s, struct virtio_pci_event ev)
{
	if (s->ev_count >= VIRTIO_PCI_EVENT_QUEUE) {
		s->ev_dropped++;
		return;
	}
	s->ev[(s->ev_head + s->ev_count) % VIRTIO_PCI_EVENT_QUEUE] = ev;
	s->ev_count++;
}

bool virtio_pci_take_event(struct virtio_pci *s, struct virtio_pci_event *out)
{
	if (!s->ev_count || s->ev_head >= VIRTIO_PCI_EVENT_QUEUE)
		return false;
	*out = s->ev[s->ev_head];
	s->ev_head = (s->ev_head + 1) % VIRTIO_PCI_EVENT_QUEUE;
	s->ev_count--;
	return true;
}

/* ---- Interrupts ---- */

static bool msix_enabled(const struct virtio_pci *s)
{
	return msix_cap_enabled(s->cfg + VIRTIO_PCI_CAP_MSIX);
}

static bool msix_open(const struct virtio_pci *s)
{
	return msix_cap_open(s->cfg + VIRTIO_PCI_CAP_MSIX);
}

/* INTx wanted (status bit 3), whether or not command bit 10 masks it. */
static bool intx_pending(const struct virtio_pci *s)
{
	return s->isr && !msix_enabled(s);
}

bool virtio_pci_intx_level(const struct virtio_pci *s)
{
	return intx_pending(s) && !(get(s->cfg + CFG_COMMAND, 2) & VIRTIO_PCI_CMD_INTX_OFF);
}

/* A message as the guest programmed it. One that is no interrupt is
 * dropped here, so every MSI event the caller sees decodes. */
static void send_msi(struct virtio_pci *s, uint64_t addr, uint32_t data)
{
	struct msi_x86 d;

	if (msi_decode(addr, data, &d))
		push(s, (struct virtio_pci_event){.kind = VIRTIO_PCI_EV_MSI, .msi = {addr, data}});
	else
		s->msi_dropped++;
}

static void update_intx(struct virtio_pci *s)
{
	bool level = virtio_pci_intx_level(s);

	if (intx_pending(s))
		s->cfg[CFG_STATUS] |= VIRTIO_PCI_STS_INTX;
	else
		s->cfg[CFG_STATUS] &= (uint8_t)~VIRTIO_PCI_STS_INTX;
	if (level == s->intx)
		return;
	s->intx = level;
	push(s, (struct virtio_pci_event){.kind = VIRTIO_PCI_EV_INTX, .value = level});
}

/* Pending vectors whose masks have all opened go now: the write that
 * unmasks is the one that sends. Each take clears a bit, so nvec bounds
 * the loop; the bound makes that visible. */
static void settle(struct virtio_pci *s)
{
	uint64_t addr;
	uint32_t data;

	for (unsigned i = 0; i < s->msix.nvec; i++) {
		if (!msix_take_pending(&s->msix, msix_open(s), &addr, &data))
			break;
		send_msi(s, addr, data);
	}
	update_intx(s);
}

/* Raise an interrupt on VECTOR (MSI-X; NO_VECTOR is out of range, so
 * nothing) or ISR_BIT (INTx). */
static void interrupt(struct virtio_pci *s, uint16_t vector, uint8_t isr_bit)
{
	uint64_t addr;
	uint32_t data;

	if (!msix_enabled(s))
		s->isr |= isr_bit;
	else if (msix_fire(&s->msix, vector, msix_open(s), &addr, &data))
		send_msi(s, addr, data);
	update_intx(s);
}

void virtio_pci_signal_queue(struct virtio_pci *s, unsigned q)
{
	if (q < s->num_queues)
		interrupt(s, s->queue[q].msix_vector, VIRTIO_PCI_ISR_QUEUE);
}

void virtio_pci_signal_config(struct virtio_pci *s)
{
	interrupt(s, s->config_vector, VIRTIO_PCI_ISR_CONFIG);
}

void virtio_pci_config_changed(struct virtio_pci *s)
{
	s->config_generation++;
	virtio_pci_signal_config(s);
}

void virtio_pci_needs_reset(struct virtio_pci *s)
{
	s->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (s->status & VIRTIO_STATUS_DRIVER_OK)
		virtio_pci_signal_config(s);
}

/* ---- Common configuration ---- */

static void device_reset(struct virtio_pci *s)
{
	s->dfselect = s->gfselect = 0;
	s->driver_features = 0;
	s->config_vector = VIRTIO_PCI_NO_VECTOR;
	s->queue_select = 0;
	s->status = 0;
	s->isr = 0;
	s->msix.pba = 0; /* what was pending was for the old driver */
	for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++) {
		s->queue[q] = (struct virtio_pci_queue){0};
		if (q < s->num_queues) {
			s->queue[q].size = s->queue_max;
			s->queue[q].msix_vector = VIRTIO_PCI_NO_VECTOR;
		}
	}
}

static bool features_acceptable(const struct virtio_pci *s)
{
	return !(s->driver_features & ~s->device_features) &&
	       (s->driver_features & VIRTIO_F_VERSION_1);
}

static void write_status(struct virtio_pci *s, uint8_t v)
{
	uint8_t next = (uint8_t)(s->status | (v & STATUS_DRIVER));

	if (!v) {
		device_reset(s);
		push(s, (struct virtio_pci_event){.kind = VIRTIO_PCI_EV_RESET});
		return;
	}
	/* The driver reads FEATURES_OK back to learn whether we agree. */
	if ((next & ~s->status & VIRTIO_STATUS_FEATURES_OK) && !features_acceptable(s))
		next &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	if (next == s->status)
		return;
	s->status = next;
	push(s, (struct virtio_pci_event){.kind = VIRTIO_PCI_EV_STATUS, .value = next});
}

/* The selected queue, or NULL if queue_select selects nothing. */
static struct virtio_pci_queue *selected(struct virtio_pci *s)
{
	return s->queue_select < s->num_queues ? &s->queue[s->queue_select] : NULL;
}

/* Half SEL (0 low, 1 high) of a 64-bit feature word; other selects read 0. */
static uint32_t half(uint64_t v, uint32_t sel)
{
	return sel == 0 ? (uint32_t)v : sel == 1 ? (uint32_t)(v >> 32) : 0;
}

static void set_half(uint64_t *p, bool high, uint32_t v)
{
	if (high)
		*p = (*p & 0xFFFFFFFFull) | (uint64_t)v << 32;
	else
		*p = (*p & ~0xFFFFFFFFull) | v;
}

/* The queue's address field at common cfg offset OFF (0x20-0x37). */
static uint64_t *area(struct virtio_pci_queue *q, unsigned off)
{
	unsigned i = (off - VIRTIO_PCI_CC_Q_DESC) / 8;

	return i == 0 ? &q->desc : i == 1 ? &q->driver : &q->device;
}

/* The dword at common cfg offset OFF (a multiple of 4, below 0x38). */
static uint32_t common_dword(struct virtio_pci *s, unsigned off)
{
	struct virtio_pci_queue none = {0}, *q = selected(s);
	uint16_t noff = q ? s->queue_select : 0;

	if (!q)
		q = &none;
	switch (off) {
	case VIRTIO_PCI_CC_DFSELECT:
		return s->dfselect;
	case VIRTIO_PCI_CC_DF:
		return half(s->device_features, s->dfselect);
	case VIRTIO_PCI_CC_GFSELECT:
		return s->gfselect;
	case VIRTIO_PCI_CC_GF:
		return half(s->driver_features, s->gfselect);
	case VIRTIO_PCI_CC_MSIX:
		return s->config_vector | (uint32_t)s->num_queues << 16;
	case VIRTIO_PCI_CC_STATUS:
		return s->status | (uint32_t)s->config_generation << 8 |
		       (uint32_t)s->queue_select << 16;
	case VIRTIO_PCI_CC_Q_SIZE:
		return q->size | (uint32_t)q->msix_vector << 16;
	case VIRTIO_PCI_CC_Q_ENABLE:
		return q->enabled | (uint32_t)noff << 16;
	default:
		return (uint32_t)(*area(q, off) >> (off & 4 ? 32 : 0));
	}
}

static uint16_t vector_or_none(const struct virtio_pci *s, uint32_t v)
{
	return v < s->msix.nvec ? (uint16_t)v : VIRTIO_PCI_NO_VECTOR;
}

static void common_write16(struct virtio_pci *s, unsigned off, uint16_t v)
{
	struct virtio_pci_queue *q = selected(s);

	if (off == VIRTIO_PCI_CC_MSIX)
		s->config_vector = vector_or_none(s, v);
	else if (off == VIRTIO_PCI_CC_Q_SELECT)
		s->queue_select = v;
	else if (!q)
		return;
	else if (off == VIRTIO_PCI_CC_Q_SIZE && !q->enabled && pow2(v) && v <= s->queue_max)
		q->size = v;
	else if (off == VIRTIO_PCI_CC_Q_MSIX)
		q->msix_vector = vector_or_none(s, v);
	else if (off == VIRTIO_PCI_CC_Q_ENABLE && v == 1 && !q->enabled) {
		q->enabled = 1;
		push(s, (struct virtio_pci_event){.kind = VIRTIO_PCI_EV_QUEUE_ENABLED,
						  .queue = s->queue_select,
						  .size = q->size,
						  .desc = q->desc,
						  .driver = q->driver,
						  .device = q->device});
	}
}

static void common_write(struct virtio_pci *s, unsigned off, unsigned size, uint32_t v)
{
	struct virtio_pci_queue *q = selected(s);

	if (size == 1 && off == VIRTIO_PCI_CC_STATUS) {
		write_status(s, (uint8_t)v);
	} else if (size == 2) {
		common_write16(s, off, (uint16_t)v);
	} else if (size != 4) {
		return;
	} else if (off == VIRTIO_PCI_CC_DFSELECT) {
		s->dfselect = v;
	} else if (off == VIRTIO_PCI_CC_GFSELECT) {
		s->gfselect = v;
	} else if (off == VIRTIO_PCI_CC_GF) {
		if (!(s->status & VIRTIO_STATUS_FEATURES_OK) && s->gfselect < 2)
			set_half(&s->driver_features, s->gfselect, v);
	} else if (off >= VIRTIO_PCI_CC_Q_DESC && q && !q->enabled) {
		set_half(area(q, off), off & 4, v);
	}
}

/* ---- BAR 0 ---- */

static bool in(uint32_t off, uint32_t base, uint32_t len)
{
	return off >= base && off - base < len;
}

/* BAR 0 accesses without settle(): the caller (MMIO or the PCI cfg access
 * window) settles once after. */
static uint32_t bar_read(struct virtio_pci *s, uint32_t off, unsigned size)
{
	uint32_t v;

	if (!access_ok(off, size))
		return 0;
	if (off < VIRTIO_PCI_COMMON_LEN)
		return (common_dword(s, off & ~3u) >> (8 * (off & 3))) & ones(size);
	if (off == VIRTIO_PCI_ISR_OFF) {
		v = s->isr;
		s->isr = 0;
		return v;
	}
	if (in(off, VIRTIO_PCI_DEVICE_OFF, s->cfg_len) &&
	    off - VIRTIO_PCI_DEVICE_OFF + size <= s->cfg_len)
		return s->ops->cfg_read(s->dev, off - VIRTIO_PCI_DEVICE_OFF, size) & ones(size);
	if (size != 4)
		return 0;
	if (in(off, VIRTIO_PCI_MSIX_TABLE_OFF, VIRTIO_PCI_MSIX_PBA_OFF - VIRTIO_PCI_MSIX_TABLE_OFF))
		return msix_read(&s->msix, off - VIRTIO_PCI_MSIX_TABLE_OFF);
	if (in(off, VIRTIO_PCI_MSIX_PBA_OFF, 8))
		return msix_pba_read(&s->msix, off - VIRTIO_PCI_MSIX_PBA_OFF);
	return 0;
}

static void bar_write(struct virtio_pci *s, uint32_t off, unsigned size, uint32_t v)
{
	uint32_t q = (off - VIRTIO_PCI_NOTIFY_OFF) / VIRTIO_PCI_NOTIFY_MULT; /* if a notify */

	if (!access_ok(off, size))
		return;
	v &= ones(size);
	if (off < VIRTIO_PCI_COMMON_LEN) {
		common_write(s, off, size, v);
	} else if (in(off, VIRTIO_PCI_DEVICE_OFF, s->cfg_len) &&
		   off - VIRTIO_PCI_DEVICE_OFF + size <= s->cfg_len) {
		s->ops->cfg_write(s->dev, off - VIRTIO_PCI_DEVICE_OFF, size, v);
	} else if (in(off, VIRTIO_PCI_NOTIFY_OFF, VIRTIO_PCI_NOTIFY_MULT * s->num_queues)) {
		if (off % VIRTIO_PCI_NOTIFY_MULT == 0 && s->queue[q].enabled)
			push(s, (struct virtio_pci_event){.kind = VIRTIO_PCI_EV_QUEUE_NOTIFY,
							  .queue = (uint16_t)q});
	} else if (size == 4 && in(off, VIRTIO_PCI_MSIX_TABLE_OFF,
				   VIRTIO_PCI_MSIX_PBA_OFF - VIRTIO_PCI_MSIX_TABLE_OFF)) {
		msix_write(&s->msix, off - VIRTIO_PCI_MSIX_TABLE_OFF, v); /* settle() sends */
	}
	/* ISR, PBA and the rest are read-only or nothing */
}

uint32_t virtio_pci_mmio_read(struct virtio_pci *s, uint32_t offset, unsigned size)
{
	uint32_t v = bar_read(s, offset, size);

	settle(s);
	return v;
}

void virtio_pci_mmio_write(struct virtio_pci *s, uint32_t offset, unsigned size, uint32_t value)
{
	bar_write(s, offset, size, value);
	settle(s);
}

bool virtio_pci_bar0(const struct virtio_pci *s, uint64_t *base)
{
	uint32_t bar = get(s->cfg + CFG_BAR0, 4) & BAR_ADDR_MASK;

	if (!(get(s->cfg + CFG_COMMAND, 2) & VIRTIO_PCI_CMD_MEM) || !bar)
		return false;
	*base = bar;
	return true;
}

/* ---- Configuration space ---- */

static void put_cap(uint8_t *c, unsigned at, unsigned next, unsigned len, unsigned type,
		    uint32_t off, uint32_t length)
{
	c[at] = VIRTIO_PCI_CAP_ID_VNDR;
	c[at + 1] = (uint8_t)next;
	c[at + 2] = (uint8_t)len;
	c[at + 3] = (uint8_t)type;
	c[at + 4] = 0; /* BAR 0 */
	put(c + at + 8, 4, off);
	put(c + at + 12, 4, length);
}

/* The configuration space init gives S's identity (BAR 0 unassigned). */
static void build_cfg(const struct virtio_pci *s, uint8_t *c)
{
	uint16_t id = (uint16_t)(VIRTIO_PCI_DEVICE_BASE + s->device_id);

	memset(c, 0, PCI_CFG_SIZE);
	put(c + 0x00, 2, VIRTIO_PCI_VENDOR);
	put(c + 0x02, 2, id);
	put(c + CFG_STATUS, 2, VIRTIO_PCI_STS_CAPS);
	c[0x08] = VIRTIO_PCI_REVISION;
	c[0x09] = (uint8_t)s->class_code;
	c[0x0A] = (uint8_t)(s->class_code >> 8);
	c[0x0B] = (uint8_t)(s->class_code >> 16);
	put(c + CFG_SUBSYS_VENDOR, 2, VIRTIO_PCI_VENDOR);
	put(c + CFG_SUBSYS_ID, 2, id);
	c[CFG_CAP_PTR] = VIRTIO_PCI_CAP_COMMON;
	c[CFG_INT_PIN] = 1; /* INTA# */
	put_cap(c, VIRTIO_PCI_CAP_COMMON, VIRTIO_PCI_CAP_NOTIFY, CAP_LEN, VIRTIO_PCI_CAP_COMMON_CFG,
		VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_COMMON_LEN);
	put_cap(c, VIRTIO_PCI_CAP_NOTIFY, VIRTIO_PCI_CAP_ISR, CAP_LEN_EXT,
		VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF,
		VIRTIO_PCI_NOTIFY_MULT * s->num_queues);
	put(c + VIRTIO_PCI_CAP_NOTIFY + 16, 4, VIRTIO_PCI_NOTIFY_MULT);
	put_cap(c, VIRTIO_PCI_CAP_ISR, s->cfg_len ? VIRTIO_PCI_CAP_DEVICE : VIRTIO_PCI_CAP_PCI,
		CAP_LEN, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, VIRTIO_PCI_ISR_LEN);
	if (s->cfg_len)
		put_cap(c, VIRTIO_PCI_CAP_DEVICE, VIRTIO_PCI_CAP_PCI, CAP_LEN,
			VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFF, s->cfg_len);
	put_cap(c, VIRTIO_PCI_CAP_PCI, VIRTIO_PCI_CAP_MSIX, CAP_LEN_EXT, VIRTIO_PCI_CAP_PCI_CFG, 0,
		0);
	msix_cap_init(c + VIRTIO_PCI_CAP_MSIX, s->num_queues + 1u, 0, 0, VIRTIO_PCI_MSIX_TABLE_OFF,
		      VIRTIO_PCI_MSIX_PBA_OFF); /* last in the chain */
}

/* The bits of configuration byte OFF the guest may write. */
static uint8_t cfg_wmask(unsigned off)
{
	/* PCI cfg access capability: bar (+4), offset, length, data (+8..+19). */
	if (off == VIRTIO_PCI_CAP_PCI + 4 || in(off, VIRTIO_PCI_CAP_PCI + 8, 12))
		return 0xFF;
	if (in(off, VIRTIO_PCI_CAP_MSIX, MSIX_CAP_LEN))
		return msix_cap_wmask(off - VIRTIO_PCI_CAP_MSIX);
	switch (off) {
	case CFG_COMMAND:
		return VIRTIO_PCI_CMD_IO | VIRTIO_PCI_CMD_MEM | VIRTIO_PCI_CMD_MASTER;
	case CFG_COMMAND + 1:
		return VIRTIO_PCI_CMD_INTX_OFF >> 8;
	case CFG_BAR0 + 1:
		return (uint8_t)(BAR_ADDR_MASK >> 8); /* bits 15:14 */
	case CFG_BAR0 + 2:
	case CFG_BAR0 + 3:
	case CFG_INT_LINE:
		return 0xFF;
	default:
		return 0;
	}
}

static bool touches_window(unsigned off, unsigned size)
{
	return off < WINDOW + 4 && off + size > WINDOW;
}

/* The PCI configuration access capability: one BAR access as its fields
 * say, or nothing if they name none (see the header). */
static void window_access(struct virtio_pci *s, bool write)
{
	const uint8_t *c = s->cfg + VIRTIO_PCI_CAP_PCI;
	uint32_t off = get(c + 8, 4), len = get(c + 12, 4);

	if (c[4] != 0 || (len != 1 && len != 2 && len != 4) || off % len ||
	    off >= VIRTIO_PCI_BAR_SIZE)
		return;
	if (write) {
		bar_write(s, off, len, get(s->cfg + WINDOW, 4));
		return;
	}
	put(s->cfg + WINDOW, len, bar_read(s, off, len));
}

static uint32_t cfg_read(void *dev, unsigned off, unsigned size)
{
	struct virtio_pci *s = dev;

	if (!access_ok(off, size) || off >= PCI_CFG_SIZE)
		return 0;
	if (touches_window(off, size)) {
		window_access(s, false);
		settle(s);
	}
	return get(s->cfg + off, size);
}

static void cfg_write(void *dev, unsigned off, unsigned size, uint32_t value)
{
	struct virtio_pci *s = dev;

	if (!access_ok(off, size) || off >= PCI_CFG_SIZE)
		return;
	for (unsigned i = 0; i < size; i++) {
		uint8_t m = cfg_wmask(off + i), b = (uint8_t)(value >> (8 * i));

		s->cfg[off + i] = (uint8_t)((s->cfg[off + i] & ~m) | (b & m));
	}
	if (touches_window(off, size))
		window_access(s, true);
	settle(s); /* MSI-X enable, function unmask, INTx disable */
}

const struct pci_dev_ops virtio_pci_cfg_ops = {
    .cfg_read = cfg_read,
    .cfg_write = cfg_write,
};

/* ---- Life cycle ---- */

static bool params_ok(const struct virtio_pci_params *p)
{
	return p->device_id && p->device_id <= VIRTIO_PCI_DEVICE_ID_MAX && p->num_queues &&
	       p->num_queues <= VIRTIO_PCI_MAX_QUEUES && pow2(p->queue_size) &&
	       p->queue_size <= VIRTIO_PCI_QUEUE_SIZE_MAX && p->class_code <= 0xFFFFFF &&
	       p->cfg_len <= VIRTIO_PCI_DEVICE_CFG_MAX && !(p->bar0 & ~BAR_ADDR_MASK) &&
	       (!p->cfg_len || (p->ops && p->ops->cfg_read && p->ops->cfg_write));
}

int virtio_pci_init(struct virtio_pci *s, const struct virtio_pci_params *p)
{
	if (!params_ok(p))
		return -1;
	memset(s, 0, sizeof(*s));
	s->device_id = p->device_id;
	s->num_queues = p->num_queues;
	s->queue_max = p->queue_size;
	s->class_code = p->class_code;
	s->cfg_len = p->cfg_len;
	s->device_features = p->features | VIRTIO_F_VERSION_1;
	s->ops = p->ops;
	s->dev = p->dev;
	build_cfg(s, s->cfg);
	put(s->cfg + CFG_BAR0, 4, p->bar0);
	msix_init(&s->msix, s->num_queues + 1u);
	device_reset(s);
	return 0;
}

static bool vector_valid(const struct virtio_pci *s, uint16_t v)
{
	return v < s->msix.nvec || v == VIRTIO_PCI_NO_VECTOR;
}

static bool queues_valid(const struct virtio_pci *s)
{
	for (unsigned i = 0; i < VIRTIO_PCI_MAX_QUEUES; i++) {
		const struct virtio_pci_queue *q = &s->queue[i];

		if (i >= s->num_queues) {
			if (q->size || q->msix_vector || q->enabled || q->desc || q->driver ||
			    q->device)
				return false;
		} else if (!pow2(q->size) || q->size > s->queue_max ||
			   !vector_valid(s, q->msix_vector) || q->enabled > 1) {
			return false;
		}
	}
	return true;
}

static bool events_valid(const struct virtio_pci *s)
{
	if (s->ev_head >= VIRTIO_PCI_EVENT_QUEUE || s->ev_count > VIRTIO_PCI_EVENT_QUEUE)
		return false;
	for (uint32_t i = 0; i < s->ev_count; i++) {
		const struct virtio_pci_event *e =
		    &s->ev[(s->ev_head + i) % VIRTIO_PCI_EVENT_QUEUE];
		bool queued =
		    e->kind == VIRTIO_PCI_EV_QUEUE_ENABLED || e->kind == VIRTIO_PCI_EV_QUEUE_NOTIFY;

		if (e->kind < VIRTIO_PCI_EV_RESET || e->kind > VIRTIO_PCI_EV_INTX ||
		    (queued && e->queue >= s->num_queues) ||
		    (e->kind == VIRTIO_PCI_EV_INTX && e->value > 1))
			return false;
	}
	return true;
}

bool virtio_pci_state_valid(const struct virtio_pci *s)
{
	struct virtio_pci_params id = {
	    .device_id = s->device_id,
	    .class_code = s->class_code,
	    .num_queues = s->num_queues,
	    .queue_size = s->queue_max,
	    .cfg_len = s->cfg_len,
	    .ops = s->ops,
	};
	uint8_t ref[PCI_CFG_SIZE];

	if (!params_ok(&id) || !(s->device_features & VIRTIO_F_VERSION_1))
		return false;
	/* Read-only configuration bytes as init made them; status bit 3 as
	 * derived. */
	build_cfg(s, ref);
	if (intx_pending(s))
		ref[CFG_STATUS] |= VIRTIO_PCI_STS_INTX;
	for (unsigned i = 0; i < PCI_CFG_SIZE; i++) {
		if ((s->cfg[i] ^ ref[i]) & ~cfg_wmask(i))
			return false;
	}
	if ((s->status & ~STATUS_ALL) || !vector_valid(s, s->config_vector) ||
	    ((s->status & VIRTIO_STATUS_FEATURES_OK) && !features_acceptable(s)) ||
	    (s->isr & ~(VIRTIO_PCI_ISR_QUEUE | VIRTIO_PCI_ISR_CONFIG)) ||
	    s->intx != virtio_pci_intx_level(s))
		return false;
	return queues_valid(s) && msix_state_valid(&s->msix) &&
	       s->msix.nvec == s->num_queues + 1u && events_valid(s);
}
