/* Unit tests for the MMIO emulator (core/x86_emulate.c, core/x86_flags.c).
 * ALU results and flags are compared with the host CPU running the same
 * operation (this test is hosted x86-64: inline asm gives reference flags),
 * over many random operands and every size; the rest against hand-computed
 * expectations: register write rules, MOVZX/MOVSX, REP MOVS/STOS, RIP,
 * faults, and a random-bytes run that must never misbehave. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <keel/x86_emulate.h>

#define FL_CF 0x1ULL
#define FL_PF 0x4ULL
#define FL_AF 0x10ULL
#define FL_ZF 0x40ULL
#define FL_SF 0x80ULL
#define FL_OF 0x800ULL
#define FL_ARITH 0x8D5ULL
#define FL_DF 0x400ULL
#define FL_RF 0x10000ULL

#define MMIO_GPA 0xFED40000ULL /* the device page */
#define RAM_LA 0x200000ULL /* linear address of the RAM the MOVS tests use */
#define RAM_SIZE 0x3000

/* ---- host references ---------------------------------------------------- */

/* Runs "MNEM y, x" on the host with flags F loaded, returns x and the flags.
 * The red zone is skipped before pushing: the compiler may keep data there. */
#define HOST2(name, mnem, type)                                                                 \
	static uint64_t name(uint64_t a, uint64_t b, uint64_t *fl)                              \
	{                                                                                       \
		type x = (type)a, y = (type)b;                                                  \
		uint64_t f = *fl;                                                               \
		asm volatile("sub $128, %%rsp\n\tpush %[f]\n\tpopfq\n\t" mnem " %[y], %[x]\n\t" \
			     "pushfq\n\tpop %[f]\n\tadd $128, %%rsp"                            \
			     : [x] "+r"(x), [f] "+r"(f)                                         \
			     : [y] "r"(y)                                                       \
			     : "cc", "memory");                                                 \
		*fl = f;                                                                        \
		return x;                                                                       \
	}
#define HOST1(name, mnem, type)                                                           \
	static uint64_t name(uint64_t a, uint64_t b, uint64_t *fl)                        \
	{                                                                                 \
		type x = (type)a;                                                         \
		uint64_t f = *fl;                                                         \
		(void)b;                                                                  \
		asm volatile("sub $128, %%rsp\n\tpush %[f]\n\tpopfq\n\t" mnem " %[x]\n\t" \
			     "pushfq\n\tpop %[f]\n\tadd $128, %%rsp"                      \
			     : [x] "+r"(x), [f] "+r"(f)                                   \
			     :                                                            \
			     : "cc", "memory");                                           \
		*fl = f;                                                                  \
		return x;                                                                 \
	}
#define HOST_SIZES2(op)                     \
	HOST2(h_##op##1, #op "b", uint8_t)  \
	HOST2(h_##op##2, #op "w", uint16_t) \
	HOST2(h_##op##4, #op "l", uint32_t) \
	HOST2(h_##op##8, #op "q", uint64_t)
#define HOST_SIZES1(op)                     \
	HOST1(h_##op##1, #op "b", uint8_t)  \
	HOST1(h_##op##2, #op "w", uint16_t) \
	HOST1(h_##op##4, #op "l", uint32_t) \
	HOST1(h_##op##8, #op "q", uint64_t)
#define HOST_BT(op)                         \
	HOST2(h_##op##2, #op "w", uint16_t) \
	HOST2(h_##op##4, #op "l", uint32_t) \
	HOST2(h_##op##8, #op "q", uint64_t)

HOST_SIZES2(add)
HOST_SIZES2(or)
HOST_SIZES2(adc)
HOST_SIZES2(sbb)
HOST_SIZES2(and)
HOST_SIZES2(sub)
HOST_SIZES2(xor)
HOST_SIZES2(cmp)
HOST_SIZES2(test)
HOST_SIZES1(inc)
HOST_SIZES1(dec)
HOST_SIZES1(neg)
HOST_SIZES1(not )
HOST_BT(bt)
HOST_BT(bts)
HOST_BT(btr)
HOST_BT(btc)

typedef uint64_t (*host_fn)(uint64_t a, uint64_t b, uint64_t *fl);

#define SIZES(op)                                          \
	{                                                  \
		h_##op##1, h_##op##2, h_##op##4, h_##op##8 \
	}
static const host_fn host_alu[][4] = {SIZES(add), SIZES(or),  SIZES(adc), SIZES(sbb),
				      SIZES(and), SIZES(sub), SIZES(xor), SIZES(cmp)};
static const host_fn host_test[4] = SIZES(test);
static const host_fn host_unary[4][4] = {SIZES(not ), SIZES(neg), SIZES(inc), SIZES(dec)};
static const host_fn host_bt[4][3] = {{h_bt2, h_bt4, h_bt8},
				      {h_bts2, h_bts4, h_bts8},
				      {h_btr2, h_btr4, h_btr8},
				      {h_btc2, h_btc4, h_btc8}};

static unsigned size_idx(unsigned size)
{
	return size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
}

static uint64_t mask_of(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static uint64_t rng_state = 0x1234567887654321ULL;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Operands biased toward the edges where flags change. */
static uint64_t operand(unsigned size)
{
	static const uint64_t edges[] = {0,
					 1,
					 2,
					 0x7F,
					 0x80,
					 0xFF,
					 0x7FFF,
					 0x8000,
					 0xFFFF,
					 0x7FFFFFFF,
					 0x80000000,
					 0xFFFFFFFF,
					 0x0F,
					 0x10,
					 0x7FFFFFFFFFFFFFFFULL,
					 0x8000000000000000ULL,
					 ~0ULL};
	uint64_t v;

	switch (rnd() % 4) {
	case 0:
		v = edges[rnd() % (sizeof(edges) / sizeof(edges[0]))];
		break;
	case 1:
		v = edges[rnd() % (sizeof(edges) / sizeof(edges[0]))] + (rnd() % 3) - 1;
		break;
	default:
		v = rnd();
		break;
	}
	return v & mask_of(size);
}

/* ---- a fake vCPU, device and RAM ------------------------------------- */

struct access {
	uint64_t gpa;
	unsigned size;
	uint64_t val;
	bool write;
};

struct env {
	uint8_t mmio[4096];
	struct access log[8192];
	unsigned nlog;
	bool mmio_fail;
	uint8_t ram[RAM_SIZE]; /* linear [RAM_LA, RAM_LA + RAM_SIZE); the rest faults */
	struct vcpu_regs regs;
	struct x86_emu e;
};

static struct env env;

static int mmio_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *val)
{
	struct env *v = ctx;

	if (v->mmio_fail || gpa < MMIO_GPA || gpa + size > MMIO_GPA + 4096)
		return -1;
	*val = 0;
	memcpy(val, &v->mmio[gpa - MMIO_GPA], size);
	if (v->nlog < 8192)
		v->log[v->nlog++] = (struct access){gpa, size, *val, false};
	return 0;
}

static int mmio_write(void *ctx, uint64_t gpa, unsigned size, uint64_t val)
{
	struct env *v = ctx;

	if (v->mmio_fail || gpa < MMIO_GPA || gpa + size > MMIO_GPA + 4096)
		return -1;
	assert_true(size == 8 || val <= mask_of(size));
	memcpy(&v->mmio[gpa - MMIO_GPA], &val, size);
	if (v->nlog < 8192)
		v->log[v->nlog++] = (struct access){gpa, size, val, true};
	return 0;
}

static int ram_access(struct env *v, uint64_t la, void *buf, const void *src, unsigned len,
		      struct walk_fault *fault, bool write)
{
	if (la < RAM_LA || la + len > RAM_LA + RAM_SIZE) {
		/* Fault at the first byte outside RAM (hardware reports the page's). */
		fault->addr = la < RAM_LA ? la : (la > RAM_LA + RAM_SIZE ? la : RAM_LA + RAM_SIZE);
		fault->error_code = write ? PF_ERR_W : 0;
		return X86_CB_PAGE_FAULT;
	}
	if (write)
		memcpy(&v->ram[la - RAM_LA], src, len);
	else
		memcpy(buf, &v->ram[la - RAM_LA], len);
	return X86_CB_OK;
}

static int mem_read(void *ctx, uint64_t la, void *buf, unsigned len, struct walk_fault *fault)
{
	return ram_access(ctx, la, buf, NULL, len, fault, false);
}

static int mem_write(void *ctx, uint64_t la, const void *buf, unsigned len,
		     struct walk_fault *fault)
{
	return ram_access(ctx, la, NULL, buf, len, fault, true);
}

static const struct x86_emu_ops ops = {mmio_read, mmio_write, mem_read, mem_write};

static void reset(void)
{
	memset(&env, 0, sizeof(env));
	env.regs.rip = 0x1000;
	env.regs.rflags = 0x202;
}

/* Emulates BYTES in MODE with the device access at GPA. */
static int run(enum x86_mode mode, const uint8_t *bytes, size_t len, uint64_t gpa, bool write)
{
	struct x86_emu *e = &env.e;

	memset(e, 0, sizeof(*e));
	e->regs = &env.regs;
	e->mode = mode;
	e->gpa = gpa;
	e->write_fault = write;
	e->insn = bytes;
	e->insn_len = len;
	e->ops = &ops;
	e->ctx = &env;
	env.nlog = 0;
	return x86_emulate_mmio(e);
}

static uint64_t mmio_get(unsigned off, unsigned size)
{
	uint64_t v = 0;

	memcpy(&v, &env.mmio[off], size);
	return v;
}

static void mmio_set(unsigned off, unsigned size, uint64_t v)
{
	memcpy(&env.mmio[off], &v, size);
}

/* Operand-size prefixes for SIZE in 64-bit mode, returns bytes written. */
static size_t size_prefix(uint8_t *b, unsigned size)
{
	if (size == 2) {
		b[0] = 0x66;
		return 1;
	}
	if (size == 8) {
		b[0] = 0x48;
		return 1;
	}
	return 0;
}

/* ---- ALU against the host --------------------------------------------- */

enum alu_form { F_MEM_REG, F_REG_MEM, F_IMM_FULL, F_IMM8 };

/* op [rbx+0x34], rcx / op rcx, [rbx+0x34] / op [rbx+0x34], imm in 64-bit mode,
 * with the device at offset 0x234 of its page. */
static bool alu_case(unsigned op, unsigned size, enum alu_form form, uint64_t a, uint64_t b,
		     uint64_t fin)
{
	uint8_t insn[16];
	size_t n = size_prefix(insn, size);
	uint64_t host_f = fin | 0x2, res, rcx_before = rnd(), expect_rcx, imm = 0;
	bool is_test = op == X86_OP_TEST;
	unsigned immsize = 0;
	int rc;

	if (form == F_IMM8 && size == 1)
		form = F_IMM_FULL;
	if (form == F_IMM_FULL) {
		immsize = size == 1 ? 1 : size == 2 ? 2 : 4;
		b = (uint64_t)((int64_t)(b << (64 - 8 * immsize)) >> (64 - 8 * immsize));
		imm = b;
		b &= mask_of(size);
		if (is_test)
			insn[n++] = size == 1 ? 0xF6 : 0xF7;
		else
			insn[n++] = size == 1 ? 0x80 : 0x81;
	} else if (form == F_IMM8) {
		immsize = 1;
		b = (uint64_t)(int64_t)(int8_t)b & mask_of(size);
		imm = b;
		if (is_test)
			return false; /* TEST has no imm8 form for wider operands */
		insn[n++] = 0x83;
	} else if (is_test) {
		if (form == F_REG_MEM)
			return false; /* TEST has only the r/m, reg form */
		insn[n++] = size == 1 ? 0x84 : 0x85;
	} else {
		insn[n++] = (uint8_t)(op << 3 | (form == F_REG_MEM ? 2 : 0) | (size != 1));
	}
	/* ModRM: mod 01, reg = rcx (or /op), rm = rbx; disp8 0x34. */
	insn[n++] = (uint8_t)(0x40 | ((immsize ? (is_test ? 0 : op) : 1) << 3) | 3);
	insn[n++] = 0x34;
	memcpy(insn + n, &imm, immsize);
	n += immsize;

	reset();
	env.regs.rbx = 0x7F0000001200ULL;
	env.regs.rflags = fin | 0x202;
	if (form == F_REG_MEM) {
		env.regs.rcx = (rcx_before & ~mask_of(size)) | a;
		mmio_set(0x234, size, b);
		res = (is_test ? host_test : host_alu[op])[size_idx(size)](a, b, &host_f);
	} else {
		env.regs.rcx = (rcx_before & ~mask_of(size)) | (form == F_MEM_REG ? b : 0);
		mmio_set(0x234, size, a);
		res = (is_test ? host_test : host_alu[op])[size_idx(size)](a, b, &host_f);
	}
	res &= mask_of(size);
	rc = run(X86_MODE_64, insn, n, MMIO_GPA + 0x234, false);
	assert_int_equal(rc, X86_EMU_OK);
	assert_int_equal(env.regs.rip, 0x1000 + n);
	assert_int_equal(env.e.decoded.len, n);

	/* Flags: all six are defined except AF after the logic ops. */
	uint64_t fmask = (op == X86_OP_AND || op == X86_OP_OR || op == X86_OP_XOR || is_test)
			     ? FL_ARITH & ~FL_AF
			     : FL_ARITH;
	if ((env.regs.rflags & fmask) != (host_f & fmask)) {
		printf("op %u size %u form %d a %llx b %llx fin %llx: flags %llx, host %llx\n", op,
		       size, form, (unsigned long long)a, (unsigned long long)b,
		       (unsigned long long)fin, (unsigned long long)env.regs.rflags,
		       (unsigned long long)host_f);
		fail();
	}
	assert_int_equal(env.regs.rflags & ~FL_ARITH, 0x202);

	if (form == F_REG_MEM) {
		/* Result in rcx: 32-bit writes zero-extend, 8/16-bit merge. */
		if (op == X86_OP_CMP)
			expect_rcx = env.regs.rcx; /* checked below: unchanged */
		else if (size == 4)
			expect_rcx = res;
		else if (size == 8)
			expect_rcx = res;
		else
			expect_rcx = (rcx_before & ~mask_of(size)) | res;
		if (op == X86_OP_CMP)
			assert_int_equal(env.regs.rcx, (rcx_before & ~mask_of(size)) | a);
		else
			assert_int_equal(env.regs.rcx, expect_rcx);
		assert_int_equal(env.nlog, 1); /* read only */
	} else {
		bool writes = op != X86_OP_CMP && !is_test;

		assert_int_equal(env.nlog, writes ? 2 : 1);
		assert_false(env.log[0].write);
		assert_int_equal(env.log[0].gpa, MMIO_GPA + 0x234);
		assert_int_equal(env.log[0].size, size);
		assert_int_equal(mmio_get(0x234, size), writes ? res : a);
	}
	return true;
}

static void test_alu_vs_host(void **state)
{
	static const unsigned sizes[] = {1, 2, 4, 8};
	unsigned long cases = 0;

	(void)state;
	for (unsigned op = X86_OP_ADD; op <= X86_OP_CMP + 1; op++) {
		unsigned real_op = op <= X86_OP_CMP ? op : X86_OP_TEST;

		for (unsigned s = 0; s < 4; s++) {
			for (int form = F_MEM_REG; form <= F_IMM8; form++) {
				for (unsigned i = 0; i < 1500; i++) {
					uint64_t fin = rnd() & FL_ARITH;

					cases +=
					    alu_case(real_op, sizes[s], (enum alu_form)form,
						     operand(sizes[s]), operand(sizes[s]), fin);
				}
			}
		}
	}
	printf("ALU: %lu cases compared with the host CPU\n", cases);
}

/* x86_alu itself over every op and size, including the flags the emulator
 * keeps (INC/DEC's CF) and NEG's CF rule. */
static void test_unary_vs_host(void **state)
{
	static const unsigned sizes[] = {1, 2, 4, 8};
	static const unsigned uops[] = {X86_OP_NOT, X86_OP_NEG, X86_OP_INC, X86_OP_DEC};
	unsigned long cases = 0;

	(void)state;
	for (unsigned o = 0; o < 4; o++) {
		for (unsigned s = 0; s < 4; s++) {
			for (unsigned i = 0; i < 3000; i++) {
				unsigned size = sizes[s];
				uint64_t a = operand(size), fin = rnd() & FL_ARITH, hf = fin | 2;
				uint8_t insn[8];
				size_t n = size_prefix(insn, size);
				uint64_t res =
				    host_unary[o][size_idx(size)](a, 0, &hf) & mask_of(size);
				int rc;

				/* F6/F7 /2 /3, FE/FF /0 /1 with [rdi]. */
				insn[n++] = (uint8_t)((o < 2 ? 0xF6 : 0xFE) | (size != 1));
				insn[n++] = (uint8_t)(((o < 2 ? 2 + o : o - 2) << 3) | 7);
				reset();
				env.regs.rdi = 0x5000 + 0x10;
				env.regs.rflags = fin | 0x202;
				mmio_set(0x10, size, a);
				rc = run(X86_MODE_64, insn, n, MMIO_GPA + 0x10, false);
				assert_int_equal(rc, X86_EMU_OK);
				assert_int_equal(mmio_get(0x10, size), res);
				/* NOT changes no flags; the others all six. */
				if (uops[o] == X86_OP_NOT)
					assert_int_equal(env.regs.rflags, fin | 0x202);
				else
					assert_int_equal(env.regs.rflags & FL_ARITH, hf & FL_ARITH);
				cases++;
			}
		}
	}
	printf("NOT/NEG/INC/DEC: %lu cases compared with the host CPU\n", cases);
}

/* BT BTS BTR BTC, immediate and in-range register offsets, against the host;
 * then register offsets outside the operand (negative, large) by hand. */
static void test_bt(void **state)
{
	static const unsigned sizes[] = {2, 4, 8};
	unsigned long cases = 0;

	(void)state;
	for (unsigned o = 0; o < 4; o++) {
		for (unsigned s = 0; s < 3; s++) {
			for (unsigned i = 0; i < 1500; i++) {
				unsigned size = sizes[s], bits = 8 * size;
				uint64_t a = operand(size), bit = rnd() % bits;
				uint64_t fin = rnd() & FL_ARITH, hf = fin | 2, res;
				bool use_imm = i & 1;
				uint8_t insn[8];
				size_t n = size_prefix(insn, size);
				int rc;

				res = host_bt[o][s](a, bit, &hf) & mask_of(size);
				insn[n++] = 0x0F;
				if (use_imm) {
					insn[n++] = 0xBA;
					insn[n++] = (uint8_t)(((4 + o) << 3) | 6); /* [rsi] */
					/* The immediate is taken modulo the size. */
					insn[n++] = (uint8_t)(bit + bits * (rnd() % 2));
				} else {
					insn[n++] = (uint8_t)(0xA3 + 8 * o);
					insn[n++] = (uint8_t)((2 << 3) | 6); /* [rsi], rdx */
				}
				reset();
				env.regs.rsi = 0x9000 + 0x400;
				env.regs.rdx = bit;
				env.regs.rflags = fin | 0x202;
				mmio_set(0x400, size, a);
				rc = run(X86_MODE_64, insn, n, MMIO_GPA + 0x400, false);
				assert_int_equal(rc, X86_EMU_OK);
				assert_int_equal(mmio_get(0x400, size), res);
				assert_int_equal(env.nlog, o ? 2 : 1);
				/* CF is the bit; ZF is unaffected; the rest undefined. */
				assert_int_equal(env.regs.rflags & FL_CF, hf & FL_CF);
				assert_int_equal(env.regs.rflags & FL_ZF, fin & FL_ZF);
				cases++;
			}
		}
	}
	printf("BT*: %lu cases compared with the host CPU\n", cases);

	/* bts dword [rsi], edx with edx = 35: dword at +4, bit 3. */
	static const uint8_t bts[] = {0x0F, 0xAB, 0x16};
	reset();
	env.regs.rsi = 0x9000 + 0x400;
	env.regs.rdx = 35;
	assert_int_equal(run(X86_MODE_64, bts, 3, MMIO_GPA + 0x404, false), X86_EMU_OK);
	assert_int_equal(mmio_get(0x404, 4), 8);
	assert_int_equal(env.log[0].gpa, MMIO_GPA + 0x404);
	/* edx = -1: dword at -4, bit 31. */
	reset();
	env.regs.rsi = 0x9000 + 0x400;
	env.regs.rdx = 0xFFFFFFFF;
	assert_int_equal(run(X86_MODE_64, bts, 3, MMIO_GPA + 0x3FC, false), X86_EMU_OK);
	assert_int_equal(mmio_get(0x3FC, 4), 0x80000000u);
	/* 16-bit: bt word [rsi], dx with dx = -17: word at -4, bit 15. */
	static const uint8_t bt16[] = {0x66, 0x0F, 0xA3, 0x16};
	reset();
	env.regs.rsi = 0x9000 + 0x400;
	env.regs.rdx = 0xFFFFFFFFFFFFFFEFULL & 0xFFFF;
	mmio_set(0x3FC, 2, 0x8000);
	assert_int_equal(run(X86_MODE_64, bt16, 4, MMIO_GPA + 0x3FC, false), X86_EMU_OK);
	assert_true(env.regs.rflags & FL_CF);
	assert_int_equal(env.log[0].size, 2);
	/* An offset whose word is elsewhere than the fault: not this access. */
	reset();
	env.regs.rsi = 0x9000 + 0x400;
	env.regs.rdx = 64;
	assert_int_equal(run(X86_MODE_64, bts, 3, MMIO_GPA + 0x400, false), X86_EMU_RETRY);
	assert_int_equal(env.regs.rip, 0x1000);
	assert_int_equal(env.nlog, 0);
}

/* ---- moves ------------------------------------------------------------ */

static void test_mov_loads(void **state)
{
	(void)state;
	/* mov eax, [rbx]: zero-extends into rax. */
	static const uint8_t ld32[] = {0x8B, 0x03};
	reset();
	env.regs.rax = 0xAAAAAAAAAAAAAAAAULL;
	env.regs.rbx = 0x1000;
	mmio_set(0, 8, 0x1122334455667788ULL);
	assert_int_equal(run(X86_MODE_64, ld32, 2, MMIO_GPA, false), X86_EMU_OK);
	assert_int_equal(env.regs.rax, 0x55667788);
	assert_int_equal(env.log[0].size, 4);
	/* mov ax, [rbx] and mov al, [rbx]: merge. */
	static const uint8_t ld16[] = {0x66, 0x8B, 0x03};
	reset();
	env.regs.rax = 0xAAAAAAAAAAAAAAAAULL;
	env.regs.rbx = 0x1000;
	mmio_set(0, 8, 0x1122334455667788ULL);
	assert_int_equal(run(X86_MODE_64, ld16, 3, MMIO_GPA, false), X86_EMU_OK);
	assert_int_equal(env.regs.rax, 0xAAAAAAAAAAAA7788ULL);
	static const uint8_t ld8[] = {0x8A, 0x03};
	env.regs.rax = 0xAAAAAAAAAAAAAAAAULL;
	assert_int_equal(run(X86_MODE_64, ld8, 2, MMIO_GPA, false), X86_EMU_OK);
	assert_int_equal(env.regs.rax, 0xAAAAAAAAAAAAAA88ULL);
	/* mov ah, [rbx] without REX; mov spl, [rbx] with one. */
	static const uint8_t ldah[] = {0x8A, 0x23};
	env.regs.rax = 0xAAAAAAAAAAAAAAAAULL;
	assert_int_equal(run(X86_MODE_64, ldah, 2, MMIO_GPA, false), X86_EMU_OK);
	assert_int_equal(env.regs.rax, 0xAAAAAAAAAAAA88AAULL);
	static const uint8_t ldspl[] = {0x40, 0x8A, 0x23};
	env.regs.rsp = 0xBBBBBBBBBBBBBBBBULL;
	env.regs.rax = 0;
	assert_int_equal(run(X86_MODE_64, ldspl, 3, MMIO_GPA, false), X86_EMU_OK);
	assert_int_equal(env.regs.rsp, 0xBBBBBBBBBBBBBB88ULL);
	assert_int_equal(env.regs.rax, 0);
	/* mov r9, [rbx] (REX.WR). */
	static const uint8_t ld64[] = {0x4C, 0x8B, 0x0B};
	assert_int_equal(run(X86_MODE_64, ld64, 3, MMIO_GPA, false), X86_EMU_OK);
	assert_int_equal(env.regs.r9, 0x1122334455667788ULL);
	/* mov bh, [bx+si] in 16-bit mode (BX + SI wraps at 64 KiB). */
	static const uint8_t ldbh[] = {0x8A, 0x38};
	reset();
	env.regs.rbx = 0xFFFF0;
	env.regs.rsi = 0x20;
	env.e.seg_base[X86_DS] = 0;
	mmio_set(0x10, 1, 0x5A);
	assert_int_equal(run(X86_MODE_16, ldbh, 2, MMIO_GPA + 0x10, false), X86_EMU_OK);
	assert_int_equal(env.regs.rbx, 0xF5AF0);
	assert_int_equal(env.regs.rip, 0x1002);
}

static void test_movzx_movsx(void **state)
{
	static const struct {
		uint8_t insn[5];
		uint8_t n;
		uint64_t mem, before, after;
	} cases[] = {
	    /* movzx eax, byte [rbx] */
	    {{0x0F, 0xB6, 0x03}, 3, 0x80, ~0ULL, 0x80},
	    /* movzx ax, byte [rbx]: upper rax kept */
	    {{0x66, 0x0F, 0xB6, 0x03}, 4, 0xF0, ~0ULL, 0xFFFFFFFFFFFF00F0ULL},
	    /* movzx rax, word [rbx] */
	    {{0x48, 0x0F, 0xB7, 0x03}, 4, 0x8001, ~0ULL, 0x8001},
	    /* movsx eax, byte [rbx] */
	    {{0x0F, 0xBE, 0x03}, 3, 0x80, 0, 0xFFFFFF80},
	    /* movsx rax, byte [rbx] */
	    {{0x48, 0x0F, 0xBE, 0x03}, 4, 0x7F, ~0ULL, 0x7F},
	    {{0x48, 0x0F, 0xBE, 0x03}, 4, 0xFF, 0, ~0ULL},
	    /* movsx ax, byte [rbx] */
	    {{0x66, 0x0F, 0xBE, 0x03}, 4, 0x80, 0x1234567812345678ULL, 0x123456781234FF80ULL},
	    /* movsx eax, word [rbx] */
	    {{0x0F, 0xBF, 0x03}, 3, 0x8000, ~0ULL, 0xFFFF8000ULL},
	    /* movsx rax, word [rbx] */
	    {{0x48, 0x0F, 0xBF, 0x03}, 4, 0x8000, 0, 0xFFFFFFFFFFFF8000ULL},
	    /* movsxd rax, dword [rbx] */
	    {{0x48, 0x63, 0x03}, 3, 0x80000000, 0, 0xFFFFFFFF80000000ULL},
	    {{0x48, 0x63, 0x03}, 3, 0x7FFFFFFF, ~0ULL, 0x7FFFFFFF},
	    /* movsxd eax, dword [rbx] (no REX.W): a 32-bit move */
	    {{0x63, 0x03}, 2, 0x80000000, ~0ULL, 0x80000000},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		reset();
		env.regs.rax = cases[i].before;
		env.regs.rbx = 0x3000;
		mmio_set(0, 8, cases[i].mem);
		assert_int_equal(run(X86_MODE_64, cases[i].insn, cases[i].n, MMIO_GPA, false),
				 X86_EMU_OK);
		if (env.regs.rax != cases[i].after)
			printf("case %zu: rax %llx\n", i, (unsigned long long)env.regs.rax);
		assert_int_equal(env.regs.rax, cases[i].after);
		assert_int_equal(env.regs.rip, 0x1000 + cases[i].n);
		assert_int_equal(env.nlog, 1);
	}
}

static void test_mov_stores(void **state)
{
	(void)state;
	/* mov [rbx+rcx*4+8], edx */
	static const uint8_t st32[] = {0x89, 0x54, 0x8B, 0x08};
	reset();
	env.regs.rbx = 0x10000;
	env.regs.rcx = 3;
	env.regs.rdx = 0xFFFFFFFF12345678ULL;
	assert_int_equal(run(X86_MODE_64, st32, 4, MMIO_GPA + 0x14, true), X86_EMU_OK);
	assert_int_equal(env.nlog, 1);
	assert_true(env.log[0].write);
	assert_int_equal(env.log[0].gpa, MMIO_GPA + 0x14);
	assert_int_equal(env.log[0].val, 0x12345678);
	assert_int_equal(env.regs.rip, 0x1004);
	/* mov qword [rbx], -2 (C7 with REX.W: imm32 sign-extended). */
	static const uint8_t imm64[] = {0x48, 0xC7, 0x03, 0xFE, 0xFF, 0xFF, 0xFF};
	reset();
	env.regs.rbx = 0x10000;
	assert_int_equal(run(X86_MODE_64, imm64, 7, MMIO_GPA, true), X86_EMU_OK);
	assert_int_equal(env.log[0].val, 0xFFFFFFFFFFFFFFFEULL);
	assert_int_equal(env.log[0].size, 8);
	/* mov word [rbx], 0x1234; mov byte [rbx], 0x80 */
	static const uint8_t imm16[] = {0x66, 0xC7, 0x03, 0x34, 0x12};
	assert_int_equal(run(X86_MODE_64, imm16, 5, MMIO_GPA, true), X86_EMU_OK);
	assert_int_equal(env.log[0].val, 0x1234);
	static const uint8_t imm8[] = {0xC6, 0x03, 0x80};
	assert_int_equal(run(X86_MODE_64, imm8, 3, MMIO_GPA, true), X86_EMU_OK);
	assert_int_equal(env.log[0].val, 0x80);
	assert_int_equal(env.log[0].size, 1);
	/* mov [rbx], bh (no REX) */
	static const uint8_t stbh[] = {0x88, 0x3B};
	env.regs.rbx = 0x10000 | 0xAB00;
	assert_int_equal(run(X86_MODE_64, stbh, 2, MMIO_GPA + 0xB00, true), X86_EMU_OK);
	assert_int_equal(env.log[0].val, 0xAB);
	/* A2/A3/A0/A1 with a 64-bit moffs. */
	static const uint8_t moffs_st[] = {0xA3, 0x10, 0x20, 0xFE, 0, 0, 0, 0, 0};
	reset();
	env.regs.rax = 0xCAFEF00D;
	assert_int_equal(run(X86_MODE_64, moffs_st, 9, MMIO_GPA + 0x010, true), X86_EMU_OK);
	assert_int_equal(env.log[0].val, 0xCAFEF00D);
	assert_int_equal(env.regs.rip, 0x1009);
	static const uint8_t moffs_ld[] = {0x48, 0xA1, 0x10, 0x20, 0xFE, 0, 0, 0, 0, 0};
	mmio_set(0x10, 8, 0x0102030405060708ULL);
	assert_int_equal(run(X86_MODE_64, moffs_ld, 10, MMIO_GPA + 0x010, false), X86_EMU_OK);
	assert_int_equal(env.regs.rax, 0x0102030405060708ULL);
	/* 32-bit mode: mov al, [0x12345678] with a DS base. */
	static const uint8_t moffs32[] = {0xA0, 0x78, 0x56, 0x34, 0x12};
	reset();
	mmio_set(0x678 + 0x100, 1, 0x42);
	env.regs.rax = 0xFFFF;
	{
		struct x86_emu *e = &env.e;

		memset(e, 0, sizeof(*e));
		e->regs = &env.regs;
		e->mode = X86_MODE_32;
		e->seg_base[X86_DS] = 0x100;
		e->gpa = MMIO_GPA + 0x778;
		e->insn = moffs32;
		e->insn_len = 5;
		e->ops = &ops;
		e->ctx = &env;
		assert_int_equal(x86_emulate_mmio(e), X86_EMU_OK);
		assert_int_equal(env.regs.rax, 0xFF42);
	}
	/* xchg [rbx], ecx: read, write, register gets the old value. */
	static const uint8_t xchg[] = {0x87, 0x0B};
	reset();
	env.regs.rbx = 0x4000;
	env.regs.rcx = 0xFFFFFFFF00000001ULL;
	mmio_set(0, 4, 0x77);
	assert_int_equal(run(X86_MODE_64, xchg, 2, MMIO_GPA, false), X86_EMU_OK);
	assert_int_equal(env.regs.rcx, 0x77);
	assert_int_equal(mmio_get(0, 4), 1);
	assert_int_equal(env.nlog, 2);
}

/* Addressing: RIP-relative, FS/GS bases, 32-bit segment bases, SS defaults,
 * address-size wrap. */
static void test_addressing(void **state)
{
	(void)state;
	/* mov eax, [rip + 0x100]: the end of the instruction plus disp. */
	static const uint8_t riprel[] = {0x8B, 0x05, 0x00, 0x01, 0, 0};
	reset();
	env.regs.rip = 0xFFFFFFFF80001F00ULL;
	assert_int_equal(run(X86_MODE_64, riprel, 6, MMIO_GPA + 0x006, false), X86_EMU_OK);
	assert_int_equal(env.regs.rip, 0xFFFFFFFF80001F06ULL);
	/* Wrong page offset: RETRY, nothing done. */
	env.regs.rip = 0xFFFFFFFF80001F00ULL;
	assert_int_equal(run(X86_MODE_64, riprel, 6, MMIO_GPA + 0x008, false), X86_EMU_RETRY);
	assert_int_equal(env.regs.rip, 0xFFFFFFFF80001F00ULL);
	assert_int_equal(env.nlog, 0);
	/* mov eax, gs:[rax] uses the GS base; es: in 64-bit mode does not. */
	static const uint8_t gs[] = {0x65, 0x8B, 0x00};
	static const uint8_t es[] = {0x26, 0x8B, 0x00};
	reset();
	env.regs.rax = 0x10;
	{
		struct x86_emu *e = &env.e;

		for (int k = 0; k < 2; k++) {
			memset(e, 0, sizeof(*e));
			e->regs = &env.regs;
			e->mode = X86_MODE_64;
			e->seg_base[X86_GS] = 0xFFFF888000000300ULL;
			e->seg_base[X86_ES] = 0x500;
			e->gpa = MMIO_GPA + (k ? 0x010 : 0x310);
			e->insn = k ? es : gs;
			e->insn_len = 3;
			e->ops = &ops;
			e->ctx = &env;
			env.regs.rax = 0x10;
			assert_int_equal(x86_emulate_mmio(e), X86_EMU_OK);
		}
	}
	/* Non-canonical: #GP; based on rbp: #SS. */
	static const uint8_t viarbx[] = {0x8B, 0x03};
	static const uint8_t viarbp[] = {0x8B, 0x45, 0x00};
	reset();
	env.regs.rbx = 0x0000800000000000ULL;
	assert_int_equal(run(X86_MODE_64, viarbx, 2, MMIO_GPA, false), X86_EMU_GP);
	assert_int_equal(env.e.vector, 13);
	env.regs.rbp = 0x0000800000000000ULL;
	assert_int_equal(run(X86_MODE_64, viarbp, 3, MMIO_GPA, false), X86_EMU_GP);
	assert_int_equal(env.e.vector, 12);
	assert_int_equal(env.regs.rip, 0x1000);
	/* 32-bit mode: [ebx + 0x10] with DS base 0xF0000000 wraps at 4 GiB. */
	static const uint8_t ld32[] = {0x8B, 0x43, 0x10};
	reset();
	env.regs.rbx = 0x10000000;
	{
		struct x86_emu *e = &env.e;

		memset(e, 0, sizeof(*e));
		e->regs = &env.regs;
		e->mode = X86_MODE_32;
		e->seg_base[X86_DS] = 0xF0000020;
		e->gpa = MMIO_GPA + 0x030;
		e->insn = ld32;
		e->insn_len = 3;
		e->ops = &ops;
		e->ctx = &env;
		assert_int_equal(x86_emulate_mmio(e), X86_EMU_OK);
		/* A 67 prefix: [bx + 0x10] (16-bit) with the same registers. */
		static const uint8_t ld16a[] = {0x67, 0x8B, 0x47, 0x10};
		env.regs.rbx = 0xABCDFFF8;
		env.regs.rip = 0x1000;
		e->seg_base[X86_DS] = 0;
		e->gpa = MMIO_GPA + 0x008; /* (0xFFF8 + 0x10) & 0xFFFF */
		e->insn = ld16a;
		e->insn_len = 4;
		assert_int_equal(x86_emulate_mmio(e), X86_EMU_OK);
		assert_int_equal(e->decoded.addrsize, 2);
	}
	/* An access that straddles two pages is not emulated. */
	reset();
	env.regs.rbx = 0x10FFE;
	assert_int_equal(run(X86_MODE_64, viarbx, 2, MMIO_GPA + 0xFFE, false), X86_EMU_UNHANDLED);
}

/* ---- strings ------------------------------------------------------------ */

static void test_rep_stos(void **state)
{
	static const uint8_t stosd[] = {0xF3, 0xAB};
	static const uint8_t stosb[] = {0xAA};

	(void)state;
	/* rep stosd, DF = 0, 10 dwords from offset 0x100. */
	reset();
	env.regs.rdi = 0x7000100;
	env.regs.rcx = 10;
	env.regs.rax = 0xFFFFFFFFDEADBEEFULL;
	assert_int_equal(run(X86_MODE_64, stosd, 2, MMIO_GPA + 0x100, true), X86_EMU_OK);
	assert_int_equal(env.nlog, 10);
	for (unsigned i = 0; i < 10; i++) {
		assert_int_equal(env.log[i].gpa, MMIO_GPA + 0x100 + 4 * i);
		assert_int_equal(env.log[i].val, 0xDEADBEEF);
	}
	assert_int_equal(env.regs.rdi, 0x7000100 + 40);
	assert_int_equal(env.regs.rcx, 0);
	assert_int_equal(env.regs.rip, 0x1002);
	/* DF = 1: downwards. */
	reset();
	env.regs.rflags |= FL_DF;
	env.regs.rdi = 0x7000100;
	env.regs.rcx = 3;
	assert_int_equal(run(X86_MODE_64, stosd, 2, MMIO_GPA + 0x100, true), X86_EMU_OK);
	assert_int_equal(env.log[2].gpa, MMIO_GPA + 0x100 - 8);
	assert_int_equal(env.regs.rdi, 0x7000100 - 12);
	assert_int_equal(env.regs.rip, 0x1002);
	/* Near the end of the page: 4 dwords fit; the rest is left to the guest,
	 * RIP unchanged. */
	reset();
	env.regs.rdi = 0x7000FF0;
	env.regs.rcx = 100;
	assert_int_equal(run(X86_MODE_64, stosd, 2, MMIO_GPA + 0xFF0, true), X86_EMU_OK);
	assert_int_equal(env.nlog, 4);
	assert_int_equal(env.regs.rcx, 96);
	assert_int_equal(env.regs.rdi, 0x7001000);
	assert_int_equal(env.regs.rip, 0x1000);
	assert_int_equal(env.e.reps, 4);
	/* max_rep bounds one call. */
	reset();
	env.regs.rdi = 0x7000000;
	env.regs.rcx = ~0ULL;
	{
		struct x86_emu *e = &env.e;

		memset(e, 0, sizeof(*e));
		e->regs = &env.regs;
		e->mode = X86_MODE_64;
		e->gpa = MMIO_GPA;
		e->write_fault = true;
		e->insn = stosd;
		e->insn_len = 2;
		e->ops = &ops;
		e->ctx = &env;
		e->max_rep = 3;
		assert_int_equal(x86_emulate_mmio(e), X86_EMU_OK);
		assert_int_equal(e->reps, 3);
		assert_int_equal(env.regs.rcx, ~0ULL - 3);
		assert_int_equal(env.regs.rip, 0x1000);
	}
	/* The default bound with a huge count. */
	reset();
	env.regs.rcx = ~0ULL;
	env.regs.rdi = 0x7000000;
	static const uint8_t repb[] = {0xF3, 0xAA};
	assert_int_equal(run(X86_MODE_64, repb, 2, MMIO_GPA, true), X86_EMU_OK);
	assert_int_equal(env.e.reps, X86_EMU_MAX_REP);
	/* RCX = 0: nothing happens but RIP moves. */
	reset();
	env.regs.rcx = 0;
	env.regs.rdi = 0x7000000;
	assert_int_equal(run(X86_MODE_64, stosd, 2, MMIO_GPA, true), X86_EMU_OK);
	assert_int_equal(env.nlog, 0);
	assert_int_equal(env.regs.rip, 0x1002);
	/* No REP: one byte, RCX untouched. */
	reset();
	env.regs.rcx = 5;
	env.regs.rdi = 0x7000000;
	env.regs.rax = 0x1234;
	assert_int_equal(run(X86_MODE_64, stosb, 1, MMIO_GPA, true), X86_EMU_OK);
	assert_int_equal(env.nlog, 1);
	assert_int_equal(env.log[0].val, 0x34);
	assert_int_equal(env.regs.rcx, 5);
	assert_int_equal(env.regs.rdi, 0x7000001);
	/* F2 repeats MOVS/STOS like F3. */
	static const uint8_t repne[] = {0xF2, 0xAB};
	reset();
	env.regs.rcx = 2;
	env.regs.rdi = 0x7000000;
	assert_int_equal(run(X86_MODE_64, repne, 2, MMIO_GPA, true), X86_EMU_OK);
	assert_int_equal(env.nlog, 2);
	/* 16-bit addressing in 32-bit mode: DI and CX wrap, upper bits kept. */
	static const uint8_t stos16[] = {0xF3, 0x67, 0xAA};
	reset();
	env.regs.rdi = 0x1234FFFE;
	env.regs.rcx = 0xABCD0003;
	{
		struct x86_emu *e = &env.e;

		memset(e, 0, sizeof(*e));
		e->regs = &env.regs;
		e->mode = X86_MODE_32;
		e->seg_base[X86_ES] = 0x30000;
		e->gpa = MMIO_GPA + 0xFFE;
		e->write_fault = true;
		e->insn = stos16;
		e->insn_len = 3;
		e->ops = &ops;
		e->ctx = &env;
		assert_int_equal(x86_emulate_mmio(e), X86_EMU_OK);
		/* 0x3FFFE, 0x3FFFF fit in the page; DI then wraps to 0 (0x30000),
		 * another page: stop there. */
		assert_int_equal(e->reps, 2);
		assert_int_equal(env.regs.rdi, 0x12340000);
		assert_int_equal(env.regs.rcx, 0xABCD0001);
		assert_int_equal(env.regs.rip, 0x1000);
	}
	/* 32-bit address size in 64-bit mode: EDI/ECX writes zero-extend. */
	static const uint8_t stos32a[] = {0x67, 0xF3, 0xAA};
	reset();
	env.regs.rdi = 0xFFFFFFFF00000010ULL;
	env.regs.rcx = 0xFFFFFFFF00000001ULL;
	assert_int_equal(run(X86_MODE_64, stos32a, 3, MMIO_GPA + 0x10, true), X86_EMU_OK);
	assert_int_equal(env.regs.rdi, 0x11);
	assert_int_equal(env.regs.rcx, 0);
	assert_int_equal(env.regs.rip, 0x1003);
}

static void test_rep_movs(void **state)
{
	static const uint8_t movsb[] = {0xF3, 0xA4};
	static const uint8_t movsw[] = {0xF3, 0x66, 0xA5};
	static const uint8_t movsq[] = {0xF3, 0x48, 0xA5};

	(void)state;
	/* Device to RAM (a read fault): rep movsb, 16 bytes. */
	reset();
	for (unsigned i = 0; i < 64; i++)
		env.mmio[0x200 + i] = (uint8_t)(0x40 + i);
	env.regs.rsi = 0xC0000200;
	env.regs.rdi = RAM_LA + 0x10;
	env.regs.rcx = 16;
	assert_int_equal(run(X86_MODE_64, movsb, 2, MMIO_GPA + 0x200, false), X86_EMU_OK);
	assert_memory_equal(&env.ram[0x10], &env.mmio[0x200], 16);
	assert_int_equal(env.regs.rsi, 0xC0000210);
	assert_int_equal(env.regs.rdi, RAM_LA + 0x20);
	assert_int_equal(env.regs.rcx, 0);
	assert_int_equal(env.regs.rip, 0x1002);
	/* RAM to device (a write fault), words, DF = 1. */
	reset();
	for (unsigned i = 0; i < 64; i++)
		env.ram[0x100 + i] = (uint8_t)i;
	env.regs.rflags |= FL_DF;
	env.regs.rsi = RAM_LA + 0x13E;
	env.regs.rdi = 0xC000033E;
	env.regs.rcx = 32;
	assert_int_equal(run(X86_MODE_64, movsw, 3, MMIO_GPA + 0x33E, true), X86_EMU_OK);
	assert_memory_equal(&env.mmio[0x300], &env.ram[0x100], 64);
	assert_int_equal(env.log[0].gpa, MMIO_GPA + 0x33E);
	assert_int_equal(env.log[31].gpa, MMIO_GPA + 0x300);
	assert_int_equal(env.regs.rsi, RAM_LA + 0xFE);
	assert_int_equal(env.regs.rdi, 0xC00002FE);
	/* A page fault on the RAM side after some iterations: progress kept,
	 * RIP unchanged, the fault reported. */
	reset();
	env.regs.rsi = 0xC0000000;
	env.regs.rdi = RAM_LA + RAM_SIZE - 16;
	env.regs.rcx = 5;
	assert_int_equal(run(X86_MODE_64, movsq, 3, MMIO_GPA, false), X86_EMU_PAGE_FAULT);
	assert_int_equal(env.e.vector, 14);
	assert_int_equal(env.e.fault.addr, RAM_LA + RAM_SIZE);
	assert_int_equal(env.e.fault.error_code, PF_ERR_W);
	assert_int_equal(env.regs.rcx, 3);
	assert_int_equal(env.regs.rsi, 0xC0000010);
	assert_int_equal(env.regs.rdi, RAM_LA + RAM_SIZE);
	assert_int_equal(env.regs.rip, 0x1000);
	/* Without REP a fault changes nothing. */
	static const uint8_t movsd1[] = {0xA5};
	reset();
	env.regs.rsi = 0xC0000000;
	env.regs.rdi = 0x100;
	assert_int_equal(run(X86_MODE_64, movsd1, 1, MMIO_GPA, false), X86_EMU_PAGE_FAULT);
	assert_int_equal(env.regs.rsi, 0xC0000000);
	assert_int_equal(env.regs.rip, 0x1000);
	/* A source segment override applies to rSI (here FS in 64-bit mode). */
	static const uint8_t fsmovs[] = {0x64, 0xA4};
	reset();
	env.mmio[0x80] = 0x99;
	env.regs.rsi = 0x80;
	env.regs.rdi = RAM_LA;
	{
		struct x86_emu *e = &env.e;

		memset(e, 0, sizeof(*e));
		e->regs = &env.regs;
		e->mode = X86_MODE_64;
		e->seg_base[X86_FS] = 0x7000000;
		e->gpa = MMIO_GPA + 0x80;
		e->insn = fsmovs;
		e->insn_len = 2;
		e->ops = &ops;
		e->ctx = &env;
		assert_int_equal(x86_emulate_mmio(e), X86_EMU_OK);
		assert_int_equal(env.ram[0], 0x99);
	}
	/* No mem_write callback: cannot do it. */
	{
		static const struct x86_emu_ops dev_only = {mmio_read, mmio_write, NULL, NULL};
		struct x86_emu *e = &env.e;

		reset();
		env.regs.rsi = 0x80;
		env.regs.rdi = RAM_LA;
		memset(e, 0, sizeof(*e));
		e->regs = &env.regs;
		e->mode = X86_MODE_64;
		e->gpa = MMIO_GPA + 0x80;
		e->insn = movsb + 1;
		e->insn_len = 1;
		e->ops = &dev_only;
		e->ctx = &env;
		assert_int_equal(x86_emulate_mmio(e), X86_EMU_UNHANDLED);
		assert_int_equal(env.regs.rip, 0x1000);
	}
}

/* ---- results ------------------------------------------------------------ */

static void test_results(void **state)
{
	struct x86_emu *e = &env.e;

	(void)state;
	/* ud2 and CALL [rax]: #UD. */
	static const uint8_t ud2[] = {0x0F, 0x0B};
	reset();
	assert_int_equal(run(X86_MODE_64, ud2, 2, MMIO_GPA, false), X86_EMU_UD);
	assert_int_equal(e->vector, 6);
	/* 16 bytes: #GP. */
	static const uint8_t toolong[16] = {0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
					    0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x8B, 0x00};
	assert_int_equal(run(X86_MODE_64, toolong, 16, MMIO_GPA, false), X86_EMU_GP);
	assert_int_equal(e->vector, 13);
	/* The fetch stopped at a page fault and the instruction needs more: #PF. */
	static const uint8_t partial[] = {0x48, 0xC7, 0x03, 0x01};
	memset(e, 0, sizeof(*e));
	e->regs = &env.regs;
	e->mode = X86_MODE_64;
	e->insn = partial;
	e->insn_len = 4;
	e->fetch_faulted = true;
	e->fetch_fault.addr = 0x2000;
	e->fetch_fault.error_code = PF_ERR_I;
	e->ops = &ops;
	e->ctx = &env;
	assert_int_equal(x86_emulate_mmio(e), X86_EMU_PAGE_FAULT);
	assert_int_equal(e->fault.addr, 0x2000);
	assert_int_equal(e->vector, 14);
	e->fetch_faulted = false;
	assert_int_equal(x86_emulate_mmio(e), X86_EMU_UNHANDLED);
	/* But a complete instruction before the fault is fine. */
	e->fetch_faulted = true;
	e->insn_len = 3;
	static const uint8_t complete[] = {0x89, 0x03, 0xFF};
	e->insn = complete;
	env.regs.rbx = 0x5000;
	e->gpa = MMIO_GPA;
	assert_int_equal(x86_emulate_mmio(e), X86_EMU_OK);
	/* No bytes at all. */
	e->insn = NULL;
	e->fetch_faulted = false;
	assert_int_equal(x86_emulate_mmio(e), X86_EMU_UNHANDLED);
	/* A register-only instruction cannot have faulted: RETRY. */
	static const uint8_t regonly[] = {0x89, 0xC3};
	reset();
	assert_int_equal(run(X86_MODE_64, regonly, 2, MMIO_GPA, false), X86_EMU_RETRY);
	assert_int_equal(env.regs.rbx, 0);
	/* A device that fails: UNHANDLED, registers and RIP unchanged. */
	static const uint8_t load[] = {0x8B, 0x03};
	reset();
	env.mmio_fail = true;
	env.regs.rax = 7;
	assert_int_equal(run(X86_MODE_64, load, 2, MMIO_GPA, false), X86_EMU_UNHANDLED);
	assert_int_equal(env.regs.rax, 7);
	assert_int_equal(env.regs.rip, 0x1000);
	/* RIP wraps at 64 KiB in 16-bit mode and at 4 GiB in 32-bit mode; RF is
	 * cleared by a completed instruction. */
	reset();
	env.regs.rip = 0xFFFF;
	env.regs.rflags |= FL_RF;
	env.regs.rbx = 0;
	assert_int_equal(run(X86_MODE_16, load, 2, MMIO_GPA, false), X86_EMU_OK);
	assert_int_equal(env.regs.rip, 1);
	assert_int_equal(env.regs.rflags & FL_RF, 0);
	reset();
	env.regs.rip = 0xFFFFFFFF;
	assert_int_equal(run(X86_MODE_32, load, 2, MMIO_GPA, false), X86_EMU_OK);
	assert_int_equal(env.regs.rip, 1);
	/* No ops at all. */
	memset(e, 0, sizeof(*e));
	e->regs = &env.regs;
	e->mode = X86_MODE_64;
	e->insn = load;
	e->insn_len = 2;
	assert_int_equal(x86_emulate_mmio(e), X86_EMU_UNHANDLED);
}

/* Random instruction bytes, registers and fault addresses: every result is a
 * valid code, nothing outside the device page is touched, RIP either stays
 * or moves by the length, and the sanitizers see nothing. */
static void test_random(void **state)
{
	static const uint8_t hot[] = {0x66, 0x67, 0xF0, 0xF3, 0x48, 0x41, 0x89, 0x8B, 0xC7,
				      0x81, 0x83, 0xF7, 0xFF, 0xA5, 0xAB, 0xA1, 0x0F, 0x87};
	unsigned long ok = 0;

	(void)state;
	for (unsigned i = 0; i < 200000; i++) {
		uint8_t b[15];
		enum x86_mode mode = (enum x86_mode)(16 << (i % 3));
		uint64_t rip, gpa;
		size_t len;
		int rc;

		for (unsigned j = 0; j < 15; j++)
			b[j] = (uint8_t)rnd();
		for (unsigned j = 0; j < rnd() % 4; j++)
			b[j] = hot[rnd() % sizeof(hot)];
		reset();
		env.regs =
		    (struct vcpu_regs){rnd(), rnd() & 0xFFF, rnd() % 9000,
				       rnd(), rnd(),         rnd(),
				       rnd(), rnd(),         rnd(),
				       rnd(), rnd(),         rnd(),
				       rnd(), rnd(),         rnd(),
				       rnd(), 0x1000,        0x2 | (rnd() & (FL_ARITH | FL_DF))};
		len = 1 + rnd() % 15;
		gpa = MMIO_GPA + (rnd() & 0xFFF);
		if (i & 1) {
			/* Page-aligned registers: the device offset is then the
			 * displacement's, so most decodable bytes get emulated. */
			struct x86_inst in;
			uint64_t gprs[16];

			memcpy(gprs, &env.regs, sizeof(gprs)); /* rax..r15 lead the struct */
			for (unsigned j = 0; j < 16; j++)
				gprs[j] &= ~0xFFFULL;
			memcpy(&env.regs, gprs, sizeof(gprs));
			if (!(i & 2))
				env.regs.rsi = RAM_LA;
			if (x86_decode(b, len, mode, &in) == X86_DECODE_OK)
				gpa = MMIO_GPA + (((uint64_t)in.mem.disp +
						   (in.mem.base == X86_RIP ? in.len : 0)) &
						  0xFFF);
		}
		rip = env.regs.rip;
		rc = run(mode, b, len, gpa, rnd() & 1);
		assert_true(rc >= X86_EMU_OK && rc <= X86_EMU_UNHANDLED);
		if (rc == X86_EMU_OK) {
			ok++;
			assert_true(env.regs.rip == rip || env.regs.rip == rip + env.e.decoded.len);
		} else if (rc != X86_EMU_PAGE_FAULT) {
			assert_int_equal(env.regs.rip, rip);
		}
		for (unsigned j = 0; j < env.nlog; j++)
			assert_true(env.log[j].gpa >= MMIO_GPA &&
				    env.log[j].gpa + env.log[j].size <= MMIO_GPA + 4096);
	}
	printf("random: 200000 runs, %lu emulated\n", ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alu_vs_host), cmocka_unit_test(test_unary_vs_host),
	    cmocka_unit_test(test_bt),          cmocka_unit_test(test_mov_loads),
	    cmocka_unit_test(test_movzx_movsx), cmocka_unit_test(test_mov_stores),
	    cmocka_unit_test(test_addressing),  cmocka_unit_test(test_rep_stos),
	    cmocka_unit_test(test_rep_movs),    cmocka_unit_test(test_results),
	    cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
