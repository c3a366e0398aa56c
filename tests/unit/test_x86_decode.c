/* Unit tests for the instruction decoder (core/x86_decode.c), checked against
 * a reference disassembler (capstone). Instructions are generated
 * deterministically: every supported opcode with every ModRM byte under many
 * prefix/REX combinations in 16-, 32- and 64-bit modes, SIB sweeps, and random
 * byte strings. For each one capstone decodes to a supported instruction,
 * Keel must agree on length, operand sizes, operands and the memory operand;
 * whatever Keel decodes, capstone must decode to the same instruction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <capstone/capstone.h>

#include <keel/x86_emulate.h>

static csh cs16, cs32, cs64;

struct stats {
	unsigned long total; /* byte strings tried */
	unsigned long agreed; /* supported, both decoded, all fields equal */
	unsigned long agreed_mem; /* ...of which with a memory operand */
	unsigned long lock_ud; /* capstone decodes, Keel says #UD for LOCK misuse */
	unsigned long no_mem_skip; /* capstone decodes a supported mnemonic without a
				    * memory operand in a form Keel does not decode */
	unsigned long other; /* capstone: another instruction; Keel refuses too */
	unsigned long both_reject;
	unsigned long mismatches;
	unsigned long quirk_movsxd; /* capstone 4 bugs, see classify() */
	unsigned long quirk_rep; /* see rep_quirk() */
};

static struct stats st;

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static csh handle(enum x86_mode mode)
{
	return mode == X86_MODE_16 ? cs16 : mode == X86_MODE_32 ? cs32 : cs64;
}

/* Capstone instruction id → Keel op, or -1. */
static int cs_op(unsigned id)
{
	switch (id) {
	case X86_INS_MOV:
	case X86_INS_MOVABS:
		return X86_OP_MOV;
	case X86_INS_MOVZX:
		return X86_OP_MOVZX;
	case X86_INS_MOVSX:
		return X86_OP_MOVSX;
	case X86_INS_MOVSXD:
		return X86_OP_MOVSXD;
	case X86_INS_MOVSB:
	case X86_INS_MOVSW:
	case X86_INS_MOVSD:
	case X86_INS_MOVSQ:
		return X86_OP_MOVS;
	case X86_INS_STOSB:
	case X86_INS_STOSW:
	case X86_INS_STOSD:
	case X86_INS_STOSQ:
		return X86_OP_STOS;
	case X86_INS_ADD:
		return X86_OP_ADD;
	case X86_INS_OR:
		return X86_OP_OR;
	case X86_INS_ADC:
		return X86_OP_ADC;
	case X86_INS_SBB:
		return X86_OP_SBB;
	case X86_INS_AND:
		return X86_OP_AND;
	case X86_INS_SUB:
		return X86_OP_SUB;
	case X86_INS_XOR:
		return X86_OP_XOR;
	case X86_INS_CMP:
		return X86_OP_CMP;
	case X86_INS_TEST:
		return X86_OP_TEST;
	case X86_INS_XCHG:
		return X86_OP_XCHG;
	case X86_INS_BT:
		return X86_OP_BT;
	case X86_INS_BTS:
		return X86_OP_BTS;
	case X86_INS_BTR:
		return X86_OP_BTR;
	case X86_INS_BTC:
		return X86_OP_BTC;
	case X86_INS_NOT:
		return X86_OP_NOT;
	case X86_INS_NEG:
		return X86_OP_NEG;
	case X86_INS_INC:
		return X86_OP_INC;
	case X86_INS_DEC:
		return X86_OP_DEC;
	default:
		return -1;
	}
}

/* Capstone register → Keel number and size; false for non-GPRs. */
static bool cs_gpr(unsigned reg, int *num, unsigned *size)
{
	static const struct {
		unsigned reg;
		int num;
		unsigned size;
	} map[] = {
	    {X86_REG_AL, X86_RAX, 1},  {X86_REG_CL, X86_RCX, 1},  {X86_REG_DL, X86_RDX, 1},
	    {X86_REG_BL, X86_RBX, 1},  {X86_REG_AH, X86_AH, 1},   {X86_REG_CH, X86_CH, 1},
	    {X86_REG_DH, X86_DH, 1},   {X86_REG_BH, X86_BH, 1},   {X86_REG_SPL, X86_RSP, 1},
	    {X86_REG_BPL, X86_RBP, 1}, {X86_REG_SIL, X86_RSI, 1}, {X86_REG_DIL, X86_RDI, 1},
	    {X86_REG_AX, X86_RAX, 2},  {X86_REG_CX, X86_RCX, 2},  {X86_REG_DX, X86_RDX, 2},
	    {X86_REG_BX, X86_RBX, 2},  {X86_REG_SP, X86_RSP, 2},  {X86_REG_BP, X86_RBP, 2},
	    {X86_REG_SI, X86_RSI, 2},  {X86_REG_DI, X86_RDI, 2},  {X86_REG_EAX, X86_RAX, 4},
	    {X86_REG_ECX, X86_RCX, 4}, {X86_REG_EDX, X86_RDX, 4}, {X86_REG_EBX, X86_RBX, 4},
	    {X86_REG_ESP, X86_RSP, 4}, {X86_REG_EBP, X86_RBP, 4}, {X86_REG_ESI, X86_RSI, 4},
	    {X86_REG_EDI, X86_RDI, 4}, {X86_REG_RAX, X86_RAX, 8}, {X86_REG_RCX, X86_RCX, 8},
	    {X86_REG_RDX, X86_RDX, 8}, {X86_REG_RBX, X86_RBX, 8}, {X86_REG_RSP, X86_RSP, 8},
	    {X86_REG_RBP, X86_RBP, 8}, {X86_REG_RSI, X86_RSI, 8}, {X86_REG_RDI, X86_RDI, 8},
	    {X86_REG_RIP, X86_RIP, 8}, {X86_REG_EIP, X86_RIP, 4}, {X86_REG_IP, X86_RIP, 2},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (map[i].reg == reg) {
			*num = map[i].num;
			*size = map[i].size;
			return true;
		}
	}
	if (reg >= X86_REG_R8B && reg <= X86_REG_R15B) {
		*num = X86_R8 + (int)(reg - X86_REG_R8B);
		*size = 1;
		return true;
	}
	if (reg >= X86_REG_R8W && reg <= X86_REG_R15W) {
		*num = X86_R8 + (int)(reg - X86_REG_R8W);
		*size = 2;
		return true;
	}
	if (reg >= X86_REG_R8D && reg <= X86_REG_R15D) {
		*num = X86_R8 + (int)(reg - X86_REG_R8D);
		*size = 4;
		return true;
	}
	if (reg >= X86_REG_R8 && reg <= X86_REG_R15) {
		*num = X86_R8 + (int)(reg - X86_REG_R8);
		*size = 8;
		return true;
	}
	return false;
}

static int cs_seg(unsigned reg)
{
	switch (reg) {
	case X86_REG_ES:
		return X86_ES;
	case X86_REG_CS:
		return X86_CS;
	case X86_REG_SS:
		return X86_SS;
	case X86_REG_DS:
		return X86_DS;
	case X86_REG_FS:
		return X86_FS;
	case X86_REG_GS:
		return X86_GS;
	default:
		return -1;
	}
}

/* Base/index registers: none for INVALID and the EIZ/RIZ pseudo-registers. */
static int cs_addr_reg(unsigned reg)
{
	int num;
	unsigned size;

	if (reg == X86_REG_INVALID || reg == X86_REG_EIZ || reg == X86_REG_RIZ)
		return X86_REG_NONE;
	if (!cs_gpr(reg, &num, &size))
		return -2;
	return num;
}

static uint64_t mask_of(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static void hexdump(char *out, size_t outlen, const uint8_t *b, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 4 < outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%02x ", b[i]);
}

static void mismatch(const char *why, const uint8_t *b, size_t n, enum x86_mode mode,
		     const cs_insn *ci, const struct x86_inst *ki, int kr)
{
	/* Print the first example of each (reason, mnemonic) pair, 32 at most. */
	static struct {
		const char *why;
		char mnemonic[32];
	} seen[32];
	static unsigned nseen;
	const char *mn = ci ? ci->mnemonic : "-";
	char hex[64];

	st.mismatches++;
	for (unsigned i = 0; i < nseen; i++) {
		if (!strcmp(seen[i].why, why) && !strcmp(seen[i].mnemonic, mn))
			return;
	}
	if (nseen >= 32)
		return;
	seen[nseen].why = why;
	snprintf(seen[nseen].mnemonic, sizeof(seen[nseen].mnemonic), "%s", mn);
	nseen++;
	hexdump(hex, sizeof(hex), b, n > 15 ? 15 : n);
	printf("MISMATCH %s (mode %d): %s\n  capstone: %s %s (len %u)\n", why, mode, hex,
	       ci ? ci->mnemonic : "-", ci ? ci->op_str : "-", ci ? ci->size : 0);
	printf("  keel: rc %d op %d len %u opsize %u memsize %u addr %u reg %u mem %d "
	       "base %u index %u scale %u disp %llx seg %u%s imm %llx\n",
	       kr, ki->op, ki->len, ki->opsize, ki->memsize, ki->addrsize, ki->reg, ki->has_mem,
	       ki->mem.base, ki->mem.index, ki->mem.scale, (unsigned long long)ki->mem.disp,
	       ki->mem.seg, ki->mem.seg_override ? "(ovr)" : "", (unsigned long long)ki->imm);
}

static bool has_prefix(const cs_insn *ci, uint8_t p)
{
	const cs_x86 *x = &ci->detail->x86;

	for (int i = 0; i < 4; i++) {
		if (x->prefix[i] == p)
			return true;
	}
	return false;
}

/* Compares everything both describe. Returns NULL or what differs. */
static const char *compare(const cs_insn *ci, const struct x86_inst *ki, int op, bool lenient)
{
	const cs_x86 *x = &ci->detail->x86;
	const cs_x86_op *mem = NULL, *mem2 = NULL, *reg = NULL, *imm = NULL;
	unsigned nreg = 0;
	int rnums[3];

	if ((int)ki->op != op)
		return "op";
	if (ki->len != ci->size)
		return "length";
	for (int i = 0; i < x->op_count; i++) {
		const cs_x86_op *o = &x->operands[i];

		if (o->type == X86_OP_MEM) {
			if (mem)
				mem2 = o;
			else
				mem = o;
		} else if (o->type == X86_OP_REG) {
			int num;
			unsigned size;

			if (!cs_gpr(o->reg, &num, &size))
				return "non-GPR register";
			if (nreg < 3)
				rnums[nreg] = num;
			nreg++;
			if (!reg)
				reg = o;
		} else if (o->type == X86_OP_IMM) {
			imm = o;
		}
	}
	if (ki->form == X86_FORM_STRING) {
		/* MOVS: [0] ES:[rDI], [1] seg:[rSI]; STOS: [0] ES:[rDI], [1] rAX. */
		const cs_x86_op *src = ki->op == X86_OP_MOVS ? mem2 : mem;
		int base;

		if (!mem || (ki->op == X86_OP_MOVS && !mem2))
			return "string operands";
		if (mem->size != ki->opsize)
			return "string size";
		base = cs_addr_reg(src->mem.base);
		if (base != (ki->op == X86_OP_MOVS ? X86_RSI : X86_RDI))
			return "string base";
		{
			int num;
			unsigned size;

			if (!cs_gpr(src->mem.base, &num, &size) || size != ki->addrsize)
				return "string address size";
		}
		if (ki->op == X86_OP_MOVS) {
			int seg = cs_seg(src->mem.segment);

			if (ki->mem.seg_override ? seg != ki->mem.seg : seg >= 0 && seg != X86_DS)
				return "string segment";
		}
		if (has_prefix(ci, 0xF3) != ki->rep || has_prefix(ci, 0xF2) != ki->repne)
			return "rep";
		return NULL;
	}
	if (!ki->has_mem) {
		/* Register forms: sizes and the set of registers. */
		if (mem)
			return "memory operand missing";
		if (!reg || (reg->size != ki->opsize && !lenient))
			return "register size";
		if (nreg >= 1 && rnums[0] != ki->reg && rnums[0] != ki->rm_reg)
			return "register";
		if (nreg >= 2 && rnums[1] != ki->reg && rnums[1] != ki->rm_reg)
			return "register";
	} else {
		uint64_t am = mask_of(ki->addrsize);
		int base, index, seg;

		if (!mem || mem2)
			return "memory operand";
		if (mem->size != ki->memsize && !lenient)
			return "memory size";
		if (reg && ki->form != X86_FORM_RM_IMM && reg->size != ki->opsize && !lenient)
			return "register size";
		base = cs_addr_reg(mem->mem.base);
		index = cs_addr_reg(mem->mem.index);
		if (base != ki->mem.base)
			return "base";
		if (index != ki->mem.index)
			return "index";
		if (index != X86_REG_NONE && mem->mem.scale != ki->mem.scale)
			return "scale";
		if (((uint64_t)mem->mem.disp & am) != ((uint64_t)ki->mem.disp & am))
			return "displacement";
		if (base == X86_RIP) {
			int num;
			unsigned size;

			cs_gpr(mem->mem.base, &num, &size);
			if (size != ki->addrsize)
				return "RIP-relative address size";
		} else if (base != X86_REG_NONE || index != X86_REG_NONE) {
			int num;
			unsigned size;

			cs_gpr(base != X86_REG_NONE ? mem->mem.base : mem->mem.index, &num, &size);
			if (size != ki->addrsize)
				return "address size";
		}
		seg = cs_seg(mem->mem.segment);
		if (ki->mem.seg_override ? seg != ki->mem.seg : seg >= 0)
			return "segment";
		if (nreg && rnums[0] != ki->reg)
			return "register";
		if (ki->lock != has_prefix(ci, 0xF0))
			return "lock";
	}
	if (imm) {
		unsigned isz = (ki->op >= X86_OP_BT && ki->op <= X86_OP_BTC) ? 1 : ki->opsize;

		if (ki->form != X86_FORM_RM_IMM)
			return "unexpected immediate";
		if (((uint64_t)imm->imm & mask_of(isz)) != (ki->imm & mask_of(isz)))
			return "immediate";
	} else if (ki->form == X86_FORM_RM_IMM) {
		return "missing immediate";
	}
	return NULL;
}

static bool lockable(int op)
{
	return op <= X86_OP_XOR || op == X86_OP_XCHG || op == X86_OP_BTS || op == X86_OP_BTR ||
	       op == X86_OP_BTC || op == X86_OP_NOT || op == X86_OP_NEG || op == X86_OP_INC ||
	       op == X86_OP_DEC;
}

enum verdict { V_AGREE, V_LOCK_UD, V_NO_MEM, V_OTHER, V_BOTH_REJECT, V_MISMATCH, V_MOVSXD };

/* Decodes B[0..N) with both and compares. *CI (to free with cs_free, *CNT
 * entries) and *WHY describe a mismatch. */
static enum verdict classify(const uint8_t *b, size_t n, enum x86_mode mode, struct x86_inst *ki,
			     int *kr, cs_insn **ci, size_t *cnt, const char **why)
{
	int op = -1;
	bool gpr_only = true, cs_mem = false, mem_dst = false;

	*ci = NULL;
	*why = NULL;
	*cnt = cs_disasm(handle(mode), b, n, 0x1000, 1, ci);
	memset(ki, 0, sizeof(*ki));
	*kr = x86_decode(b, n, mode, ki);
	if (*cnt) {
		const cs_x86 *x = &(*ci)->detail->x86;

		op = cs_op((*ci)->id);
		for (int i = 0; i < x->op_count; i++) {
			int num;
			unsigned size;

			if (x->operands[i].type == X86_OP_REG &&
			    !cs_gpr(x->operands[i].reg, &num, &size))
				gpr_only = false;
			if (x->operands[i].type == X86_OP_MEM) {
				cs_mem = true;
				mem_dst = mem_dst || i == 0 || op == X86_OP_XCHG;
			}
		}
		if (!gpr_only)
			op = -1;
	}
	if (!*cnt) {
		if (*kr != X86_DECODE_OK)
			return V_BOTH_REJECT;
		*why = "Keel decodes what capstone rejects";
		return V_MISMATCH;
	}
	if (op < 0) {
		if (*kr != X86_DECODE_OK)
			return V_OTHER;
		*why = "Keel decodes another instruction";
		return V_MISMATCH;
	}
	if (*kr != X86_DECODE_OK) {
		/* LOCK is legal only on lockable ops with a memory destination. */
		if (*kr == X86_DECODE_UD && has_prefix(*ci, 0xF0) && (!lockable(op) || !mem_dst))
			return V_LOCK_UD;
		if (!cs_mem)
			return V_NO_MEM;
		*why = "Keel refuses a supported instruction";
		return V_MISMATCH;
	}
	*why = compare(*ci, ki, op, false);
	if (!*why)
		return V_AGREE;
	/* Capstone 4 decodes 63 /r as MOVSXD r64, r/m32 whatever REX.W and 66
	 * say; the SDM has MOVSXD r32, r/m32 and r16, r/m16 without REX.W. */
	if (op == X86_OP_MOVSXD && !(ki->rex & 8) && !compare(*ci, ki, op, true))
		return V_MOVSXD;
	return V_MISMATCH;
}

static bool is_legacy_prefix(uint8_t p)
{
	return p == 0x66 || p == 0x67 || p == 0xF0 || p == 0xF2 || p == 0xF3 || p == 0x26 ||
	       p == 0x2E || p == 0x36 || p == 0x3E || p == 0x64 || p == 0x65;
}

/* Copies B without its F2/F3 prefixes (and without REX bytes a later legacy
 * prefix already cancels, so that none becomes effective). Returns the new
 * length, or 0 if there was no F2/F3. */
static size_t strip_rep(const uint8_t *b, size_t n, enum x86_mode mode, uint8_t *out)
{
	size_t end = 0, k = 0;
	bool found = false;

	while (end < n && end < 15 &&
	       (is_legacy_prefix(b[end]) || (mode == X86_MODE_64 && (b[end] & 0xF0) == 0x40)))
		end++;
	for (size_t i = 0; i < end; i++) {
		bool later_legacy = false;

		for (size_t j = i + 1; j < end; j++)
			later_legacy = later_legacy || is_legacy_prefix(b[j]);
		if (b[i] == 0xF2 || b[i] == 0xF3) {
			found = true;
			continue;
		}
		if (mode == X86_MODE_64 && (b[i] & 0xF0) == 0x40 && later_legacy)
			continue;
		out[k++] = b[i];
	}
	memcpy(out + k, b + end, n - end);
	return found ? k + (n - end) : 0;
}

/* Capstone 4.0.2 mishandles F2/F3 on instructions where the CPU ignores them
 * (or, on MOVS/STOS, treats both as REP): it drops 0x66 or LOCK, drops F2 on
 * MOVS, or rejects the bytes. Such a disagreement is a capstone quirk when,
 * without the F2/F3 prefixes, capstone agrees with Keel and Keel decodes the
 * same instruction as before (apart from length and the REP flags). */
static bool rep_quirk(const uint8_t *b, size_t n, enum x86_mode mode, const struct x86_inst *ki,
		      int kr)
{
	uint8_t s[32];
	size_t sn = strip_rep(b, n, mode, s), cnt;
	struct x86_inst k2;
	cs_insn *ci;
	const char *why;
	int kr2;
	enum verdict v;

	if (!sn)
		return false;
	v = classify(s, sn, mode, &k2, &kr2, &ci, &cnt, &why);
	if (ci)
		cs_free(ci, cnt);
	if (v == V_MISMATCH || kr2 != kr)
		return false;
	if (kr == X86_DECODE_OK) {
		struct x86_inst a = *ki;

		a.len = k2.len;
		a.rep = a.repne = false;
		if (memcmp(&a, &k2, sizeof(a)))
			return false;
	}
	return true;
}

static void check(const uint8_t *b, size_t n, enum x86_mode mode)
{
	struct x86_inst ki;
	cs_insn *ci;
	size_t cnt;
	const char *why;
	int kr;
	enum verdict v = classify(b, n, mode, &ki, &kr, &ci, &cnt, &why);

	st.total++;
	switch (v) {
	case V_AGREE:
		st.agreed++;
		if (ki.has_mem)
			st.agreed_mem++;
		break;
	case V_LOCK_UD:
		st.lock_ud++;
		break;
	case V_NO_MEM:
		st.no_mem_skip++;
		break;
	case V_OTHER:
		st.other++;
		break;
	case V_BOTH_REJECT:
		st.both_reject++;
		break;
	case V_MOVSXD:
		st.quirk_movsxd++;
		break;
	case V_MISMATCH:
		if (rep_quirk(b, n, mode, &ki, kr))
			st.quirk_rep++;
		else
			mismatch(why, b, n, mode, cnt ? ci : NULL, &ki, kr);
		break;
	}
	if (ci)
		cs_free(ci, cnt);
}

static void fill_random(uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rnd();
}

struct opc {
	uint8_t b[2];
	uint8_t n;
	bool modrm;
};

/* Every opcode the decoder knows (plus the group bytes, all /r values). */
static const struct opc opcodes[] = {
    {{0x00}, 1, 1},       {{0x01}, 1, 1},       {{0x02}, 1, 1},       {{0x03}, 1, 1},
    {{0x08}, 1, 1},       {{0x09}, 1, 1},       {{0x0A}, 1, 1},       {{0x0B}, 1, 1},
    {{0x10}, 1, 1},       {{0x11}, 1, 1},       {{0x12}, 1, 1},       {{0x13}, 1, 1},
    {{0x18}, 1, 1},       {{0x19}, 1, 1},       {{0x1A}, 1, 1},       {{0x1B}, 1, 1},
    {{0x20}, 1, 1},       {{0x21}, 1, 1},       {{0x22}, 1, 1},       {{0x23}, 1, 1},
    {{0x28}, 1, 1},       {{0x29}, 1, 1},       {{0x2A}, 1, 1},       {{0x2B}, 1, 1},
    {{0x30}, 1, 1},       {{0x31}, 1, 1},       {{0x32}, 1, 1},       {{0x33}, 1, 1},
    {{0x38}, 1, 1},       {{0x39}, 1, 1},       {{0x3A}, 1, 1},       {{0x3B}, 1, 1},
    {{0x63}, 1, 1},       {{0x80}, 1, 1},       {{0x81}, 1, 1},       {{0x82}, 1, 1},
    {{0x83}, 1, 1},       {{0x84}, 1, 1},       {{0x85}, 1, 1},       {{0x86}, 1, 1},
    {{0x87}, 1, 1},       {{0x88}, 1, 1},       {{0x89}, 1, 1},       {{0x8A}, 1, 1},
    {{0x8B}, 1, 1},       {{0xC6}, 1, 1},       {{0xC7}, 1, 1},       {{0xF6}, 1, 1},
    {{0xF7}, 1, 1},       {{0xFE}, 1, 1},       {{0xFF}, 1, 1},       {{0x0F, 0xA3}, 2, 1},
    {{0x0F, 0xAB}, 2, 1}, {{0x0F, 0xB3}, 2, 1}, {{0x0F, 0xBB}, 2, 1}, {{0x0F, 0xBA}, 2, 1},
    {{0x0F, 0xB6}, 2, 1}, {{0x0F, 0xB7}, 2, 1}, {{0x0F, 0xBE}, 2, 1}, {{0x0F, 0xBF}, 2, 1},
    {{0xA0}, 1, 0},       {{0xA1}, 1, 0},       {{0xA2}, 1, 0},       {{0xA3}, 1, 0},
    {{0xA4}, 1, 0},       {{0xA5}, 1, 0},       {{0xAA}, 1, 0},       {{0xAB}, 1, 0},
};
#define NOPC (sizeof(opcodes) / sizeof(opcodes[0]))

struct pfx {
	uint8_t b[3];
	uint8_t n;
	bool only64;
};

static const struct pfx prefix_sets[] = {
    {{0}, 0, 0},          {{0x66}, 1, 0},       {{0x67}, 1, 0},       {{0x66, 0x67}, 2, 0},
    {{0xF0}, 1, 0},       {{0xF3}, 1, 0},       {{0xF2}, 1, 0},       {{0x26}, 1, 0},
    {{0x2E}, 1, 0},       {{0x36}, 1, 0},       {{0x3E}, 1, 0},       {{0x64}, 1, 0},
    {{0x65}, 1, 0},       {{0xF0, 0x66}, 2, 0}, {{0x65, 0x67}, 2, 0}, {{0xF3, 0x66}, 2, 0},
    {{0x40}, 1, 1},       {{0x41}, 1, 1},       {{0x42}, 1, 1},       {{0x44}, 1, 1},
    {{0x48}, 1, 1},       {{0x4F}, 1, 1},       {{0x45}, 1, 1},       {{0x4B}, 1, 1},
    {{0x66, 0x48}, 2, 1}, {{0x48, 0x66}, 2, 1}, {{0x41, 0x48}, 2, 1}, {{0x67, 0x41}, 2, 1},
    {{0xF0, 0x48}, 2, 1}, {{0x64, 0x4C}, 2, 1}, {{0x67, 0x4A}, 2, 1}, {{0x66, 0x66, 0x43}, 3, 1},
};
#define NPFX (sizeof(prefix_sets) / sizeof(prefix_sets[0]))

static const enum x86_mode modes[] = {X86_MODE_16, X86_MODE_32, X86_MODE_64};

static void report(const char *what)
{
	printf("%s: %lu byte strings; %lu agreed with capstone (%lu with a memory operand); "
	       "%lu LOCK #UD; %lu register-only forms not decoded; %lu other instructions; "
	       "%lu rejected by both; capstone quirks: %lu MOVSXD, %lu F2/F3; %lu mismatches\n",
	       what, st.total, st.agreed, st.agreed_mem, st.lock_ud, st.no_mem_skip, st.other,
	       st.both_reject, st.quirk_movsxd, st.quirk_rep, st.mismatches);
}

/* Every opcode x every ModRM x every prefix set x mode, random tail. */
static void test_opcode_sweep(void **state)
{
	uint8_t buf[24];

	(void)state;
	memset(&st, 0, sizeof(st));
	for (size_t m = 0; m < 3; m++) {
		for (size_t p = 0; p < NPFX; p++) {
			if (prefix_sets[p].only64 && modes[m] != X86_MODE_64)
				continue;
			for (size_t o = 0; o < NOPC; o++) {
				unsigned nmodrm = opcodes[o].modrm ? 256 : 16;

				for (unsigned modrm = 0; modrm < nmodrm; modrm++) {
					size_t k = 0;

					fill_random(buf, sizeof(buf));
					memcpy(buf, prefix_sets[p].b, prefix_sets[p].n);
					k = prefix_sets[p].n;
					memcpy(buf + k, opcodes[o].b, opcodes[o].n);
					k += opcodes[o].n;
					if (opcodes[o].modrm)
						buf[k] = (uint8_t)modrm;
					check(buf, 15, modes[m]);
				}
			}
		}
	}
	report("opcode sweep");
	assert_int_equal(st.mismatches, 0);
	assert_true(st.agreed_mem > 100000);
}

/* Every SIB byte under every memory ModRM.mod with rm = 4, plus REX.X/B. */
static void test_sib_sweep(void **state)
{
	static const uint8_t ops[] = {0x8B, 0x89, 0x01, 0x85};
	static const uint8_t rexes[] = {0, 0x41, 0x42, 0x43, 0x48, 0x4B};
	uint8_t buf[24];

	(void)state;
	memset(&st, 0, sizeof(st));
	for (size_t m = 0; m < 3; m++) {
		for (size_t x = 0; x < sizeof(rexes); x++) {
			if (rexes[x] && modes[m] != X86_MODE_64)
				continue;
			for (unsigned mod = 0; mod < 3; mod++) {
				for (unsigned sib = 0; sib < 256; sib++) {
					for (size_t o = 0; o < sizeof(ops); o++) {
						size_t k = 0;

						fill_random(buf, sizeof(buf));
						if (modes[m] == X86_MODE_16)
							buf[k++] =
							    0x67; /* SIB needs 32-bit addressing */
						if (rexes[x])
							buf[k++] = rexes[x];
						buf[k++] = ops[o];
						buf[k++] =
						    (uint8_t)(mod << 6 | (rnd() & 7) << 3 | 4);
						buf[k++] = (uint8_t)sib;
						check(buf, 15, modes[m]);
					}
				}
			}
		}
	}
	report("SIB sweep");
	assert_int_equal(st.mismatches, 0);
}

/* Random byte strings: some uniform, some drawn mostly from prefixes and
 * supported opcodes so that they hit interesting paths. */
static void test_random_bytes(void **state)
{
	static const uint8_t hot[] = {0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x26, 0x2E, 0x36, 0x3E, 0x64,
				      0x65, 0x40, 0x41, 0x44, 0x48, 0x4C, 0x0F, 0x0F, 0x89, 0x8B,
				      0x88, 0x8A, 0xC7, 0xC6, 0x81, 0x83, 0x80, 0xF7, 0xFF, 0xA1,
				      0xA3, 0xA5, 0xAB, 0xBA, 0xB6, 0xBF, 0xA3, 0xAB, 0x63, 0x87};
	uint8_t buf[24];

	(void)state;
	memset(&st, 0, sizeof(st));
	for (unsigned i = 0; i < 300000; i++) {
		enum x86_mode mode = modes[i % 3];

		fill_random(buf, sizeof(buf));
		if (i & 1) {
			unsigned nhot = (unsigned)(rnd() % 6);

			for (unsigned j = 0; j < nhot; j++)
				buf[j] = hot[rnd() % sizeof(hot)];
		}
		check(buf, 15, mode);
	}
	report("random bytes");
	assert_int_equal(st.mismatches, 0);
}

/* The decoder never reads past LEN: decode every accepted instruction again
 * from an exactly sized heap copy (ASan watches), and one byte shorter. */
static void test_truncation(void **state)
{
	uint8_t buf[24];
	unsigned long checked = 0;

	(void)state;
	for (unsigned i = 0; i < 60000; i++) {
		enum x86_mode mode = modes[i % 3];
		const struct opc *o = &opcodes[rnd() % NOPC];
		struct x86_inst a, b;
		uint8_t *copy;

		fill_random(buf, sizeof(buf));
		memcpy(buf + (i & 1), o->b, o->n);
		if (x86_decode(buf, 15, mode, &a) != X86_DECODE_OK)
			continue;
		copy = malloc(a.len);
		memcpy(copy, buf, a.len);
		assert_int_equal(x86_decode(copy, a.len, mode, &b), X86_DECODE_OK);
		assert_memory_equal(&a, &b, sizeof(a));
		assert_int_equal(x86_decode(copy, a.len - 1u, mode, &b), X86_DECODE_SHORT);
		free(copy);
		checked++;
	}
	assert_true(checked > 10000);
	printf("truncation: %lu instructions re-decoded from exact-length buffers\n", checked);
}

/* Hand-written cases with known answers (no reference needed). */
static void test_known(void **state)
{
	struct x86_inst in;
	uint8_t prefixes16[16];

	(void)state;
	/* mov eax, [rip + 0x10] */
	static const uint8_t riprel[] = {0x8B, 0x05, 0x10, 0, 0, 0};
	assert_int_equal(x86_decode(riprel, sizeof(riprel), X86_MODE_64, &in), 0);
	assert_int_equal(in.len, 6);
	assert_int_equal(in.mem.base, X86_RIP);
	assert_int_equal(in.mem.disp, 0x10);
	assert_int_equal(in.opsize, 4);
	/* The same bytes in 32-bit mode: absolute disp32. */
	assert_int_equal(x86_decode(riprel, sizeof(riprel), X86_MODE_32, &in), 0);
	assert_int_equal(in.mem.base, X86_REG_NONE);
	/* mov ah, [bx+si+0x7f] in 16-bit mode; spl with a REX in 64-bit. */
	static const uint8_t ah16[] = {0x8A, 0x60, 0x7F};
	assert_int_equal(x86_decode(ah16, 3, X86_MODE_16, &in), 0);
	assert_int_equal(in.reg, X86_AH);
	assert_int_equal(in.mem.base, X86_RBX);
	assert_int_equal(in.mem.index, X86_RSI);
	assert_int_equal(in.mem.disp, 0x7F);
	static const uint8_t spl[] = {0x40, 0x88, 0x20};
	assert_int_equal(x86_decode(spl, 3, X86_MODE_64, &in), 0);
	assert_int_equal(in.reg, X86_RSP);
	/* [bp+2] defaults to SS; [r13] does not. */
	static const uint8_t bp16[] = {0x8B, 0x46, 0x02};
	assert_int_equal(x86_decode(bp16, 3, X86_MODE_16, &in), 0);
	assert_int_equal(in.mem.seg, X86_SS);
	static const uint8_t r13[] = {0x41, 0x8B, 0x45, 0x00};
	assert_int_equal(x86_decode(r13, 4, X86_MODE_64, &in), 0);
	assert_int_equal(in.mem.base, X86_R13);
	assert_int_equal(in.mem.seg, X86_DS);
	/* REX.W beats 0x66; a REX before a legacy prefix is ignored. */
	static const uint8_t w66[] = {0x66, 0x48, 0x89, 0x00};
	assert_int_equal(x86_decode(w66, 4, X86_MODE_64, &in), 0);
	assert_int_equal(in.opsize, 8);
	static const uint8_t rex66[] = {0x48, 0x66, 0x89, 0x00};
	assert_int_equal(x86_decode(rex66, 4, X86_MODE_64, &in), 0);
	assert_int_equal(in.opsize, 2);
	/* movabs eax, [0x1122334455667788]; 8-byte moffs. */
	static const uint8_t moffs[] = {0xA1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
	assert_int_equal(x86_decode(moffs, 9, X86_MODE_64, &in), 0);
	assert_int_equal(in.len, 9);
	assert_int_equal((uint64_t)in.mem.disp, 0x1122334455667788ULL);
	/* rep movsd with 16-bit addressing in 32-bit mode. */
	static const uint8_t rep[] = {0xF3, 0x67, 0xA5};
	assert_int_equal(x86_decode(rep, 3, X86_MODE_32, &in), 0);
	assert_true(in.rep);
	assert_int_equal(in.addrsize, 2);
	assert_int_equal(in.opsize, 4);
	/* LOCK on MOV, CMP, a register destination: #UD; on ADD to memory: fine. */
	static const uint8_t lmov[] = {0xF0, 0x89, 0x00};
	static const uint8_t lcmp[] = {0xF0, 0x39, 0x00};
	static const uint8_t lreg[] = {0xF0, 0x01, 0xC0};
	static const uint8_t ladd[] = {0xF0, 0x01, 0x00};
	assert_int_equal(x86_decode(lmov, 3, X86_MODE_64, &in), X86_DECODE_UD);
	assert_int_equal(x86_decode(lcmp, 3, X86_MODE_64, &in), X86_DECODE_UD);
	assert_int_equal(x86_decode(lreg, 3, X86_MODE_64, &in), X86_DECODE_UD);
	assert_int_equal(x86_decode(ladd, 3, X86_MODE_64, &in), 0);
	/* 63 is MOVSXD only in 64-bit mode; 82 only outside it. */
	static const uint8_t arpl[] = {0x63, 0x00};
	static const uint8_t op82[] = {0x82, 0x00, 0x01};
	assert_int_equal(x86_decode(arpl, 2, X86_MODE_32, &in), X86_DECODE_UD);
	assert_int_equal(x86_decode(op82, 3, X86_MODE_64, &in), X86_DECODE_UD);
	assert_int_equal(x86_decode(op82, 3, X86_MODE_32, &in), 0);
	/* Unsupported: CALL [rax], MUL, a bare NOP. */
	static const uint8_t call[] = {0xFF, 0x10};
	static const uint8_t mul[] = {0xF7, 0x20};
	static const uint8_t nop[] = {0x90};
	assert_int_equal(x86_decode(call, 2, X86_MODE_64, &in), X86_DECODE_UD);
	assert_int_equal(x86_decode(mul, 2, X86_MODE_64, &in), X86_DECODE_UD);
	assert_int_equal(x86_decode(nop, 1, X86_MODE_64, &in), X86_DECODE_UD);
	/* 15 bytes is the limit: 14 prefixes + opcode needing a ModRM is too long. */
	memset(prefixes16, 0x66, sizeof(prefixes16));
	prefixes16[14] = 0x8B;
	prefixes16[15] = 0x00;
	assert_int_equal(x86_decode(prefixes16, 16, X86_MODE_64, &in), X86_DECODE_TOO_LONG);
	prefixes16[13] = 0x8B;
	prefixes16[14] = 0x00;
	assert_int_equal(x86_decode(prefixes16, 16, X86_MODE_64, &in), 0);
	assert_int_equal(in.len, 15);
	assert_int_equal(x86_decode(prefixes16, 5, X86_MODE_64, &in), X86_DECODE_SHORT);
	assert_int_equal(x86_decode(prefixes16, 0, X86_MODE_64, &in), X86_DECODE_SHORT);
	/* Bad mode. */
	assert_int_equal(x86_decode(nop, 1, (enum x86_mode)8, &in), X86_DECODE_UD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known),      cmocka_unit_test(test_opcode_sweep),
	    cmocka_unit_test(test_sib_sweep),  cmocka_unit_test(test_random_bytes),
	    cmocka_unit_test(test_truncation),
	};

	if (cs_open(CS_ARCH_X86, CS_MODE_16, &cs16) || cs_open(CS_ARCH_X86, CS_MODE_32, &cs32) ||
	    cs_open(CS_ARCH_X86, CS_MODE_64, &cs64))
		return 1;
	cs_option(cs16, CS_OPT_DETAIL, CS_OPT_ON);
	cs_option(cs32, CS_OPT_DETAIL, CS_OPT_ON);
	cs_option(cs64, CS_OPT_DETAIL, CS_OPT_ON);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
