#ifndef ARCH_TRAP_H
#define ARCH_TRAP_H

#include <stdint.h>

#define VEC_NMI 2
#define VEC_DF 8
#define VEC_GP 13
#define VEC_PF 14
#define VEC_MC 18
#define VEC_TIMER 236
#define VEC_KICK 240
#define VEC_SPURIOUS 255

struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

void trap_dispatch(struct trap_frame *f);
/* Load this CPU's GDT, TSS and the shared IDT. */
/* Core hooks called from interrupt context. */
/* A fault-safe access: if the instruction at rip faults, resume at fixup. */
struct ex_entry {
	uint64_t rip, fixup;
};

#endif
