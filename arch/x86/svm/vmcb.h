/* The AMD-V virtual machine control block (AMD APM vol. 2, appendix B).
 * Private to arch/x86/svm. Offsets are checked at compile time. */
#ifndef SVM_VMCB_H
#define SVM_VMCB_H

#include <stddef.h>
#include <stdint.h>

struct vmcb_seg {
	uint16_t sel, attr;
	uint32_t limit;
	uint64_t base;
} __attribute__((packed));

struct vmcb {
	/* control area */
	uint32_t icpt_cr, icpt_dr, icpt_exc, icpt_misc1, icpt_misc2, icpt_misc3;
	uint8_t res0[0x3c - 0x18];
	uint16_t pause_thresh, pause_count;
	uint64_t iopm_pa, msrpm_pa, tsc_offset;
	uint32_t asid;
	uint8_t tlb_control, res1[3];
	uint32_t int_ctl, int_vector;
	uint32_t int_state, res2;
	uint64_t exit_code, exit_info1, exit_info2;
	uint64_t exit_int_info;
	uint64_t np_ctl, avic_bar, ghcb_pa;
	uint64_t event_inj;
	uint64_t n_cr3, virt_ext;
	uint32_t clean, res3;
	uint64_t next_rip;
	uint8_t insn_len, insn_bytes[15];
	uint8_t res4[0x400 - 0xe0];
	/* state save area */
	struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr;
	uint8_t res5[0x4cb - 0x4a0];
	uint8_t cpl;
	uint32_t res6;
	uint64_t efer;
	uint8_t res7[0x548 - 0x4d8];
	uint64_t cr4, cr3, cr0, dr7, dr6, rflags, rip;
	uint8_t res8[0x5d8 - 0x580];
	uint64_t rsp, s_cet, ssp, isst_addr, rax;
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip, cr2;
	uint8_t res9[0x668 - 0x648];
	uint64_t g_pat;
	uint8_t res10[0x1000 - 0x670];
} __attribute__((packed));

_Static_assert(offsetof(struct vmcb, pause_thresh) == 0x3c, "vmcb layout");
_Static_assert(offsetof(struct vmcb, asid) == 0x58, "vmcb layout");
_Static_assert(offsetof(struct vmcb, int_ctl) == 0x60, "vmcb layout");
_Static_assert(offsetof(struct vmcb, exit_code) == 0x70, "vmcb layout");
_Static_assert(offsetof(struct vmcb, exit_int_info) == 0x88, "vmcb layout");
_Static_assert(offsetof(struct vmcb, event_inj) == 0xa8, "vmcb layout");
_Static_assert(offsetof(struct vmcb, n_cr3) == 0xb0, "vmcb layout");
_Static_assert(offsetof(struct vmcb, next_rip) == 0xc8, "vmcb layout");
_Static_assert(offsetof(struct vmcb, es) == 0x400, "vmcb layout");
_Static_assert(offsetof(struct vmcb, cpl) == 0x4cb, "vmcb layout");
_Static_assert(offsetof(struct vmcb, efer) == 0x4d0, "vmcb layout");
_Static_assert(offsetof(struct vmcb, cr4) == 0x548, "vmcb layout");
_Static_assert(offsetof(struct vmcb, rip) == 0x578, "vmcb layout");
_Static_assert(offsetof(struct vmcb, rsp) == 0x5d8, "vmcb layout");
_Static_assert(offsetof(struct vmcb, rax) == 0x5f8, "vmcb layout");
_Static_assert(offsetof(struct vmcb, cr2) == 0x640, "vmcb layout");
_Static_assert(offsetof(struct vmcb, g_pat) == 0x668, "vmcb layout");
_Static_assert(sizeof(struct vmcb) == 0x1000, "vmcb size");

/* icpt_misc1 */
#define ICPT_INTR (1u << 0)
#define ICPT_NMI (1u << 1)
#define ICPT_SMI (1u << 2)
#define ICPT_INIT (1u << 3)
#define ICPT_VINTR (1u << 4)
#define ICPT_IRET (1u << 20)
#define ICPT_CPUID (1u << 18)
#define ICPT_INVD (1u << 22)
#define ICPT_HLT (1u << 24)
#define ICPT_INVLPGA (1u << 26)
#define ICPT_IOIO (1u << 27)
#define ICPT_MSR (1u << 28)
#define ICPT_TASKSW (1u << 29)
#define ICPT_SHUTDOWN (1u << 31)
/* icpt_misc2 */
#define ICPT_VMRUN (1u << 0)
#define ICPT_VMMCALL (1u << 1)
#define ICPT_VMLOAD (1u << 2)
#define ICPT_VMSAVE (1u << 3)
#define ICPT_STGI (1u << 4)
#define ICPT_CLGI (1u << 5)
#define ICPT_SKINIT (1u << 6)
#define ICPT_MONITOR (1u << 10)
#define ICPT_MWAIT (1u << 11)
#define ICPT_XSETBV (1u << 13)

#define INT_CTL_V_IRQ (1u << 8)
#define INT_CTL_V_INTR_PRIO (0xFu << 16)
#define INT_CTL_V_IGN_TPR (1u << 20)
#define INT_CTL_V_INTR_MASKING (1u << 24)
#define INT_STATE_SHADOW 1u
#define TLB_FLUSH_NONE 0
#define TLB_FLUSH_ALL 1
#define NP_ENABLE 1ULL

#define EVENT_VALID (1ULL << 31)
#define EVENT_ERR_VALID (1ULL << 11)
#define EVENT_TYPE_EXCEPTION (3ULL << 8)
#define EVENT_TYPE_INTR (0ULL << 8)
#define EVENT_TYPE_NMI (2ULL << 8)
#define EVENT_TYPE_SOFT_INT (4ULL << 8)
#define EVENT_TYPE_MASK (7ULL << 8)

#define SVM_EXIT_INTR 0x60
#define SVM_EXIT_NMI 0x61
#define SVM_EXIT_SMI 0x62
#define SVM_EXIT_INIT 0x63
#define SVM_EXIT_VINTR 0x64
#define SVM_EXIT_CPUID 0x72
#define SVM_EXIT_IRET 0x74
#define SVM_EXIT_INVD 0x76
#define SVM_EXIT_HLT 0x78
#define SVM_EXIT_INVLPGA 0x7a
#define SVM_EXIT_IOIO 0x7b
#define SVM_EXIT_MSR 0x7c
#define SVM_EXIT_TASKSW 0x7d
#define SVM_EXIT_SHUTDOWN 0x7f
#define SVM_EXIT_VMRUN 0x80
#define SVM_EXIT_VMMCALL 0x81
#define SVM_EXIT_VMLOAD 0x82
#define SVM_EXIT_VMSAVE 0x83
#define SVM_EXIT_STGI 0x84
#define SVM_EXIT_CLGI 0x85
#define SVM_EXIT_SKINIT 0x86
#define SVM_EXIT_MONITOR 0x8a
#define SVM_EXIT_MWAIT 0x8b
#define SVM_EXIT_XSETBV 0x8d
#define SVM_EXIT_NPF 0x400
#define SVM_EXIT_INVALID ((uint64_t)-1)

/* arch/x86/svm/svm_entry.S: run the guest once; returns after #VMEXIT with
 * the host's FS/GS/TR/... reloaded and physical interrupts taken. */
struct vcpu_regs;
void svm_enter(uint64_t vmcb_pa, struct vcpu_regs *regs, uint64_t host_save_pa);

#endif
