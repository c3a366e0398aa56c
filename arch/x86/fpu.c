/* Extended register state of vCPUs (x87, SSE, AVX, ...), switched with
 * XSAVE/XRSTOR when a physical CPU moves from one vCPU to another, so no
 * guest sees another's registers. FXSAVE where the CPU has no XSAVE. */
#include <arch/fpu.h>
#include <arch/x86.h>
#include <keel/heap.h>
#include <keel/pmm.h>
#include <keel/string.h>
#include <stdbool.h>

static bool have_xsave;
static uint64_t xcr0_mask = 0x3; /* x87 | SSE */
static uint32_t state_size = 512;

void fpu_init_cpu(void)
{
	uint32_t a, b, c, d;

	cpuid(1, 0, &a, &b, &c, &d);
	have_xsave = c & (1u << 26);
	write_cr0((read_cr0() & ~(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE);
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT | (have_xsave ? CR4_OSXSAVE : 0));
	if (have_xsave) {
		cpuid(0xD, 0, &a, &b, &c, &d);
		/* User-visible components: x87, SSE, AVX, MPX, AVX-512, PKRU. */
		xcr0_mask = (((uint64_t)d << 32) | a) & 0x2FF;
		xsetbv(0, xcr0_mask);
		cpuid(0xD, 0, &a, &b, &c, &d);
		state_size = b; /* size for the components enabled in XCR0 */
	}
}

uint64_t fpu_xcr0_supported(void)
{
	return xcr0_mask;
}

void *fpu_alloc_state(void)
{
	unsigned order = 0;

	while ((PAGE_SIZE << order) < state_size)
		order++;
	uint8_t *s = page_alloc_zeroed(order);
	if (!s)
		return NULL;
	/* Reset state: x87 control word 0x37F, MXCSR 0x1F80. With XSAVE, an
	 * all-zero XSTATE_BV header makes XRSTOR load the init state anyway. */
	*(uint16_t *)s = 0x37F;
	*(uint32_t *)(s + 24) = 0x1F80;
	return s;
}

void fpu_free_state(void *state)
{
	unsigned order = 0;

	while ((PAGE_SIZE << order) < state_size)
		order++;
	page_free(state, order);
}

void fpu_save(void *state)
{
	if (have_xsave)
		asm volatile("xsave64 (%0)"
			     :
			     : "r"(state), "a"((uint32_t)xcr0_mask),
			       "d"((uint32_t)(xcr0_mask >> 32))
			     : "memory");
	else
		asm volatile("fxsave64 (%0)" : : "r"(state) : "memory");
}

void fpu_restore(const void *state)
{
	if (have_xsave)
		asm volatile("xrstor64 (%0)"
			     :
			     : "r"(state), "a"((uint32_t)xcr0_mask),
			       "d"((uint32_t)(xcr0_mask >> 32))
			     : "memory");
	else
		asm volatile("fxrstor64 (%0)" : : "r"(state) : "memory");
}
