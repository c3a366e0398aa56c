/* A vCPU's view of memory, for exits that must read the guest through its
 * own page tables (MMIO emulation, string port I/O): its control registers
 * and privilege, walks, instruction fetch, and reflecting a page fault. */
#ifndef KEEL_VCPU_VIEW_H
#define KEEL_VCPU_VIEW_H

#include <keel/guest_walk.h>
#include <keel/vm.h>

struct vcpu_view {
	struct vcpu *v;
	struct vcpu_sregs s;
	struct guest_paging paging;
	bool user; /* CPL 3 */
	bool long_mode; /* 64-bit code segment */
};

void vcpu_view_init(struct vcpu_view *w, struct vcpu *v);
/* Linear -> guest-physical for an access of kind ACCESS (WALK_WRITE,
 * WALK_FETCH; the CPL is added here): a WALK_* result. */
int vcpu_view_walk(const struct vcpu_view *w, uint64_t la, unsigned access, uint64_t *gpa,
		   struct walk_fault *fault);
/* The same for a read the CPU makes on its own at any CPL (descriptor
 * tables: IDT, GDT, TSS): supervisor, SMAP does not apply. */
int vcpu_view_walk_system(const struct vcpu_view *w, uint64_t la, uint64_t *gpa,
			  struct walk_fault *fault);
/* Up to 15 instruction bytes at CS:RIP; *GOT says how many were read. */
int vcpu_view_fetch(const struct vcpu_view *w, uint8_t insn[15], size_t *got,
		    struct walk_fault *fault);
/* Give the guest the #PF the CPU would have raised, CR2 included. */
void vcpu_inject_page_fault(struct vcpu *v, const struct walk_fault *fault);

#endif
