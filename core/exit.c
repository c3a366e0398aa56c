/* The vendor-neutral exit dispatcher: one handler per exit kind. Handlers
 * treat every register and address as hostile; a guest that does something
 * Keel cannot allow is stopped (never Keel) or gets the fault real hardware
 * would give it. */
#include <arch/fpu.h>
#include <arch/x86.h>
#include <keel/backend.h>
#include <keel/console.h>
#include <keel/cpu.h>
#include <keel/exit.h>
#include <keel/hypercall.h>
#include <keel/mmio.h>
#include <keel/pio_string.h>
#include <keel/platform.h>
#include <arch/time.h>
#include <keel/sched.h>
#include <keel/vcpu_view.h>

typedef void (*exit_handler_fn)(struct vcpu *v, const struct vm_exit *e);

static void skip_insn(struct vcpu *v, const struct vm_exit *e)
{
	v->regs.rip += e->insn_len;
}

static void set_rax32(struct vcpu *v, uint32_t a)
{
	v->regs.rax = a; /* 32-bit results zero-extend, as on hardware */
}

static void handle_none(struct vcpu *v, const struct vm_exit *e)
{
	(void)v;
	(void)e;
}

static void handle_cpuid(struct vcpu *v, const struct vm_exit *e)
{
	uint32_t r[4];

	cpuid_guest(v, (uint32_t)v->regs.rax, (uint32_t)v->regs.rcx, r);
	set_rax32(v, r[0]);
	v->regs.rbx = r[1];
	v->regs.rcx = r[2];
	v->regs.rdx = r[3];
	skip_insn(v, e);
}

static void handle_msr_read(struct vcpu *v, const struct vm_exit *e)
{
	uint64_t val;

	if (msr_guest_read(v, (uint32_t)v->regs.rcx, &val)) {
		backend->inject_exception(v, VEC_GP_GUEST, true, 0);
		return;
	}
	v->regs.rax = (uint32_t)val;
	v->regs.rdx = val >> 32;
	skip_insn(v, e);
}

static void handle_msr_write(struct vcpu *v, const struct vm_exit *e)
{
	uint64_t val = (v->regs.rdx << 32) | (uint32_t)v->regs.rax;

	if (msr_guest_write(v, (uint32_t)v->regs.rcx, val)) {
		backend->inject_exception(v, VEC_GP_GUEST, true, 0);
		return;
	}
	skip_insn(v, e);
}

static void handle_io(struct vcpu *v, const struct vm_exit *e)
{
	struct vm *vm = v->vm;
	uint32_t mask = e->io.size == 4 ? 0xFFFFFFFFu : (1u << (8 * e->io.size)) - 1;

	if (e->io.string) {
		pio_string(v, e);
		return;
	}
	if (e->io.in) {
		uint32_t val = 0xFFFFFFFFu; /* no device: the bus floats high */
		io_bus_read(&vm->pio, e->io.port, e->io.size, &val);
		if (e->io.size == 4)
			v->regs.rax = val;
		else
			v->regs.rax = (v->regs.rax & ~(uint64_t)mask) | (val & mask);
	} else {
		io_bus_write(&vm->pio, e->io.port, e->io.size, (uint32_t)v->regs.rax & mask);
	}
	if (vm->state == VM_RUNNING)
		skip_insn(v, e);
}

static void handle_hlt(struct vcpu *v, const struct vm_exit *e)
{
	skip_insn(v, e);
	v->halted_irqs_off = !(v->regs.rflags & RFLAGS_IF);
	/* An interrupt already waiting ends the halt at once. With interrupts
	 * off only an NMI (or INIT) can. */
	if (irq_wakes(v, time_ns()))
		return;
	v->state = VCPU_HALTED;
}

static void handle_npf(struct vcpu *v, const struct vm_exit *e)
{
	if (mmio_handle(v, e))
		return;
	const char *what = e->npf.fetch ? "instruction fetch" : e->npf.write ? "write" : "read";

	vm_stop(v->vm, "%s outside its memory at guest-physical %#lx (rip %#lx)", what, e->npf.gpa,
		v->regs.rip);
}

/* The last exits each physical CPU handled, for the report of a triple
 * fault: what Keel did to the vCPU just before the guest died. Per CPU, so
 * the exit path writes only its own cache lines. */
#define RECENT_EXITS 8

struct recent_exit {
	const struct vcpu *v;
	uint64_t rip, info; /* info: the guest-physical address of an NPF */
	enum exit_kind kind;
};

static struct recent_ring {
	unsigned next;
	struct recent_exit e[RECENT_EXITS];
} recent[MAX_CPUS];

static void report_recent_exits(const struct vcpu *v)
{
	const struct recent_ring *ring = &recent[this_cpu()->id];

	for (unsigned i = ring->next - RECENT_EXITS; i != ring->next; i++) {
		const struct recent_exit *r = &ring->e[i % RECENT_EXITS];

		if (r->v == v)
			klog("vm %s: vCPU %u: recent exit: %s at rip %#lx (info %#lx)", v->vm->name,
			     v->id, exit_kind_name(r->kind), r->rip, r->info);
	}
}

/* The state the guest died in: enough to tell a bad stack from a bad IDT
 * or page tables, and which event was being delivered (info1/info2 are the
 * backend's raw exit information). */
static void report_dead_state(const struct vcpu *v, const struct vcpu_sregs *s,
			      const struct vm_exit *e)
{
	klog("vm %s: vCPU %u: rsp %#lx rflags %#lx cs %#x ss %#x cr0 %#lx cr2 %#lx cr3 %#lx "
	     "cr4 %#lx efer %#lx",
	     v->vm->name, v->id, v->regs.rsp, v->regs.rflags, s->cs.sel, s->ss.sel, s->cr0, s->cr2,
	     s->cr3, s->cr4, s->efer);
	klog("vm %s: vCPU %u: idt %#lx+%#x gdt %#lx+%#x tr %#x at %#lx, exit %#lx info %#lx %#lx",
	     v->vm->name, v->id, s->idtr.base, s->idtr.limit, s->gdtr.base, s->gdtr.limit,
	     s->tr.sel, s->tr.base, e->raw.code, e->raw.info1, e->raw.info2);
}

/* A triple fault is most often a fault that could not be delivered: say
 * whether the guest's own page tables still reach its double-fault gate and
 * the code at RIP (as the guest last set them; Keel reads, writes nothing). */
static void report_reach(const struct vcpu_view *w, const char *what, uint64_t la, bool fetch)
{
	struct walk_fault f;
	uint64_t gpa;
	int r = fetch ? vcpu_view_walk(w, la, WALK_FETCH, &gpa, &f)
		      : vcpu_view_walk_system(w, la, &gpa, &f);
	const char *vm = w->v->vm->name;

	if (r == WALK_OK)
		klog("vm %s: vCPU %u: %s %#lx is at guest-physical %#lx", vm, w->v->id, what, la,
		     gpa);
	else if (r == WALK_PAGE_FAULT)
		klog("vm %s: vCPU %u: %s %#lx is unreachable: page fault, error code %#x", vm,
		     w->v->id, what, la, f.error_code);
	else
		klog("vm %s: vCPU %u: %s %#lx is unreachable (walk result %d)", vm, w->v->id, what,
		     la, r);
}

static void handle_shutdown(struct vcpu *v, const struct vm_exit *e)
{
	struct vcpu_view w;

	report_recent_exits(v);
	vcpu_view_init(&w, v); /* reads the vCPU's registers once for both reports */
	report_dead_state(v, &w.s, e);
	if (w.s.cr0 & CR0_PG) {
		/* Gates are 16 bytes in long mode, 8 in protected mode. */
		uint64_t gate = (w.s.efer & EFER_LMA) ? 16 : 8;

		report_reach(&w, "double-fault gate", w.s.idtr.base + 8 * gate, false);
		report_reach(&w, "code at rip", w.s.cs.base + v->regs.rip, true);
	}
	vm_stop(v->vm, "triple fault (shutdown) on vCPU %u at rip %#lx", v->id, v->regs.rip);
}

static void handle_hypercall(struct vcpu *v, const struct vm_exit *e)
{
	v->regs.rax = (uint64_t)hypercall(v, v->regs.rax, v->regs.rbx, v->regs.rcx);
	if (v->vm->state == VM_RUNNING)
		skip_insn(v, e);
}

static void handle_init(struct vcpu *v, const struct vm_exit *e)
{
	/* A physical INIT aimed at this CPU: Keel sends none while guests
	 * run, so it is firmware or a platform event; the guest is unaffected. */
	(void)v;
	(void)e;
}

static void handle_xsetbv(struct vcpu *v, const struct vm_exit *e)
{
	uint64_t val = (v->regs.rdx << 32) | (uint32_t)v->regs.rax;
	uint64_t ok = fpu_xcr0_supported();

	/* XCR0 rules: x87 always on, AVX needs SSE, only what Keel supports. */
	if ((uint32_t)v->regs.rcx != 0 || !(val & 1) || (val & ~ok) || ((val & 4) && !(val & 2))) {
		backend->inject_exception(v, VEC_GP_GUEST, true, 0);
		return;
	}
	v->xcr0 = val;
	xsetbv(0, val);
	skip_insn(v, e);
}

/* An instruction that must not take effect on the real machine (INVD
 * would discard cache lines that may hold Keel's or another VM's data):
 * carried out as a no-op. */
static void handle_skip(struct vcpu *v, const struct vm_exit *e)
{
	skip_insn(v, e);
}

static void handle_ud(struct vcpu *v, const struct vm_exit *e)
{
	(void)e;
	backend->inject_exception(v, VEC_UD, false, 0);
}

static void handle_invalid(struct vcpu *v, const struct vm_exit *e)
{
	vm_stop(v->vm,
		"the CPU refused to enter the guest (invalid guest state, exit %#lx) at "
		"rip %#lx",
		e->raw.code, v->regs.rip);
}

static void handle_unknown(struct vcpu *v, const struct vm_exit *e)
{
	vm_stop(v->vm, "unhandled exit %#lx (info %#lx, %#lx) at rip %#lx", e->raw.code,
		e->raw.info1, e->raw.info2, v->regs.rip);
}

static const exit_handler_fn exit_handlers[EXIT_KIND_COUNT] = {
    [EXIT_NONE] = handle_none,
    [EXIT_CPUID] = handle_cpuid,
    [EXIT_MSR_READ] = handle_msr_read,
    [EXIT_MSR_WRITE] = handle_msr_write,
    [EXIT_IO] = handle_io,
    [EXIT_HLT] = handle_hlt,
    [EXIT_NPF] = handle_npf,
    [EXIT_SHUTDOWN] = handle_shutdown,
    [EXIT_HYPERCALL] = handle_hypercall,
    [EXIT_INIT] = handle_init,
    [EXIT_XSETBV] = handle_xsetbv,
    [EXIT_INTR_WINDOW] = handle_none,
    [EXIT_SKIP] = handle_skip,
    [EXIT_UD] = handle_ud,
    [EXIT_INVALID] = handle_invalid,
    [EXIT_UNKNOWN] = handle_unknown,
};

static const char *const exit_names[EXIT_KIND_COUNT] = {
    [EXIT_NONE] = "interrupt",
    [EXIT_CPUID] = "cpuid",
    [EXIT_MSR_READ] = "rdmsr",
    [EXIT_MSR_WRITE] = "wrmsr",
    [EXIT_IO] = "io",
    [EXIT_HLT] = "hlt",
    [EXIT_NPF] = "npf",
    [EXIT_SHUTDOWN] = "shutdown",
    [EXIT_HYPERCALL] = "hypercall",
    [EXIT_INIT] = "init",
    [EXIT_XSETBV] = "xsetbv",
    [EXIT_INTR_WINDOW] = "intr-window",
    [EXIT_SKIP] = "skip",
    [EXIT_UD] = "ud",
    [EXIT_INVALID] = "invalid",
    [EXIT_UNKNOWN] = "unknown",
};

const char *exit_kind_name(enum exit_kind k)
{
	return k < EXIT_KIND_COUNT ? exit_names[k] : "?";
}

void exit_dispatch(struct vcpu *v, const struct vm_exit *e)
{
	if (e->kind != EXIT_SHUTDOWN) {
		struct recent_ring *ring = &recent[this_cpu()->id];

		ring->e[ring->next++ % RECENT_EXITS] =
		    (struct recent_exit){.v = v,
					 .rip = v->regs.rip,
					 .info = e->kind == EXIT_NPF ? e->npf.gpa : 0,
					 .kind = e->kind};
	}
	exit_handlers[e->kind](v, e);
}
