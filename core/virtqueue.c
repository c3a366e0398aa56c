/* A virtio split virtqueue, device side (see include/keel/virtqueue.h for the
 * model and the caller's ordering contract). Guest fields are decoded from
 * byte buffers as little-endian, so nothing depends on host alignment or
 * byte order, and each is read once into a local before it is checked. Any
 * failed check or callback goes through broken(): the queue stays dead. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <keel/string.h>
#include <keel/virtqueue.h>

/* Offsets inside the rings. */
#define AVAIL_FLAGS 0u
#define AVAIL_IDX 2u
#define AVAIL_RING 4u
#define USED_IDX 2u
#define USED_RING 4u
#define USED_ELEM 8u

#define DESC_ALIGN 16u
#define AVAIL_ALIGN 2u
#define USED_ALIGN 4u

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static uint64_t desc_bytes(uint32_t size)
{
	return (uint64_t)VQ_DESC_SIZE * size;
}

/* Both rings end with the event field, which exists whether or not
 * EVENT_IDX was negotiated (the spec sizes the areas that way). */
static uint64_t avail_bytes(uint32_t size)
{
	return 6 + 2 * (uint64_t)size;
}

static uint64_t used_bytes(uint32_t size)
{
	return 6 + (uint64_t)USED_ELEM * size;
}

/* [gpa, gpa + len) neither wraps nor ends exactly at 2^64, so every end a
 * caller computes is a valid uint64_t. */
static bool fits(uint64_t gpa, uint64_t len)
{
	return gpa <= UINT64_MAX - len;
}

static bool layout_ok(uint32_t size, uint64_t desc, uint64_t avail, uint64_t used)
{
	if (!size || size > VQ_MAX_SIZE || (size & (size - 1)))
		return false;
	if ((desc % DESC_ALIGN) || (avail % AVAIL_ALIGN) || (used % USED_ALIGN))
		return false;
	return fits(desc, desc_bytes(size)) && fits(avail, avail_bytes(size)) &&
	       fits(used, used_bytes(size));
}

void vq_init(struct virtqueue *q)
{
	memset(q, 0, sizeof(*q));
}

int vq_setup(struct virtqueue *q, uint32_t size, uint64_t desc, uint64_t avail, uint64_t used,
	     uint64_t features)
{
	vq_init(q);
	if (!(features & VQ_F_VERSION_1) || !layout_ok(size, desc, avail, used))
		return -1;
	q->size = (uint16_t)size;
	q->desc = desc;
	q->avail = avail;
	q->used = used;
	q->event_idx = !!(features & VQ_F_EVENT_IDX);
	q->indirect = !!(features & VQ_F_INDIRECT_DESC);
	return 0;
}

bool vq_state_valid(const struct virtqueue *q)
{
	if (!q->size)
		return true;
	return layout_ok(q->size, q->desc, q->avail, q->used) && q->inflight <= q->size;
}

bool vq_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

static int broken(struct virtqueue *q, const char *why)
{
	q->broken = true;
	q->why = why;
	return -1;
}

static int read16(const struct vq_mem_ops *m, void *ctx, uint64_t gpa, uint16_t *v)
{
	uint8_t b[2];

	if (m->read(ctx, gpa, b, sizeof(b)))
		return -1;
	*v = get16(b);
	return 0;
}

static int write16(const struct vq_mem_ops *m, void *ctx, uint64_t gpa, uint16_t v)
{
	uint8_t b[2];

	put16(b, v);
	return m->write(ctx, gpa, b, sizeof(b));
}

/* Descriptor IDX of the table at TABLE; the caller has checked that the
 * whole table fits, so the address cannot wrap. */
static int read_desc(const struct vq_mem_ops *m, void *ctx, uint64_t table, uint32_t idx,
		     struct desc *d)
{
	uint8_t b[VQ_DESC_SIZE];

	if (m->read(ctx, table + (uint64_t)idx * VQ_DESC_SIZE, b, sizeof(b)))
		return -1;
	d->addr = (uint64_t)get32(b) | (uint64_t)get32(b + 4) << 32;
	d->len = get32(b + 8);
	d->flags = get16(b + 12);
	d->next = get16(b + 14);
	return 0;
}

/* Append D's buffer to OUT, or skip it if empty. NULL, or the rule the
 * guest broke: wrap, outside memory, readable after writable, or too long. */
static const char *add_seg(const struct vq_mem_ops *m, void *ctx, const struct desc *d,
			   struct vq_chain *out)
{
	bool wr = d->flags & VQ_DESC_F_WRITE;
	struct vq_seg *s;

	if (!d->len)
		return NULL;
	if (out->nseg >= VQ_MAX_SEGS) /* walk() bounds it too; this guards seg[] */
		return "too many descriptors in a chain";
	if (!wr && out->nseg > out->nread)
		return "a readable descriptor after a writable one";
	/* Cannot overflow: at most VQ_MAX_SEGS terms below 2^32 each. */
	if (out->read_len + out->write_len + d->len > VQ_MAX_CHAIN_BYTES)
		return "a chain longer than the device accepts";
	if (!fits(d->addr, d->len) || m->check(ctx, d->addr, d->len, wr))
		return "a buffer outside guest memory";
	s = &out->seg[out->nseg++];
	s->gpa = d->addr;
	s->len = d->len;
	s->writable = wr;
	if (wr) {
		out->write_len += d->len;
	} else {
		out->nread++;
		out->read_len += d->len;
	}
	return NULL;
}

/* Walk the chain at HEAD into OUT: NULL, or the rule it breaks. The walk
 * starts in the descriptor table and may move once into an indirect table;
 * STEPS counts reads in the current table, so a walk longer than the table
 * is a loop, and NDESC bounds the whole chain (hence the work done). */
static const char *walk(const struct virtqueue *q, const struct vq_mem_ops *m, void *ctx,
			uint16_t head, struct vq_chain *out)
{
	uint64_t table = q->desc;
	uint32_t count = q->size, steps = 0, ndesc = 0, idx = head;
	bool in_indirect = false;
	const char *why;
	struct desc d;

	out->head = head;
	out->nseg = out->nread = 0;
	out->read_len = out->write_len = 0;
	for (;;) {
		if (++steps > count)
			return "a loop in a descriptor chain";
		if (read_desc(m, ctx, table, idx, &d))
			return "a descriptor outside guest memory";
		if (d.flags & VQ_DESC_F_INDIRECT) {
			if (!q->indirect || in_indirect || (d.flags & VQ_DESC_F_NEXT))
				return "an indirect descriptor where none may be";
			if (!d.len || d.len % VQ_DESC_SIZE || !fits(d.addr, d.len) ||
			    m->check(ctx, d.addr, d.len, false))
				return "an indirect table of a bad size or outside guest memory";
			table = d.addr;
			count = d.len / VQ_DESC_SIZE;
			steps = 0;
			idx = 0;
			in_indirect = true;
			continue;
		}
		if (++ndesc > VQ_MAX_SEGS)
			return "too many descriptors in a chain";
		if ((why = add_seg(m, ctx, &d, out)))
			return why;
		if (!(d.flags & VQ_DESC_F_NEXT))
			return NULL;
		if (d.next >= count)
			return "a next index beyond the table";
		idx = d.next;
	}
}

/* The three areas lie in guest memory (checked on every pop: they are the
 * guest's to place, and a check costs no guest access). */
static bool areas_in_memory(const struct virtqueue *q, const struct vq_mem_ops *m, void *ctx)
{
	return !m->check(ctx, q->desc, (uint32_t)desc_bytes(q->size), false) &&
	       !m->check(ctx, q->avail, (uint32_t)avail_bytes(q->size), false) &&
	       !m->check(ctx, q->used, (uint32_t)used_bytes(q->size), true);
}

int vq_pop(struct virtqueue *q, const struct vq_mem_ops *m, void *ctx, struct vq_chain *out)
{
	uint16_t idx, head, pending;
	uint64_t ring = q->avail + AVAIL_RING;
	const char *why;

	if (q->broken)
		return -1;
	if (!q->size)
		return 0;
	if (!areas_in_memory(q, m, ctx) || read16(m, ctx, q->avail + AVAIL_IDX, &idx))
		return broken(q, "its rings are outside guest memory");
	if (idx == q->last_avail && q->event_idx) {
		/* Empty: ask for a kick at the next entry, then look again, in
		 * case the guest added one before it could see avail_event. */
		if (write16(m, ctx, q->used + used_bytes(q->size) - 2, q->last_avail))
			return broken(q, "its rings are outside guest memory");
		m->fence(ctx, VQ_FENCE_FULL);
		if (read16(m, ctx, q->avail + AVAIL_IDX, &idx))
			return broken(q, "its rings are outside guest memory");
	}
	pending = (uint16_t)(idx - q->last_avail);
	if (pending > q->size)
		return broken(q, "the available index ran more than a ring ahead");
	if (!pending)
		return 0;
	if (q->inflight >= q->size)
		return broken(q, "more chains made available than the ring holds");
	if (read16(m, ctx, ring + 2u * (q->last_avail & (q->size - 1u)), &head))
		return broken(q, "its rings are outside guest memory");
	if (head >= q->size)
		return broken(q, "a chain head beyond the table");
	if ((why = walk(q, m, ctx, head, out)))
		return broken(q, why);
	q->last_avail++;
	q->inflight++;
	return 1;
}

int vq_push(struct virtqueue *q, const struct vq_mem_ops *m, void *ctx, uint16_t head,
	    uint32_t written)
{
	uint8_t elem[USED_ELEM];
	uint16_t old = q->used_idx, now = (uint16_t)(old + 1), v;

	if (q->broken)
		return -1;
	if (!q->size || head >= q->size || !q->inflight)
		return broken(q, "the device completed a chain it did not take");
	put32(elem, head);
	put32(elem + 4, written);
	if (m->write(ctx, q->used + USED_RING + (uint64_t)USED_ELEM * (old & (q->size - 1u)), elem,
		     sizeof(elem)))
		return broken(q, "its rings are outside guest memory");
	m->fence(ctx, VQ_FENCE_STORE);
	if (write16(m, ctx, q->used + USED_IDX, now))
		return broken(q, "its rings are outside guest memory");
	q->used_idx = now;
	q->inflight--;
	/* The guest writes used_event (or flags) and then reads the used idx;
	 * we write the idx and then read used_event: each side needs a full
	 * fence or both can miss the other's update (a lost interrupt). */
	m->fence(ctx, VQ_FENCE_FULL);
	if (q->event_idx) {
		if (read16(m, ctx, q->avail + avail_bytes(q->size) - 2, &v))
			return broken(q, "its rings are outside guest memory");
		return vq_need_event(v, now, old);
	}
	if (read16(m, ctx, q->avail + AVAIL_FLAGS, &v))
		return broken(q, "its rings are outside guest memory");
	return !(v & VQ_AVAIL_F_NO_INTERRUPT);
}

/* Copy between BUF and the part [first, end) of C's segments, starting
 * OFFSET bytes in; exactly one of DST (gather) and SRC (scatter) is set. */
static int64_t chain_copy(const struct vq_chain *c, const struct vq_mem_ops *m, void *ctx,
			  bool to_guest, uint64_t offset, uint8_t *dst, const uint8_t *src,
			  uint32_t len)
{
	uint32_t first = to_guest ? c->nread : 0, end = to_guest ? c->nseg : c->nread;
	uint32_t done = 0;

	/* A chain is the caller's, but never index past the array. */
	if (c->nseg > VQ_MAX_SEGS || c->nread > c->nseg)
		return -1;
	for (uint32_t i = first; i < end && done < len; i++) {
		const struct vq_seg *s = &c->seg[i];
		uint32_t n;
		int r;

		if (offset >= s->len) {
			offset -= s->len;
			continue;
		}
		n = s->len - (uint32_t)offset;
		if (n > len - done)
			n = len - done;
		if (to_guest)
			r = m->write(ctx, s->gpa + offset, src + done, n);
		else
			r = m->read(ctx, s->gpa + offset, dst + done, n);
		if (r)
			return -1;
		done += n;
		offset = 0;
	}
	return done;
}

int64_t vq_chain_read(const struct vq_chain *c, const struct vq_mem_ops *m, void *ctx,
		      uint64_t offset, void *buf, uint32_t len)
{
	return chain_copy(c, m, ctx, false, offset, buf, NULL, len);
}

int64_t vq_chain_write(const struct vq_chain *c, const struct vq_mem_ops *m, void *ctx,
		       uint64_t offset, const void *buf, uint32_t len)
{
	return chain_copy(c, m, ctx, true, offset, NULL, buf, len);
}
