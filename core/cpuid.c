/* The CPU a guest sees (docs/cpu-model.md): the host CPU's identity and
 * instruction-set features, snapshot once at boot so every vCPU of every VM
 * sees the same answers wherever it runs, minus what Keel does not virtualize
 * (SVM/VMX, monitoring and power features), plus the virtual local APIC
 * (x2APIC, TSC-deadline timer) and a hypervisor leaf range. */
#include <arch/fpu.h>
#include <arch/x86.h>
#include <keel/backend.h>
#include <keel/exit.h>
#include <keel/pvclock.h>
#include <keel/string.h>

#define BASIC_MAX 0x20
#define EXT_BASE 0x80000000u
#define EXT_MAX 0x80000009u
#define HV_BASE 0x40000000u
#define HV_LAST 0x40000001u

/* Leaf 1 */
#define L1_ECX_MONITOR (1u << 3)
#define L1_ECX_DSCPL (1u << 4)
#define L1_ECX_VMX (1u << 5)
#define L1_ECX_SMX (1u << 6)
#define L1_ECX_EST (1u << 7)
#define L1_ECX_TM2 (1u << 8)
#define L1_ECX_SDBG (1u << 11)
#define L1_ECX_PDCM (1u << 15)
#define L1_ECX_X2APIC (1u << 21)
#define L1_ECX_TSC_DEADLINE (1u << 24)
#define L1_ECX_OSXSAVE (1u << 27)
#define L1_ECX_HYPERVISOR (1u << 31)
#define L1_EDX_MCE (1u << 7)
#define L1_EDX_APIC (1u << 9)
#define L1_EDX_MTRR (1u << 12)
#define L1_EDX_MCA (1u << 14)
#define L1_EDX_DS (1u << 21)
#define L1_EDX_ACPI (1u << 22)
#define L1_EDX_HTT (1u << 28)
#define L1_EDX_TM (1u << 29)
#define L1_EDX_PBE (1u << 31)
/* Leaf 0x80000001 */
#define E1_ECX_SVM (1u << 2)
#define E1_ECX_SKINIT (1u << 12)
#define E1_ECX_WDT (1u << 13)
#define E1_ECX_MONITORX (1u << 29) /* MONITORX/MWAITX: intercepted like MONITOR/MWAIT */
/* Leaf 0x80000007 */
#define E7_EDX_INVARIANT_TSC (1u << 8)

static uint32_t basic[BASIC_MAX][4];
static uint32_t ext[EXT_MAX - EXT_BASE + 1][4];
static uint32_t basic_max, ext_max;

static void host(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	cpuid(leaf, sub, &r[0], &r[1], &r[2], &r[3]);
}

void cpuid_policy_init(void)
{
	uint32_t r[4];

	host(0, 0, r);
	basic_max = r[0] < BASIC_MAX - 1 ? r[0] : BASIC_MAX - 1;
	if (basic_max > 0xD)
		basic_max = 0xD; /* leaves past 0xD describe features not virtualized */
	for (uint32_t l = 0; l <= basic_max; l++)
		host(l, 0, basic[l]);
	basic[0][0] = basic_max;
	basic[1][2] &= ~(L1_ECX_MONITOR | L1_ECX_DSCPL | L1_ECX_VMX | L1_ECX_SMX | L1_ECX_EST |
			 L1_ECX_TM2 | L1_ECX_SDBG | L1_ECX_PDCM | L1_ECX_OSXSAVE);
	/* Every vCPU has a local APIC, with x2APIC mode and the TSC-deadline
	 * timer whatever the host has (both are emulated, core/apic.c). */
	basic[1][2] |= L1_ECX_HYPERVISOR | L1_ECX_X2APIC | L1_ECX_TSC_DEADLINE;
	basic[1][3] |= L1_EDX_APIC;
	basic[1][3] &= ~(L1_EDX_MCE | L1_EDX_MTRR | L1_EDX_MCA | L1_EDX_DS | L1_EDX_ACPI |
			 L1_EDX_TM | L1_EDX_PBE | L1_EDX_HTT);
	basic[1][1] &= 0x0000FFFF; /* APIC ID and logical count are per VM/vCPU */
	if (basic_max >= 5)
		memset(basic[5], 0, sizeof(basic[5])); /* MONITOR/MWAIT */
	if (basic_max >= 6)
		memset(basic[6], 0, sizeof(basic[6])); /* thermal and power */
	if (basic_max >= 0xA)
		memset(basic[0xA], 0, sizeof(basic[0xA])); /* performance counters */
	if (basic_max >= 0xB)
		memset(basic[0xB], 0, sizeof(basic[0xB])); /* x2APIC topology */

	host(EXT_BASE, 0, r);
	ext_max = r[0] < EXT_MAX ? r[0] : EXT_MAX;
	for (uint32_t l = EXT_BASE; l <= ext_max; l++)
		host(l, 0, ext[l - EXT_BASE]);
	ext[0][0] = ext_max;
	if (ext_max >= 0x80000001)
		ext[1][2] &= ~(E1_ECX_SVM | E1_ECX_SKINIT | E1_ECX_WDT | E1_ECX_MONITORX);
	if (ext_max >= 0x80000008)
		/* AMD's speculation controls (IBPB, IBRS, STIBP, SSBD...): as leaf 7. */
		ext[8][1] &= ~((1u << 12) | (1u << 14) | (1u << 15) | (1u << 16) | (1u << 17) |
			       (1u << 18) | (1u << 19) | (1u << 24) | (1u << 25) | (1u << 26));
	if (ext_max >= 0x80000007) {
		uint32_t *e7 = ext[7];
		e7[0] = e7[1] = e7[2] = 0;
		e7[3] &= E7_EDX_INVARIANT_TSC;
	}
}

/* Leaves with subleaves, masked the same way as their subleaf 0. */
static void subleaf(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	host(leaf, sub, r);
	if (leaf == 7 && sub == 0) {
		r[1] &= ~((1u << 2) /* SGX */ | (1u << 14) /* MPX: obsolete, not switched */ |
			  (1u << 25) /* processor trace */);
		r[2] &= ~((1u << 5) /* WAITPKG */ | (1u << 16) /* LA57: Keel walks 4 levels */ |
			  (1u << 30) /* SGX launch control */);
		/* Speculation controls need their MSRs (SPEC_CTRL, PRED_CMD,
		 * ARCH_CAPABILITIES, FLUSH_CMD) switched per vCPU: not yet, so
		 * not offered. */
		r[3] &= ~((1u << 26) | (1u << 27) | (1u << 28) | (1u << 29) | (1u << 31));
	} else if (leaf == 7) {
		r[0] = r[1] = r[2] = r[3] = 0;
	}
}

/* A stored answer, copied register by register: memcpy is a call and, in
 * Keel's build, a byte loop, on the path of every CPUID exit. */
static void answer(uint32_t out[4], const uint32_t stored[4])
{
	out[0] = stored[0];
	out[1] = stored[1];
	out[2] = stored[2];
	out[3] = stored[3];
}

void cpuid_guest(struct vcpu *v, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	if (leaf <= basic_max) {
		if (leaf == 4 || leaf == 7 || leaf == 0xD) {
			/* XSAVE sizes (0xD) follow the guest's XCR0, which is loaded
			 * now: the host answer is the right one. */
			subleaf(leaf, sub, out);
			if (leaf == 0xD && sub == 0) {
				/* Only the components Keel switches between vCPUs. */
				uint64_t ok = fpu_xcr0_supported() & ~0x18ULL; /* no MPX */
				out[0] &= (uint32_t)ok;
				out[3] &= (uint32_t)(ok >> 32);
			} else if (leaf == 0xD && sub == 1) {
				out[0] &= ~(1u << 3); /* XSAVES: needs IA32_XSS, not offered */
				out[2] = out[3] = 0;
			} else if (leaf == 0xD && sub >= 2 && sub < 64 &&
				   !((fpu_xcr0_supported() & ~0x18ULL) >> sub & 1)) {
				out[0] = out[1] = out[2] = out[3] = 0;
			}
			if (leaf == 4)
				out[0] &= 0x3FFF; /* cores/threads sharing: per VM */
			if (leaf == 7 && sub == 0 && out[0] > 0)
				out[0] = 0;
		} else {
			answer(out, basic[leaf]);
		}
		if (leaf == 1) {
			out[1] |= (v->id << 24) | (v->vm->nvcpus << 16);
			if (v->vm->nvcpus > 1)
				out[3] |= L1_EDX_HTT;
			if (backend->get_cr4(v) & CR4_OSXSAVE)
				out[2] |= L1_ECX_OSXSAVE;
		}
		return;
	}
	if (leaf >= EXT_BASE && leaf <= ext_max) {
		answer(out, ext[leaf - EXT_BASE]);
		return;
	}
	if (pvclock_cpuid(leaf, out))
		return;
	if (leaf == HV_BASE) {
		out[0] = HV_LAST;
		memcpy(&out[1], "KeelKeelKeel", 12); /* EBX, ECX, EDX */
		return;
	}
	if (leaf == HV_LAST) {
		out[0] = 1; /* hypercall ABI version */
		out[1] = out[2] = out[3] = 0;
		return;
	}
	out[0] = out[1] = out[2] = out[3] = 0;
}
