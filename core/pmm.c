/* Buddy allocator over physical pages (see include/keel/pmm.h).
 *
 * Blocks are 2^order pages, naturally aligned in physical address space, so a
 * block's buddy is found by flipping one address bit. Free blocks of each
 * order sit on a doubly linked list threaded through their own first 16 bytes
 * (struct free_node, physical addresses, 0 = none). Physical page 0 is never
 * made free, which is what lets 0 mean "none" both in the lists and as the
 * failure return of pmm_alloc.
 *
 * page_info holds one byte per tracked page:
 *   PI_FREE  | order  the page starts a free block of that order
 *   PI_ALLOC | order  the page starts a block pmm_alloc handed out
 *   0                 anything else: inside a block, reserved, never added
 * Marking allocated block starts costs nothing extra and lets pmm_free reject
 * double frees, frees of interior or never-added pages and frees with the
 * wrong order: such calls are ignored (they return without touching state),
 * because there is no one to report them to and corrupting the lists would be
 * worse than leaking.
 *
 * pmm_add_free trusts its caller: adding memory that is already free (or
 * allocated) is not detected, since interior pages of free blocks carry no
 * marker and checking would cost a walk of the lists. */
#include <keel/pmm.h>
#include <keel/spinlock.h>

#define PI_FREE 0x80u
#define PI_ALLOC 0x40u
#define PI_ORDER_MASK 0x1fu

struct free_node {
	uint64_t next;
	uint64_t prev;
};

static struct free_node *node_at(struct pmm *p, uint64_t phys)
{
	return (struct free_node *)(uintptr_t)(phys + p->phys_to_virt_offset);
}

static uint64_t page_index(const struct pmm *p, uint64_t phys)
{
	return (phys - p->base) >> PAGE_SHIFT;
}

static uint64_t block_bytes(unsigned order)
{
	return PAGE_SIZE << order;
}

/* True if the whole block [phys, phys + 2^order pages) is tracked. */
static bool block_in_range(const struct pmm *p, uint64_t phys, unsigned order)
{
	uint64_t end = p->base + p->npages * PAGE_SIZE;

	return phys >= p->base && phys < end && end - phys >= block_bytes(order);
}

static void list_push(struct pmm *p, uint64_t phys, unsigned order)
{
	struct free_node *n = node_at(p, phys);
	uint64_t head = p->free_head[order];

	n->next = head;
	n->prev = 0;
	if (head)
		node_at(p, head)->prev = phys;
	p->free_head[order] = phys;
	p->page_info[page_index(p, phys)] = (uint8_t)(PI_FREE | order);
}

static void list_remove(struct pmm *p, uint64_t phys, unsigned order)
{
	struct free_node *n = node_at(p, phys);

	if (n->prev)
		node_at(p, n->prev)->next = n->next;
	else
		p->free_head[order] = n->next;
	if (n->next)
		node_at(p, n->next)->prev = n->prev;
	p->page_info[page_index(p, phys)] = 0;
}

/* Put a block on the free lists, merging it with its buddy for as long as the
 * buddy is a free block of the same order inside the tracked range.
 * Caller holds the lock and has validated the block. */
static void free_block(struct pmm *p, uint64_t phys, unsigned order)
{
	p->free_pages += 1ULL << order;
	while (order < PMM_MAX_ORDER) {
		uint64_t buddy = phys ^ block_bytes(order);

		if (!block_in_range(p, buddy, order))
			break;
		if (p->page_info[page_index(p, buddy)] != (PI_FREE | order))
			break;
		list_remove(p, buddy, order);
		phys &= ~block_bytes(order); /* the merged block starts at the lower half */
		order++;
	}
	list_push(p, phys, order);
}

void pmm_init(struct pmm *p, uint64_t base, uint64_t npages, uint8_t *page_info,
	      uintptr_t phys_to_virt_offset)
{
	spinlock_t unlocked = SPINLOCK_INIT;
	unsigned i;

	p->lock = unlocked;
	p->base = base & ~(PAGE_SIZE - 1);
	p->npages = npages;
	p->page_info = page_info;
	for (i = 0; i <= PMM_MAX_ORDER; i++)
		p->free_head[i] = 0;
	p->free_pages = 0;
	p->total_pages = 0;
	p->phys_to_virt_offset = phys_to_virt_offset;
	if (npages)
		__builtin_memset(page_info, 0, npages);
}

void pmm_add_free(struct pmm *p, uint64_t start, uint64_t end)
{
	uint64_t tracked_end = p->base + p->npages * PAGE_SIZE;
	uint64_t addr;

	/* Round inwards, without overflowing near the top of the address space. */
	if (start > UINT64_MAX - (PAGE_SIZE - 1))
		return;
	start = (start + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	end &= ~(PAGE_SIZE - 1);
	/* Clip to what page_info covers, and never free page 0 (0 means "none"). */
	if (start < p->base)
		start = p->base;
	if (start < PAGE_SIZE)
		start = PAGE_SIZE;
	if (end > tracked_end)
		end = tracked_end;
	if (start >= end)
		return;

	spin_lock(&p->lock);
	addr = start;
	while (addr < end) {
		unsigned order = 0;

		/* The largest block that is naturally aligned here and still fits. */
		while (order < PMM_MAX_ORDER && (addr & (block_bytes(order + 1) - 1)) == 0 &&
		       end - addr >= block_bytes(order + 1))
			order++;
		p->total_pages += 1ULL << order;
		free_block(p, addr, order);
		addr += block_bytes(order);
	}
	spin_unlock(&p->lock);
}

uint64_t pmm_alloc(struct pmm *p, unsigned order)
{
	unsigned found;
	uint64_t phys;

	if (order > PMM_MAX_ORDER)
		return 0;

	spin_lock(&p->lock);
	for (found = order; found <= PMM_MAX_ORDER; found++)
		if (p->free_head[found])
			break;
	if (found > PMM_MAX_ORDER) {
		spin_unlock(&p->lock);
		return 0;
	}
	phys = p->free_head[found];
	list_remove(p, phys, found);
	/* Split down to the requested order, keeping the lower half each time. */
	while (found > order) {
		found--;
		list_push(p, phys + block_bytes(found), found);
	}
	p->page_info[page_index(p, phys)] = (uint8_t)(PI_ALLOC | order);
	p->free_pages -= 1ULL << order;
	spin_unlock(&p->lock);
	return phys;
}

void pmm_free(struct pmm *p, uint64_t phys, unsigned order)
{
	if (order > PMM_MAX_ORDER || (phys & (block_bytes(order) - 1)) != 0 ||
	    !block_in_range(p, phys, order))
		return;

	spin_lock(&p->lock);
	/* Only the start of a block pmm_alloc handed out with this very order is
	 * accepted; anything else (double free, interior page, wrong order,
	 * reserved page) is ignored, see the top of this file. */
	if (p->page_info[page_index(p, phys)] != (PI_ALLOC | order)) {
		spin_unlock(&p->lock);
		return;
	}
	p->page_info[page_index(p, phys)] = 0;
	free_block(p, phys, order);
	spin_unlock(&p->lock);
}

uint64_t pmm_free_pages(struct pmm *p)
{
	uint64_t n;

	spin_lock(&p->lock);
	n = p->free_pages;
	spin_unlock(&p->lock);
	return n;
}
