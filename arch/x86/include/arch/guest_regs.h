/* Offsets of struct vcpu_regs for the world-switch assembly of both
 * backends (the moves they share are in guest_regs.inc). The C side checks
 * the offsets at compile time (core/vm.c). */
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

#endif
