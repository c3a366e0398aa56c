/* Guest page-table walker (include/keel/guest_walk.h). Entry formats and
 * checks follow the Intel SDM vol. 3 ch. 4 and the AMD APM vol. 2 ch. 5; where
 * the two differ on which bits are reserved, the walker takes the lenient one
 * (docs/emulator.md), so it never faults where the guest's CPU would not. */
#include <keel/guest_walk.h>

#define PTE_P (1ULL << 0)
#define PTE_W (1ULL << 1)
#define PTE_U (1ULL << 2)
#define PTE_A (1ULL << 5)
#define PTE_D (1ULL << 6)
#define PTE_PS (1ULL << 7)
#define PTE_XD (1ULL << 63)

#define GW_CR0_WP (1ULL << 16)
#define GW_CR0_PG (1ULL << 31)
#define GW_CR4_PSE (1ULL << 4)
#define GW_CR4_PAE (1ULL << 5)
#define GW_CR4_LA57 (1ULL << 12)
#define GW_CR4_SMEP (1ULL << 20)
#define GW_CR4_SMAP (1ULL << 21)
#define GW_CR4_PKE (1ULL << 22)
#define GW_EFER_LMA (1ULL << 10)
#define GW_EFER_NXE (1ULL << 11)
#define GW_RFLAGS_AC (1ULL << 18)

#define ADDR_52 0x000FFFFFFFFFF000ULL /* bits 51:12 of a 64-bit entry */
#define MAX_LEVELS 4
#define AD_RETRIES 8 /* restarts when the guest changes an entry we are updating */
#define PAGE_SIZE_4K 4096ULL

enum pg_mode { PG_OFF, PG_32, PG_PAE, PG_LONG };

/* The entries a successful walk used, for the accessed/dirty update. */
struct walk_path {
	unsigned n;
	uint64_t gpa[MAX_LEVELS];
	uint64_t val[MAX_LEVELS];
	bool no_ad[MAX_LEVELS]; /* PAE PDPTEs have no accessed bit */
};

static enum pg_mode paging_mode(const struct guest_paging *p)
{
	if (!(p->cr0 & GW_CR0_PG))
		return PG_OFF;
	if (!(p->cr4 & GW_CR4_PAE))
		return PG_32;
	return (p->efer & GW_EFER_LMA) ? PG_LONG : PG_PAE;
}

static unsigned maxphyaddr(const struct guest_paging *p)
{
	return (p->maxphyaddr == 0 || p->maxphyaddr > 52) ? 52 : p->maxphyaddr;
}

/* Bits lo..hi inclusive. */
static uint64_t bits(unsigned hi, unsigned lo)
{
	return ((hi >= 63) ? ~0ULL : ((1ULL << (hi + 1)) - 1)) & ~((1ULL << lo) - 1);
}

/* Reserved bits of a present entry at LVL (1 = page table ... 4 = PML4). */
static uint64_t rsvd_mask(const struct guest_paging *p, enum pg_mode mode, unsigned lvl, uint64_t e)
{
	unsigned m = maxphyaddr(p);
	uint64_t high = m < 52 ? bits(51, m) : 0;
	uint64_t xd = (p->efer & GW_EFER_NXE) ? 0 : PTE_XD;

	if (mode == PG_32) {
		uint64_t r;
		unsigned top;

		if (lvl != 2 || !(e & PTE_PS) || !(p->cr4 & GW_CR4_PSE))
			return 0;
		/* 4 MiB page: bits 20:13 hold physical bits 39:32 (PSE-36); those
		 * at or above MAXPHYADDR, and bit 21, are reserved. */
		r = 1ULL << 21;
		top = m < 40 ? m : 40;
		if (top < 40)
			r |= bits(20, 13 + (top > 32 ? top - 32 : 0));
		return r;
	}
	if (mode == PG_PAE && lvl == 3)
		return bits(2, 1) | bits(8, 5) | high | PTE_XD;
	switch (lvl) {
	case 4:
		return high | xd | PTE_PS;
	case 3:
		if (!(e & PTE_PS))
			return high | xd;
		return high | xd | (p->gbpages ? bits(29, 13) : PTE_PS);
	case 2:
		return high | xd | ((e & PTE_PS) ? bits(20, 13) : 0);
	default:
		return high | xd;
	}
}

static bool canonical(uint64_t va)
{
	return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

static int page_fault(struct walk_fault *f, uint64_t va, uint32_t code)
{
	f->addr = va;
	f->error_code = code;
	return WALK_PAGE_FAULT;
}

/* Access-kind bits of the error code; I/D only where the SDM sets it (NX in
 * effect, or SMEP). */
static uint32_t access_code(const struct guest_paging *p, enum pg_mode mode, unsigned access)
{
	uint32_t code = 0;

	if (access & WALK_WRITE)
		code |= PF_ERR_W;
	if (access & WALK_USER)
		code |= PF_ERR_U;
	if ((access & WALK_FETCH) &&
	    ((p->cr4 & GW_CR4_SMEP) || (mode != PG_32 && (p->efer & GW_EFER_NXE))))
		code |= PF_ERR_I;
	return code;
}

/* Permission checks on the combined rights of the walk. Returns the error code
 * of the violation, or 0 if the access is allowed. */
static uint32_t check_rights(const struct guest_paging *p, enum pg_mode mode, unsigned access,
			     bool w, bool u, bool xd, uint64_t leaf)
{
	bool user = access & WALK_USER, write = access & WALK_WRITE;
	bool fetch = access & WALK_FETCH;
	bool bad = false, pk = false;

	if (user && !u)
		bad = true;
	if (fetch) {
		if (xd && (p->efer & GW_EFER_NXE))
			bad = true;
		if (!user && u && (p->cr4 & GW_CR4_SMEP))
			bad = true;
	} else {
		if (write && !w && (user || (p->cr0 & GW_CR0_WP)))
			bad = true;
		if (!user && u && (p->cr4 & GW_CR4_SMAP) &&
		    ((access & WALK_IMPLICIT) || !(p->rflags & GW_RFLAGS_AC)))
			bad = true;
		/* Protection keys: data accesses to user pages in long mode. */
		if (mode == PG_LONG && (p->cr4 & GW_CR4_PKE) && u) {
			unsigned key = (leaf >> 59) & 0xF;
			bool ad = (p->pkru >> (2 * key)) & 1;
			bool wd = (p->pkru >> (2 * key + 1)) & 1;

			if (ad || (wd && write && (user || (p->cr0 & GW_CR0_WP))))
				pk = bad = true;
		}
	}
	if (!bad)
		return 0;
	return PF_ERR_P | access_code(p, mode, access) | (pk ? PF_ERR_PK : 0);
}

static int walk_once(const struct guest_paging *p, enum pg_mode mode, uint64_t va, unsigned access,
		     uint64_t *gpa, struct walk_fault *fault, read_phys_fn read, void *ctx,
		     struct walk_path *path)
{
	unsigned esize = mode == PG_32 ? 4 : 8, idx_bits = mode == PG_32 ? 10 : 9;
	unsigned levels = mode == PG_32 ? 2 : mode == PG_PAE ? 3 : 4;
	bool w = true, u = true, xd = false;
	uint64_t table;

	if (mode == PG_32)
		table = p->cr3 & 0xFFFFF000ULL;
	else if (mode == PG_PAE)
		table = p->cr3 & 0xFFFFFFE0ULL;
	else
		table = p->cr3 & ADDR_52; /* drops PCID and the no-flush bit */
	path->n = 0;

	for (unsigned lvl = levels; lvl >= 1; lvl--) {
		unsigned shift = 12 + (lvl - 1) * idx_bits;
		uint64_t idx = (va >> shift) & ((1ULL << idx_bits) - 1);
		uint64_t egpa = table + idx * esize, e = 0, size, frame;
		bool pdpte = mode == PG_PAE && lvl == 3;

		if (pdpte && p->pdpte) {
			e = p->pdpte[idx & 3];
		} else if (read(ctx, egpa, &e, esize)) {
			return WALK_NOT_RAM;
		}
		path->gpa[path->n] = egpa;
		path->val[path->n] = e;
		path->no_ad[path->n] = pdpte;
		path->n++;

		if (!(e & PTE_P))
			return page_fault(fault, va, access_code(p, mode, access));
		if (e & rsvd_mask(p, mode, lvl, e))
			return page_fault(fault, va,
					  PF_ERR_P | PF_ERR_RSVD | access_code(p, mode, access));
		if (!pdpte) {
			w = w && (e & PTE_W);
			u = u && (e & PTE_U);
			xd = xd || (mode != PG_32 && (e & PTE_XD));
		}

		/* A page at this level? (Reserved-bit checks above already refused
		 * PS where the mode has no such page size.) */
		if (lvl == 1) {
			size = PAGE_SIZE_4K;
			frame = e & (mode == PG_32 ? 0xFFFFF000ULL : ADDR_52);
		} else if ((e & PTE_PS) && !pdpte && lvl <= 3 &&
			   (mode != PG_32 || (p->cr4 & GW_CR4_PSE))) {
			if (mode == PG_32) {
				size = 4ULL << 20;
				frame = (e & 0xFFC00000ULL) | ((e >> 13) & 0xFF) << 32;
			} else {
				size = 1ULL << shift;
				frame = e & ADDR_52 & ~(size - 1);
			}
		} else {
			table = e & (mode == PG_32 ? 0xFFFFF000ULL : ADDR_52);
			continue;
		}

		uint32_t code = check_rights(p, mode, access, w, u, xd, e);
		if (code)
			return page_fault(fault, va, code);
		*gpa = frame | (va & (size - 1));
		return WALK_OK;
	}
	/* Not reached: level 1 always ends the walk. */
	return WALK_NOT_RAM;
}

/* Sets the accessed bits along PATH and the dirty bit of its last entry on a
 * write. Returns 0, 1 if an entry changed meanwhile, negative on error. */
static int set_ad(const struct walk_path *path, bool write, unsigned esize, cmpxchg_phys_fn cmpxchg,
		  void *ctx)
{
	for (unsigned i = 0; i < path->n; i++) {
		uint64_t want = path->val[i] | PTE_A;

		if (path->no_ad[i])
			continue;
		if (i + 1 == path->n && write)
			want |= PTE_D;
		if (want == path->val[i])
			continue;
		int r = cmpxchg(ctx, path->gpa[i], path->val[i], want, esize);
		if (r)
			return r;
	}
	return 0;
}

int guest_walk_ad(const struct guest_paging *p, uint64_t gva, unsigned access, uint64_t *gpa,
		  struct walk_fault *fault, read_phys_fn read, cmpxchg_phys_fn cmpxchg, void *ctx)
{
	enum pg_mode mode = paging_mode(p);
	struct walk_path path;

	if (mode != PG_LONG)
		gva &= 0xFFFFFFFFULL; /* linear addresses are 32 bits outside long mode */
	if (mode == PG_OFF) {
		*gpa = gva;
		return WALK_OK;
	}
	if (mode == PG_LONG) {
		if (p->cr4 & GW_CR4_LA57)
			return WALK_UNSUPPORTED;
		if (!canonical(gva))
			return WALK_NONCANONICAL;
	}
	for (unsigned attempt = 0; attempt < AD_RETRIES; attempt++) {
		int r = walk_once(p, mode, gva, access, gpa, fault, read, ctx, &path);

		if (r != WALK_OK || !cmpxchg)
			return r;
		r = set_ad(&path, access & WALK_WRITE, mode == PG_32 ? 4 : 8, cmpxchg, ctx);
		if (r < 0)
			return WALK_NOT_RAM;
		if (r == 0)
			return WALK_OK;
	}
	return WALK_RACE;
}

int guest_walk(const struct guest_paging *p, uint64_t gva, unsigned access, uint64_t *gpa,
	       struct walk_fault *fault, read_phys_fn read, void *ctx)
{
	return guest_walk_ad(p, gva, access, gpa, fault, read, NULL, ctx);
}

int guest_read_virt(const struct guest_paging *p, uint64_t gva, void *buf, size_t len,
		    unsigned access, size_t *done, struct walk_fault *fault, read_phys_fn read,
		    void *ctx)
{
	bool long_mode = paging_mode(p) == PG_LONG;
	uint8_t *out = buf;

	*done = 0;
	while (*done < len) {
		uint64_t va = gva + *done, gpa;
		size_t chunk = PAGE_SIZE_4K - (va & (PAGE_SIZE_4K - 1));
		int r;

		if (!long_mode)
			va &= 0xFFFFFFFFULL;
		if (chunk > len - *done)
			chunk = len - *done;
		r = guest_walk(p, va, access, &gpa, fault, read, ctx);
		if (r != WALK_OK)
			return r;
		if (read(ctx, gpa, out + *done, chunk))
			return WALK_NOT_RAM;
		*done += chunk;
	}
	return WALK_OK;
}
