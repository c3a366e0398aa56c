/* See include/keel/vcpu_view.h. Every guest-physical read here goes
 * through the VM's checked accessors. */
#include <keel/backend.h>
#include <keel/vcpu_view.h>

#define VEC_PF 14
#define EFER_LMA (1ULL << 10)
#define AR_L (1u << 9)

static int read_phys(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	return copy_from_guest(ctx, buf, gpa, len) ? -1 : 0;
}

void vcpu_view_init(struct vcpu_view *w, struct vcpu *v)
{
	w->v = v;
	backend->get_sregs(v, &w->s);
	w->paging = (struct guest_paging){
	    .cr0 = w->s.cr0,
	    .cr3 = w->s.cr3,
	    .cr4 = w->s.cr4,
	    .efer = w->s.efer,
	    .rflags = v->regs.rflags,
	};
	w->user = (w->s.ss.ar >> 5 & 3) == 3;
	w->long_mode = (w->s.efer & EFER_LMA) && (w->s.cs.ar & AR_L);
}

int vcpu_view_walk(const struct vcpu_view *w, uint64_t la, unsigned access, uint64_t *gpa,
		   struct walk_fault *fault)
{
	return guest_walk(&w->paging, la, access | (w->user ? WALK_USER : 0), gpa, fault, read_phys,
			  w->v->vm);
}

int vcpu_view_walk_system(const struct vcpu_view *w, uint64_t la, uint64_t *gpa,
			  struct walk_fault *fault)
{
	return guest_walk(&w->paging, la, WALK_IMPLICIT, gpa, fault, read_phys, w->v->vm);
}

int vcpu_view_fetch(const struct vcpu_view *w, uint8_t insn[15], size_t *got,
		    struct walk_fault *fault)
{
	*got = 0;
	return guest_read_virt(&w->paging, w->s.cs.base + w->v->regs.rip, insn, 15,
			       WALK_FETCH | (w->user ? WALK_USER : 0), got, fault, read_phys,
			       w->v->vm);
}

void vcpu_inject_page_fault(struct vcpu *v, const struct walk_fault *fault)
{
	struct vcpu_sregs s;

	backend->inject_exception(v, VEC_PF, true, fault->error_code);
	backend->get_sregs(v, &s);
	s.cr2 = fault->addr;
	backend->set_sregs(v, &s);
}
