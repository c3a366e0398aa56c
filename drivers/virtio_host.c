/* The modern virtio-pci transport, driver side (include/keel/virtio_host.h).
 * Register offsets and status bits are the ones Keel's own virtio device
 * emulation uses (include/keel/virtio_pci.h): the spec's, seen from the
 * other end. */
#include <arch/time.h>
#include <keel/console.h>
#include <keel/pmm.h>
#include <keel/virtio_host.h>
#include <keel/virtio_pci.h>

/* Fields of a virtio vendor capability in configuration space. */
#define CAP_CFG_TYPE 3
#define CAP_BAR 4
#define CAP_OFFSET 8
#define CAP_LENGTH 12
#define CAP_NOTIFY_MULT 16
#define CAP_MIN_LEN 16
#define CAP_NOTIFY_MIN_LEN 20
#define PCI_COMMAND 0x04
#define RESET_TIMEOUT_NS 1000000000ull

static uint8_t rd8(const struct virtio_host *v, unsigned off)
{
	return v->common[off];
}

static uint16_t rd16(const struct virtio_host *v, unsigned off)
{
	return *(volatile const uint16_t *)(v->common + off);
}

static uint32_t rd32(const struct virtio_host *v, unsigned off)
{
	return *(volatile const uint32_t *)(v->common + off);
}

static void wr8(struct virtio_host *v, unsigned off, uint8_t val)
{
	v->common[off] = val;
}

static void wr16(struct virtio_host *v, unsigned off, uint16_t val)
{
	*(volatile uint16_t *)(v->common + off) = val;
}

static void wr32(struct virtio_host *v, unsigned off, uint32_t val)
{
	*(volatile uint32_t *)(v->common + off) = val;
}

/* 64-bit fields as two 32-bit writes, low half first: the spec lets the
 * device require 32-bit accesses. */
static void wr64(struct virtio_host *v, unsigned off, uint64_t val)
{
	wr32(v, off, (uint32_t)val);
	wr32(v, off + 4, (uint32_t)(val >> 32));
}

static void set_status(struct virtio_host *v, uint8_t bits)
{
	wr8(v, VIRTIO_PCI_CC_STATUS, (uint8_t)(rd8(v, VIRTIO_PCI_CC_STATUS) | bits));
}

/* The window a capability at OFF describes: NULL unless it lies inside a
 * memory BAR. */
static volatile uint8_t *cap_window(struct virtio_host *v, unsigned off, uint32_t *len)
{
	const struct hostpci_dev *d = v->pci;
	uint8_t bar = hostpci_read8(d, off + CAP_BAR);
	uint32_t start = hostpci_read32(d, off + CAP_OFFSET);
	*len = hostpci_read32(d, off + CAP_LENGTH);

	if (hostpci_read8(d, off + 2) < CAP_MIN_LEN || bar >= 6 || d->bar[bar].io || !*len ||
	    (uint64_t)start + *len > d->bar[bar].size)
		return NULL;
	return (volatile uint8_t *)hostpci_bar_ptr(d, bar, start);
}

/* The first usable capability of each type, as the spec asks drivers to
 * take (later ones may be alternatives the driver does not understand). */
static int find_windows(struct virtio_host *v)
{
	uint32_t len, common_len = 0, isr_len = 0;

	for (unsigned off = hostpci_find_cap(v->pci, VIRTIO_PCI_CAP_ID_VNDR, 0); off;
	     off = hostpci_find_cap(v->pci, VIRTIO_PCI_CAP_ID_VNDR, off)) {
		uint8_t type = hostpci_read8(v->pci, off + CAP_CFG_TYPE);
		volatile uint8_t *w = NULL;
		if (type >= VIRTIO_PCI_CAP_COMMON_CFG && type <= VIRTIO_PCI_CAP_DEVICE_CFG)
			w = cap_window(v, off, &len);
		if (!w)
			continue;
		if (type == VIRTIO_PCI_CAP_COMMON_CFG && !v->common) {
			v->common = w;
			common_len = len;
		} else if (type == VIRTIO_PCI_CAP_NOTIFY_CFG && !v->notify &&
			   hostpci_read8(v->pci, off + 2) >= CAP_NOTIFY_MIN_LEN) {
			v->notify = w;
			v->notify_len = len;
			v->notify_mult = hostpci_read32(v->pci, off + CAP_NOTIFY_MULT);
		} else if (type == VIRTIO_PCI_CAP_ISR_CFG && !v->isr) {
			v->isr = w;
			isr_len = len;
		} else if (type == VIRTIO_PCI_CAP_DEVICE_CFG && !v->device_cfg) {
			v->device_cfg = w;
			v->device_cfg_len = len;
		}
	}
	if (!v->common || common_len < VIRTIO_PCI_COMMON_LEN || !v->notify || !v->isr || !isr_len) {
		klog("%s: virtio capabilities missing or outside the BARs", v->name);
		return -1;
	}
	return 0;
}

static int reset(struct virtio_host *v)
{
	wr8(v, VIRTIO_PCI_CC_STATUS, 0);
	/* The reset is done when status reads back 0 (virtio 1.2, 4.1.4.3.2). */
	uint64_t end = time_ns() + RESET_TIMEOUT_NS;
	while (rd8(v, VIRTIO_PCI_CC_STATUS) != 0)
		if (time_ns() > end) {
			klog("%s: virtio device did not finish its reset", v->name);
			return -1;
		}
	return 0;
}

int virtio_host_start(struct virtio_host *v, struct hostpci_dev *d, const char *name,
		      uint64_t required, uint64_t wanted)
{
	v->pci = d;
	v->name = name;
	hostpci_enable(d);
	/* Polled: INTx stays quiet (MSI-X is never enabled). */
	hostpci_write16(d, PCI_COMMAND,
			(uint16_t)(hostpci_read16(d, PCI_COMMAND) | VIRTIO_PCI_CMD_INTX_OFF));
	if (find_windows(v) || reset(v))
		return -1;
	set_status(v, VIRTIO_STATUS_ACKNOWLEDGE);
	set_status(v, VIRTIO_STATUS_DRIVER);

	wr32(v, VIRTIO_PCI_CC_DFSELECT, 0);
	uint64_t offered = rd32(v, VIRTIO_PCI_CC_DF);
	wr32(v, VIRTIO_PCI_CC_DFSELECT, 1);
	offered |= (uint64_t)rd32(v, VIRTIO_PCI_CC_DF) << 32;
	required |= 1ull << VIRTIO_F_VERSION_1_BIT;
	if ((offered & required) != required) {
		klog("%s: virtio device lacks features %#lx (offers %#lx)", name,
		     (unsigned long)(required & ~offered), (unsigned long)offered);
		set_status(v, VIRTIO_STATUS_FAILED);
		return -1;
	}
	v->features = required | (offered & wanted);
	wr32(v, VIRTIO_PCI_CC_GFSELECT, 0);
	wr32(v, VIRTIO_PCI_CC_GF, (uint32_t)v->features);
	wr32(v, VIRTIO_PCI_CC_GFSELECT, 1);
	wr32(v, VIRTIO_PCI_CC_GF, (uint32_t)(v->features >> 32));
	set_status(v, VIRTIO_STATUS_FEATURES_OK);
	if (!(rd8(v, VIRTIO_PCI_CC_STATUS) & VIRTIO_STATUS_FEATURES_OK)) {
		klog("%s: virtio device refused features %#lx", name, (unsigned long)v->features);
		set_status(v, VIRTIO_STATUS_FAILED);
		return -1;
	}
	return 0;
}

static unsigned order_for(size_t bytes)
{
	unsigned order = 0;
	while ((PAGE_SIZE << order) < bytes)
		order++;
	return order;
}

int virtio_host_queue_setup(struct virtio_host *v, struct virtio_host_queue *q, uint16_t index,
			    uint16_t max_size)
{
	if (index >= rd16(v, VIRTIO_PCI_CC_NUMQ)) {
		klog("%s: virtio device has no queue %u", v->name, index);
		return -1;
	}
	wr16(v, VIRTIO_PCI_CC_Q_SELECT, index);
	uint16_t size = rd16(v, VIRTIO_PCI_CC_Q_SIZE);
	if (size == 0 || (size & (size - 1))) {
		klog("%s: virtio queue %u has an unusable size %u", v->name, index, size);
		return -1;
	}
	if (size > max_size)
		size = max_size; /* a smaller power of two is allowed (4.1.4.3.2) */
	if (rd16(v, VIRTIO_PCI_CC_Q_ENABLE)) {
		klog("%s: virtio queue %u is enabled before setup", v->name, index);
		return -1;
	}
	uint32_t noff = (uint32_t)rd16(v, VIRTIO_PCI_CC_Q_NOFF) * v->notify_mult;
	if ((uint64_t)noff + 2 > v->notify_len) {
		klog("%s: virtio queue %u notifies outside its window", v->name, index);
		return -1;
	}
	q->index = index;
	q->area_order = order_for(vqdrv_area_size(size));
	q->area = page_alloc_zeroed(q->area_order);
	if (!q->area || vqdrv_init(&q->vq, q->area, size, true)) {
		klog("%s: out of memory for virtio queue %u", v->name, index);
		if (q->area)
			page_free(q->area, q->area_order);
		q->area = NULL;
		return -1;
	}
	uint64_t base = (uint64_t)(uintptr_t)q->area; /* identity-mapped */
	q->notify = (volatile uint16_t *)(v->notify + noff);
	wr16(v, VIRTIO_PCI_CC_Q_SIZE, size);
	wr16(v, VIRTIO_PCI_CC_Q_MSIX, VIRTIO_PCI_NO_VECTOR);
	wr64(v, VIRTIO_PCI_CC_Q_DESC, base);
	wr64(v, VIRTIO_PCI_CC_Q_DRIVER, base + vqdrv_avail_offset(size));
	wr64(v, VIRTIO_PCI_CC_Q_DEVICE, base + vqdrv_used_offset(size));
	wr16(v, VIRTIO_PCI_CC_Q_ENABLE, 1);
	return 0;
}

void virtio_host_ready(struct virtio_host *v)
{
	wr16(v, VIRTIO_PCI_CC_MSIX, VIRTIO_PCI_NO_VECTOR);
	set_status(v, VIRTIO_STATUS_DRIVER_OK);
}

int virtio_host_fail(struct virtio_host *v, struct virtio_host_queue *qs, unsigned nqueues)
{
	if (v->common) {
		set_status(v, VIRTIO_STATUS_FAILED);
		if (reset(v))
			return -1; /* still running: its rings must stay allocated */
	}
	for (unsigned i = 0; i < nqueues; i++) {
		if (qs[i].area)
			page_free(qs[i].area, qs[i].area_order);
		qs[i].area = NULL;
	}
	return 0;
}

void virtio_host_kick(struct virtio_host_queue *q)
{
	if (vqdrv_kick_needed(&q->vq))
		*q->notify = q->index;
}

bool virtio_host_needs_reset(const struct virtio_host *v)
{
	return rd8(v, VIRTIO_PCI_CC_STATUS) & VIRTIO_STATUS_NEEDS_RESET;
}

int virtio_host_read_config(struct virtio_host *v, unsigned off, void *buf, unsigned len,
			    unsigned width)
{
	uint8_t *out = buf;

	if (!v->device_cfg || (uint64_t)off + len > v->device_cfg_len ||
	    (width != 1 && width != 2 && width != 4) || (off | len) % width)
		return -1;
	/* Accesses as wide as the field (4.1.3.1: 64-bit fields as 32-bit
	 * halves), repeated while config_generation changes under us. */
	for (unsigned tries = 0; tries < 100; tries++) {
		uint8_t gen = rd8(v, VIRTIO_PCI_CC_CFGGEN);
		for (unsigned i = 0; i < len; i += width) {
			volatile const uint8_t *p = v->device_cfg + off + i;
			uint32_t val = width == 1   ? *p
				       : width == 2 ? *(volatile const uint16_t *)p
						    : *(volatile const uint32_t *)p;
			for (unsigned k = 0; k < width; k++)
				out[i + k] = (uint8_t)(val >> (8 * k));
		}
		if (rd8(v, VIRTIO_PCI_CC_CFGGEN) == gen)
			return 0;
	}
	klog("%s: virtio configuration keeps changing", v->name);
	return -1;
}
