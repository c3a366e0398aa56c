/* x86 instruction decoder for MMIO emulation (include/keel/x86_emulate.h).
 * Written from the Intel SDM vol. 2 (ch. 2 instruction format, appendix A
 * opcode map) and the AMD APM vol. 3. Input bytes are guest-controlled: every
 * read goes through take(), which stops at LEN and at 15 bytes. */
#include <keel/string.h>
#include <keel/x86_emulate.h>

enum imm_kind {
	IMM_NONE,
	IMM_B, /* imm8, sign-extended */
	IMM_BU, /* imm8, zero-extended (BT's bit offset) */
	IMM_Z, /* imm16 with a 16-bit operand, else imm32 sign-extended */
};

/* How the opcode byte(s) decode before ModRM is known. */
enum group {
	GRP_NONE,
	GRP_1, /* 80-83: ALU op by ModRM.reg */
	GRP_11, /* C6/C7: MOV imm, /0 only */
	GRP_3, /* F6/F7: TEST /0 /1, NOT /2, NEG /3 */
	GRP_45, /* FE/FF: INC /0, DEC /1 */
	GRP_8, /* 0F BA: BT BTS BTR BTC /4../7 */
};

struct spec {
	enum x86_op op;
	enum x86_form form;
	enum group grp;
	enum imm_kind imm;
	bool byte; /* 8-bit operation */
	bool modrm;
	bool lockable;
	uint8_t memsize; /* fixed r/m size (MOVZX/MOVSX), 0: the operation size */
};

struct dec {
	const uint8_t *b;
	size_t len, pos;
};

/* Takes N (<= 8) bytes little-endian. */
static int take(struct dec *d, unsigned n, uint64_t *v)
{
	*v = 0;
	for (unsigned i = 0; i < n; i++) {
		if (d->pos >= X86_MAX_INSN_LEN)
			return X86_DECODE_TOO_LONG;
		if (d->pos >= d->len)
			return X86_DECODE_SHORT;
		*v |= (uint64_t)d->b[d->pos++] << (8 * i);
	}
	return 0;
}

static int64_t sext(uint64_t v, unsigned bytes)
{
	unsigned shift = 64 - 8 * bytes;

	return (int64_t)(v << shift) >> shift;
}

/* Opcode map, one-byte opcodes. Returns false for anything not decoded. */
static bool spec_one(uint8_t b, enum x86_mode mode, struct spec *s)
{
	/* 00-3F, low three bits 0-3: ADD OR ADC SBB AND SUB XOR CMP in the forms
	 * Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev. */
	if (b < 0x40 && (b & 7) < 4) {
		s->op = (enum x86_op)(b >> 3);
		s->byte = !(b & 1);
		s->form = (b & 2) ? X86_FORM_REG_RM : X86_FORM_RM_REG;
		s->lockable = !(b & 2) && s->op != X86_OP_CMP;
		s->modrm = true;
		return true;
	}
	s->modrm = true;
	s->byte = !(b & 1);
	switch (b) {
	case 0x63: /* ARPL outside 64-bit mode */
		if (mode != X86_MODE_64)
			return false;
		s->op = X86_OP_MOVSXD;
		s->form = X86_FORM_REG_RM;
		s->byte = false;
		return true;
	case 0x82: /* alias of 80, invalid in 64-bit mode */
		if (mode == X86_MODE_64)
			return false;
		s->byte = true;
		s->grp = GRP_1;
		s->imm = IMM_B;
		return true;
	case 0x80:
	case 0x81:
	case 0x83:
		s->grp = GRP_1;
		s->imm = b == 0x81 ? IMM_Z : IMM_B;
		s->byte = b == 0x80;
		return true;
	case 0x84:
	case 0x85:
		s->op = X86_OP_TEST;
		s->form = X86_FORM_RM_REG;
		return true;
	case 0x86:
	case 0x87:
		s->op = X86_OP_XCHG;
		s->form = X86_FORM_RM_REG;
		s->lockable = true;
		return true;
	case 0x88:
	case 0x89:
	case 0x8A:
	case 0x8B:
		s->op = X86_OP_MOV;
		s->form = (b & 2) ? X86_FORM_REG_RM : X86_FORM_RM_REG;
		return true;
	case 0xA0:
	case 0xA1:
	case 0xA2:
	case 0xA3:
		s->op = X86_OP_MOV;
		s->form = (b & 2) ? X86_FORM_RM_REG : X86_FORM_REG_RM;
		s->modrm = false;
		return true;
	case 0xA4:
	case 0xA5:
	case 0xAA:
	case 0xAB:
		s->op = b < 0xA8 ? X86_OP_MOVS : X86_OP_STOS;
		s->form = X86_FORM_STRING;
		s->modrm = false;
		return true;
	case 0xC6:
	case 0xC7:
		s->grp = GRP_11;
		s->imm = b == 0xC6 ? IMM_B : IMM_Z;
		return true;
	case 0xF6:
	case 0xF7:
		s->grp = GRP_3;
		return true;
	case 0xFE:
	case 0xFF:
		s->grp = GRP_45;
		return true;
	default:
		return false;
	}
}

/* Opcode map, 0F xx. */
static bool spec_two(uint8_t b, struct spec *s)
{
	s->modrm = true;
	switch (b) {
	case 0xA3:
	case 0xAB:
	case 0xB3:
	case 0xBB:
		/* BT, BTS, BTR, BTC Ev,Gv: opcode bits 4:3 pick the op. */
		s->op = (enum x86_op)(X86_OP_BT + ((b >> 3) & 3));
		s->form = X86_FORM_RM_REG;
		s->lockable = b != 0xA3;
		return true;
	case 0xBA:
		s->grp = GRP_8;
		s->imm = IMM_BU;
		return true;
	case 0xB6:
	case 0xB7:
	case 0xBE:
	case 0xBF:
		s->op = b < 0xB8 ? X86_OP_MOVZX : X86_OP_MOVSX;
		s->form = X86_FORM_REG_RM;
		s->memsize = (b & 1) ? 2 : 1;
		return true;
	default:
		return false;
	}
}

/* Resolves a group opcode by ModRM.reg. */
static bool resolve_group(struct spec *s, unsigned regf)
{
	switch (s->grp) {
	case GRP_1:
		s->op = (enum x86_op)regf;
		s->form = X86_FORM_RM_IMM;
		s->lockable = regf != X86_OP_CMP;
		return true;
	case GRP_11:
		s->op = X86_OP_MOV;
		s->form = X86_FORM_RM_IMM;
		return regf == 0; /* /7 with mod 3 is XBEGIN/XABORT: not ours */
	case GRP_3:
		if (regf <= 1) { /* /1 is an undocumented alias of TEST */
			s->op = X86_OP_TEST;
			s->form = X86_FORM_RM_IMM;
			s->imm = s->byte ? IMM_B : IMM_Z;
			return true;
		}
		if (regf > 3)
			return false; /* MUL IMUL DIV IDIV */
		s->op = regf == 2 ? X86_OP_NOT : X86_OP_NEG;
		s->form = X86_FORM_RM;
		s->lockable = true;
		return true;
	case GRP_45:
		if (regf > 1)
			return false; /* CALL JMP PUSH (FF), invalid (FE) */
		s->op = regf ? X86_OP_DEC : X86_OP_INC;
		s->form = X86_FORM_RM;
		s->lockable = true;
		return true;
	case GRP_8:
		if (regf < 4)
			return false;
		s->op = (enum x86_op)(X86_OP_BT + (regf - 4));
		s->form = X86_FORM_RM_IMM;
		s->lockable = regf != 4;
		return true;
	default:
		return true;
	}
}

/* Register number for an operand of SIZE bytes: 4..7 are AH..BH for byte
 * operands without a REX prefix. */
static uint8_t gpr(unsigned n, unsigned size, uint8_t rex)
{
	if (size == 1 && !rex && n >= 4 && n < 8)
		return (uint8_t)(X86_AH + (n - 4));
	return (uint8_t)n;
}

/* 16-bit addressing: ModRM.rm picks a fixed base/index pair. */
static const uint8_t base16[8] = {X86_RBX, X86_RBX, X86_RBP, X86_RBP,
				  X86_RSI, X86_RDI, X86_RBP, X86_RBX};
static const uint8_t index16[8] = {X86_RSI,      X86_RDI,      X86_RSI,      X86_RDI,
				   X86_REG_NONE, X86_REG_NONE, X86_REG_NONE, X86_REG_NONE};

static int decode_mem(struct dec *d, struct x86_inst *in, enum x86_mode mode, unsigned mod,
		      unsigned rm)
{
	struct x86_mem *m = &in->mem;
	unsigned disp_bytes = mod == 1 ? 1 : 0;
	uint64_t v;
	int r;

	m->index = X86_REG_NONE;
	m->scale = 1;
	if (in->addrsize == 2) {
		if (mod == 0 && rm == 6) {
			m->base = X86_REG_NONE;
			disp_bytes = 2;
		} else {
			m->base = base16[rm];
			m->index = index16[rm];
			if (mod == 2)
				disp_bytes = 2;
		}
		m->seg = m->base == X86_RBP ? X86_SS : X86_DS;
	} else {
		if (mod == 2)
			disp_bytes = 4;
		if (rm == 4) {
			unsigned sib, idx, b;

			if ((r = take(d, 1, &v)))
				return r;
			sib = (unsigned)v;
			idx = ((sib >> 3) & 7) | ((in->rex & 2u) << 2);
			b = sib & 7;
			if (idx != 4) { /* 4 without REX.X means no index; r12 is fine */
				m->index = (uint8_t)idx;
				m->scale = (uint8_t)(1u << (sib >> 6));
			}
			if (b == 5 && mod == 0) {
				m->base = X86_REG_NONE;
				disp_bytes = 4;
			} else {
				m->base = (uint8_t)(b | ((in->rex & 1u) << 3));
			}
		} else if (rm == 5 && mod == 0) {
			/* disp32: absolute, or RIP-relative in 64-bit mode (even
			 * with REX.B). */
			m->base = mode == X86_MODE_64 ? X86_RIP : X86_REG_NONE;
			disp_bytes = 4;
		} else {
			m->base = (uint8_t)(rm | ((in->rex & 1u) << 3));
		}
		/* rSP and rBP bases (not r12/r13) default to SS. */
		m->seg = (m->base == X86_RSP || m->base == X86_RBP) ? X86_SS : X86_DS;
	}
	if (disp_bytes) {
		if ((r = take(d, disp_bytes, &v)))
			return r;
		m->disp = sext(v, disp_bytes);
	}
	return 0;
}

static unsigned op_size(enum x86_mode mode, uint8_t rex, bool o16)
{
	if (mode == X86_MODE_64)
		return (rex & 8) ? 8 : o16 ? 2 : 4;
	if (mode == X86_MODE_32)
		return o16 ? 2 : 4;
	return o16 ? 4 : 2;
}

static unsigned addr_size(enum x86_mode mode, bool a16)
{
	if (mode == X86_MODE_64)
		return a16 ? 4 : 8;
	if (mode == X86_MODE_32)
		return a16 ? 2 : 4;
	return a16 ? 4 : 2;
}

/* Legacy prefixes and REX. Returns the opcode byte's value in *op. */
static int prefixes(struct dec *d, enum x86_mode mode, struct x86_inst *in, bool *o16, bool *a16,
		    int *seg, uint8_t *op)
{
	for (;;) {
		uint64_t v;
		int r = take(d, 1, &v);
		uint8_t b = (uint8_t)v;

		if (r)
			return r;
		if (mode == X86_MODE_64 && (b & 0xF0) == 0x40) {
			in->rex = b; /* only the last REX counts */
			continue;
		}
		switch (b) {
		case 0x66:
			*o16 = true;
			break;
		case 0x67:
			*a16 = true;
			break;
		case 0xF0:
			in->lock = true;
			break;
		case 0xF2:
		case 0xF3: /* the last of the two wins */
			in->rep = b == 0xF3;
			in->repne = b == 0xF2;
			break;
		case 0x26:
		case 0x2E:
		case 0x36:
		case 0x3E:
			*seg = (b >> 3) & 3; /* ES CS SS DS */
			break;
		case 0x64:
		case 0x65:
			*seg = X86_FS + (b & 1);
			break;
		default:
			*op = b;
			return 0;
		}
		/* A REX followed by a legacy prefix is ignored. */
		in->rex = 0;
	}
}

int x86_decode(const uint8_t *bytes, size_t len, enum x86_mode mode, struct x86_inst *out)
{
	struct dec d = {bytes, len, 0};
	struct x86_inst in;
	struct spec s;
	bool o16 = false, a16 = false, ok;
	int seg = -1, r;
	uint8_t b;
	uint64_t v;

	memset(&in, 0, sizeof(in));
	memset(&s, 0, sizeof(s));
	in.reg = in.rm_reg = X86_REG_NONE;
	in.mem.base = in.mem.index = X86_REG_NONE;
	in.mem.scale = 1;
	if (mode != X86_MODE_16 && mode != X86_MODE_32 && mode != X86_MODE_64)
		return X86_DECODE_UD;
	if ((r = prefixes(&d, mode, &in, &o16, &a16, &seg, &b)))
		return r;
	if (b == 0x0F) {
		if ((r = take(&d, 1, &v)))
			return r;
		ok = spec_two((uint8_t)v, &s);
	} else {
		ok = spec_one(b, mode, &s);
	}
	if (!ok)
		return X86_DECODE_UD;

	in.addrsize = (uint8_t)addr_size(mode, a16);
	if (s.modrm) {
		unsigned modrm, mod, regf, rm;

		if ((r = take(&d, 1, &v)))
			return r;
		modrm = (unsigned)v;
		mod = modrm >> 6;
		regf = (modrm >> 3) & 7;
		rm = modrm & 7;
		if (!resolve_group(&s, regf))
			return X86_DECODE_UD;
		in.opsize = (uint8_t)(s.byte ? 1 : op_size(mode, in.rex, o16));
		in.memsize = s.memsize ? s.memsize : in.opsize;
		if (s.op == X86_OP_MOVSXD && (in.rex & 8))
			in.memsize = 4;
		if (s.grp == GRP_NONE)
			in.reg = gpr(regf | ((in.rex & 4u) << 1), in.opsize, in.rex);
		if (mod == 3) {
			in.rm_reg = gpr(rm | ((in.rex & 1u) << 3), in.memsize, in.rex);
		} else {
			in.has_mem = true;
			if ((r = decode_mem(&d, &in, mode, mod, rm)))
				return r;
		}
	} else {
		in.opsize = (uint8_t)(s.byte ? 1 : op_size(mode, in.rex, o16));
		in.memsize = in.opsize;
		in.has_mem = true;
		in.mem.seg = X86_DS;
		if (s.form == X86_FORM_STRING) {
			/* The source is seg:[rSI]; the destination ES:[rDI]. */
			in.mem.base = X86_RSI;
			if (s.op == X86_OP_STOS)
				in.reg = X86_RAX;
		} else {
			/* A0-A3: moffs, an address-size offset; AL/rAX. */
			if ((r = take(&d, in.addrsize, &v)))
				return r;
			in.mem.disp = (int64_t)v;
			in.reg = X86_RAX;
		}
	}
	if (seg >= 0) {
		in.mem.seg = (uint8_t)seg;
		in.mem.seg_override = true;
	}

	switch (s.imm) {
	case IMM_B:
	case IMM_BU:
		if ((r = take(&d, 1, &v)))
			return r;
		in.imm = s.imm == IMM_B ? (uint64_t)sext(v, 1) : v;
		break;
	case IMM_Z: {
		unsigned n = in.opsize == 2 ? 2 : 4;

		if ((r = take(&d, n, &v)))
			return r;
		in.imm = (uint64_t)sext(v, n);
		break;
	}
	default:
		break;
	}
	/* LOCK is #UD except on the read-modify-write ops with a memory
	 * destination. */
	if (in.lock && (!s.lockable || !in.has_mem))
		return X86_DECODE_UD;

	in.op = s.op;
	in.form = s.form;
	in.len = (uint8_t)d.pos;
	*out = in;
	return X86_DECODE_OK;
}
