/* MMIO instruction emulator (include/keel/x86_emulate.h). The instruction has
 * already faulted once in hardware, so segment limits, privilege and paging
 * checks of its first access have passed; what is left is to perform the
 * access against the device, update registers and flags, and move RIP.
 * Nothing here trusts the guest: addresses are recomputed from the registers
 * and must agree with the fault the hardware reported. */
#include <keel/string.h>
#include <keel/x86_emulate.h>

#define FL_CF (1ULL << 0)
#define FL_ARITH 0x8D5ULL /* CF PF AF ZF SF OF */
#define FL_DF (1ULL << 10)
#define FL_RF (1ULL << 16)

#define PAGE_4K 0x1000ULL
#define VEC_UD 6
#define VEC_SS 12
#define VEC_GP 13
#define VEC_PF 14

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static int64_t sext(uint64_t v, unsigned size)
{
	unsigned shift = size >= 8 ? 0 : 64 - 8 * size;

	return (int64_t)(v << shift) >> shift;
}

/* vcpu_regs keeps the registers in its own order; map the encoding's. */
static uint64_t *reg_slot(struct vcpu_regs *r, unsigned n)
{
	switch (n & 15) {
	case X86_RAX:
		return &r->rax;
	case X86_RCX:
		return &r->rcx;
	case X86_RDX:
		return &r->rdx;
	case X86_RBX:
		return &r->rbx;
	case X86_RSP:
		return &r->rsp;
	case X86_RBP:
		return &r->rbp;
	case X86_RSI:
		return &r->rsi;
	case X86_RDI:
		return &r->rdi;
	case X86_R8:
		return &r->r8;
	case X86_R9:
		return &r->r9;
	case X86_R10:
		return &r->r10;
	case X86_R11:
		return &r->r11;
	case X86_R12:
		return &r->r12;
	case X86_R13:
		return &r->r13;
	case X86_R14:
		return &r->r14;
	default:
		return &r->r15;
	}
}

static bool high_byte(unsigned n)
{
	return n >= X86_AH && n <= X86_BH;
}

static uint64_t get_reg(struct vcpu_regs *r, unsigned n, unsigned size)
{
	if (high_byte(n))
		return (*reg_slot(r, n - X86_AH) >> 8) & 0xFF;
	return *reg_slot(r, n) & size_mask(size);
}

/* Writes as the CPU does: 8- and 16-bit writes keep the other bits, 32-bit
 * writes zero the upper half (invisible outside long mode anyway). */
static void set_reg(struct vcpu_regs *r, unsigned n, unsigned size, uint64_t v)
{
	uint64_t *p;

	if (high_byte(n)) {
		p = reg_slot(r, n - X86_AH);
		*p = (*p & ~0xFF00ULL) | (v & 0xFF) << 8;
		return;
	}
	p = reg_slot(r, n);
	if (size >= 4)
		*p = v & size_mask(size);
	else
		*p = (*p & ~size_mask(size)) | (v & size_mask(size));
}

static bool canonical(uint64_t va)
{
	return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

/* Offset within the segment (effective address), wrapped to the address size. */
static uint64_t effective(const struct x86_emu *e, const struct x86_inst *in)
{
	const struct x86_mem *m = &in->mem;
	uint64_t a = (uint64_t)m->disp;

	if (m->base == X86_RIP)
		a += e->regs->rip + in->len;
	else if (m->base != X86_REG_NONE)
		a += get_reg(e->regs, m->base, 8);
	if (m->index != X86_REG_NONE)
		a += get_reg(e->regs, m->index, 8) * m->scale;
	return a & size_mask(in->addrsize);
}

/* Segment base + offset. In 64-bit mode only FS and GS have bases and the
 * result must be canonical (#SS for the stack segment, else #GP). */
static int linear(struct x86_emu *e, unsigned seg, uint64_t off, uint64_t *la)
{
	if (seg >= X86_SEG_COUNT)
		seg = X86_DS;
	if (e->mode == X86_MODE_64) {
		*la = off + ((seg == X86_FS || seg == X86_GS) ? e->seg_base[seg] : 0);
		if (!canonical(*la)) {
			e->vector = seg == X86_SS ? VEC_SS : VEC_GP;
			return X86_EMU_GP;
		}
		return X86_EMU_OK;
	}
	*la = (e->seg_base[seg] + off) & 0xFFFFFFFFULL;
	return X86_EMU_OK;
}

/* The device access must be the one that faulted: within one page, at the
 * page offset the hardware reported. */
static int check_mmio(const struct x86_emu *e, uint64_t la, unsigned size)
{
	if ((la & (PAGE_4K - 1)) + size > PAGE_4K)
		return X86_EMU_UNHANDLED; /* split across pages: no guest does this */
	if ((la & (PAGE_4K - 1)) != (e->gpa & (PAGE_4K - 1)))
		return X86_EMU_RETRY;
	return X86_EMU_OK;
}

static int dev_read(struct x86_emu *e, uint64_t gpa, unsigned size, uint64_t *v)
{
	*v = 0;
	if (!e->ops->mmio_read || e->ops->mmio_read(e->ctx, gpa, size, v))
		return X86_EMU_UNHANDLED;
	*v &= size_mask(size);
	return X86_EMU_OK;
}

static int dev_write(struct x86_emu *e, uint64_t gpa, unsigned size, uint64_t v)
{
	if (!e->ops->mmio_write || e->ops->mmio_write(e->ctx, gpa, size, v & size_mask(size)))
		return X86_EMU_UNHANDLED;
	return X86_EMU_OK;
}

/* Result of a mem_read/mem_write callback as an emulator result. */
static int mem_result(struct x86_emu *e, int r)
{
	if (r == X86_CB_OK)
		return X86_EMU_OK;
	if (r == X86_CB_PAGE_FAULT) {
		e->vector = VEC_PF;
		return X86_EMU_PAGE_FAULT;
	}
	return X86_EMU_UNHANDLED;
}

/* The RAM side of MOVS (little-endian, as x86 is). */
static int ram_read(struct x86_emu *e, uint64_t la, unsigned size, uint64_t *v)
{
	*v = 0;
	if (!e->ops->mem_read)
		return X86_EMU_UNHANDLED;
	return mem_result(e, e->ops->mem_read(e->ctx, la, v, size, &e->fault));
}

static int ram_write(struct x86_emu *e, uint64_t la, unsigned size, uint64_t v)
{
	if (!e->ops->mem_write)
		return X86_EMU_UNHANDLED;
	return mem_result(e, e->ops->mem_write(e->ctx, la, &v, size, &e->fault));
}

static void finish(struct x86_emu *e, unsigned len)
{
	uint64_t rip = e->regs->rip + len;

	if (e->mode == X86_MODE_16)
		rip &= 0xFFFF;
	else if (e->mode == X86_MODE_32)
		rip &= 0xFFFFFFFFULL;
	e->regs->rip = rip;
	/* Completing an instruction clears RF (a debug fault was skipped once). */
	e->regs->rflags &= ~FL_RF;
}

static void set_flags(struct x86_emu *e, uint64_t mask, uint64_t f)
{
	e->regs->rflags = (e->regs->rflags & ~mask) | (f & mask);
}

/* MOVS and STOS, with REP. One side is the device: STOS's destination; for
 * MOVS the side the fault's direction names (a read fault comes from the
 * source, since the CPU reads before it writes). The other side goes through
 * mem_read/mem_write. Iterations stop at the end of the device page, at
 * max_rep, or at a fault, with rCX/rSI/rDI describing the rest, exactly where
 * a real CPU would resume the instruction. */
static int emulate_string(struct x86_emu *e, const struct x86_inst *in)
{
	struct vcpu_regs *r = e->regs;
	unsigned size = in->opsize, asz = in->addrsize;
	bool rep = in->rep || in->repne, movs = in->op == X86_OP_MOVS;
	bool dev_src = movs && !e->write_fault;
	uint64_t count = rep ? get_reg(r, X86_RCX, asz) : 1;
	uint64_t step = (r->rflags & FL_DF) ? 0 - (uint64_t)size : size;
	unsigned max = e->max_rep ? e->max_rep : X86_EMU_MAX_REP;
	uint64_t page = 0;
	int res = X86_EMU_OK;

	e->reps = 0;
	while (e->reps < count && e->reps < max) {
		uint64_t si = get_reg(r, X86_RSI, asz), di = get_reg(r, X86_RDI, asz);
		uint64_t src_la = 0, dst_la, dev_la, gpa, v;

		if (movs && (res = linear(e, in->mem.seg, si, &src_la)))
			break;
		if ((res = linear(e, X86_ES, di, &dst_la)))
			break;
		dev_la = dev_src ? src_la : dst_la;
		if (e->reps == 0) {
			if ((res = check_mmio(e, dev_la, size)))
				return res;
			page = dev_la & ~(PAGE_4K - 1);
		} else if ((dev_la & ~(PAGE_4K - 1)) != page ||
			   (dev_la & (PAGE_4K - 1)) + size > PAGE_4K) {
			break; /* leave the rest to the guest's re-execution */
		}
		gpa = (e->gpa & ~(PAGE_4K - 1)) | (dev_la & (PAGE_4K - 1));

		if (!movs) {
			res = dev_write(e, gpa, size, get_reg(r, X86_RAX, size));
		} else if (dev_src) {
			res = dev_read(e, gpa, size, &v);
			if (!res)
				res = ram_write(e, dst_la, size, v);
		} else {
			res = ram_read(e, src_la, size, &v);
			if (!res)
				res = dev_write(e, gpa, size, v);
		}
		if (res)
			break;
		if (movs)
			set_reg(r, X86_RSI, asz, si + step);
		set_reg(r, X86_RDI, asz, di + step);
		if (rep)
			set_reg(r, X86_RCX, asz, count - e->reps - 1);
		e->reps++;
	}
	if (res)
		return res;
	if (!rep || get_reg(r, X86_RCX, asz) == 0)
		finish(e, in->len);
	return X86_EMU_OK;
}

/* Everything with a single memory operand. */
static int emulate_mem(struct x86_emu *e, const struct x86_inst *in)
{
	struct vcpu_regs *r = e->regs;
	unsigned size = in->memsize, op = in->op;
	uint64_t off = effective(e, in), la, old = 0, res = 0, fl = 0, fmask = 0;
	unsigned bit = 0;
	bool load = true, store = false, to_reg = false;
	int rc;

	if (op >= X86_OP_BT && op <= X86_OP_BTC) {
		unsigned bits = 8 * in->opsize;

		if (in->form == X86_FORM_RM_REG) {
			/* A register bit offset is signed and may reach outside
			 * the operand: it selects an operand-size word first. */
			int64_t boff = sext(get_reg(r, in->reg, in->opsize), in->opsize);
			int64_t word = boff >= 0 ? boff / bits : -((-(boff + 1)) / bits) - 1;

			off = (off + (uint64_t)word * in->opsize) & size_mask(in->addrsize);
			bit = (unsigned)((uint64_t)boff & (bits - 1));
		} else {
			bit = (unsigned)(in->imm & (bits - 1));
		}
	}
	if ((rc = linear(e, in->mem.seg, off, &la)) || (rc = check_mmio(e, la, size)))
		return rc;
	if (op == X86_OP_MOV && in->form != X86_FORM_REG_RM)
		load = false; /* a plain store reads nothing */
	if (load && (rc = dev_read(e, e->gpa, size, &old)))
		return rc;

	switch (op) {
	case X86_OP_MOV:
		if (in->form == X86_FORM_REG_RM) {
			res = old;
			to_reg = true;
		} else {
			res = in->form == X86_FORM_RM_IMM ? in->imm : get_reg(r, in->reg, size);
			store = true;
		}
		break;
	case X86_OP_MOVZX:
		res = old;
		to_reg = true;
		break;
	case X86_OP_MOVSX:
	case X86_OP_MOVSXD:
		res = (uint64_t)sext(old, size);
		to_reg = true;
		break;
	case X86_OP_XCHG:
		res = get_reg(r, in->reg, size);
		store = true;
		break;
	case X86_OP_NOT:
		res = ~old;
		store = true;
		break;
	case X86_OP_BT:
	case X86_OP_BTS:
	case X86_OP_BTR:
	case X86_OP_BTC:
		/* CF = the bit; ZF is kept; OF SF AF PF are undefined and kept. */
		fl = (old >> bit) & 1;
		fmask = FL_CF;
		if (op == X86_OP_BTS)
			res = old | (1ULL << bit);
		else if (op == X86_OP_BTR)
			res = old & ~(1ULL << bit);
		else
			res = old ^ (1ULL << bit);
		store = op != X86_OP_BT;
		break;
	case X86_OP_NEG:
	case X86_OP_INC:
	case X86_OP_DEC:
		res = x86_alu((enum x86_op)op, size, old, 0, false, &fl);
		fmask = op == X86_OP_NEG ? FL_ARITH : FL_ARITH & ~FL_CF; /* INC/DEC keep CF */
		store = true;
		break;
	default: { /* ADD OR ADC SBB AND SUB XOR CMP TEST */
		bool cf = r->rflags & FL_CF;
		uint64_t src = in->form == X86_FORM_RM_IMM ? in->imm : get_reg(r, in->reg, size);

		if (op > X86_OP_CMP && op != X86_OP_TEST)
			return X86_EMU_UNHANDLED;
		if (in->form == X86_FORM_REG_RM) {
			res = x86_alu((enum x86_op)op, size, src, old, cf, &fl);
			to_reg = op != X86_OP_CMP;
		} else {
			res = x86_alu((enum x86_op)op, size, old, src, cf, &fl);
			store = op != X86_OP_CMP && op != X86_OP_TEST;
		}
		fmask = FL_ARITH;
		break;
	}
	}

	if (store && (rc = dev_write(e, e->gpa, size, res)))
		return rc;
	/* Registers change only once the device accesses have succeeded. */
	if (op == X86_OP_XCHG)
		set_reg(r, in->reg, size, old);
	if (to_reg)
		set_reg(r, in->reg, in->opsize, res);
	set_flags(e, fmask, fl);
	finish(e, in->len);
	return X86_EMU_OK;
}

int x86_emulate_mmio(struct x86_emu *e)
{
	struct x86_inst *in = &e->decoded;
	int rc;

	e->vector = 0;
	e->reps = 0;
	memset(&e->fault, 0, sizeof(e->fault));
	rc = x86_decode(e->insn, e->insn ? e->insn_len : 0, e->mode, in);
	switch (rc) {
	case X86_DECODE_OK:
		break;
	case X86_DECODE_UD:
		e->vector = VEC_UD;
		return X86_EMU_UD;
	case X86_DECODE_TOO_LONG:
		e->vector = VEC_GP;
		return X86_EMU_GP;
	default: /* the bytes ran out: the fetch must have stopped at a fault */
		if (!e->fetch_faulted)
			return X86_EMU_UNHANDLED;
		e->fault = e->fetch_fault;
		e->vector = VEC_PF;
		return X86_EMU_PAGE_FAULT;
	}
	if (!e->ops)
		return X86_EMU_UNHANDLED;
	if (!in->has_mem)
		return X86_EMU_RETRY; /* cannot have faulted on memory: changed since */
	if (in->form == X86_FORM_STRING)
		return emulate_string(e, in);
	return emulate_mem(e, in);
}
