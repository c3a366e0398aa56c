/* Arithmetic flags of the ALU instructions the MMIO emulator handles, computed
 * from the operands the way the CPU defines them (Intel SDM vol. 1 3.4.3 and
 * each instruction's "Flags Affected"). Flags the manuals call undefined are
 * given fixed values: AF = 0 after AND/OR/XOR/TEST. */
#include <keel/x86_emulate.h>

#define FL_CF (1ULL << 0)
#define FL_PF (1ULL << 2)
#define FL_AF (1ULL << 4)
#define FL_ZF (1ULL << 6)
#define FL_SF (1ULL << 7)
#define FL_OF (1ULL << 11)

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

/* PF: set when the low byte of the result has an even number of ones. */
static bool parity_even(uint64_t v)
{
	v &= 0xFF;
	v ^= v >> 4;
	v ^= v >> 2;
	v ^= v >> 1;
	return !(v & 1);
}

uint64_t x86_alu(enum x86_op op, unsigned size, uint64_t a, uint64_t b, bool cf_in, uint64_t *flags)
{
	uint64_t m = size_mask(size), top = 1ULL << (8 * size - 1), res, f = 0;

	if (size != 1 && size != 2 && size != 4 && size != 8) {
		top = 1ULL << 63;
		m = ~0ULL;
	}
	a &= m;
	b &= m;
	switch (op) {
	case X86_OP_ADD:
	case X86_OP_ADC:
	case X86_OP_INC: {
		uint64_t c = (op == X86_OP_ADC && cf_in) ? 1 : 0, carries;

		if (op == X86_OP_INC)
			b = 1;
		res = (a + b + c) & m;
		/* Carry out of every bit position: majority of a, b and the carry
		 * in, which the sum's bit reveals. */
		carries = (a & b) | ((a | b) & ~res);
		if (carries & top)
			f |= FL_CF;
		if (carries & 8)
			f |= FL_AF;
		if ((a ^ res) & (b ^ res) & top)
			f |= FL_OF;
		break;
	}
	case X86_OP_SUB:
	case X86_OP_SBB:
	case X86_OP_CMP:
	case X86_OP_DEC:
	case X86_OP_NEG: {
		uint64_t c = (op == X86_OP_SBB && cf_in) ? 1 : 0, borrows;

		if (op == X86_OP_DEC)
			b = 1;
		if (op == X86_OP_NEG) {
			b = a;
			a = 0;
		}
		res = (a - b - c) & m;
		/* Borrow out of every bit position. */
		borrows = (~a & b) | (~(a ^ b) & res);
		if (borrows & top)
			f |= FL_CF;
		if (borrows & 8)
			f |= FL_AF;
		if ((a ^ b) & (a ^ res) & top)
			f |= FL_OF;
		break;
	}
	case X86_OP_AND:
	case X86_OP_TEST:
		res = a & b;
		break;
	case X86_OP_OR:
		res = a | b;
		break;
	case X86_OP_XOR:
		res = a ^ b;
		break;
	default:
		res = a;
		break;
	}
	res &= m;
	if (!res)
		f |= FL_ZF;
	if (res & top)
		f |= FL_SF;
	if (parity_even(res))
		f |= FL_PF;
	*flags = f;
	return res;
}
