/* The MSRs a guest may use (docs/cpu-model.md). Everything not listed here
 * raises #GP in the guest, as an MSR the CPU does not have would. MSRs the
 * backend swaps by itself (syscall, FS/GS bases) never reach this file. */
#include <arch/x86.h>
#include <keel/apic.h>
#include <keel/backend.h>
#include <keel/exit.h>
#include <keel/pvclock.h>

#define MSR_TSC 0x10
#define MSR_PLATFORM_ID 0x17
#define MSR_BIOS_SIGN_ID 0x8b
#define MSR_MTRRCAP 0xfe
#define MSR_MISC_ENABLE 0x1a0
#define MSR_AMD_INT_PENDING 0xc0010055 /* SMI/C1E on interrupt pending */
#define EFER_ALLOWED (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)

static bool pat_valid(uint64_t pat)
{
	for (int i = 0; i < 8; i++) {
		uint8_t t = (uint8_t)(pat >> (8 * i));
		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

int msr_guest_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	struct vcpu_sregs s;

	switch (msr) {
	case MSR_TSC:
		*val = rdtsc();
		return 0;
	case MSR_EFER:
	case MSR_PAT:
		backend->get_sregs(v, &s);
		*val = msr == MSR_EFER ? s.efer : s.pat;
		return 0;
	case MSR_APIC_BASE:
	case MSR_TSC_DEADLINE:
		return apic_msr_read(v, msr, val);
	case MSR_PLATFORM_ID:
	case MSR_BIOS_SIGN_ID:
	case MSR_MTRRCAP:
		*val = 0;
		return 0;
	case MSR_MISC_ENABLE:
		*val = 1; /* fast strings */
		return 0;
	case PVCLOCK_MSR_WALL_CLOCK:
	case PVCLOCK_MSR_SYSTEM_TIME:
		*val = pvclock_msr_read(v, msr);
		return 0;
	case MSR_TSC_AUX:
		*val = v->tsc_aux;
		return 0;
	case MSR_AMD_INT_PENDING:
		*val = 0; /* no C1E or SMI on pending interrupts */
		return 0;
	default:
		if (msr >= 0x800 && msr <= 0x8FF)
			return apic_msr_read(v, msr, val);
		return -1;
	}
}

int msr_guest_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	struct vcpu_sregs s;

	switch (msr) {
	case MSR_EFER:
		if (val & ~EFER_ALLOWED)
			return -1;
		backend->get_sregs(v, &s);
		/* LMA is the CPU's to set; keep the current value. */
		s.efer = (val & ~EFER_LMA) | (s.efer & EFER_LMA);
		backend->set_sregs(v, &s);
		return 0;
	case MSR_PAT:
		if (!pat_valid(val))
			return -1;
		backend->get_sregs(v, &s);
		s.pat = val;
		backend->set_sregs(v, &s);
		return 0;
	case MSR_APIC_BASE:
	case MSR_TSC_DEADLINE:
		return apic_msr_write(v, msr, val);
	case MSR_TSC_AUX:
		/* RDTSCP returns it: it is switched with the vCPU, and loaded now. */
		if (val >> 32)
			return -1;
		v->tsc_aux = val;
		wrmsr(MSR_TSC_AUX, val);
		return 0;
	case MSR_BIOS_SIGN_ID: /* microcode revision probe: accepted, no effect */
	case MSR_MISC_ENABLE:
		return 0;
	case PVCLOCK_MSR_WALL_CLOCK:
	case PVCLOCK_MSR_SYSTEM_TIME:
		return pvclock_msr_write(v, msr, val);
	default:
		if (msr >= 0x800 && msr <= 0x8FF)
			return apic_msr_write(v, msr, val);
		return -1;
	}
}
