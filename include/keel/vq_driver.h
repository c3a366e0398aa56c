/* A virtio 1.x split virtqueue, driver side (Keel drives a host device),
 * as a pure module: no locks, no heap, no clocks, so the host unit tests
 * run it against a simulated device. The device side, for Keel's guests,
 * is include/keel/virtqueue.h; the wire layout is described there.
 *
 * The rings live in one zeroed, physically contiguous area the caller
 * gives (vqdrv_area_size bytes, 16-byte aligned; Keel is identity-mapped,
 * so the addresses programmed into the device are the pointers). Buffers
 * are named by physical address.
 *
 * The device is trusted to do DMA (it can write anywhere anyway) but not
 * to be correct: every value read back from the used ring is checked (the
 * used index may move at most by the number of chains in flight, an id
 * must be the head of a chain in flight, a length at most what that chain
 * offered to be written). A violation marks the queue broken: every later
 * call fails, and the driver resets the device.
 *
 * Ordering: descriptors and the ring entry are written before the avail
 * index (a store fence: x86 keeps stores in order, the compiler must too),
 * and the index store is ordered before the read of used->flags that
 * decides a notification (a full fence). Calls on one queue must be
 * serialised by the caller. */
#ifndef KEEL_VQ_DRIVER_H
#define KEEL_VQ_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Keel's queues are at most this big (a device offering more is asked
 * for this many): per-chain bookkeeping is then a fixed array. */
#define VQDRV_MAX_SIZE 256u
#define VQDRV_USED_F_NO_NOTIFY 1u
#define VQDRV_AVAIL_F_NO_INTERRUPT 1u

struct vqdrv_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vqdrv_used_elem {
	uint32_t id;
	uint32_t len;
};

/* One buffer of a chain: LEN bytes at physical address ADDR. */
struct vqdrv_seg {
	uint64_t addr;
	uint32_t len;
};

struct vqdrv {
	uint16_t size; /* a power of two, 1..VQDRV_MAX_SIZE */
	volatile struct vqdrv_desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[size], used_event */
	volatile uint16_t *used_hdr; /* flags, idx */
	volatile struct vqdrv_used_elem *used_ring;
	uint16_t free_head; /* the free descriptors, linked by next */
	uint16_t nfree;
	uint16_t avail_idx; /* the driver's copy: the device never writes it */
	uint16_t last_used; /* the next used entry to collect */
	uint16_t in_flight; /* chains added and not yet collected */
	bool broken;
	/* Per head of a chain in flight: the caller's token (non-NULL), the
	 * number of descriptors and the bytes the device may write. */
	void *token[VQDRV_MAX_SIZE];
	uint16_t ndesc[VQDRV_MAX_SIZE];
	uint32_t writable[VQDRV_MAX_SIZE];
	/* The driver's own copy of each descriptor's next: chains are freed
	 * by it, never by what the device could have overwritten. */
	uint16_t link[VQDRV_MAX_SIZE];
};

/* Bytes of ring area for SIZE entries; the offsets of the avail and used
 * rings within it (the used ring 4-byte aligned, as required). */
size_t vqdrv_area_size(uint16_t size);
size_t vqdrv_avail_offset(uint16_t size);
size_t vqdrv_used_offset(uint16_t size);

/* Lay out the rings in AREA (zeroed, vqdrv_area_size(SIZE) bytes). -1 if
 * SIZE is not a power of two in 1..VQDRV_MAX_SIZE. With NO_INTERRUPT the
 * device is asked not to interrupt (Keel polls). */
int vqdrv_init(struct vqdrv *q, void *area, uint16_t size, bool no_interrupt);

/* Add a chain: NOUT device-readable segments then NIN device-writable
 * ones, with TOKEN (non-NULL) given back when the device has used it.
 * Returns the head, or -1 (not enough free descriptors, a zero-length
 * segment, an empty chain, a broken queue). The device sees it at once;
 * call vqdrv_kick_needed afterwards (after a batch) to ask for a notify. */
int vqdrv_add(struct vqdrv *q, const struct vqdrv_seg *segs, unsigned nout, unsigned nin,
	      void *token);

/* Whether the device wants a notification for what was added (it may set
 * NO_NOTIFY in used->flags while it is already processing). */
bool vqdrv_kick_needed(struct vqdrv *q);

/* Collect one used chain: 1 with *TOKEN and *LEN (bytes the device wrote,
 * checked against what the chain offered), 0 if none is pending, -1 if
 * the device broke the ring (the queue is then broken). */
int vqdrv_get_used(struct vqdrv *q, void **token, uint32_t *len);

/* Free descriptors (a request needing more must wait for completions). */
unsigned vqdrv_free_count(const struct vqdrv *q);

#endif
