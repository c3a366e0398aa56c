/* Intel VT-x: VMCS field encodings, control bits, exit reasons and the
 * capability MSRs (Intel SDM vol. 3, chapters 24-28 and appendices A-C).
 * Private to arch/x86/vmx, like vmcb.h is to arch/x86/svm. */
#ifndef VMX_VMCS_H
#define VMX_VMCS_H

#include <stdbool.h>
#include <stdint.h>

/* Capability and control MSRs */
#define MSR_FEATURE_CONTROL 0x3a
#define FEATURE_CONTROL_LOCK (1ULL << 0)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX (1ULL << 2)
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_VMX_BASIC 0x480
#define MSR_VMX_PINBASED_CTLS 0x481
#define MSR_VMX_PROCBASED_CTLS 0x482
#define MSR_VMX_EXIT_CTLS 0x483
#define MSR_VMX_ENTRY_CTLS 0x484
#define MSR_VMX_MISC 0x485
#define MSR_VMX_CR0_FIXED0 0x486
#define MSR_VMX_CR0_FIXED1 0x487
#define MSR_VMX_CR4_FIXED0 0x488
#define MSR_VMX_CR4_FIXED1 0x489
#define MSR_VMX_PROCBASED_CTLS2 0x48b
#define MSR_VMX_EPT_VPID_CAP 0x48c
#define MSR_VMX_TRUE_PINBASED_CTLS 0x48d
#define MSR_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_VMX_TRUE_EXIT_CTLS 0x48f
#define MSR_VMX_TRUE_ENTRY_CTLS 0x490

#define VMX_BASIC_REVISION(b) ((uint32_t)(b)&0x7fffffff)
#define VMX_BASIC_SIZE(b) ((unsigned)((b) >> 32) & 0x1fff)
#define VMX_BASIC_32BIT_PA (1ULL << 48)
#define VMX_BASIC_MEMTYPE(b) ((unsigned)((b) >> 50) & 0xf)
#define VMX_BASIC_TRUE_CTLS (1ULL << 55)
#define VMX_MISC_PREEMPT_RATE(m) ((unsigned)(m)&0x1f) /* timer = TSC >> rate */

#define EPT_CAP_WALK4 (1ULL << 6)
#define EPT_CAP_WB (1ULL << 14)
#define EPT_CAP_2M (1ULL << 16)
#define EPT_CAP_INVEPT (1ULL << 20)
#define EPT_CAP_INVEPT_SINGLE (1ULL << 25)
#define EPT_CAP_INVEPT_ALL (1ULL << 26)
#define VPID_CAP_INVVPID (1ULL << 32)
#define VPID_CAP_INVVPID_SINGLE (1ULL << 41)
#define VPID_CAP_INVVPID_ALL (1ULL << 42)

/* Pin-based controls */
#define PIN_EXTINT_EXITING (1u << 0)
#define PIN_NMI_EXITING (1u << 3)
#define PIN_VIRTUAL_NMIS (1u << 5)
#define PIN_PREEMPT_TIMER (1u << 6)
/* Primary processor-based controls */
#define PROC_INTR_WINDOW_EXITING (1u << 2)
#define PROC_HLT_EXITING (1u << 7)
#define PROC_NMI_WINDOW_EXITING (1u << 22)
#define PROC_INVLPG_EXITING (1u << 9)
#define PROC_MWAIT_EXITING (1u << 10)
#define PROC_RDPMC_EXITING (1u << 11)
#define PROC_RDTSC_EXITING (1u << 12)
#define PROC_CR3_LOAD_EXITING (1u << 15)
#define PROC_CR3_STORE_EXITING (1u << 16)
#define PROC_CR8_LOAD_EXITING (1u << 19)
#define PROC_CR8_STORE_EXITING (1u << 20)
#define PROC_MOV_DR_EXITING (1u << 23)
#define PROC_UNCOND_IO_EXITING (1u << 24)
#define PROC_USE_IO_BITMAPS (1u << 25)
#define PROC_USE_MSR_BITMAPS (1u << 28)
#define PROC_MONITOR_EXITING (1u << 29)
#define PROC_SECONDARY (1u << 31)
/* Secondary processor-based controls */
#define PROC2_EPT (1u << 1)
#define PROC2_RDTSCP (1u << 3)
#define PROC2_VPID (1u << 5)
#define PROC2_UNRESTRICTED (1u << 7)
#define PROC2_INVPCID (1u << 12)
#define PROC2_XSAVES (1u << 20)
/* VM-exit controls */
#define EXIT_SAVE_DEBUG (1u << 2)
#define EXIT_HOST_64 (1u << 9)
#define EXIT_ACK_INTR (1u << 15)
#define EXIT_SAVE_PAT (1u << 18)
#define EXIT_LOAD_PAT (1u << 19)
#define EXIT_SAVE_EFER (1u << 20)
#define EXIT_LOAD_EFER (1u << 21)
/* VM-entry controls */
#define ENTRY_LOAD_DEBUG (1u << 2)
#define ENTRY_IA32E (1u << 9)
#define ENTRY_LOAD_PAT (1u << 14)
#define ENTRY_LOAD_EFER (1u << 15)

/* 16-bit fields */
#define VMCS_VPID 0x0000
#define GUEST_ES_SEL 0x0800 /* ES, CS, SS, DS, FS, GS, LDTR, TR: +2 each */
#define HOST_ES_SEL 0x0c00
#define HOST_CS_SEL 0x0c02
#define HOST_SS_SEL 0x0c04
#define HOST_DS_SEL 0x0c06
#define HOST_FS_SEL 0x0c08
#define HOST_GS_SEL 0x0c0a
#define HOST_TR_SEL 0x0c0c
/* 64-bit fields */
#define VMCS_MSR_BITMAP 0x2004
#define VMCS_EXIT_MSR_STORE_ADDR 0x2006
#define VMCS_EXIT_MSR_LOAD_ADDR 0x2008
#define VMCS_ENTRY_MSR_LOAD_ADDR 0x200a
#define VMCS_EPT_POINTER 0x201a
#define VMCS_XSS_EXIT_BITMAP 0x202c
#define VMCS_GUEST_PHYS_ADDR 0x2400
#define GUEST_VMCS_LINK 0x2800
#define GUEST_DEBUGCTL 0x2802
#define GUEST_PAT 0x2804
#define GUEST_EFER 0x2806
#define GUEST_PDPTE0 0x280a /* PDPTE0..3: +2 each */
#define HOST_PAT 0x2c00
#define HOST_EFER 0x2c02
/* 32-bit fields */
#define VMCS_PIN_CTLS 0x4000
#define VMCS_PROC_CTLS 0x4002
#define VMCS_EXCEPTION_BITMAP 0x4004
#define VMCS_CR3_TARGET_COUNT 0x400a
#define VMCS_EXIT_CTLS 0x400c
#define VMCS_EXIT_MSR_STORE_COUNT 0x400e
#define VMCS_EXIT_MSR_LOAD_COUNT 0x4010
#define VMCS_ENTRY_CTLS 0x4012
#define VMCS_ENTRY_MSR_LOAD_COUNT 0x4014
#define VMCS_ENTRY_INTR_INFO 0x4016
#define VMCS_ENTRY_EXC_ERROR 0x4018
#define VMCS_ENTRY_INSN_LEN 0x401a
#define VMCS_PROC_CTLS2 0x401e
#define VMCS_INSN_ERROR 0x4400
#define VMCS_EXIT_REASON 0x4402
#define VMCS_EXIT_INTR_INFO 0x4404
#define VMCS_IDT_VECTORING_INFO 0x4408
#define VMCS_IDT_VECTORING_ERROR 0x440a
#define VMCS_EXIT_INSN_LEN 0x440c
#define GUEST_ES_LIMIT 0x4800 /* ES, CS, SS, DS, FS, GS, LDTR, TR, GDTR, IDTR */
#define GUEST_ES_AR 0x4814 /* ES, CS, SS, DS, FS, GS, LDTR, TR */
#define GUEST_INTERRUPTIBILITY 0x4824
#define GUEST_ACTIVITY 0x4826
#define GUEST_SYSENTER_CS 0x482a
#define GUEST_PREEMPT_TIMER 0x482e
#define HOST_SYSENTER_CS 0x4c00
/* Natural-width fields */
#define VMCS_CR0_MASK 0x6000
#define VMCS_CR4_MASK 0x6002
#define VMCS_CR0_SHADOW 0x6004
#define VMCS_CR4_SHADOW 0x6006
#define VMCS_EXIT_QUAL 0x6400
#define GUEST_CR0 0x6800
#define GUEST_CR3 0x6802
#define GUEST_CR4 0x6804
#define GUEST_ES_BASE 0x6806 /* ES, CS, SS, DS, FS, GS, LDTR, TR, GDTR, IDTR */
#define GUEST_DR7 0x681a
#define GUEST_RSP 0x681c
#define GUEST_RIP 0x681e
#define GUEST_RFLAGS 0x6820
#define GUEST_PENDING_DBG 0x6822
#define GUEST_SYSENTER_ESP 0x6824
#define GUEST_SYSENTER_EIP 0x6826
#define HOST_CR0 0x6c00
#define HOST_CR3 0x6c02
#define HOST_CR4 0x6c04
#define HOST_FS_BASE 0x6c06
#define HOST_GS_BASE 0x6c08
#define HOST_TR_BASE 0x6c0a
#define HOST_GDTR_BASE 0x6c0c
#define HOST_IDTR_BASE 0x6c0e
#define HOST_SYSENTER_ESP 0x6c10
#define HOST_SYSENTER_EIP 0x6c12
#define HOST_RSP 0x6c14
#define HOST_RIP 0x6c16

/* Segment order of the guest-state fields; each group is 2 encodings apart. */
enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR, SEG_GDTR, SEG_IDTR };

/* Access rights: bits 7:0 as the descriptor's bits 40..47, 15:12 as 52..55. */
#define AR_UNUSABLE (1u << 16)

/* Interruption information (VM-entry, VM-exit, IDT-vectoring) */
#define INTR_INFO_VALID (1u << 31)
#define INTR_INFO_ERROR_VALID (1u << 11)
#define INTR_TYPE_SHIFT 8
#define INTR_TYPE_MASK (7u << 8)
#define INTR_TYPE_EXT_INTR (0u << 8)
#define INTR_TYPE_NMI (2u << 8)
#define INTR_TYPE_HW_EXCEPTION (3u << 8)
#define INTR_TYPE_SW_INTR (4u << 8)
#define INTR_TYPE_PRIV_SW_EXCEPTION (5u << 8)
#define INTR_TYPE_SW_EXCEPTION (6u << 8)

#define INTERRUPTIBILITY_STI (1u << 0)
#define INTERRUPTIBILITY_MOV_SS (1u << 1)
#define INTERRUPTIBILITY_NMI (1u << 3)

/* Basic exit reasons */
#define EXIT_REASON_EXCEPTION_NMI 0
#define EXIT_REASON_EXTINT 1
#define EXIT_REASON_TRIPLE_FAULT 2
#define EXIT_REASON_INIT 3
#define EXIT_REASON_SIPI 4
#define EXIT_REASON_INTR_WINDOW 7
#define EXIT_REASON_NMI_WINDOW 8
#define EXIT_REASON_TASK_SWITCH 9
#define EXIT_REASON_CPUID 10
#define EXIT_REASON_GETSEC 11
#define EXIT_REASON_HLT 12
#define EXIT_REASON_INVD 13
#define EXIT_REASON_VMCALL 18
#define EXIT_REASON_VMCLEAR 19 /* .. 27 VMXON: every VMX instruction */
#define EXIT_REASON_VMXON 27
#define EXIT_REASON_CR_ACCESS 28
#define EXIT_REASON_IO 30
#define EXIT_REASON_RDMSR 31
#define EXIT_REASON_WRMSR 32
#define EXIT_REASON_INVALID_STATE 33
#define EXIT_REASON_MSR_LOADING 34
#define EXIT_REASON_MWAIT 36
#define EXIT_REASON_MONITOR 39
#define EXIT_REASON_MCE_ENTRY 41
#define EXIT_REASON_EPT_VIOLATION 48
#define EXIT_REASON_EPT_MISCONFIG 49
#define EXIT_REASON_INVEPT 50
#define EXIT_REASON_PREEMPT_TIMER 52
#define EXIT_REASON_INVVPID 53
#define EXIT_REASON_XSETBV 55
#define EXIT_REASON_VMFUNC 59
#define EXIT_REASON_FAILED_ENTRY (1u << 31)

/* EPT entries: read, write, execute; leaves add the memory type (WB). */
#define EPT_RWX 0x7ULL
#define EPT_MEMTYPE_WB (6ULL << 3)
#define EPT_LARGE (1ULL << 7)
#define EPTP_WALK4 (3ULL << 3)
#define EPTP_WB 6ULL

/* One entry of a VM-entry/exit MSR area. */
struct vmx_msr_entry {
	uint32_t index, reserved;
	uint64_t value;
};

/* Instruction wrappers. VMREAD/VMWRITE of a field this CPU lacks fails
 * silently; the setup code checks with vmwrite_ok(). */
static inline uint64_t vmread(uint64_t field)
{
	uint64_t v;
	asm volatile("vmread %1, %0" : "=r"(v) : "r"(field) : "cc");
	return v;
}

static inline void vmwrite(uint64_t field, uint64_t v)
{
	asm volatile("vmwrite %1, %0" : : "r"(field), "r"(v) : "cc");
}

static inline bool vmwrite_ok(uint64_t field, uint64_t v)
{
	bool fail;
	asm volatile("vmwrite %2, %1; setna %0" : "=qm"(fail) : "r"(field), "r"(v) : "cc");
	return !fail;
}

/* VMXON, VMCLEAR, VMPTRLD take the physical address in memory; true on success. */
#define VMX_PA_INSN(name, insn)                                                              \
	static inline bool name(uint64_t pa)                                                 \
	{                                                                                    \
		bool fail;                                                                   \
		asm volatile(insn " %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory"); \
		return !fail;                                                                \
	}
VMX_PA_INSN(vmxon, "vmxon")
VMX_PA_INSN(vmclear, "vmclear")
VMX_PA_INSN(vmptrld, "vmptrld")
#undef VMX_PA_INSN

static inline void invept(uint64_t type, uint64_t eptp)
{
	struct {
		uint64_t eptp, zero;
	} desc = {eptp, 0};
	asm volatile("invept %0, %1" : : "m"(desc), "r"(type) : "cc", "memory");
}

static inline void invvpid(uint64_t type, uint16_t vpid)
{
	struct {
		uint64_t vpid, addr;
	} desc = {vpid, 0};
	asm volatile("invvpid %0, %1" : : "m"(desc), "r"(type) : "cc", "memory");
}
#define INVEPT_SINGLE 1
#define INVEPT_ALL 2
#define INVVPID_SINGLE 1
#define INVVPID_ALL 2

/* Control computation (vmx_caps.c). CAP is a capability MSR value: the low
 * 32 bits are the allowed-0 settings (1 = must be 1), the high 32 bits the
 * allowed-1 settings (0 = must be 0). The result has every bit in WANT that
 * the CPU allows, plus every bit it requires; *MISSING gets the bits of
 * NEED (a subset of WANT) the CPU cannot set. */
uint32_t vmx_adjust_ctls(uint64_t cap, uint32_t want, uint32_t need, uint32_t *missing);

/* arch/x86/vmx/vmx_entry.S: load the guest's general registers and enter it
 * (VMRESUME if LAUNCHED, else VMLAUNCH); after the VM exit, save them back.
 * Returns 0 after a VM exit, 1 on VMfailInvalid, 2 on VMfailValid (the
 * VM-instruction error field says why). */
struct vcpu_regs;
int vmx_enter(struct vcpu_regs *regs, int launched);
extern char vmx_exit_entry[];

#endif
