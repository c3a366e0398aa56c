/* String port I/O (INS, OUTS, with or without REP), vendor-neutral. The
 * exit gives the port, the size and the direction; the address size and the
 * segment come from the instruction's own prefixes, which Keel reads at
 * CS:RIP through the guest's page tables (no decode assists needed). Every
 * guest address goes through the guest's paging and then the VM's memory
 * checks; a guest page fault is reflected to the guest. A long REP is done
 * in bounded pieces: RIP stays put until RCX reaches zero, so the guest
 * re-executes the instruction and Keel never spends long in one exit. */
#include <keel/backend.h>
#include <keel/exit.h>
#include <keel/vcpu_view.h>
#include <keel/pio_string.h>
#include <keel/string.h>

#define MAX_ITERATIONS 1024 /* per exit */
#define SEG_DS 3
#define RFLAGS_DF (1ULL << 10)
#define CR0_PE 1ULL
#define AR_DB (1u << 10)

static const struct seg *seg_by_number(const struct vcpu_sregs *s, unsigned n)
{
	const struct seg *segs[6] = {&s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs};
	return segs[n < 6 ? n : SEG_DS];
}

/* Default address size of the code segment: 2, 4 or 8 bytes. */
static unsigned default_addr_size(const struct vcpu_view *w)
{
	if (w->long_mode)
		return 8;
	if (!(w->s.cr0 & CR0_PE))
		return 2;
	return (w->s.cs.ar & AR_DB) ? 4 : 2;
}

/* Legacy prefixes before the INS/OUTS opcode (0x6C-0x6F): address-size
 * override and segment override. False if the bytes are not such an
 * instruction (another vCPU rewrote them): the guest simply retries. */
static bool read_prefixes(const uint8_t *b, size_t n, bool long_mode, bool *addr_override, int *seg)
{
	static const uint8_t seg_prefix[6] = {0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65};

	for (size_t i = 0; i < n && i < 15; i++) {
		uint8_t c = b[i];
		if (c >= 0x6C && c <= 0x6F)
			return true;
		if (c == 0x67) {
			*addr_override = true;
			continue;
		}
		bool known = c == 0x66 || c == 0xF2 || c == 0xF3 || c == 0xF0 ||
			     (long_mode && (c & 0xF0) == 0x40);
		for (int s = 0; s < 6; s++)
			if (c == seg_prefix[s]) {
				*seg = s;
				known = true;
			}
		if (!known)
			return false;
	}
	return false;
}

void pio_string(struct vcpu *v, const struct vm_exit *e)
{
	struct vm *vm = v->vm;
	struct vcpu_view w;
	struct walk_fault fault;
	uint8_t insn[15];
	size_t got;

	vcpu_view_init(&w, v);
	const struct vcpu_sregs *s = &w.s;
	bool long_mode = w.long_mode;
	int rc = vcpu_view_fetch(&w, insn, &got, &fault);
	bool addr_override = false;
	int seg = SEG_DS;
	if ((rc != WALK_OK && got == 0) ||
	    !read_prefixes(insn, got, long_mode, &addr_override, &seg))
		return; /* nothing decoded: re-run the instruction */
	unsigned asize = default_addr_size(&w);
	if (addr_override)
		asize = asize == 4 ? 2 : 4;
	if (asize == 2 && long_mode)
		asize = 4;
	uint64_t amask = asize == 8 ? ~0ULL : asize == 4 ? 0xFFFFFFFFULL : 0xFFFFULL;
	const struct seg *sg = e->io.in ? &s->es : seg_by_number(s, (unsigned)seg);
	uint64_t *index = e->io.in ? &v->regs.rdi : &v->regs.rsi;
	uint64_t count = e->io.rep ? v->regs.rcx & amask : 1;
	int64_t step = (v->regs.rflags & RFLAGS_DF) ? -(int64_t)e->io.size : e->io.size;
	unsigned done = 0;

	while (count && done < MAX_ITERATIONS) {
		uint64_t lin = (long_mode && seg < 4 ? 0 : sg->base) + (*index & amask);
		uint64_t gpa;
		uint32_t val = 0xFFFFFFFFu;
		rc = vcpu_view_walk(&w, lin, e->io.in ? WALK_WRITE : 0, &gpa, &fault);
		if (rc == WALK_PAGE_FAULT) {
			vcpu_inject_page_fault(v, &fault);
			return;
		}
		if (rc != WALK_OK || ((gpa & 0xFFF) + e->io.size > 0x1000)) {
			/* Outside RAM, or an access that straddles a page. */
			vm_stop(vm, "string port I/O at linear %#lx is not in guest RAM (rip %#lx)",
				lin, v->regs.rip);
			return;
		}
		if (e->io.in) {
			io_bus_read(&vm->pio, e->io.port, e->io.size, &val);
			if (copy_to_guest(vm, gpa, &val, e->io.size))
				goto outside;
		} else {
			if (copy_from_guest(vm, &val, gpa, e->io.size))
				goto outside;
			io_bus_write(&vm->pio, e->io.port, e->io.size, val);
		}
		if (vm->state != VM_RUNNING)
			return; /* the device ended the VM (debug exit) */
		*index = (*index & ~amask) | ((*index + (uint64_t)step) & amask);
		count--;
		done++;
	}
	if (e->io.rep)
		v->regs.rcx = (v->regs.rcx & ~amask) | (count & amask);
	if (!count)
		v->regs.rip += e->insn_len; /* else the guest executes it again */
	return;
outside:
	vm_stop(vm, "string port I/O touched guest-physical memory outside the VM (rip %#lx)",
		v->regs.rip);
}
