/* Unit tests for the guest page-table walker (core/guest_walk.c): page
 * tables built in a host buffer standing for guest RAM, for every paging
 * mode; translations, large pages, each #PF error-code bit, accessed/dirty
 * updates, tables outside guest RAM, and random tables that must never make
 * the walker misbehave. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <keel/guest_walk.h>

#define MEM_SIZE (8u << 20) /* guest RAM: [0, 8 MiB) */

#define P (1ULL << 0)
#define W (1ULL << 1)
#define U (1ULL << 2)
#define A (1ULL << 5)
#define D (1ULL << 6)
#define PS (1ULL << 7)
#define XD (1ULL << 63)

#define CR0_WP (1ULL << 16)
#define CR0_PG (1ULL << 31)
#define CR4_PSE (1ULL << 4)
#define CR4_PAE (1ULL << 5)
#define CR4_LA57 (1ULL << 12)
#define CR4_SMEP (1ULL << 20)
#define CR4_SMAP (1ULL << 21)
#define CR4_PKE (1ULL << 22)
#define EFER_LMA (1ULL << 10)
#define EFER_NXE (1ULL << 11)
#define RFLAGS_AC (1ULL << 18)

static uint8_t *mem;
static unsigned reads, writes;
static int race_left; /* cmpxchg reports "changed" this many more times */

static int rd(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	(void)ctx;
	reads++;
	if (gpa >= MEM_SIZE || len > MEM_SIZE - gpa)
		return -1;
	memcpy(buf, mem + gpa, len);
	return 0;
}

static int cx(void *ctx, uint64_t gpa, uint64_t old, uint64_t new_val, unsigned size)
{
	uint64_t cur = 0;

	(void)ctx;
	if (gpa >= MEM_SIZE || size > MEM_SIZE - gpa)
		return -1;
	if (race_left > 0) {
		race_left--;
		return 1;
	}
	memcpy(&cur, mem + gpa, size);
	if (cur != old)
		return 1;
	memcpy(mem + gpa, &new_val, size);
	writes++;
	return 0;
}

static uint64_t get64(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, mem + gpa, 8);
	return v;
}

static void put64(uint64_t gpa, uint64_t v)
{
	memcpy(mem + gpa, &v, 8);
}

static void put32(uint64_t gpa, uint32_t v)
{
	memcpy(mem + gpa, &v, 4);
}

static uint32_t get32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, mem + gpa, 4);
	return v;
}

static int setup(void **state)
{
	(void)state;
	mem = calloc(1, MEM_SIZE);
	reads = writes = 0;
	race_left = 0;
	return mem ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(mem);
	return 0;
}

/* Walks and returns the result; *gpa and *err get the outputs. */
static int walk(const struct guest_paging *p, uint64_t gva, unsigned access, uint64_t *gpa,
		uint32_t *err)
{
	struct walk_fault f = {0, 0xFFFFFFFF};
	uint64_t g = 0xDEAD;
	int r = guest_walk(p, gva, access, &g, &f, rd, NULL);

	if (gpa)
		*gpa = g;
	if (err)
		*err = r == WALK_PAGE_FAULT ? f.error_code : 0xFFFFFFFF;
	if (r == WALK_PAGE_FAULT)
		assert_int_equal(f.addr, gva & ((p->efer & EFER_LMA) ? ~0ULL : 0xFFFFFFFFULL));
	return r;
}

static uint64_t ok(const struct guest_paging *p, uint64_t gva, unsigned access)
{
	uint64_t gpa;

	assert_int_equal(walk(p, gva, access, &gpa, NULL), WALK_OK);
	return gpa;
}

static uint32_t pf(const struct guest_paging *p, uint64_t gva, unsigned access)
{
	uint32_t err;

	assert_int_equal(walk(p, gva, access, NULL, &err), WALK_PAGE_FAULT);
	return err;
}

static void test_paging_off(void **state)
{
	struct guest_paging p = {0};

	(void)state;
	assert_int_equal(ok(&p, 0x12345678, 0), 0x12345678);
	assert_int_equal(ok(&p, 0xABCD12345678ULL, WALK_WRITE | WALK_USER), 0x12345678);
	assert_int_equal(reads, 0);
}

/* 32-bit paging: PD at 0x1000, a page table at 0x2000. */
static void test_32bit(void **state)
{
	struct guest_paging p = {.cr0 = CR0_PG, .cr3 = 0x1000, .cr4 = CR4_PSE, .maxphyaddr = 40};

	(void)state;
	put32(0x1000 + 4 * 1, 0x2000 | P | W | U); /* 0x00400000-0x007FFFFF */
	put32(0x2000 + 4 * 1, 0x123000 | P | W | U); /* 0x00401000 */
	put32(0x2000 + 4 * 2, 0x124000 | P | U); /* read-only */
	put32(0x2000 + 4 * 3, 0x125000 | P | W); /* supervisor */
	/* 4 MiB page at 0x00800000 → physical 0x5_00C00000 (PSE-36 bits 20:13). */
	put32(0x1000 + 4 * 2, 0x00C00000 | (5u << 13) | P | W | U | PS);

	assert_int_equal(ok(&p, 0x00401234, 0), 0x123234);
	assert_int_equal(ok(&p, 0xFFFFFFFF00401234ULL, 0), 0x123234); /* upper half ignored */
	assert_int_equal(ok(&p, 0x00812345, WALK_USER | WALK_WRITE), 0x500C12345ULL);
	/* Not present: PDE, then PTE. Error code: P=0, W/U as the access. */
	assert_int_equal(pf(&p, 0x00001000, 0), 0);
	assert_int_equal(pf(&p, 0x00404000, WALK_WRITE | WALK_USER), PF_ERR_W | PF_ERR_U);
	/* Read-only: supervisor writes pass unless CR0.WP; user writes fault. */
	assert_int_equal(ok(&p, 0x00402000, WALK_WRITE), 0x124000);
	assert_int_equal(pf(&p, 0x00402000, WALK_WRITE | WALK_USER),
			 PF_ERR_P | PF_ERR_W | PF_ERR_U);
	p.cr0 |= CR0_WP;
	assert_int_equal(pf(&p, 0x00402000, WALK_WRITE), PF_ERR_P | PF_ERR_W);
	/* Supervisor page from CPL 3. */
	assert_int_equal(pf(&p, 0x00403000, WALK_USER), PF_ERR_P | PF_ERR_U);
	assert_int_equal(ok(&p, 0x00403000, 0), 0x125000);
	/* No NX in 32-bit paging; I/D only with SMEP. */
	p.efer = EFER_NXE;
	assert_int_equal(ok(&p, 0x00401000, WALK_FETCH), 0x123000);
	assert_int_equal(pf(&p, 0x00404000, WALK_FETCH), 0);
	p.cr4 |= CR4_SMEP;
	assert_int_equal(pf(&p, 0x00404000, WALK_FETCH), PF_ERR_I);
	/* SMEP: supervisor fetch from a user page. */
	assert_int_equal(pf(&p, 0x00401000, WALK_FETCH), PF_ERR_P | PF_ERR_I);
	assert_int_equal(ok(&p, 0x00401000, WALK_FETCH | WALK_USER), 0x123000);
	/* SMAP: supervisor data access to a user page unless EFLAGS.AC, and
	 * always for implicit accesses. */
	p.cr4 |= CR4_SMAP;
	assert_int_equal(pf(&p, 0x00401000, 0), PF_ERR_P);
	p.rflags = RFLAGS_AC;
	assert_int_equal(ok(&p, 0x00401000, WALK_WRITE), 0x123000);
	assert_int_equal(pf(&p, 0x00401000, WALK_IMPLICIT), PF_ERR_P);
	p.cr4 &= ~(CR4_SMAP | CR4_SMEP);

	/* Reserved bits in a 4 MiB PDE: bit 21; physical bits at or above
	 * MAXPHYADDR. */
	put32(0x1000 + 4 * 3, 0x00C00000 | (1u << 21) | P | PS);
	assert_int_equal(pf(&p, 0x00C00000, 0), PF_ERR_P | PF_ERR_RSVD);
	put32(0x1000 + 4 * 3, 0x00C00000 | (0x10u << 13) | P | PS); /* physical bit 36 */
	assert_int_equal(ok(&p, 0x00C00000, 0), 0x1000C00000ULL);
	p.maxphyaddr = 36;
	assert_int_equal(pf(&p, 0x00C00000, WALK_WRITE), PF_ERR_P | PF_ERR_RSVD | PF_ERR_W);
	p.maxphyaddr = 32;
	put32(0x1000 + 4 * 3, 0x00C00000 | (1u << 13) | P | PS);
	assert_int_equal(pf(&p, 0x00C00000, 0), PF_ERR_P | PF_ERR_RSVD);
	/* Without CR4.PSE, PS is ignored: the PDE points to a page table. */
	p.cr4 = 0;
	put32(0x1000 + 4 * 4, 0x2000 | P | W | PS);
	assert_int_equal(ok(&p, 0x01001000, 0), 0x123000);

	/* Accessed and dirty bits. */
	p.cr4 = CR4_PSE;
	p.maxphyaddr = 40;
	{
		struct walk_fault f;
		uint64_t gpa;

		put32(0x1000 + 4 * 1, 0x2000 | P | W | U);
		put32(0x2000 + 4 * 1, 0x123000 | P | W | U);
		assert_int_equal(guest_walk_ad(&p, 0x00401000, 0, &gpa, &f, rd, cx, NULL), WALK_OK);
		assert_int_equal(get32(0x1004), 0x2000 | P | W | U | A);
		assert_int_equal(get32(0x2004), 0x123000 | P | W | U | A);
		assert_int_equal(guest_walk_ad(&p, 0x00401000, WALK_WRITE, &gpa, &f, rd, cx, NULL),
				 WALK_OK);
		assert_int_equal(get32(0x2004), 0x123000 | P | W | U | A | D);
		assert_int_equal(get32(0x1004), 0x2000 | P | W | U | A); /* no D in a PDE */
		/* A fault sets nothing. */
		put32(0x2000 + 4 * 2, 0x124000 | P | U);
		assert_int_equal(
		    guest_walk_ad(&p, 0x00402000, WALK_WRITE | WALK_USER, &gpa, &f, rd, cx, NULL),
		    WALK_PAGE_FAULT);
		assert_int_equal(get32(0x2008), 0x124000 | P | U);
		/* 4 MiB page: D lands in the PDE. */
		assert_int_equal(guest_walk_ad(&p, 0x00800000, WALK_WRITE, &gpa, &f, rd, cx, NULL),
				 WALK_OK);
		assert_true(get32(0x1008) & D);
	}
}

/* PAE: PDPT at 0x3020 (32-byte aligned), PD at 0x4000, PT at 0x5000. */
static void test_pae(void **state)
{
	struct guest_paging p = {.cr0 = CR0_PG, .cr3 = 0x3020, .cr4 = CR4_PAE, .maxphyaddr = 40};
	uint64_t pdpte[4] = {0};

	(void)state;
	put64(0x3020 + 8 * 1, 0x4000 | P); /* 0x40000000-0x7FFFFFFF */
	put64(0x4000 + 8 * 2, 0x5000 | P | W | U); /* 0x40400000 */
	put64(0x5000 + 8 * 3, 0xABC000 | P | W | U); /* 0x40403000 */
	put64(0x5000 + 8 * 4, 0xABD000 | P | W | U | XD);
	put64(0x4000 + 8 * 3, 0x7600000 | P | W | PS); /* 2 MiB at 0x40600000 */

	assert_int_equal(ok(&p, 0x40403ABC, WALK_USER), 0xABCABC);
	assert_int_equal(ok(&p, 0x40612345, WALK_WRITE), 0x7612345);
	assert_int_equal(pf(&p, 0x40612345, WALK_USER), PF_ERR_P | PF_ERR_U);
	/* PDPTE not present, reserved bits (R/W is reserved in a PAE PDPTE). */
	assert_int_equal(pf(&p, 0x00000000, 0), 0);
	put64(0x3020 + 8 * 2, 0x4000 | P | W);
	assert_int_equal(pf(&p, 0x80000000, 0), PF_ERR_P | PF_ERR_RSVD);
	/* XD without EFER.NXE is a reserved bit; with it, fetches fault with I. */
	assert_int_equal(pf(&p, 0x40404000, 0), PF_ERR_P | PF_ERR_RSVD);
	p.efer = EFER_NXE;
	assert_int_equal(ok(&p, 0x40404000, WALK_USER), 0xABD000);
	assert_int_equal(pf(&p, 0x40404000, WALK_FETCH | WALK_USER),
			 PF_ERR_P | PF_ERR_U | PF_ERR_I);
	assert_int_equal(pf(&p, 0x40405000, WALK_FETCH), PF_ERR_I); /* not present */
	/* 2 MiB PDE: bits 20:13 reserved; bits above MAXPHYADDR reserved. */
	put64(0x4000 + 8 * 4, 0x7800000 | (1ULL << 13) | P | PS);
	assert_int_equal(pf(&p, 0x40800000, 0), PF_ERR_P | PF_ERR_RSVD);
	put64(0x4000 + 8 * 4, 0x7800000 | (1ULL << 12) | P | PS); /* PAT bit: fine */
	assert_int_equal(ok(&p, 0x40800010, 0), 0x7800010);
	put64(0x4000 + 8 * 4, (1ULL << 40) | P | PS);
	assert_int_equal(pf(&p, 0x40800000, 0), PF_ERR_P | PF_ERR_RSVD);
	p.maxphyaddr = 41;
	assert_int_equal(ok(&p, 0x40800000, 0), 1ULL << 40);
	/* PDPTEs given by the caller (as VMX loads them) win over memory. */
	pdpte[1] = 0; /* not present */
	p.pdpte = pdpte;
	assert_int_equal(pf(&p, 0x40403000, 0), 0);
	pdpte[1] = 0x4000 | P;
	assert_int_equal(ok(&p, 0x40403000, 0), 0xABC000);
	/* A/D: the PDPTE has none; PDE gets A, PTE A and D. */
	p.pdpte = NULL;
	{
		struct walk_fault f;
		uint64_t gpa;

		assert_int_equal(guest_walk_ad(&p, 0x40403000, WALK_WRITE, &gpa, &f, rd, cx, NULL),
				 WALK_OK);
		assert_int_equal(get64(0x3028), 0x4000 | P);
		assert_int_equal(get64(0x4010), 0x5000 | P | W | U | A);
		assert_int_equal(get64(0x5018), 0xABC000 | P | W | U | A | D);
	}
}

/* 4-level: PML4 0x10000, PDPT 0x11000, PD 0x12000, PT 0x13000. */
static struct guest_paging long_mode(void)
{
	struct guest_paging p = {.cr0 = CR0_PG | CR0_WP,
				 .cr3 = 0x10000,
				 .cr4 = CR4_PAE,
				 .efer = EFER_LMA | EFER_NXE,
				 .maxphyaddr = 46,
				 .gbpages = true};

	put64(0x10000 + 8 * 0x1FF, 0x11000 | P | W | U); /* 0xFFFFFF80_00000000 */
	put64(0x11000 + 8 * 0x1FE, 0x12000 | P | W | U); /* ...FF80000000 */
	put64(0x12000 + 8 * 0, 0x13000 | P | W | U);
	put64(0x13000 + 8 * 5, 0x2345000 | P | W | U);
	put64(0x12000 + 8 * 1, 0x40000000 | P | W | PS); /* 2 MiB */
	put64(0x11000 + 8 * 0x1FF, 0x80000000ULL | P | W | PS); /* 1 GiB */
	return p;
}

static void test_long(void **state)
{
	struct guest_paging p = long_mode();
	const uint64_t base = 0xFFFFFFFF80000000ULL;

	(void)state;
	assert_int_equal(ok(&p, base + 0x5678, WALK_USER), 0x2345678);
	assert_int_equal(ok(&p, base + 0x2ABCDE, 0), 0x400ABCDE);
	assert_int_equal(ok(&p, base + 0x40000000 + 0x12345678, WALK_WRITE), 0x92345678);
	assert_int_equal(reads, 4 + 3 + 2);
	/* CR3's PCID bits and no-flush bit are not part of the address. */
	p.cr3 |= 0x123 | (1ULL << 63);
	assert_int_equal(ok(&p, base + 0x5678, 0), 0x2345678);
	p.cr3 = 0x10000;
	/* Non-canonical and 5-level paging. */
	assert_int_equal(walk(&p, 0x0000800000000000ULL, 0, NULL, NULL), WALK_NONCANONICAL);
	p.cr4 |= CR4_LA57;
	assert_int_equal(walk(&p, base, 0, NULL, NULL), WALK_UNSUPPORTED);
	p.cr4 &= ~CR4_LA57;
	/* U/S is the AND of all levels; R/W too. */
	assert_int_equal(pf(&p, base + 0x2ABCDE, WALK_USER), PF_ERR_P | PF_ERR_U);
	put64(0x10000 + 8 * 0x1FF, 0x11000 | P | U);
	assert_int_equal(pf(&p, base + 0x5000, WALK_WRITE), PF_ERR_P | PF_ERR_W);
	p.cr0 &= ~CR0_WP;
	assert_int_equal(ok(&p, base + 0x5000, WALK_WRITE), 0x2345000);
	assert_int_equal(pf(&p, base + 0x5000, WALK_WRITE | WALK_USER),
			 PF_ERR_P | PF_ERR_W | PF_ERR_U);
	put64(0x10000 + 8 * 0x1FF, 0x11000 | P | W | U | XD);
	/* NX at any level. */
	assert_int_equal(pf(&p, base + 0x5000, WALK_FETCH | WALK_USER),
			 PF_ERR_P | PF_ERR_U | PF_ERR_I);
	p.efer &= ~EFER_NXE; /* now XD is reserved */
	assert_int_equal(pf(&p, base + 0x5000, 0), PF_ERR_P | PF_ERR_RSVD);
	p.efer |= EFER_NXE;
	put64(0x10000 + 8 * 0x1FF, 0x11000 | P | W | U);
	/* PS in a PML4E is reserved; in a PDPTE without 1 GiB pages too. */
	put64(0x10000 + 8 * 0x1FE, 0x11000 | P | PS);
	assert_int_equal(pf(&p, 0xFFFFFF0000000000ULL, 0), PF_ERR_P | PF_ERR_RSVD);
	p.gbpages = false;
	assert_int_equal(pf(&p, base + 0x40000000, 0), PF_ERR_P | PF_ERR_RSVD);
	p.gbpages = true;
	/* 1 GiB page with bits 29:13 set; 2 MiB page frame above MAXPHYADDR. */
	put64(0x11000 + 8 * 0x1FF, 0x80000000ULL | (1ULL << 20) | P | PS);
	assert_int_equal(pf(&p, base + 0x40000000, 0), PF_ERR_P | PF_ERR_RSVD);
	put64(0x12000 + 8 * 2, (1ULL << 46) | P | PS);
	assert_int_equal(pf(&p, base + 0x400000, WALK_FETCH), PF_ERR_P | PF_ERR_RSVD | PF_ERR_I);
	/* Bits 62:52 are ignored in 4-level paging. */
	put64(0x12000 + 8 * 2, (0x7FFULL << 52) | 0x600000 | P | PS);
	assert_int_equal(ok(&p, base + 0x400000, 0), 0x600000);

	/* Protection keys: user pages only, data accesses only. */
	put64(0x13000 + 8 * 6, (3ULL << 59) | 0x2346000 | P | W | U);
	p.cr4 |= CR4_PKE;
	p.pkru = 1u << 6; /* AD for key 3 */
	assert_int_equal(pf(&p, base + 0x6000, WALK_USER), PF_ERR_P | PF_ERR_U | PF_ERR_PK);
	assert_int_equal(ok(&p, base + 0x6000, WALK_USER | WALK_FETCH), 0x2346000);
	assert_int_equal(ok(&p, base + 0x5000, WALK_USER), 0x2345000); /* key 0 */
	p.pkru = 2u << 6; /* WD for key 3 */
	assert_int_equal(ok(&p, base + 0x6000, WALK_USER), 0x2346000);
	assert_int_equal(pf(&p, base + 0x6000, WALK_USER | WALK_WRITE),
			 PF_ERR_P | PF_ERR_W | PF_ERR_U | PF_ERR_PK);
	assert_int_equal(ok(&p, base + 0x6000, WALK_WRITE), 0x2346000); /* WP = 0 */
	p.cr0 |= CR0_WP;
	assert_int_equal(pf(&p, base + 0x6000, WALK_WRITE), PF_ERR_P | PF_ERR_W | PF_ERR_PK);
}

static void test_long_ad(void **state)
{
	struct guest_paging p = long_mode();
	const uint64_t base = 0xFFFFFFFF80000000ULL;
	struct walk_fault f;
	uint64_t gpa;

	(void)state;
	assert_int_equal(guest_walk_ad(&p, base + 0x5000, 0, &gpa, &f, rd, cx, NULL), WALK_OK);
	assert_int_equal(writes, 4);
	assert_true(get64(0x10000 + 8 * 0x1FF) & A);
	assert_true(get64(0x11000 + 8 * 0x1FE) & A);
	assert_true(get64(0x12000) & A);
	assert_int_equal(get64(0x13000 + 8 * 5), 0x2345000 | P | W | U | A);
	/* Already accessed: only the dirty bit is new. */
	writes = 0;
	assert_int_equal(guest_walk_ad(&p, base + 0x5000, WALK_WRITE, &gpa, &f, rd, cx, NULL),
			 WALK_OK);
	assert_int_equal(writes, 1);
	assert_int_equal(get64(0x13000 + 8 * 5), 0x2345000 | P | W | U | A | D);
	/* 1 GiB leaf gets D. */
	assert_int_equal(guest_walk_ad(&p, base + 0x40000000, WALK_WRITE, &gpa, &f, rd, cx, NULL),
			 WALK_OK);
	assert_int_equal(get64(0x11000 + 8 * 0x1FF), 0x80000000ULL | P | W | PS | A | D);
	/* Another vCPU changes an entry mid-update: the walk starts again. */
	put64(0x13000 + 8 * 7, 0x2347000 | P | W);
	race_left = 2;
	reads = 0;
	assert_int_equal(guest_walk_ad(&p, base + 0x7000, WALK_WRITE, &gpa, &f, rd, cx, NULL),
			 WALK_OK);
	assert_int_equal(reads, 12);
	assert_int_equal(gpa, 0x2347000);
	/* ...forever: give up rather than spin. */
	race_left = 1000;
	put64(0x13000 + 8 * 8, 0x2348000 | P | W);
	assert_int_equal(guest_walk_ad(&p, base + 0x8000, 0, &gpa, &f, rd, cx, NULL), WALK_RACE);
	race_left = 0;
}

/* Tables outside guest RAM, garbage entries, self-referencing tables. */
static void test_bad_tables(void **state)
{
	struct guest_paging p = long_mode();
	struct walk_fault f;
	uint64_t gpa;

	(void)state;
	p.cr3 = 0x100000000ULL; /* beyond RAM */
	assert_int_equal(walk(&p, 0x1000, 0, NULL, NULL), WALK_NOT_RAM);
	p = long_mode();
	put64(0x13000 + 8 * 9, 0xFFFFFFFFFFFFF000ULL | P); /* reserved bits everywhere */
	assert_int_equal(pf(&p, 0xFFFFFFFF80009000ULL, 0), PF_ERR_P | PF_ERR_RSVD);
	put64(0x12000 + 8 * 3, 0x7FF000000ULL | P | W); /* a PT beyond RAM */
	assert_int_equal(walk(&p, 0xFFFFFFFF80600000ULL, 0, NULL, NULL), WALK_NOT_RAM);
	/* A PML4 entry pointing at the PML4 (recursive mapping): four levels,
	 * then a translation, never a loop. */
	put64(0x10000 + 8 * 0x100, 0x10000 | P | W);
	reads = 0;
	assert_int_equal(guest_walk(&p, 0xFFFF804020100000ULL, 0, &gpa, &f, rd, NULL), WALK_OK);
	assert_int_equal(gpa, 0x10000);
	assert_int_equal(reads, 4);
	/* 32-bit and PAE with CR3 beyond RAM. */
	struct guest_paging p32 = {.cr0 = CR0_PG, .cr3 = 0xFFFFF000};
	assert_int_equal(walk(&p32, 0x1000, 0, NULL, NULL), WALK_NOT_RAM);
	struct guest_paging pae = {.cr0 = CR0_PG, .cr4 = CR4_PAE, .cr3 = 0xFFFFFFE0};
	assert_int_equal(walk(&pae, 0x1000, 0, NULL, NULL), WALK_NOT_RAM);
}

static int cx_fail(void *ctx, uint64_t gpa, uint64_t old, uint64_t new_val, unsigned size)
{
	(void)ctx;
	(void)gpa;
	(void)old;
	(void)new_val;
	(void)size;
	return -1;
}

static void test_ad_error(void **state)
{
	struct guest_paging p = long_mode();
	struct walk_fault f;
	uint64_t gpa;

	(void)state;
	assert_int_equal(guest_walk_ad(&p, 0xFFFFFFFF80005000ULL, 0, &gpa, &f, rd, cx_fail, NULL),
			 WALK_NOT_RAM);
}

static void test_read_virt(void **state)
{
	struct guest_paging p = long_mode();
	const uint64_t base = 0xFFFFFFFF80000000ULL;
	uint8_t buf[16];
	struct walk_fault f;
	size_t done;

	(void)state;
	/* Page 5 → 0x2345000, page 6 → 0x100000 (not contiguous). */
	put64(0x13000 + 8 * 6, 0x100000 | P | W | U);
	for (unsigned i = 0; i < 8; i++)
		mem[0x100000 + i] = (uint8_t)(0xA0 + i);
	/* 0x2345000 is beyond 8 MiB of RAM: the data read fails. */
	assert_int_equal(
	    guest_read_virt(&p, base + 0x5FF8, buf, 16, WALK_FETCH, &done, &f, rd, NULL),
	    WALK_NOT_RAM);
	assert_int_equal(done, 0);
	put64(0x13000 + 8 * 5, 0x300000 | P | W | U);
	for (unsigned i = 0; i < 8; i++)
		mem[0x300FF8 + i] = (uint8_t)(0x10 + i);
	assert_int_equal(
	    guest_read_virt(&p, base + 0x5FF8, buf, 16, WALK_FETCH, &done, &f, rd, NULL), WALK_OK);
	assert_int_equal(done, 16);
	assert_int_equal(buf[7], 0x17);
	assert_int_equal(buf[8], 0xA0);
	assert_int_equal(buf[15], 0xA7);
	/* Second page not present: the bytes before it, and its fault. */
	put64(0x13000 + 8 * 6, 0);
	assert_int_equal(
	    guest_read_virt(&p, base + 0x5FF8, buf, 15, WALK_FETCH, &done, &f, rd, NULL),
	    WALK_PAGE_FAULT);
	assert_int_equal(done, 8);
	assert_int_equal(f.addr, base + 0x6000);
	assert_int_equal(f.error_code, PF_ERR_I);
	/* Paging off: physical = linear, truncated to 32 bits. */
	struct guest_paging off = {0};
	mem[0x7FFFFE] = 3;
	assert_int_equal(guest_read_virt(&off, 0xF00000007FFFFEULL, buf, 2, 0, &done, &f, rd, NULL),
			 WALK_OK);
	assert_int_equal(buf[0], 3);
	assert_int_equal(guest_read_virt(&off, 0x7FFFFE, buf, 3, 0, &done, &f, rd, NULL),
			 WALK_NOT_RAM);
	assert_int_equal(done, 2);
}

/* Random page tables and control registers: the walker returns a valid code,
 * reads at most four entries, and a translation keeps the page offset. */
static void test_random(void **state)
{
	uint64_t x = 0xC0FFEE1234567ULL;
	unsigned long n_ok = 0, n_pf = 0, n_other = 0;

	(void)state;
	/* Fill the first 2 MiB with entries that point back into it, with
	 * random flag bits. */
	for (uint64_t a = 0; a < (2u << 20); a += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint64_t e = (x & 0x1FF000) | (x & 0x8000000000000FFFULL);

		if ((x >> 40) % 16 == 0)
			e |= x & 0x7FF0000000000000ULL; /* sometimes garbage high bits */
		if ((x >> 48) % 8)
			e |= P; /* mostly present, so that walks go deep */
		if ((x >> 44) % 32 == 0)
			e = x; /* sometimes anything */
		put64(a, e);
	}
	for (unsigned i = 0; i < 300000; i++) {
		struct guest_paging p = {0};
		struct walk_fault f;
		uint64_t gpa, gva;
		unsigned access;
		int r;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p.cr0 = CR0_PG | ((x & 1) ? CR0_WP : 0);
		p.cr4 = ((x >> 1) & 1 ? CR4_PAE : 0) | ((x >> 2) & 1 ? CR4_PSE : 0) |
			((x >> 3) & 1 ? CR4_SMEP : 0) | ((x >> 4) & 1 ? CR4_SMAP : 0) |
			((x >> 5) & 1 ? CR4_PKE : 0);
		p.efer = ((x >> 6) & 1 ? EFER_LMA : 0) | ((x >> 7) & 1 ? EFER_NXE : 0);
		p.cr3 = (x >> 8) & 0x1FFFFF;
		p.maxphyaddr = (uint8_t)((x >> 30) % 64);
		p.gbpages = (x >> 37) & 1;
		p.pkru = (uint32_t)(x >> 11);
		access = (unsigned)(x >> 50) & 15;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		gva = (x & 1) ? x : (uint64_t)((int64_t)(x << 16) >> 16);
		reads = 0;
		r = guest_walk_ad(&p, gva, access, &gpa, &f, rd, (i & 1) ? cx : NULL, NULL);
		assert_true(reads <= 4 * 8);
		if (r == WALK_OK) {
			n_ok++;
			assert_int_equal(gpa & 0xFFF, gva & 0xFFF);
		} else if (r == WALK_PAGE_FAULT) {
			n_pf++;
			assert_true(f.error_code < 64);
		} else {
			n_other++;
			assert_true(r == WALK_NONCANONICAL || r == WALK_NOT_RAM || r == WALK_RACE);
		}
	}
	printf("random walks: %lu translated, %lu page faults, %lu other\n", n_ok, n_pf, n_other);
	assert_true(n_ok > 1000 && n_pf > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_paging_off, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_32bit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pae, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_ad, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_tables, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ad_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_virt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_random, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
