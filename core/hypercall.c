/* Hypercalls a guest may make. Unknown numbers return -ENOSYS. */
#include <keel/hypercall.h>

int64_t hypercall(struct vcpu *v, uint64_t nr, uint64_t a0, uint64_t a1)
{
	(void)a1;
	switch (nr) {
	case HC_VERSION:
		return KEEL_HC_ABI_VERSION;
	case HC_EXIT:
		v->vm->exit_status = (int)(uint32_t)a0;
		vm_stop(v->vm, "exited with status %u (hypercall)", (uint32_t)a0);
		return 0;
	default:
		return HC_ENOSYS;
	}
}
