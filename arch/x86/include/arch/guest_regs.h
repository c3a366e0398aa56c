/* Offsets of struct vcpu_regs for the world-switch assembly of both
 * backends, and the moves they share: the twelve general registers that
 * neither VMRUN nor VMLAUNCH switches and that need no special handling
 * (RAX, RSI, RDI and RSP each backend treats its own way). The C side
 * checks the offsets at compile time (core/vm.c). */
#ifndef ARCH_GUEST_REGS_H
#define ARCH_GUEST_REGS_H

#define GR_RAX 0
#define GR_RBX 8
#define GR_RCX 16
#define GR_RDX 24
#define GR_RSI 32
#define GR_RDI 40
#define GR_RBP 48
#define GR_R8 64
#define GR_R9 72
#define GR_R10 80
#define GR_R11 88
#define GR_R12 96
#define GR_R13 104
#define GR_R14 112
#define GR_R15 120

#ifdef __ASSEMBLY__
/* Load RBX, RCX, RDX, RBP and R8-R15 from the vcpu_regs at BASE. */
.macro GUEST_GPRS_LOAD base : req movq GR_RBX(\base), % rbx movq GR_RCX(\base),
    % rcx movq GR_RDX(\base), % rdx movq GR_RBP(\base), % rbp movq GR_R8(\base),
    % r8 movq GR_R9(\base), % r9 movq GR_R10(\base), % r10 movq GR_R11(\base),
    % r11 movq GR_R12(\base), % r12 movq GR_R13(\base), % r13 movq GR_R14(\base),
    % r14 movq GR_R15(\base),
    %
	r15.endm

	    /* Store the same twelve registers into the vcpu_regs at BASE. */
	    .macro GUEST_GPRS_STORE base : req movq
	% rbx,
    GR_RBX(\base) movq % rcx, GR_RCX(\base) movq % rdx, GR_RDX(\base) movq % rbp,
    GR_RBP(\base) movq % r8, GR_R8(\base) movq % r9, GR_R9(\base) movq % r10,
    GR_R10(\base) movq % r11, GR_R11(\base) movq % r12, GR_R12(\base) movq % r13,
    GR_R13(\base) movq % r14, GR_R14(\base) movq % r15, GR_R15(\base).endm
#endif

#endif
