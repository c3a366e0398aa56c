/* Driver side of a split virtqueue (include/keel/vq_driver.h). */
#include <keel/string.h>
#include <keel/vq_driver.h>

#define DESC_F_NEXT 1u
#define DESC_F_WRITE 2u

/* Avail ring words: flags, idx, then the ring. */
#define AVAIL_FLAGS 0
#define AVAIL_IDX 1
#define AVAIL_RING 2
#define USED_FLAGS 0
#define USED_IDX 1

static bool valid_size(uint16_t size)
{
	return size && size <= VQDRV_MAX_SIZE && !(size & (size - 1));
}

size_t vqdrv_avail_offset(uint16_t size)
{
	return 16u * size;
}

size_t vqdrv_used_offset(uint16_t size)
{
	size_t avail_end = vqdrv_avail_offset(size) + 6u + 2u * size;
	return (avail_end + 3) & ~(size_t)3;
}

size_t vqdrv_area_size(uint16_t size)
{
	return vqdrv_used_offset(size) + 6u + 8u * size;
}

int vqdrv_init(struct vqdrv *q, void *area, uint16_t size, bool no_interrupt)
{
	if (!valid_size(size))
		return -1;
	memset(q, 0, sizeof(*q));
	uint8_t *base = area;
	q->size = size;
	q->desc = (volatile struct vqdrv_desc *)base;
	q->avail = (volatile uint16_t *)(base + vqdrv_avail_offset(size));
	q->used_hdr = (volatile uint16_t *)(base + vqdrv_used_offset(size));
	q->used_ring = (volatile struct vqdrv_used_elem *)(base + vqdrv_used_offset(size) + 4);
	for (uint16_t i = 0; i < size; i++)
		q->link[i] = (uint16_t)(i + 1); /* the last one's is never followed */
	q->free_head = 0;
	q->nfree = size;
	if (no_interrupt)
		q->avail[AVAIL_FLAGS] = VQDRV_AVAIL_F_NO_INTERRUPT;
	return 0;
}

static void store_fence(void)
{
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

int vqdrv_add(struct vqdrv *q, const struct vqdrv_seg *segs, unsigned nout, unsigned nin,
	      void *token)
{
	unsigned n = nout + nin;
	uint32_t writable = 0;

	if (q->broken || !token || n == 0 || n > q->nfree)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		if (segs[i].len == 0)
			return -1; /* the device could not tell it from a missing one */
		if (i >= nout && writable + segs[i].len < writable)
			return -1; /* more than 4 GiB writable: the used len could not say */
		if (i >= nout)
			writable += segs[i].len;
	}
	uint16_t head = q->free_head, d = head;
	for (unsigned i = 0; i < n; i++) {
		bool last = i + 1 == n;
		q->desc[d].addr = segs[i].addr;
		q->desc[d].len = segs[i].len;
		q->desc[d].flags =
		    (uint16_t)((i >= nout ? DESC_F_WRITE : 0) | (last ? 0 : DESC_F_NEXT));
		q->desc[d].next = last ? 0 : q->link[d];
		if (!last)
			d = q->link[d];
	}
	q->free_head = q->link[d];
	q->nfree = (uint16_t)(q->nfree - n);
	q->token[head] = token;
	q->ndesc[head] = (uint16_t)n;
	q->writable[head] = writable;
	q->avail[AVAIL_RING + (q->avail_idx & (q->size - 1))] = head;
	store_fence(); /* descriptors and entry before the index that publishes them */
	q->avail_idx++;
	q->avail[AVAIL_IDX] = q->avail_idx;
	q->in_flight++;
	return head;
}

bool vqdrv_kick_needed(struct vqdrv *q)
{
	/* The index store must be visible before the flag is read, or a
	 * device that just stopped polling would be left without a kick. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !(q->used_hdr[USED_FLAGS] & VQDRV_USED_F_NO_NOTIFY);
}

static int broken(struct vqdrv *q)
{
	q->broken = true;
	return -1;
}

int vqdrv_get_used(struct vqdrv *q, void **token, uint32_t *len)
{
	if (q->broken)
		return -1;
	uint16_t used_idx = q->used_hdr[USED_IDX];
	uint16_t pending = (uint16_t)(used_idx - q->last_used);
	if (pending == 0)
		return 0;
	if (pending > q->in_flight)
		return broken(q); /* more completions than requests */
	/* Loads are not reordered on x86; the acquire keeps the compiler from
	 * reading the element before the index. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	const volatile struct vqdrv_used_elem *e = &q->used_ring[q->last_used & (q->size - 1)];
	uint32_t id = e->id, written = e->len;
	if (id >= q->size || !q->token[id] || written > q->writable[id])
		return broken(q); /* not a chain in flight, or wrote past it */
	*token = q->token[id];
	*len = written;
	q->token[id] = NULL;
	uint16_t last = (uint16_t)id;
	for (unsigned i = 1; i < q->ndesc[id]; i++)
		last = q->link[last];
	q->link[last] = q->free_head;
	q->free_head = (uint16_t)id;
	q->nfree = (uint16_t)(q->nfree + q->ndesc[id]);
	q->last_used++;
	q->in_flight--;
	return 1;
}

unsigned vqdrv_free_count(const struct vqdrv *q)
{
	return q->broken ? 0 : q->nfree;
}
