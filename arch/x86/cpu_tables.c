/* Descriptor tables: one GDT and TSS per CPU (each CPU needs its own
 * interrupt stacks), one IDT shared by all. */
#include <arch/trap.h>
#include <arch/x86.h>
#include <keel/cpu.h>
#include <keel/heap.h>
#include <keel/pmm.h>
#include <keel/smp.h>
#include <keel/string.h>

extern const uint64_t isr_table[32];
extern char isr_timer[], isr_kick[], isr_spurious[];

struct idt_entry {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, zero;
} __attribute__((packed));

static struct idt_entry idt[256] __attribute__((aligned(16)));

static void idt_set(unsigned vec, uint64_t handler, unsigned ist)
{
	idt[vec] = (struct idt_entry){
	    .off0 = (uint16_t)handler,
	    .sel = GDT_CODE64,
	    .ist = (uint8_t)ist,
	    .type = 0x8E, /* present, DPL 0, 64-bit interrupt gate */
	    .off1 = (uint16_t)(handler >> 16),
	    .off2 = (uint32_t)(handler >> 32),
	};
}

static void idt_build(void)
{
	if (idt[0].type)
		return;
	for (unsigned v = 0; v < 32; v++)
		idt_set(v, isr_table[v], 0);
	idt_set(VEC_NMI, isr_table[VEC_NMI], IST_NMI);
	idt_set(VEC_DF, isr_table[VEC_DF], IST_DF);
	idt_set(VEC_MC, isr_table[VEC_MC], IST_MC);
	idt_set(VEC_TIMER, (uint64_t)isr_timer, 0);
	idt_set(VEC_KICK, (uint64_t)isr_kick, 0);
	idt_set(VEC_SPURIOUS, (uint64_t)isr_spurious, 0);
}

void cpu_tables_init_for(struct cpu *c)
{
	struct cpu_arch *a = &c->arch;
	uint64_t tss = (uint64_t)&a->tss;
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) gdtr, idtr;

	/* %gs first: everything below may allocate, and allocation looks at
	 * the current CPU. */
	wrmsr(MSR_GS_BASE, (uint64_t)c);
	idt_build();
	a->gdt[0] = 0;
	a->gdt[1] = 0x00209A0000000000ULL; /* 64-bit code */
	a->gdt[2] = 0x0000920000000000ULL; /* data */
	a->gdt[3] = (sizeof(struct tss64) - 1) | ((tss & 0xFFFFFF) << 16) | (0x89ULL << 40) |
		    ((tss >> 24) & 0xFF) << 56;
	a->gdt[4] = tss >> 32;
	for (unsigned i = 0; i < 3; i++) {
		uint8_t *stack = page_alloc_zeroed(1);
		a->tss.ist[i] = (uint64_t)stack + 2 * PAGE_SIZE;
	}
	a->tss.iomap_base = sizeof(struct tss64);

	gdtr.limit = sizeof(a->gdt) - 1;
	gdtr.base = (uint64_t)a->gdt;
	idtr.limit = sizeof(idt) - 1;
	idtr.base = (uint64_t)idt;
	asm volatile("lgdt %0\n\t"
		     "pushq %1\n\t"
		     "leaq 1f(%%rip), %%rax\n\t"
		     "pushq %%rax\n\t"
		     "lretq\n"
		     "1:\n\t"
		     "movw %w2, %%ds\n\t"
		     "movw %w2, %%es\n\t"
		     "movw %w2, %%ss\n\t"
		     "ltr %w3\n\t"
		     "lidt %4"
		     :
		     : "m"(gdtr), "i"(GDT_CODE64), "r"(GDT_DATA), "r"(GDT_TSS), "m"(idtr)
		     : "rax", "memory");
}

bool rdmsr_safe(uint32_t msr, uint64_t *val)
{
	uint32_t lo = 0, hi = 0;
	int ok = 1;

	asm volatile("1: rdmsr\n"
		     "2:\n"
		     ".pushsection .fixup, \"ax\"\n"
		     "3: movl $0, %2\n"
		     "   jmp 2b\n"
		     ".popsection\n"
		     ".pushsection __ex_table, \"a\"\n"
		     ".quad 1b, 3b\n"
		     ".popsection\n"
		     : "+a"(lo), "+d"(hi), "+r"(ok)
		     : "c"(msr));
	*val = ((uint64_t)hi << 32) | lo;
	return ok;
}

bool xsetbv_safe(uint32_t idx, uint64_t v)
{
	int ok = 1;

	asm volatile("1: xsetbv\n"
		     "2:\n"
		     ".pushsection .fixup, \"ax\"\n"
		     "3: movl $0, %0\n"
		     "   jmp 2b\n"
		     ".popsection\n"
		     ".pushsection __ex_table, \"a\"\n"
		     ".quad 1b, 3b\n"
		     ".popsection\n"
		     : "+r"(ok)
		     : "c"(idx), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
	return ok;
}

void debugregs_save(uint64_t dr[4])
{
	asm volatile("mov %%dr0, %0" : "=r"(dr[0]));
	asm volatile("mov %%dr1, %0" : "=r"(dr[1]));
	asm volatile("mov %%dr2, %0" : "=r"(dr[2]));
	asm volatile("mov %%dr3, %0" : "=r"(dr[3]));
}

void debugregs_load(const uint64_t dr[4])
{
	asm volatile("mov %0, %%dr0" : : "r"(dr[0]));
	asm volatile("mov %0, %%dr1" : : "r"(dr[1]));
	asm volatile("mov %0, %%dr2" : : "r"(dr[2]));
	asm volatile("mov %0, %%dr3" : : "r"(dr[3]));
}
