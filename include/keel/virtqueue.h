/* A virtio 1.x split virtqueue, device side, as a pure module: no locks, no
 * clocks, no heap, and no direct memory access. Every virtio device model
 * shares it. Names are vq_* (VQ_* for constants). The guest is hostile:
 * every address, length and index it writes is checked before use.
 *
 * Layout (virtio 1.2, "Split Virtqueues"; little-endian, Q = queue size,
 * a power of two, 1..32768):
 * - Descriptor table at desc, 16 * Q bytes, 16-byte aligned. Descriptor:
 *   le64 addr, le32 len, le16 flags (NEXT 1, WRITE 2, INDIRECT 4; other
 *   bits ignored), le16 next.
 * - Available ring at avail, 6 + 2 * Q bytes, 2-byte aligned: le16 flags
 *   (bit 0 NO_INTERRUPT), le16 idx, le16 ring[Q], le16 used_event.
 * - Used ring at used, 6 + 8 * Q bytes, 4-byte aligned: le16 flags, le16
 *   idx, {le32 id, le32 len} ring[Q], le16 avail_event.
 * Areas may overlap each other: that only corrupts the guest's own rings.
 * Only modern (VIRTIO_F_VERSION_1) layouts are accepted.
 *
 * Guest memory is reached only through struct vq_mem_ops, which the caller
 * backs with its guest-physical map; each access is re-checked there, and
 * every guest field is read once per use into a local copy (a guest
 * rewriting its rings concurrently changes nothing already checked).
 *
 * vq_pop() takes the next chain from the available ring:
 * - The three areas must lie in guest memory (ops->check: desc and avail
 *   readable, used writable), checked on every pop.
 * - avail->idx may be at most Q ahead of last_avail (a guest never has more
 *   than Q entries outstanding; an idx that goes back looks far ahead).
 * - At most Q chains may be in flight (popped, not yet pushed): each one
 *   holds a distinct head, so one more means the guest reused a head.
 * - The head (ring[last_avail % Q]) must be < Q. The chain is walked by
 *   NEXT; each next must be < the size of the table it indexes. A walk
 *   reading more descriptors than its table holds (Q, or an indirect
 *   table's len / 16) has a loop.
 * - INDIRECT (only if negotiated): the descriptor must not also have NEXT
 *   (so it ends the direct part: zero or more direct descriptors, then one
 *   indirect one, as the spec allows), its len must be a non-zero multiple
 *   of 16, the table must lie in readable guest memory, and no descriptor
 *   in the table may be INDIRECT (one level). Its own WRITE flag is
 *   ignored, as the spec requires; the table needs no alignment.
 * - Zero-length descriptors are allowed and skipped (their addr and WRITE
 *   are ignored, their NEXT is followed) but count towards the limit below.
 * - Other segments are validated at pop time, so a device model never
 *   holds an unchecked one: addr + len must not wrap 64 bits and the range
 *   must lie in guest memory (ops->check, writable if WRITE). Readable
 *   segments must all precede writable ones. The chain holds at most
 *   VQ_MAX_SEGS descriptors besides one referring to an indirect table
 *   (zero-length ones included) and at most VQ_MAX_CHAIN_BYTES in total.
 * Breaking any rule, or any ops call failing, marks the queue broken: that
 * call and every later pop and push return -1 without touching guest memory
 * (the caller sets DEVICE_NEEDS_RESET). vq_setup() or vq_init() clears it.
 * A pop reads at most VQ_MAX_SEGS + 4 times: hostile rings cost bounded work.
 *
 * vq_push() returns a chain: it writes the used element {head, written},
 * then the used idx, then reads what decides the interrupt. The device's
 * copies of last_avail and used_idx are authoritative: guest writes to the
 * used ring are never read back. The device never writes used->flags.
 *
 * Notification suppression:
 * - Without VIRTIO_RING_F_EVENT_IDX: a push asks for an interrupt unless
 *   avail->flags has NO_INTERRUPT; the device never suppresses kicks.
 * - With it: a push asks for an interrupt iff vq_need_event(used_event,
 *   new idx, old idx); pushes can be batched by OR-ing the results. A pop
 *   that finds the ring empty publishes avail_event = last_avail ("kick me
 *   for the next entry"), then re-reads avail->idx, so an entry added
 *   meanwhile is popped rather than left without a kick. While the device
 *   drains a non-empty ring avail_event stays behind, and the guest does
 *   not kick. A device model that stops before a pop returns 0 must come
 *   back to the queue by itself: no kick will come.
 *
 * Ordering (the caller's contract): ops->fence(ctx, kind) is called where
 * the order of guest-visible accesses matters, and the read and write
 * callbacks must perform their accesses when called (not buffered):
 * - VQ_FENCE_STORE between the used element and the used idx writes, so
 *   the guest never sees an idx covering an unwritten element (x86 keeps
 *   stores in order: a compiler barrier suffices);
 * - VQ_FENCE_FULL between the used idx write and the read of used_event
 *   or avail->flags, and between the avail_event write and the re-read of
 *   avail->idx (store then load: mfence on x86).
 * Loads are issued in dependency order (idx, ring entry, descriptors) and
 * x86 does not reorder loads, so no fence is needed between them.
 *
 * All state is the plain struct below: a snapshot copies it whole (check one
 * with vq_state_valid()). Calls on one queue must be serialised. */
#ifndef KEEL_VIRTQUEUE_H
#define KEEL_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

/* Feature bits this module implements (of the negotiated set). */
#define VQ_F_INDIRECT_DESC (1ull << 28) /* VIRTIO_RING_F_INDIRECT_DESC */
#define VQ_F_EVENT_IDX (1ull << 29) /* VIRTIO_RING_F_EVENT_IDX */
#define VQ_F_VERSION_1 (1ull << 32) /* VIRTIO_F_VERSION_1 */

#define VQ_MAX_SIZE 32768u
#define VQ_MAX_SEGS 256 /* descriptors per chain; device models size seg_max by it */
#define VQ_MAX_CHAIN_BYTES (1ull << 32) /* the spec's limit on a chain's total */

/* Descriptor flags and ring flags (wire values). */
#define VQ_DESC_F_NEXT 1u
#define VQ_DESC_F_WRITE 2u
#define VQ_DESC_F_INDIRECT 4u
#define VQ_AVAIL_F_NO_INTERRUPT 1u
#define VQ_DESC_SIZE 16u

/* Fence kinds for vq_mem_ops.fence. */
enum {
	VQ_FENCE_STORE = 1, /* earlier stores before later stores */
	VQ_FENCE_FULL = 2, /* earlier stores before later loads (and all else) */
};

/* Guest-physical memory, supplied by the caller. read and write return 0,
 * or -1 if any of [gpa, gpa + len) is outside the guest's memory (or not
 * writable, for write). check returns the same verdict for a range without
 * touching it (write: the range must be writable guest RAM). fence is
 * described above. None may be NULL. */
struct vq_mem_ops {
	int (*read)(void *ctx, uint64_t gpa, void *buf, uint32_t len);
	int (*write)(void *ctx, uint64_t gpa, const void *buf, uint32_t len);
	int (*check)(void *ctx, uint64_t gpa, uint32_t len, bool write);
	void (*fence)(void *ctx, int kind);
};

/* One guest buffer of a chain, checked at pop time (len > 0). */
struct vq_seg {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

/* A popped chain: seg[0..nread) readable, seg[nread..nseg) writable. About
 * 4 KiB: keep it in the device's state, not on a hypervisor stack. */
struct vq_chain {
	uint16_t head; /* give it back to vq_push() */
	uint16_t nseg, nread;
	uint64_t read_len, write_len; /* byte totals of each part */
	struct vq_seg seg[VQ_MAX_SEGS];
};

struct virtqueue {
	uint64_t desc, avail, used; /* guest-physical areas */
	uint16_t size; /* Q; 0: not set up (pops find nothing, pushes fail) */
	uint16_t last_avail; /* next avail ring entry to pop (free-running) */
	uint16_t used_idx; /* the used idx last written (free-running) */
	uint16_t inflight; /* chains popped and not yet pushed, <= size */
	bool event_idx, indirect; /* negotiated VQ_F_EVENT_IDX, VQ_F_INDIRECT_DESC */
	bool broken; /* sticky until vq_setup() or vq_init() */
	const char *why; /* what broke it, for the log: a string constant */
};

/* A queue that is not set up (the state after a device reset). */
void vq_init(struct virtqueue *q);

/* Set Q up from the transport's registers once the driver enables it, with
 * indices at 0. Returns 0, or -1 (Q left as vq_init() makes it) if SIZE is
 * not a power of two in 1..VQ_MAX_SIZE, an area is misaligned or wraps 64
 * bits, or FEATURES lacks VQ_F_VERSION_1. Other feature bits are ignored. */
int vq_setup(struct virtqueue *q, uint32_t size, uint64_t desc, uint64_t avail, uint64_t used,
	     uint64_t features);

/* Pop the next chain into OUT: 1 popped, 0 the ring is empty (or Q is not
 * set up), -1 Q is broken (OUT is then meaningless). */
int vq_pop(struct virtqueue *q, const struct vq_mem_ops *m, void *ctx, struct vq_chain *out);

/* Return chain HEAD, WRITTEN bytes having been written to its writable part
 * (at most its write_len: the device model's duty). Returns 1 if the guest
 * should be interrupted, 0 if not, -1 if Q is broken, which a push of a head
 * >= size, or with no chain in flight, also makes it. */
int vq_push(struct virtqueue *q, const struct vq_mem_ops *m, void *ctx, uint16_t head,
	    uint32_t written);

/* The spec's vring_need_event(): whether moving the idx from OLD to NEW_IDX
 * passes EVENT (EVENT in [OLD, NEW_IDX), modulo 2^16). */
bool vq_need_event(uint16_t event, uint16_t new_idx, uint16_t old);

/* Copy LEN bytes at byte OFFSET of C's readable part into BUF, or from BUF
 * into its writable part, through M. Returns the bytes copied (fewer than
 * LEN when the part ends first), or -1 if a callback fails (segments were
 * checked at pop, so only a changed memory map does that; the queue is not
 * marked broken: the device model sets DEVICE_NEEDS_RESET itself). */
int64_t vq_chain_read(const struct vq_chain *c, const struct vq_mem_ops *m, void *ctx,
		      uint64_t offset, void *buf, uint32_t len);
int64_t vq_chain_write(const struct vq_chain *c, const struct vq_mem_ops *m, void *ctx,
		       uint64_t offset, const void *buf, uint32_t len);

/* True if Q is a state this code can run from: not set up, or as vq_setup()
 * accepts with inflight <= size. */
bool vq_state_valid(const struct virtqueue *q);

#endif
