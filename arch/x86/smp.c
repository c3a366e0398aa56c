/* Bringing up the other CPUs: INIT-SIPI-SIPI to every enabled processor the
 * MADT lists, one at a time, each through the low-memory trampoline. */
#include <arch/acpi.h>
#include <arch/lapic.h>
#include <arch/time.h>
#include <arch/trap.h>
#include <arch/x86.h>
#include <keel/console.h>
#include <keel/cpu.h>
#include <keel/heap.h>
#include <keel/mem.h>
#include <keel/pmm.h>
#include <keel/smp.h>
#include <keel/string.h>

extern char trampoline_start[], trampoline_end[];
extern char tramp_cr3[], tramp_stack[], tramp_entry[], tramp_cpu[];

struct cpu *cpus[MAX_CPUS];
unsigned ncpus;

static volatile bool ap_started;

#define TRAMP_FIELD(page, sym) ((uint64_t *)((page) + ((sym)-trampoline_start)))

struct cpu *cpu_alloc(unsigned id, uint32_t apic_id)
{
	struct cpu *c = kzalloc(sizeof(*c));
	void *stack = page_alloc_zeroed(2); /* 16 KiB */

	if (!c || !stack)
		return NULL;
	c->self = c;
	c->id = id;
	c->arch.lapic_id = apic_id;
	c->stack_top = (uint64_t)stack + CPU_STACK_SIZE;
	rq_init(&c->rq, (int)id);
	cpus[id] = c;
	return c;
}

static void ap_entry(struct cpu *c)
{
	cpu_tables_init_for(c);
	lapic_init(acpi.lapic_base);
	ap_started = true;
	cpu_main(c);
}

static bool start_one(uint8_t *page, struct cpu *c)
{
	*TRAMP_FIELD(page, tramp_stack) = c->stack_top;
	*TRAMP_FIELD(page, tramp_cpu) = (uint64_t)c;
	ap_started = false;
	asm volatile("mfence" ::: "memory");

	lapic_send_ipi(c->arch.lapic_id, ICR_INIT);
	pit_wait_us(10000);
	for (int i = 0; i < 2 && !ap_started; i++) {
		lapic_send_ipi(c->arch.lapic_id, ICR_STARTUP | ((uint64_t)page >> 12));
		for (int w = 0; w < 100 && !ap_started; w++)
			pit_wait_us(1000);
	}
	for (int w = 0; w < 1000 && !ap_started; w++)
		pit_wait_us(1000);
	return ap_started;
}

void smp_start_cpus(void)
{
	uint64_t low = mem_low_page();
	uint8_t *page = (uint8_t *)low;
	uint32_t self = lapic_id();

	if (acpi.ncpus <= 1)
		return;
	if (!low) {
		klog("no free page below 1 MiB to start other CPUs; using one CPU");
		return;
	}
	memcpy(page, trampoline_start, (size_t)(trampoline_end - trampoline_start));
	*TRAMP_FIELD(page, tramp_cr3) = read_cr3();
	*TRAMP_FIELD(page, tramp_entry) = (uint64_t)ap_entry;
	for (unsigned i = 0; i < acpi.ncpus && ncpus < MAX_CPUS; i++) {
		if (acpi.apic_id[i] == self)
			continue;
		struct cpu *c = cpu_alloc(ncpus, acpi.apic_id[i]);
		if (!c)
			break;
		if (start_one(page, c)) {
			ncpus++;
		} else {
			klog("CPU with APIC ID %u did not start; continuing without it",
			     acpi.apic_id[i]);
			cpus[c->id] = NULL;
		}
	}
}

void cpu_kick(struct cpu *c)
{
	/* A fixed IPI: a guest running there exits at once (physical
	 * interrupts end a guest's run), and an idle CPU wakes from HLT. */
	lapic_send_ipi(c->arch.lapic_id, 0x4000 | VEC_KICK);
}
