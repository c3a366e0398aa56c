/* Keel's heap (see include/keel/heap.h).
 *
 * Small requests (1..2048 bytes) are served from eight power-of-two size
 * classes, 16..2048 bytes. Each class carves single 4 KiB pages into objects
 * and keeps freed objects on a singly linked free list. Every class page
 * starts with a struct class_page header, so kfree finds an object's class by
 * rounding the pointer down to 4 KiB. Objects begin right after the 16-byte
 * header and are multiples of 16 bytes apart, so they are all 16-byte aligned
 * (at the cost of one wasted slot in the 2 KiB class: one object per page).
 *
 * Larger requests take 2^order whole pages with a struct large_hdr in front;
 * the caller gets the address just after it, which is 16-byte aligned too.
 *
 * Empty class pages stay cached on their class's free list and are never given
 * back to the page allocator: simplest, and the heap's working set is small.
 *
 * kfree ignores pointers whose page header has the wrong magic or that do not
 * point at an object boundary, rather than corrupt the heap. A freed small
 * object is tagged with FREED_TAG; freeing a tagged object again is detected
 * by looking it up on its class's free list, and ignored. */
#include <keel/heap.h>
#include <keel/spinlock.h>
#include <stdbool.h>

#define HEAP_PAGE_SIZE 4096UL
#define HEAP_MIN_SHIFT 4 /* 16-byte class */
#define HEAP_NCLASSES 8 /* 16, 32, ..., 2048 */
#define HEAP_MAX_SMALL 2048UL
#define HEAP_MAX_ORDER 18 /* matches PMM_MAX_ORDER: 1 GiB */

#define CLASS_MAGIC 0x4b48434cU /* "KHCL" */
#define LARGE_MAGIC 0x4b484c47U /* "KHLG" */
#define FREED_TAG 0x6b65656c66726565ULL

struct class_page {
	uint32_t magic;
	uint32_t obj_size;
	uint64_t reserved; /* pads the header to 16 bytes for object alignment */
};

struct large_hdr {
	uint32_t magic;
	uint32_t order;
	uint64_t reserved; /* keeps the returned pointer 16-byte aligned */
};

/* Overlays a free small object; the tag lives in the second word. */
struct free_obj {
	struct free_obj *next;
	uint64_t tag;
};

_Static_assert(sizeof(struct class_page) == 16, "class page header must be 16 bytes");
_Static_assert(sizeof(struct large_hdr) == 16, "large header must be 16 bytes");

static struct {
	spinlock_t lock;
	const struct heap_ops *ops;
	struct free_obj *free_list[HEAP_NCLASSES];
	uint64_t bytes_in_use;
} heap;

static unsigned size_to_class(size_t size)
{
	unsigned cls = 0;

	while (((size_t)1 << (cls + HEAP_MIN_SHIFT)) < size)
		cls++;
	return cls;
}

static size_t class_size(unsigned cls)
{
	return (size_t)1 << (cls + HEAP_MIN_SHIFT);
}

/* Carve a fresh page into objects of class CLS. Called with the lock held;
 * false when the page allocator is out of memory. */
static bool class_refill(unsigned cls)
{
	size_t size = class_size(cls);
	struct class_page *page = heap.ops->pages_alloc(0);
	uintptr_t obj;

	if (!page)
		return false;
	page->magic = CLASS_MAGIC;
	page->obj_size = (uint32_t)size;
	heap.bytes_in_use += HEAP_PAGE_SIZE;
	for (obj = (uintptr_t)page + sizeof(*page); obj + size <= (uintptr_t)page + HEAP_PAGE_SIZE;
	     obj += size) {
		struct free_obj *f = (struct free_obj *)obj;

		f->next = heap.free_list[cls];
		f->tag = FREED_TAG;
		heap.free_list[cls] = f;
	}
	return true;
}

static void *alloc_small(size_t size)
{
	unsigned cls = size_to_class(size);
	struct free_obj *f;

	spin_lock(&heap.lock);
	if (!heap.free_list[cls] && !class_refill(cls)) {
		spin_unlock(&heap.lock);
		return NULL;
	}
	f = heap.free_list[cls];
	heap.free_list[cls] = f->next;
	spin_unlock(&heap.lock);
	/* Zero outside the lock: the object is ours now. */
	__builtin_memset(f, 0, class_size(cls));
	return f;
}

static void *alloc_large(size_t size)
{
	unsigned order = 0;
	struct large_hdr *h;

	if (size > (HEAP_PAGE_SIZE << HEAP_MAX_ORDER) - sizeof(*h))
		return NULL;
	while ((HEAP_PAGE_SIZE << order) < size + sizeof(*h))
		order++;
	/* The page allocator has its own lock and returns zeroed pages. */
	h = heap.ops->pages_alloc(order);
	if (!h)
		return NULL;
	h->magic = LARGE_MAGIC;
	h->order = order;
	spin_lock(&heap.lock);
	heap.bytes_in_use += HEAP_PAGE_SIZE << order;
	spin_unlock(&heap.lock);
	return h + 1;
}

void heap_init(const struct heap_ops *ops)
{
	spinlock_t unlocked = SPINLOCK_INIT;
	unsigned i;

	heap.lock = unlocked;
	heap.ops = ops;
	for (i = 0; i < HEAP_NCLASSES; i++)
		heap.free_list[i] = NULL;
	heap.bytes_in_use = 0;
}

void *kzalloc(size_t size)
{
	void *p;

	if (size == 0)
		return NULL;
	if (size <= HEAP_MAX_SMALL) {
		p = alloc_small(size);
		if (p && heap.ops->account)
			heap.ops->account(class_size(size_to_class(size)));
		return p;
	}
	p = alloc_large(size);
	if (p && heap.ops->account) {
		uint64_t bytes = HEAP_PAGE_SIZE;
		while (bytes < size + sizeof(struct large_hdr))
			bytes <<= 1;
		heap.ops->account(bytes);
	}
	return p;
}

/* True if F is already on class CLS's free list. Only walked when the object
 * carries FREED_TAG, i.e. almost only on a real double free. */
static bool on_free_list(unsigned cls, const struct free_obj *f)
{
	const struct free_obj *it;

	for (it = heap.free_list[cls]; it; it = it->next)
		if (it == f)
			return true;
	return false;
}

static void free_small(struct class_page *page, void *ptr)
{
	uintptr_t offset = (uintptr_t)ptr - (uintptr_t)page;
	struct free_obj *f = ptr;
	unsigned cls;

	if (page->obj_size < (1U << HEAP_MIN_SHIFT) || page->obj_size > HEAP_MAX_SMALL)
		return;
	cls = size_to_class(page->obj_size);
	if (class_size(cls) != page->obj_size || offset < sizeof(*page) ||
	    (offset - sizeof(*page)) % page->obj_size != 0)
		return;

	spin_lock(&heap.lock);
	if (f->tag == FREED_TAG && on_free_list(cls, f)) {
		spin_unlock(&heap.lock);
		return;
	}
	f->tag = FREED_TAG;
	f->next = heap.free_list[cls];
	heap.free_list[cls] = f;
	spin_unlock(&heap.lock);
}

static void free_large(struct large_hdr *h, void *ptr)
{
	unsigned order = h->order;

	if (ptr != (void *)(h + 1) || order > HEAP_MAX_ORDER)
		return;
	/* Clear the magic first so a second kfree of PTR is ignored (as long as
	 * the pages have not been handed out again). */
	h->magic = 0;
	spin_lock(&heap.lock);
	heap.bytes_in_use -= HEAP_PAGE_SIZE << order;
	spin_unlock(&heap.lock);
	heap.ops->pages_free(h, order);
}

void kfree(void *ptr)
{
	void *page;

	if (!ptr)
		return;
	page = (void *)((uintptr_t)ptr & ~(HEAP_PAGE_SIZE - 1));
	/* Both headers start with their magic, so reading it is safe either way. */
	switch (*(const uint32_t *)page) {
	case CLASS_MAGIC:
		free_small(page, ptr);
		break;
	case LARGE_MAGIC:
		free_large(page, ptr);
		break;
	default:
		break; /* not ours: ignore rather than corrupt the heap */
	}
}

uint64_t heap_bytes_in_use(void)
{
	uint64_t n;

	spin_lock(&heap.lock);
	n = heap.bytes_in_use;
	spin_unlock(&heap.lock);
	return n;
}
