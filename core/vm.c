/* VM life cycle. A VM object exists for every configured VM from boot on.
 * Starting allocates and zeroes its RAM, builds nested page tables, vCPUs
 * and devices, and loads its payload; stopping frees all of it, zeroing RAM
 * again first so nothing of it reaches the next owner of those pages. */
#include <arch/fpu.h>
#include <arch/guest_regs.h>
#include <arch/time.h>
#include <keel/backend.h>
#include <keel/apic.h>
#include <keel/bootinfo.h>
#include <keel/console.h>
#include <keel/heap.h>
#include <keel/loader.h>
#include <keel/mem.h>
#include <keel/pmm.h>
#include <keel/power.h>
#include <keel/sched.h>
#include <keel/string.h>
#include <keel/vdev.h>

/* The world-switch assembly reaches struct vcpu_regs by these offsets. */
_Static_assert(__builtin_offsetof(struct vcpu_regs, rax) == GR_RAX, "vcpu_regs layout");
_Static_assert(__builtin_offsetof(struct vcpu_regs, rbx) == GR_RBX, "vcpu_regs layout");
_Static_assert(__builtin_offsetof(struct vcpu_regs, rcx) == GR_RCX, "vcpu_regs layout");
_Static_assert(__builtin_offsetof(struct vcpu_regs, rdx) == GR_RDX, "vcpu_regs layout");
_Static_assert(__builtin_offsetof(struct vcpu_regs, rsi) == GR_RSI, "vcpu_regs layout");
_Static_assert(__builtin_offsetof(struct vcpu_regs, rdi) == GR_RDI, "vcpu_regs layout");
_Static_assert(__builtin_offsetof(struct vcpu_regs, rbp) == GR_RBP, "vcpu_regs layout");
_Static_assert(__builtin_offsetof(struct vcpu_regs, r8) == GR_R8, "vcpu_regs layout");
_Static_assert(__builtin_offsetof(struct vcpu_regs, r15) == GR_R15, "vcpu_regs layout");

struct vm *vms[MAX_VMS];
spinlock_t vms_lock = SPINLOCK_INIT;
static unsigned next_vm_id = 1;

const char *vm_state_name(enum vm_state s)
{
	static const char *const names[] = {"running", "paused", "stopping", "stopped"};
	return s <= VM_STOPPED ? names[s] : "?";
}

const char *vcpu_state_name(enum vcpu_state s)
{
	static const char *const names[] = {"runnable",      "running", "halted",
					    "wait-for-SIPI", "paused",  "dead"};
	return s <= VCPU_DEAD ? names[s] : "?";
}

struct vm *vm_find(const char *name)
{
	for (unsigned i = 0; i < MAX_VMS; i++)
		if (vms[i] && !strcmp(vms[i]->name, name))
			return vms[i];
	return NULL;
}

struct vm *vm_create(const struct cfg_vm *cfg)
{
	struct vm *vm = kzalloc(sizeof(*vm));

	if (!vm)
		return NULL;
	strlcpy(vm->name, cfg->name, sizeof(vm->name));
	vm->cfg = cfg;
	vm->state = VM_STOPPED;
	vm->exit_status = -1;
	strlcpy(vm->stop_reason, "not started", sizeof(vm->stop_reason));
	spin_lock(&vms_lock);
	for (unsigned i = 0; i < MAX_VMS; i++) {
		if (!vms[i]) {
			vms[i] = vm;
			vm->slot_index = i;
			vm->id = next_vm_id++;
			spin_unlock(&vms_lock);
			return vm;
		}
	}
	spin_unlock(&vms_lock);
	kfree(vm);
	return NULL;
}

static void free_ram(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nslots; i++) {
		struct mem_slot *s = &vm->slot[i];
		for (uint64_t c = 0; c < s->nchunks; c++) {
			if (!s->chunk[c])
				continue;
			memset((void *)s->chunk[c], 0, CHUNK_SIZE);
			pmm_free(&keel_pmm, s->chunk[c], PMM_ORDER_2M);
		}
		kfree(s->chunk);
	}
	vm->nslots = 0;
	vm->ram_size = 0;
}

static void free_resources(struct vm *vm)
{
	/* Devices first, under vm->lock: the shell feeds console input under it,
	 * and once they are gone nothing can raise an interrupt into the vCPUs
	 * freed below (a switch delivering a frame, the console). */
	spin_lock(&vm->lock);
	vdev_destroy_all(vm);
	spin_unlock(&vm->lock);
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = vm->vcpu[i];
		if (!v)
			continue;
		backend->vcpu_destroy(v);
		apic_destroy(v);
		if (v->fpu)
			fpu_free_state(v->fpu);
		kfree(v);
		vm->vcpu[i] = NULL;
	}
	vm->nvcpus = 0;
	free_ram(vm);
	backend->vm_destroy(vm);
}

/* Back [gpa, gpa + size) with 2 MiB chunks as the VM's next slot. */
static int alloc_slot(struct vm *vm, uint64_t gpa, uint64_t size, char *err, size_t errlen)
{
	struct mem_slot *s = &vm->slot[vm->nslots];

	s->gpa = gpa;
	s->size = size;
	s->nchunks = size / CHUNK_SIZE;
	s->chunk = kzalloc(s->nchunks * sizeof(uint64_t));
	vm->nslots++;
	if (!s->chunk) {
		snprintf(err, errlen, "out of hypervisor memory");
		return -1;
	}
	for (uint64_t c = 0; c < s->nchunks; c++) {
		s->chunk[c] = pmm_alloc(&keel_pmm, PMM_ORDER_2M);
		if (!s->chunk[c]) {
			snprintf(err, errlen,
				 "not enough free memory for %lu MiB of RAM "
				 "(%lu MiB free)",
				 vm->cfg->memory >> 20,
				 pmm_free_pages(&keel_pmm) * PAGE_SIZE >> 20);
			return -1;
		}
		memset((void *)s->chunk[c], 0, CHUNK_SIZE);
		if (backend->vm_map(vm, s->gpa + c * CHUNK_SIZE, s->chunk[c], CHUNK_SIZE)) {
			snprintf(err, errlen, "cannot build nested page tables");
			return -1;
		}
	}
	return 0;
}

/* RAM as on a PC: from 0 up to the PCI hole (ECAM, PCI memory, IOAPIC,
 * local APIC), the rest from 4 GiB up. */
static int alloc_ram(struct vm *vm, uint64_t size, char *err, size_t errlen)
{
	uint64_t low = size < VM_LOW_RAM_END ? size : VM_LOW_RAM_END;

	if (alloc_slot(vm, 0, low, err, errlen))
		return -1;
	if (size > low && alloc_slot(vm, VM_HIGH_RAM_START, size - low, err, errlen))
		return -1;
	vm->ram_size = size;
	return 0;
}

static int create_vcpus(struct vm *vm, char *err, size_t errlen)
{
	const struct cfg_vm *cfg = vm->cfg;

	for (unsigned i = 0; i < cfg->vcpus; i++) {
		struct vcpu *v = kzalloc(sizeof(*v));
		if (!v)
			goto oom;
		vm->vcpu[i] = v;
		vm->nvcpus = i + 1;
		v->vm = vm;
		v->id = i;
		v->fpu = fpu_alloc_state();
		v->xcr0 = 1; /* x87 only, as after reset */
		if (!v->fpu || backend->vcpu_init(v) || apic_create(v))
			goto oom;
		v->state = i ? VCPU_WAIT_SIPI : VCPU_RUNNABLE;
		v->se.weight = cfg->weight;
		v->se.group = &vm->group;
		v->se.cpu = -1;
		memcpy(v->se.affinity, cfg->cpus, sizeof(v->se.affinity));
	}
	return 0;
oom:
	snprintf(err, errlen, "out of hypervisor memory for vCPUs");
	return -1;
}

int vm_start(struct vm *vm, char *err, size_t errlen)
{
	const struct cfg_vm *cfg = vm->cfg;
	const struct boot_module *mod = boot_find_module(cfg->file);

	if (vm->state != VM_STOPPED) {
		snprintf(err, errlen, "it is %s", vm_state_name(vm->state));
		return -1;
	}
	const struct boot_module *initrd = cfg->initrd[0] ? boot_find_module(cfg->initrd) : NULL;
	if (!mod || (cfg->initrd[0] && !initrd)) {
		snprintf(err, errlen,
			 "boot module '%s' was not loaded (add it to the boot "
			 "loader's module list)",
			 mod ? cfg->initrd : cfg->file);
		return -1;
	}
	memset(vm->vcpu, 0, sizeof(vm->vcpu));
	memset(&vm->pio, 0, sizeof(vm->pio));
	memset(&vm->mmio, 0, sizeof(vm->mmio));
	memset(&vm->group, 0, sizeof(vm->group));
	vm->group.cap_pct = cfg->cap_pct;
	vm->exit_status = -1;
	vm->running_vcpus = 0;
	vm->irq_deadline = UINT64_MAX; /* until a platform device says otherwise */
	vm->irq_pending = false;
	/* Everything allocated for this VM beyond its RAM (nested page tables,
	 * control blocks, vCPU and FPU state, devices) is attributed to it. */
	vm->hv_bytes = 0;
	mem_account_begin(&vm->hv_bytes);
	int failed = backend->vm_init(vm);
	if (failed)
		snprintf(err, errlen, "out of hypervisor memory");
	failed = failed || alloc_ram(vm, cfg->memory, err, errlen) ||
		 create_vcpus(vm, err, errlen) || vdev_create_all(vm, err, errlen) ||
		 loader_load(vm, (const void *)mod->start, mod->end - mod->start,
			     initrd ? (const void *)initrd->start : NULL,
			     initrd ? initrd->end - initrd->start : 0, err, errlen);
	mem_account_end();
	if (failed) {
		free_resources(vm);
		return -1;
	}
	vm->started_ns = time_ns();
	strlcpy(vm->stop_reason, "", sizeof(vm->stop_reason));
	sched_lock_take();
	vm->state = VM_RUNNING;
	sched_wake_locked(vm->vcpu[0]);
	sched_lock_drop();
	klog("vm %s: started: %u vCPU%s, %lu MiB, %s %s, %lu KiB of Keel memory", vm->name,
	     cfg->vcpus, cfg->vcpus == 1 ? "" : "s", cfg->memory >> 20,
	     cfg->payload == CFG_PAYLOAD_FLAT ? "flat image"
	     : loader_is_bzimage((const uint8_t *)mod->start, mod->end - mod->start)
		 ? "Linux kernel"
		 : "Multiboot kernel",
	     cfg->file, vm->hv_bytes >> 10);
	return 0;
}

void vm_stop(struct vm *vm, const char *fmt, ...)
{
	va_list ap;
	bool finish;

	sched_lock_take();
	if (vm->state == VM_STOPPING || vm->state == VM_STOPPED) {
		sched_lock_drop();
		return;
	}
	va_start(ap, fmt);
	vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
	va_end(ap);
	vm->state = VM_STOPPING;
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = vm->vcpu[i];
		if (v->state == VCPU_RUNNING)
			continue; /* its CPU sees VM_STOPPING at the next exit */
		sched_remove_locked(v);
		v->state = VCPU_DEAD;
	}
	finish = vm->running_vcpus == 0;
	sched_lock_drop();
	if (finish)
		vm_finish(vm);
}

static void format_cpu_list(char *buf, size_t len, const struct vm *vm)
{
	uint64_t mask[4] = {0};
	size_t n = 0;

	for (unsigned i = 0; i < vm->nvcpus; i++)
		for (unsigned w = 0; w < 4; w++)
			mask[w] |= vm->vcpu[i]->ran_on[w];
	buf[0] = '\0';
	for (unsigned c = 0; c < 256 && n < len; c++)
		if (mask[c / 64] & (1ULL << (c % 64)))
			n += (size_t)snprintf(buf + n, len - n, n ? ",%u" : "%u", c);
	if (!n)
		snprintf(buf, len, "none");
}

/* Called once, by whichever CPU saw the VM's last vCPU leave. */
void vm_finish(struct vm *vm)
{
	char cpus_buf[64];
	uint64_t cpu_ns = 0, exits = 0;

	for (unsigned i = 0; i < vm->nvcpus; i++) {
		cpu_ns += vm->vcpu[i]->cpu_time_ns;
		for (unsigned k = 0; k < EXIT_KIND_COUNT; k++)
			exits += vm->vcpu[i]->exits[k];
	}
	format_cpu_list(cpus_buf, sizeof(cpus_buf), vm);
	vdev_flush_all(vm);
	free_resources(vm);
	/* Announce it only once it can be started again. */
	sched_lock_take();
	vm->state = VM_STOPPED;
	sched_lock_drop();
	klog("vm %s: stopped: %s (cpu time %lu ms on CPU %s, %lu exits)", vm->name, vm->stop_reason,
	     cpu_ns / 1000000, cpus_buf, exits);
	if (vm->restart_pending && !power_shutting_down) {
		char err[160];
		vm->restart_pending = false;
		if (vm_start(vm, err, sizeof(err)))
			klog("vm %s: cannot start again: %s", vm->name, err);
	}
	power_check_idle();
}

void vm_cancel_restart(struct vm *vm)
{
	sched_lock_take();
	vm->restart_pending = false;
	sched_lock_drop();
}

void vm_restart(struct vm *vm, const char *why)
{
	sched_lock_take();
	bool running = vm->state == VM_RUNNING || vm->state == VM_PAUSED;
	if (running)
		vm->restart_pending = true;
	sched_lock_drop();
	if (running)
		vm_stop(vm, "%s; restarting", why);
}

void vm_pause(struct vm *vm)
{
	sched_lock_take();
	if (vm->state == VM_RUNNING) {
		vm->state = VM_PAUSED;
		for (unsigned i = 0; i < vm->nvcpus; i++) {
			struct vcpu *v = vm->vcpu[i];
			if (v->state == VCPU_RUNNABLE) {
				sched_remove_locked(v);
				v->state = VCPU_PAUSED;
			}
		}
	}
	sched_lock_drop();
}

void vm_resume(struct vm *vm)
{
	sched_lock_take();
	if (vm->state == VM_PAUSED) {
		vm->state = VM_RUNNING;
		for (unsigned i = 0; i < vm->nvcpus; i++) {
			struct vcpu *v = vm->vcpu[i];
			if (v->state == VCPU_PAUSED)
				sched_wake_locked(v);
		}
	}
	sched_lock_drop();
}
