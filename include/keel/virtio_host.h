/* The modern virtio-pci transport, driver side (drivers/virtio_host.c):
 * what Keel's drivers for the host's virtio devices (virtio-blk,
 * virtio-net) share. The four register windows are found through the
 * virtio vendor capabilities (ID 0x09); initialisation follows virtio 1.2
 * section 3.1.1: reset, ACKNOWLEDGE, DRIVER, features (VERSION_1 always),
 * FEATURES_OK read back, queues, DRIVER_OK. Queues use vq_driver.h.
 *
 * Keel polls: no MSI-X vector is assigned (NO_VECTOR), INTx is disabled
 * in the PCI command register, and each queue asks the device not to
 * interrupt. The drivers say where they poll and why. */
#ifndef KEEL_VIRTIO_HOST_H
#define KEEL_VIRTIO_HOST_H

#include <keel/hostpci.h>
#include <keel/vq_driver.h>
#include <stdbool.h>
#include <stdint.h>

#define VIRTIO_HOST_VENDOR 0x1AF4
#define VIRTIO_HOST_DEVICE_NET 0x1041
#define VIRTIO_HOST_DEVICE_BLK 0x1042
#define VIRTIO_F_VERSION_1_BIT 32

struct virtio_host {
	struct hostpci_dev *pci;
	const char *name; /* for log lines ("vda") */
	volatile uint8_t *common;
	volatile uint8_t *notify;
	uint32_t notify_len;
	uint32_t notify_mult;
	volatile uint8_t *isr;
	volatile uint8_t *device_cfg;
	uint32_t device_cfg_len;
	uint64_t features; /* negotiated */
};

struct virtio_host_queue {
	struct vqdrv vq;
	uint16_t index;
	void *area; /* the rings: page_alloc_zeroed(area_order) */
	unsigned area_order;
	volatile uint16_t *notify; /* where a kick is written */
};

/* Find the register windows, reset the device, set ACKNOWLEDGE and DRIVER,
 * and negotiate: the device must offer VERSION_1 and REQUIRED; of WANTED,
 * what it offers is taken. 0 on success (V->features set, FEATURES_OK
 * accepted), else -1 (logged; the device is left FAILED). */
int virtio_host_start(struct virtio_host *v, struct hostpci_dev *d, const char *name,
		      uint64_t required, uint64_t wanted);
/* Set up queue INDEX with at most MAX_SIZE entries (the device's size if
 * smaller; a power of two). 0, or -1 (logged). */
int virtio_host_queue_setup(struct virtio_host *v, struct virtio_host_queue *q, uint16_t index,
			    uint16_t max_size);
/* DRIVER_OK: the device is live. */
void virtio_host_ready(struct virtio_host *v);
/* Give up: FAILED, then reset so the device stops using the rings, and
 * free them. -1 if the reset did not finish: the device may still DMA, so
 * the caller must keep (leak) every buffer it gave it. */
int virtio_host_fail(struct virtio_host *v, struct virtio_host_queue *qs, unsigned nqueues);
/* Tell the device queue Q has new buffers, if it asked to be told. */
void virtio_host_kick(struct virtio_host_queue *q);
/* The device set DEVICE_NEEDS_RESET (it found an error in our rings). */
bool virtio_host_needs_reset(const struct virtio_host *v);
/* Device configuration bytes [OFF, OFF + LEN) into BUF (little-endian, as
 * the device holds them), read WIDTH (1, 2 or 4) bytes at a time, as the
 * fields require, and consistently (retried while config_generation
 * changes). -1 if out of the window or misaligned. */
int virtio_host_read_config(struct virtio_host *v, unsigned off, void *buf, unsigned len,
			    unsigned width);

#endif
