/* A virtio device on a VM's PCI bus (vdev/virtio_dev.c): the modern PCI
 * transport (vdev/virtio_pci.c) and the split virtqueues (core/virtqueue.c)
 * wired to the VM: configuration space and BAR 0 through the platform's
 * PCI host bridge, guest memory through the checked accessors, interrupts
 * as MSI-X messages to the local APICs (or INTx). A device model (rng,
 * and later blk, net, console) supplies what happens on a queue notify.
 *
 * Locking: one lock per device; the model's callbacks run under it.
 * Interrupts it raises are delivered after the lock is dropped (delivery
 * takes APIC and scheduler locks). Configuration-space accesses arrive
 * under the platform's lock: interrupts they raise (MSI-X unmasking with a
 * vector pending) wait for the device's next BAR access or notify.
 *
 * A queue the guest breaks (a hostile ring) sets NEEDS_RESET with one log
 * line; the device then ignores that queue until the driver resets it. */
#ifndef KEEL_VIRTIO_DEV_H
#define KEEL_VIRTIO_DEV_H

#include <keel/spinlock.h>
#include <keel/virtio_pci.h>
#include <keel/virtqueue.h>
#include <keel/vm.h>

struct virtio_dev;

struct virtio_model {
	const char *name; /* "virtio-rng": for log lines */
	/* The driver notified queue Q: take its chains (virtio_dev_pop/push). */
	void (*notify)(struct virtio_dev *d, unsigned q);
	/* Optional: runs after each access, the device lock dropped (to hand
	 * work to other devices, e.g. frames to a switch). */
	void (*flush)(struct virtio_dev *d);
};

#define VIRTIO_DEV_OUTBOX 40

struct virtio_dev {
	spinlock_t lock;
	struct vm *vm;
	const struct virtio_model *model;
	void *model_state;
	struct virtio_pci pci;
	struct virtqueue vq[VIRTIO_PCI_MAX_QUEUES];
	struct vq_chain chain; /* the chain being served (4 KiB: not on a stack) */
	unsigned intx_irq; /* ISA/GSI line for INTx */
	/* Interrupts to deliver once the lock is dropped. */
	unsigned nout;
	struct virtio_pci_msi out[VIRTIO_DEV_OUTBOX];
	int intx_level; /* -1: unchanged */
};

/* Create the device on bus 0 at DEVFN with BAR 0 at BAR0 (params.dev and
 * params.bar0 are filled in here). NULL on failure. */
struct virtio_dev *virtio_dev_create(struct vm *vm, unsigned devfn, uint32_t bar0,
				     unsigned intx_irq, struct virtio_pci_params params,
				     const struct virtio_model *model, void *model_state);
void virtio_dev_destroy(struct virtio_dev *d);

/* For models, under the device lock: the next chain of queue Q in d->chain
 * (1), none (0) or the queue is broken (-1, NEEDS_RESET already set). */
int virtio_dev_pop(struct virtio_dev *d, unsigned q);
/* Complete d->chain's head with WRITTEN bytes and interrupt if asked. */
void virtio_dev_push(struct virtio_dev *d, unsigned q, uint32_t written);
/* Bytes from the chain's readable part at OFFSET; -1 on a guest fault. */
int64_t virtio_dev_read(struct virtio_dev *d, uint64_t offset, void *buf, uint32_t len);
/* Work on the device from outside its guest's accesses (a frame arriving):
 * begin takes the lock; end acts on what the transport raised, drops the
 * lock and delivers the interrupts (no flush). */
void virtio_dev_begin(struct virtio_dev *d);
void virtio_dev_end(struct virtio_dev *d);
/* Whether the driver has set DRIVER_OK (and no reset is needed). */
bool virtio_dev_live(const struct virtio_dev *d);
/* Bytes into the chain's writable part at OFFSET; -1 on a guest fault. */
int64_t virtio_dev_write(struct virtio_dev *d, uint64_t offset, const void *buf, uint32_t len);

#endif
