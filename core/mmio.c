/* Memory-mapped I/O exits: a nested/extended page fault on an address that
 * belongs to a device. The faulting instruction is fetched at CS:RIP
 * through the guest's page tables, decoded and carried out by the shared
 * emulator (core/x86_emulate.c) against the device; the guest sees the
 * instruction complete, or the fault the CPU would have raised. Devices are
 * the vCPU's own local APIC page and whatever the VM's MMIO bus holds
 * (IOAPIC, PCI configuration by ECAM); 8-byte accesses to a bus device are
 * split into two 4-byte ones, low half first. */
#include <keel/apic.h>
#include <keel/backend.h>
#include <keel/console.h>
#include <keel/mmio.h>
#include <keel/string.h>
#include <keel/vcpu_view.h>
#include <keel/x86_emulate.h>

#define VEC_UD 6
#define AR_DB (1u << 10)

struct mmio_ctx {
	struct vcpu *v;
	struct vcpu_view w;
};

static bool is_apic(uint64_t gpa)
{
	return gpa - APIC_MMIO_BASE < APIC_MMIO_SIZE;
}

static bool is_device(struct vcpu *v, uint64_t gpa)
{
	return (is_apic(gpa) && v->apic) || io_bus_claims(&v->vm->mmio, gpa);
}

static int dev_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *val)
{
	struct mmio_ctx *c = ctx;
	uint32_t lo = 0, hi = 0;

	if (is_apic(gpa) && c->v->apic) {
		*val = apic_mmio_read(c->v, gpa - APIC_MMIO_BASE, size);
		return 0;
	}
	if (!io_bus_read(&c->v->vm->mmio, gpa, size > 4 ? 4 : size, &lo))
		return -1;
	if (size > 4)
		io_bus_read(&c->v->vm->mmio, gpa + 4, 4, &hi);
	*val = lo | (uint64_t)hi << 32;
	return 0;
}

static int dev_write(void *ctx, uint64_t gpa, unsigned size, uint64_t val)
{
	struct mmio_ctx *c = ctx;

	if (is_apic(gpa) && c->v->apic) {
		apic_mmio_write(c->v, gpa - APIC_MMIO_BASE, size, val);
		return 0;
	}
	if (!io_bus_write(&c->v->vm->mmio, gpa, size > 4 ? 4 : size, (uint32_t)val))
		return -1;
	if (size > 4)
		io_bus_write(&c->v->vm->mmio, gpa + 4, 4, (uint32_t)(val >> 32));
	return 0;
}

/* The RAM side of MOVS/STOS with a device on the other side. */
static int mem_access(struct mmio_ctx *c, uint64_t la, void *buf, unsigned len, bool write,
		      struct walk_fault *fault)
{
	struct vm *vm = c->v->vm;
	uint64_t gpa;

	if (vcpu_view_walk(&c->w, la, write ? WALK_WRITE : 0, &gpa, fault) != WALK_OK)
		return -1;
	return write ? copy_to_guest(vm, gpa, buf, len) : copy_from_guest(vm, buf, gpa, len);
}

static int mem_read(void *ctx, uint64_t la, void *buf, unsigned len, struct walk_fault *fault)
{
	return mem_access(ctx, la, buf, len, false, fault);
}

static int mem_write(void *ctx, uint64_t la, const void *buf, unsigned len,
		     struct walk_fault *fault)
{
	return mem_access(ctx, la, (void *)(uintptr_t)buf, len, true, fault);
}

static const struct x86_emu_ops mmio_ops = {dev_read, dev_write, mem_read, mem_write};

#define UD_LOG_FIRST 16 /* log the first refusals... */
#define UD_LOG_EVERY 1024 /* ...then one in this many: a looping guest cannot flood COM1 */

/* An instruction at a device address that Keel's emulator refused (the
 * guest gets #UD): the bytes and where, so an operator can tell a guest
 * that dies of it from one that crashed on its own. */
static void log_refused(const struct vcpu *v, const struct vm_exit *e, const struct x86_emu *emu)
{
	static unsigned refused;
	unsigned n = __atomic_fetch_add(&refused, 1, __ATOMIC_RELAXED);
	char hex[3 * X86_MAX_INSN_LEN + 1] = "";
	size_t pos = 0;

	if (n >= UD_LOG_FIRST && n % UD_LOG_EVERY)
		return;
	for (size_t i = 0; i < emu->insn_len && i < X86_MAX_INSN_LEN; i++)
		pos += (size_t)snprintf(hex + pos, sizeof(hex) - pos, "%s%02x", i ? " " : "",
					emu->insn[i]);
	klog("vm %s: vCPU %u: mmio %s at gpa %#lx: instruction at rip %#lx not emulated, #UD "
	     "injected [%s]%s",
	     v->vm->name, v->id, e->npf.write ? "write" : "read", e->npf.gpa, v->regs.rip, hex,
	     n >= UD_LOG_FIRST ? " (rate-limited)" : "");
}

bool mmio_handle(struct vcpu *v, const struct vm_exit *e)
{
	uint8_t insn[15];
	size_t got;

	if (!is_device(v, e->npf.gpa) || e->npf.fetch)
		return false;
	struct mmio_ctx c = {.v = v};
	vcpu_view_init(&c.w, v);
	const struct vcpu_sregs *s = &c.w.s;
	struct x86_emu emu = {
	    .regs = &v->regs,
	    .mode = c.w.long_mode                        ? X86_MODE_64
		    : (s->cr0 & 1) && (s->cs.ar & AR_DB) ? X86_MODE_32
							 : X86_MODE_16,
	    .seg_base = {s->es.base, s->cs.base, s->ss.base, s->ds.base, s->fs.base, s->gs.base},
	    .gpa = e->npf.gpa,
	    .write_fault = e->npf.write,
	    .insn = insn,
	    .ops = &mmio_ops,
	    .ctx = &c,
	};
	int rc = vcpu_view_fetch(&c.w, insn, &got, &emu.fetch_fault);
	emu.insn_len = got;
	emu.fetch_faulted = rc == WALK_PAGE_FAULT;
	switch (x86_emulate_mmio(&emu)) {
	case X86_EMU_OK:
	case X86_EMU_RETRY:
		break;
	case X86_EMU_UD:
		log_refused(v, e, &emu);
		backend->inject_exception(v, VEC_UD, false, 0);
		break;
	case X86_EMU_PAGE_FAULT:
		vcpu_inject_page_fault(v, &emu.fault);
		break;
	case X86_EMU_GP:
		backend->inject_exception(v, emu.vector, true, 0);
		break;
	default:
		vm_stop(v->vm,
			"cannot emulate the instruction at rip %#lx touching device "
			"memory at %#lx",
			v->regs.rip, e->npf.gpa);
		break;
	}
	return true;
}
