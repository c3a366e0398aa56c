/* x86 instruction decoder and MMIO emulator: the instructions guests use to
 * touch device registers, decoded from bytes the caller fetched and emulated
 * against a vCPU's registers through callbacks. Vendor-neutral pure logic: no
 * VMCB/VMCS, no hypervisor state. See docs/emulator.md. */
#ifndef KEEL_X86_EMULATE_H
#define KEEL_X86_EMULATE_H

#include <keel/guest_walk.h>
#include <keel/vm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define X86_MAX_INSN_LEN 15

enum x86_mode { X86_MODE_16 = 16, X86_MODE_32 = 32, X86_MODE_64 = 64 };

/* Registers as the encoding numbers them (ModRM, SIB, REX). */
enum {
	X86_RAX,
	X86_RCX,
	X86_RDX,
	X86_RBX,
	X86_RSP,
	X86_RBP,
	X86_RSI,
	X86_RDI,
	X86_R8,
	X86_R9,
	X86_R10,
	X86_R11,
	X86_R12,
	X86_R13,
	X86_R14,
	X86_R15,
	/* Byte registers 4..7 without a REX prefix: bits 15:8 of rAX..rBX. */
	X86_AH,
	X86_CH,
	X86_DH,
	X86_BH,
	X86_RIP = 0xFE, /* memory base: RIP-relative (EIP with a 0x67 prefix) */
	X86_REG_NONE = 0xFF,
};

enum x86_seg { X86_ES, X86_CS, X86_SS, X86_DS, X86_FS, X86_GS, X86_SEG_COUNT };

/* ADD..CMP follow group 1's ModRM.reg order and BT..BTC 0F BA's /4../7:
 * the decoder computes them from the encoding. */
enum x86_op {
	X86_OP_ADD,
	X86_OP_OR,
	X86_OP_ADC,
	X86_OP_SBB,
	X86_OP_AND,
	X86_OP_SUB,
	X86_OP_XOR,
	X86_OP_CMP,
	X86_OP_MOV,
	X86_OP_MOVZX,
	X86_OP_MOVSX,
	X86_OP_MOVSXD,
	X86_OP_MOVS,
	X86_OP_STOS,
	X86_OP_TEST,
	X86_OP_XCHG,
	X86_OP_BT,
	X86_OP_BTS,
	X86_OP_BTR,
	X86_OP_BTC,
	X86_OP_NOT,
	X86_OP_NEG,
	X86_OP_INC,
	X86_OP_DEC,
	X86_OP_COUNT,
};

/* Where the operands are. "r/m" is the memory operand (or, with no memory
 * operand, the register ModRM.rm names). */
enum x86_form {
	X86_FORM_RM_REG, /* r/m = op(r/m, reg); MOV and XCHG stores, A2/A3 */
	X86_FORM_REG_RM, /* reg = op(reg, r/m); loads, MOVZX/MOVSX, A0/A1 */
	X86_FORM_RM_IMM, /* r/m = op(r/m, imm) */
	X86_FORM_RM, /* r/m = op(r/m): NOT NEG INC DEC */
	X86_FORM_STRING, /* MOVS: ES:[rDI] = seg:[rSI]; STOS: ES:[rDI] = rAX */
};

struct x86_mem {
	uint8_t base; /* register, X86_RIP or X86_REG_NONE */
	uint8_t index; /* register or X86_REG_NONE */
	uint8_t scale; /* 1, 2, 4, 8 (1 when there is no index) */
	uint8_t seg; /* enum x86_seg: the override, else the default */
	bool seg_override;
	/* Sign-extended displacement; for A0-A3 the zero-extended offset. RIP-relative
	 * operands are relative to the end of the instruction (rip + len). */
	int64_t disp;
};

struct x86_inst {
	enum x86_op op;
	enum x86_form form;
	uint8_t len; /* bytes, prefixes included */
	uint8_t opsize; /* operation size: 1, 2, 4, 8 (destination size for MOVZX/MOVSX) */
	uint8_t memsize; /* size of the r/m operand: opsize, or the source of MOVZX/MOVSX(D) */
	uint8_t addrsize; /* 2, 4, 8 */
	uint8_t reg; /* register operand (X86_REG_NONE if none) */
	uint8_t rm_reg; /* the r/m register when has_mem is false */
	bool has_mem;
	bool lock, rep /* F3 */, repne /* F2 */;
	uint8_t rex; /* the REX prefix in effect, 0 if none */
	uint64_t imm; /* sign-extended to 64 bits (BT's bit offset: zero-extended) */
	struct x86_mem mem; /* for MOVS, the source; the destination is ES:rDI */
};

enum x86_decode_result {
	X86_DECODE_OK = 0,
	X86_DECODE_UD = -1, /* not an instruction Keel decodes, or invalid (LOCK misuse,
			     * opcode invalid in this mode): inject #UD */
	X86_DECODE_SHORT = -2, /* LEN ended inside the instruction (and LEN < 15) */
	X86_DECODE_TOO_LONG = -3, /* longer than 15 bytes: #GP(0) */
};

/* Decodes the instruction at BYTES[0..LEN). Never reads past LEN or past 15
 * bytes. */
int x86_decode(const uint8_t *bytes, size_t len, enum x86_mode mode, struct x86_inst *out);

/* Callback results. */
#define X86_CB_OK 0
#define X86_CB_PAGE_FAULT 1 /* *fault says what (mem_read/mem_write) */
/* any negative value: the access cannot be done (the emulator gives up) */

struct x86_emu_ops {
	/* The device side, by guest-physical address; SIZE is 1, 2, 4 or 8 and the
	 * value is zero-extended. */
	int (*mmio_read)(void *ctx, uint64_t gpa, unsigned size, uint64_t *val);
	int (*mmio_write)(void *ctx, uint64_t gpa, unsigned size, uint64_t val);
	/* Ordinary guest memory by linear address, for the other side of MOVS:
	 * the caller walks the guest's page tables (guest_walk) with the vCPU's
	 * CPL and fills *fault on a page fault. May be NULL if never needed. */
	int (*mem_read)(void *ctx, uint64_t la, void *buf, unsigned len, struct walk_fault *fault);
	int (*mem_write)(void *ctx, uint64_t la, const void *buf, unsigned len,
			 struct walk_fault *fault);
};

enum x86_emu_result {
	X86_EMU_OK = 0, /* done, or REP progress made: resume the guest */
	X86_EMU_UD, /* inject #UD */
	X86_EMU_PAGE_FAULT, /* inject #PF with e->fault */
	X86_EMU_GP, /* inject e->vector (#GP or #SS) with error code 0 */
	X86_EMU_RETRY, /* the instruction does not match the fault (rewritten by
			* another vCPU?): resume the guest unchanged */
	X86_EMU_UNHANDLED, /* valid, but Keel does not emulate it (or a callback
			    * failed): stop the VM */
};

#define X86_EMU_MAX_REP 1024 /* default REP iterations per call */

struct x86_emu {
	/* In. */
	struct vcpu_regs *regs; /* read and updated */
	enum x86_mode mode; /* the code segment's: 16, 32 or 64 */
	uint64_t seg_base[X86_SEG_COUNT]; /* FS/GS only are used in 64-bit mode */
	uint64_t gpa; /* the faulting guest-physical address the hardware reported */
	bool write_fault; /* the faulting access was a write (decides MOVS's MMIO side) */
	const uint8_t *insn; /* instruction bytes at CS:rIP, fetched by the caller */
	size_t insn_len; /* how many (fewer than 15 when the fetch stopped early) */
	bool fetch_faulted; /* the fetch stopped at a page fault... */
	struct walk_fault fetch_fault; /* ...this one */
	unsigned max_rep; /* REP iterations per call, 0 for X86_EMU_MAX_REP */
	const struct x86_emu_ops *ops;
	void *ctx;
	/* Out. */
	struct x86_inst decoded;
	struct walk_fault fault; /* X86_EMU_PAGE_FAULT */
	uint8_t vector; /* the exception for UD, PAGE_FAULT and GP results */
	unsigned reps; /* REP iterations done by this call */
};

/* Emulates the instruction that caused an MMIO exit: performs its accesses,
 * updates the registers and RFLAGS, and advances RIP. A REP MOVS/STOS does at
 * most max_rep iterations and stays on the MMIO page; if work remains RIP stays
 * and rCX/rSI/rDI say where the guest resumes. */
int x86_emulate_mmio(struct x86_emu *e);

/* An ALU operation and its arithmetic flags as the CPU computes them
 * (x86_flags.c). OP: ADD..CMP, TEST, INC, DEC (B ignored), NEG (of A); SIZE 1,
 * 2, 4, 8; CF_IN the carry for ADC/SBB. Returns the result truncated to SIZE
 * and sets *flags to its CF PF AF ZF SF OF bits (AF = 0 for the logic ops,
 * where it is undefined). */
uint64_t x86_alu(enum x86_op op, unsigned size, uint64_t a, uint64_t b, bool cf_in,
		 uint64_t *flags);

#endif
