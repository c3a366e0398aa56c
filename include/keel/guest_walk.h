/* Guest page-table walker: guest-linear to guest-physical in every x86 paging
 * mode, with the checks that decide a #PF error code. Pure logic: it reads and
 * updates guest memory only through callbacks, and it injects nothing (the
 * caller turns a fault description into a #PF). See docs/emulator.md. */
#ifndef KEEL_GUEST_WALK_H
#define KEEL_GUEST_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Kinds of access (bits of `access`). */
#define WALK_WRITE (1u << 0)
#define WALK_USER (1u << 1) /* made at CPL 3 */
#define WALK_FETCH (1u << 2) /* instruction fetch */
#define WALK_IMPLICIT (1u << 3) /* implicit supervisor access: SMAP ignores EFLAGS.AC */

/* #PF error code bits. */
#define PF_ERR_P (1u << 0) /* 0: not present; 1: protection or reserved bit */
#define PF_ERR_W (1u << 1)
#define PF_ERR_U (1u << 2)
#define PF_ERR_RSVD (1u << 3)
#define PF_ERR_I (1u << 4)
#define PF_ERR_PK (1u << 5)

struct walk_fault {
	uint64_t addr; /* what CR2 gets: the linear address of the access */
	uint32_t error_code;
};

/* Reads LEN bytes of guest-physical memory (page-table entries, little-endian,
 * or instruction bytes). Returns 0, or nonzero when [gpa, gpa + len) is not
 * guest RAM. */
typedef int (*read_phys_fn)(void *ctx, uint64_t gpa, void *buf, size_t len);

/* Atomically replaces the SIZE-byte (4 or 8) entry at GPA by NEW if it still
 * holds OLD (a locked cmpxchg, as the CPU's own A/D updates are). Returns 0
 * when replaced, 1 when the entry had changed (nothing written), negative when
 * GPA is not guest RAM. */
typedef int (*cmpxchg_phys_fn)(void *ctx, uint64_t gpa, uint64_t old, uint64_t new_val,
			       unsigned size);

/* The vCPU state that decides a translation. */
struct guest_paging {
	uint64_t cr0, cr3, cr4, efer;
	uint64_t rflags; /* AC, for SMAP */
	uint32_t pkru; /* protection keys for user pages (CR4.PKE); 0 if unused */
	uint8_t maxphyaddr; /* guest MAXPHYADDR (CPUID 0x80000008); 0 means 52 */
	bool gbpages; /* 1 GiB pages exist (CPUID 0x80000001 EDX[26]) */
	/* PAE paging only: the four PDPTEs the CPU loaded at the last MOV CR3 (VMX
	 * keeps them in the VMCS), or NULL to read them from memory at CR3. */
	const uint64_t *pdpte;
};

enum walk_result {
	WALK_OK = 0,
	WALK_PAGE_FAULT = 1, /* *fault says what to inject */
	WALK_NONCANONICAL = 2, /* 4-level paging, address not canonical: #GP/#SS */
	WALK_NOT_RAM = -1, /* a paging structure (guest_read_virt: the data) is not RAM */
	WALK_UNSUPPORTED = -2, /* 5-level paging (CR4.LA57) */
	WALK_RACE = -3, /* guest_walk_ad: the guest kept rewriting the entries it walked */
};

/* Translates GVA for ACCESS. Reads paging structures with READ only and
 * leaves accessed/dirty bits alone. */
int guest_walk(const struct guest_paging *p, uint64_t gva, unsigned access, uint64_t *gpa,
	       struct walk_fault *fault, read_phys_fn read, void *ctx);

/* The same, and on success sets accessed bits in every entry used and the dirty
 * bit of the final entry on a write, through CMPXCHG, as the CPU does. If an
 * entry changed under the walk it starts again (a bounded number of times). */
int guest_walk_ad(const struct guest_paging *p, uint64_t gva, unsigned access, uint64_t *gpa,
		  struct walk_fault *fault, read_phys_fn read, cmpxchg_phys_fn cmpxchg, void *ctx);

/* Copies LEN bytes from guest-linear GVA, page by page, through guest_walk
 * (e.g. to fetch an instruction: ACCESS = WALK_FETCH | WALK_USER at CPL 3).
 * *done gets the number of bytes copied before a fault or error. */
int guest_read_virt(const struct guest_paging *p, uint64_t gva, void *buf, size_t len,
		    unsigned access, size_t *done, struct walk_fault *fault, read_phys_fn read,
		    void *ctx);

#endif
