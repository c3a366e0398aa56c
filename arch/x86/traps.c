/* Exceptions and interrupts taken by Keel itself. A fault in Keel is a bug:
 * print everything needed to find it on COM1 (registers, faulting address,
 * backtrace, CPU, the VM that was running), stop the other CPUs, halt. */
#include <arch/lapic.h>
#include <arch/trap.h>
#include <arch/x86.h>
#include <keel/console.h>
#include <keel/cpu.h>
#include <keel/host_timer.h>
#include <keel/panic.h>
#include <keel/vm.h>

extern const struct ex_entry __ex_table_start[], __ex_table_end[];
extern char __image_start[], __image_end[];

static volatile int panicking;

static const char *const exception_names[32] = {
    "divide error",
    "debug",
    "NMI",
    "breakpoint",
    "overflow",
    "bound range",
    "invalid opcode",
    "device not available",
    "double fault",
    "coprocessor overrun",
    "invalid TSS",
    "segment not present",
    "stack fault",
    "general protection",
    "page fault",
    "reserved",
    "x87 FP error",
    "alignment check",
    "machine check",
    "SIMD FP error",
    "virtualization",
    "control protection",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "hypervisor injection",
    "VMM communication",
    "security",
    "reserved",
};

static bool fixup(struct trap_frame *f)
{
	for (const struct ex_entry *e = __ex_table_start; e < __ex_table_end; e++) {
		if (e->rip == f->rip) {
			f->rip = e->fixup;
			return true;
		}
	}
	return false;
}

static void backtrace(uint64_t rbp, uint64_t rip)
{
	kprintf("  backtrace: %#lx", rip);
	for (int depth = 0; depth < 16 && rbp && !(rbp & 7); depth++) {
		const uint64_t *frame = (const uint64_t *)rbp;
		uint64_t ret = frame[1];
		if (ret < (uint64_t)__image_start || ret >= (uint64_t)__image_end)
			break;
		kprintf(" %#lx", ret);
		if (frame[0] <= rbp)
			break;
		rbp = frame[0];
	}
	kprintf("\n  (resolve with: addr2line -e build/keel.elf ADDRESS...)\n");
}

static struct cpu *cpu_or_null(void)
{
	uint64_t gs = rdmsr(MSR_GS_BASE);
	return gs ? (struct cpu *)gs : NULL;
}

static void stop_other_cpus(void)
{
	lapic_send_nmi_all_but_self();
}

__attribute__((noreturn)) static void halt_forever(void)
{
	for (;;) {
		irq_disable();
		halt();
	}
}

__attribute__((noreturn)) static void crash(struct trap_frame *f)
{
	struct cpu *c = cpu_or_null();
	struct vcpu *v = c ? c->current : NULL;

	if (__atomic_exchange_n(&panicking, 1, __ATOMIC_SEQ_CST))
		halt_forever();
	stop_other_cpus();
	console_force_unlock();
	kprintf("\nKEEL PANIC on CPU %u: %s (vector %lu, error %#lx)\n", c ? c->id : 0,
		f->vector < 32 ? exception_names[f->vector] : "interrupt", f->vector, f->error);
	if (v)
		kprintf("  while running VM '%s' vCPU %u (guest rip %#lx)\n", v->vm->name, v->id,
			v->regs.rip);
	else
		kprintf("  no VM was running on this CPU\n");
	kprintf("  rip %#018lx  cs %#lx  rflags %#lx  rsp %#018lx  ss %#lx\n", f->rip, f->cs,
		f->rflags, f->rsp, f->ss);
	kprintf("  cr0 %#lx  cr2 %#018lx  cr3 %#lx  cr4 %#lx\n", read_cr0(), read_cr2(), read_cr3(),
		read_cr4());
	kprintf("  rax %#018lx  rbx %#018lx  rcx %#018lx  rdx %#018lx\n", f->rax, f->rbx, f->rcx,
		f->rdx);
	kprintf("  rsi %#018lx  rdi %#018lx  rbp %#018lx  r8  %#018lx\n", f->rsi, f->rdi, f->rbp,
		f->r8);
	kprintf("  r9  %#018lx  r10 %#018lx  r11 %#018lx  r12 %#018lx\n", f->r9, f->r10, f->r11,
		f->r12);
	kprintf("  r13 %#018lx  r14 %#018lx  r15 %#018lx\n", f->r13, f->r14, f->r15);
	backtrace(f->rbp, f->rip);
	kprintf("KEEL PANIC: system halted\n");
	halt_forever();
}

void panic(const char *fmt, ...)
{
	va_list ap;
	uint64_t rbp;

	irq_disable();
	if (__atomic_exchange_n(&panicking, 1, __ATOMIC_SEQ_CST))
		halt_forever();
	stop_other_cpus();
	console_force_unlock();
	kprintf("\nKEEL PANIC: ");
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
	asm volatile("movq %%rbp, %0" : "=r"(rbp));
	backtrace(rbp, (uint64_t)__builtin_return_address(0));
	kprintf("KEEL PANIC: system halted\n");
	halt_forever();
}

void trap_dispatch(struct trap_frame *f)
{
	switch (f->vector) {
	case VEC_TIMER:
		lapic_eoi();
		host_timer_interrupt(this_cpu());
		return;
	case VEC_KICK:
		lapic_eoi();
		return;
	case VEC_SPURIOUS:
		return;
	case VEC_NMI:
		if (panicking)
			halt_forever();
		klog("NMI received on CPU %u; ignored", this_cpu()->id);
		return;
	default:
		break;
	}
	if (f->vector < 32 && fixup(f))
		return;
	crash(f);
}
