/* Memory-mapped I/O exits: a nested/extended page fault on an address that
 * belongs to a device. The faulting instruction is fetched at CS:RIP
 * through the guest's page tables, decoded and carried out by the shared
 * emulator (core/x86_emulate.c) against the device; the guest sees the
 * instruction complete, or the fault the CPU would have raised. */
#include <keel/apic.h>
#include <keel/backend.h>
#include <keel/guest_walk.h>
#include <keel/mmio.h>
#include <keel/pio_string.h>
#include <keel/x86_emulate.h>

#define VEC_UD 6
#define VEC_PF 14
#define AR_L (1u << 9)
#define AR_DB (1u << 10)
#define EFER_LMA (1ULL << 10)

struct mmio_ctx {
	struct vcpu *v;
	struct guest_paging paging;
	bool user;
};

static bool is_apic(uint64_t gpa)
{
	return gpa - APIC_MMIO_BASE < APIC_MMIO_SIZE;
}

static int dev_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *val)
{
	struct mmio_ctx *c = ctx;

	if (!is_apic(gpa))
		return -1;
	*val = apic_mmio_read(c->v, gpa - APIC_MMIO_BASE, size);
	return 0;
}

static int dev_write(void *ctx, uint64_t gpa, unsigned size, uint64_t val)
{
	struct mmio_ctx *c = ctx;

	if (!is_apic(gpa))
		return -1;
	apic_mmio_write(c->v, gpa - APIC_MMIO_BASE, size, val);
	return 0;
}

static int read_phys(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	return copy_from_guest(ctx, buf, gpa, len) ? -1 : 0;
}

/* The RAM side of MOVS/STOS with a device on the other side. */
static int mem_access(struct mmio_ctx *c, uint64_t la, void *buf, unsigned len, bool write,
		      struct walk_fault *fault)
{
	struct vm *vm = c->v->vm;
	uint64_t gpa;
	unsigned access = (write ? WALK_WRITE : 0) | (c->user ? WALK_USER : 0);

	if (guest_walk(&c->paging, la, access, &gpa, fault, read_phys, vm) != WALK_OK)
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

bool mmio_handle(struct vcpu *v, const struct vm_exit *e)
{
	struct vcpu_sregs s;
	uint8_t insn[15];
	size_t got = 0;

	if (!is_apic(e->npf.gpa) || !v->apic || e->npf.fetch)
		return false;
	backend->get_sregs(v, &s);
	struct mmio_ctx c = {
	    .v = v,
	    .paging = {.cr0 = s.cr0,
		       .cr3 = s.cr3,
		       .cr4 = s.cr4,
		       .efer = s.efer,
		       .rflags = v->regs.rflags},
	    .user = (s.ss.ar >> 5 & 3) == 3,
	};
	struct x86_emu emu = {
	    .regs = &v->regs,
	    .mode = (s.efer & EFER_LMA) && (s.cs.ar & AR_L) ? X86_MODE_64
		    : (s.cr0 & 1) && (s.cs.ar & AR_DB)      ? X86_MODE_32
							    : X86_MODE_16,
	    .seg_base = {s.es.base, s.cs.base, s.ss.base, s.ds.base, s.fs.base, s.gs.base},
	    .gpa = e->npf.gpa,
	    .write_fault = e->npf.write,
	    .insn = insn,
	    .ops = &mmio_ops,
	    .ctx = &c,
	};
	int rc = guest_read_virt(&c.paging, s.cs.base + v->regs.rip, insn, sizeof(insn),
				 WALK_FETCH | (c.user ? WALK_USER : 0), &got, &emu.fetch_fault,
				 read_phys, v->vm);
	emu.insn_len = got;
	emu.fetch_faulted = rc == WALK_PAGE_FAULT;
	switch (x86_emulate_mmio(&emu)) {
	case X86_EMU_OK:
	case X86_EMU_RETRY:
		break;
	case X86_EMU_UD:
		backend->inject_exception(v, VEC_UD, false, 0);
		break;
	case X86_EMU_PAGE_FAULT:
		backend->inject_exception(v, VEC_PF, true, emu.fault.error_code);
		pio_string_set_cr2(v, emu.fault.addr);
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
