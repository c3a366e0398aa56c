/* The scheduling loop each physical CPU runs. A vCPU runs for a time slice
 * (or until it halts, its VM stops or pauses); the host timer ends slices,
 * so a guest spinning with interrupts off cannot keep its CPU, and fires
 * when the running vCPU's timers or a sleeping vCPU's are due
 * (core/host_timer.c). The decisions (who next, caps, placement, stealing)
 * are in sched_policy.c. */
#include <arch/fpu.h>
#include <arch/time.h>
#include <arch/trap.h>
#include <arch/x86.h>
#include <keel/apic.h>
#include <keel/backend.h>
#include <keel/console.h>
#include <keel/exit.h>
#include <keel/host_timer.h>
#include <keel/platform.h>
#include <keel/netdev.h>
#include <keel/sched.h>
#include <keel/smp.h>

spinlock_t sched_lock = SPINLOCK_INIT;
volatile int sched_lock_cpu = -1;
uint32_t sched_timeslice_ns = 10000000;
/* The earliest timer of a vCPU halted with interrupts on: some CPU's timer
 * fires then to wake it. Lowered when a vCPU halts, recomputed by
 * wake_sleepers(); under sched_lock. */
static volatile uint64_t sleepers_deadline = UINT64_MAX;

static struct vcpu *vcpu_of(struct sched_entity *se)
{
	return (struct vcpu *)((char *)se - __builtin_offsetof(struct vcpu, se));
}

static struct runqueue *const *all_rqs(void)
{
	static struct runqueue *rqs[MAX_CPUS];

	for (unsigned i = 0; i < ncpus; i++)
		rqs[i] = cpus[i] ? &cpus[i]->rq : NULL;
	return rqs;
}

void sched_wake_locked(struct vcpu *v)
{
	struct sched_entity *se = &v->se;

	/* A vCPU that has just halted (or been sent back to wait for a SIPI)
	 * stays on its physical CPU until after_slice() there takes this
	 * lock: that CPU is still saving its FPU and debug registers. Queueing
	 * it now would let another CPU pick it and enter the guest on the same
	 * control block and registers, and after_slice() would then queue it
	 * once more: one vCPU running on two CPUs at once, which wrecks the
	 * guest (Linux Oopses, panics and triple faults). The window is a few
	 * hundred instructions, hit when the host preempts that CPU inside it
	 * (another vCPU's IPI or the tick's wake-ups). Mark the vCPU running
	 * instead: its CPU either goes on running it or queues it in
	 * after_slice(), once it is off the CPU. */
	if (v->on_cpu_since) {
		v->state = VCPU_RUNNING;
		return;
	}
	if (se->cpu < 0 || !se_allowed_on(se, se->cpu)) {
		if (se->cpu >= 0)
			rq_detach(&cpus[se->cpu]->rq, se);
		int cpu = sched_place(all_rqs(), (int)ncpus, se);
		if (cpu < 0)
			cpu = 0; /* pinned only to absent CPUs: the config check warns */
		rq_attach(&cpus[cpu]->rq, se);
	}
	v->state = VCPU_RUNNABLE;
	rq_enqueue(&cpus[se->cpu]->rq, se, sched_timeslice_ns);
	/* An idle CPU sleeps until its next interrupt: make it this one. */
	struct cpu *t = cpus[se->cpu];
	if (t != this_cpu() && !t->current)
		cpu_kick(t);
}

void sched_remove_locked(struct vcpu *v)
{
	if (v->se.queued)
		rq_dequeue(&cpus[v->se.cpu]->rq, &v->se);
	if (v->se.cpu >= 0)
		rq_detach(&cpus[v->se.cpu]->rq, &v->se);
	v->se.cpu = -1;
}

/* TSC_AUX exists only on CPUs with RDTSCP. */
static bool have_rdtscp;

void sched_init(void)
{
	uint32_t a, b, c, d;

	cpuid(0x80000001, 0, &a, &b, &c, &d);
	have_rdtscp = d & (1u << 27);
}

/* An idle CPU takes a runnable vCPU another CPU has queued but not run. */
static struct sched_entity *steal_locked(struct cpu *c, uint64_t now)
{
	for (unsigned i = 1; i < ncpus; i++) {
		struct cpu *victim = cpus[(c->id + i) % ncpus];
		if (!victim)
			continue;
		struct sched_entity *se = rq_steal_candidate(&victim->rq, (int)c->id, now);
		if (!se)
			continue;
		/* Keep its standing relative to its old queue when moving it. */
		uint64_t lag = se->vruntime > victim->rq.min_vruntime
				   ? se->vruntime - victim->rq.min_vruntime
				   : 0;
		rq_dequeue(&victim->rq, se);
		rq_detach(&victim->rq, se);
		rq_attach(&c->rq, se);
		se->vruntime = c->rq.min_vruntime + lag;
		return se;
	}
	return NULL;
}

static struct vcpu *pick_locked(struct cpu *c, uint64_t now)
{
	struct sched_entity *se = rq_pick(&c->rq, now);

	if (se)
		rq_dequeue(&c->rq, se);
	else
		se = steal_locked(c, now);
	if (!se)
		return NULL;
	struct vcpu *v = vcpu_of(se);
	v->state = VCPU_RUNNING;
	v->vm->running_vcpus++;
	return v;
}

static uint64_t vcpu_deadline(const struct vcpu *v)
{
	uint64_t a = v->apic_deadline, p = v->vm->irq_deadline;

	return a < p ? a : p;
}

/* Halted vCPUs whose interrupt has come (a timer, console input) run
 * again. The boot CPU checks at every tick, any CPU when the earliest
 * sleeper's timer is due. */
static void wake_sleepers(void)
{
	uint64_t now = time_ns(), next = UINT64_MAX;

	/* Under the lock a running VM's vCPUs and devices cannot go away. */
	sched_lock_take();
	for (unsigned i = 0; i < MAX_VMS; i++) {
		struct vm *vm = vms[i];
		if (!vm || vm->state != VM_RUNNING)
			continue;
		for (unsigned j = 0; vm->state == VM_RUNNING && j < vm->nvcpus; j++) {
			struct vcpu *v = vm->vcpu[j];
			if (v->state != VCPU_HALTED)
				continue;
			if (irq_wakes(v, now))
				sched_wake_locked(v);
			else if (!v->halted_irqs_off && vcpu_deadline(v) < next)
				next = vcpu_deadline(v);
		}
	}
	sleepers_deadline = next;
	sched_lock_drop();
}

/* After the host timer fired (or an idle CPU woke): the boot CPU's tick
 * work (the shell, waking sleepers), or any CPU's sleeper that is due. */
static void after_timer(struct cpu *c, uint64_t *ticks_seen)
{
	c->timer_fired = false;
	netdev_poll_all(); /* host NICs are polled: see drivers/virtio_net_host.c */
	if (c->id == 0 && c->ticks != *ticks_seen) {
		*ticks_seen = c->ticks;
		shell_poll();
		wake_sleepers();
	} else if (time_ns() >= sleepers_deadline) {
		wake_sleepers();
	}
}

/* True when no vCPU of VM can ever run again: all halted with interrupts
 * off, dead or waiting for a SIPI nobody can send. */
static bool vm_all_halted_locked(const struct vm *vm)
{
	bool any_halted = false;

	for (unsigned i = 0; i < vm->nvcpus; i++) {
		const struct vcpu *v = vm->vcpu[i];
		if (v->state == VCPU_HALTED && v->halted_irqs_off)
			any_halted = true;
		else if (v->state != VCPU_WAIT_SIPI && v->state != VCPU_DEAD)
			return false;
	}
	return any_halted;
}

/* Run V on this CPU until its slice ends or it cannot continue. */
static void run_slice(struct cpu *c, struct vcpu *v)
{
	struct vm_exit exit;
	uint64_t ticks_seen = c->ticks;

	fpu_restore(v->fpu);
	debugregs_load(v->dr);
	if (have_rdtscp)
		wrmsr(MSR_TSC_AUX, v->tsc_aux);
	if (v->xcr0 != fpu_xcr0_supported())
		xsetbv(0, v->xcr0);
	c->need_resched = false;
	uint64_t now = time_ns(), slice = sched_timeslice_ns;
	uint64_t left = group_budget_left(&v->vm->group, now);
	c->slice_end = now + (left < slice ? left : slice);
	while (!c->need_resched && v->state == VCPU_RUNNING && v->vm->state == VM_RUNNING &&
	       !v->init_pending) {
		irq_deliver(v);
		uint64_t due = vcpu_deadline(v);
		if (sleepers_deadline < due)
			due = sleepers_deadline;
		host_timer_want(c, due < c->slice_end ? due : c->slice_end);
		backend->vcpu_run(v, &exit);
		v->exits[exit.kind]++;
		exit_dispatch(v, &exit);
		if (c->timer_fired)
			after_timer(c, &ticks_seen);
	}
	backend->vcpu_put(v);
	/* The guest's XCR0 is whatever is loaded now: not every CPU reports
	 * the guest's XSETBV as an exit (QEMU's AMD-V does not). */
	v->xcr0 = xgetbv(0);
	if (v->xcr0 != fpu_xcr0_supported())
		xsetbv(0, fpu_xcr0_supported());
	fpu_save(v->fpu);
	debugregs_save(v->dr);
}

uint64_t sched_vcpu_time_locked(const struct vcpu *v)
{
	uint64_t since = v->on_cpu_since, now = time_ns();

	return v->cpu_time_ns + (since && now > since ? now - since : 0);
}

static void after_slice(struct cpu *c, struct vcpu *v, uint64_t start)
{
	uint64_t now = time_ns(), ran = now - start;
	struct vm *vm = v->vm;
	bool finish = false, halted = false;

	c->busy_ns += ran;
	v->ran_on[c->id / 64] |= 1ULL << (c->id % 64);
	sched_lock_take();
	v->cpu_time_ns += ran;
	v->on_cpu_since = 0;
	se_account(&v->se, ran, now);
	vm->running_vcpus--;
	c->current = NULL;
	if (vm->state == VM_STOPPING) {
		v->state = VCPU_DEAD;
		sched_remove_locked(v);
		finish = vm->running_vcpus == 0;
	} else if (v->init_pending) {
		apic_init_locked(v);
		halted = vm_all_halted_locked(vm);
	} else if (v->state == VCPU_RUNNING && vm->state == VM_PAUSED) {
		v->state = VCPU_PAUSED;
	} else if (v->state == VCPU_RUNNING) {
		sched_wake_locked(v);
	} else if (v->state == VCPU_HALTED) {
		halted = vm_all_halted_locked(vm);
		if (!v->halted_irqs_off && vcpu_deadline(v) < sleepers_deadline)
			sleepers_deadline = vcpu_deadline(v);
	}
	sched_lock_drop();
	if (finish)
		vm_finish(vm);
	else if (halted)
		vm_stop(vm, "all vCPUs halted with interrupts disabled");
}

void sched_loop(struct cpu *c)
{
	uint64_t ticks_seen = 0;

	for (;;) {
		uint64_t now = time_ns();
		sched_lock_take();
		struct vcpu *v = pick_locked(c, now);
		c->current = v;
		if (v)
			v->on_cpu_since = now;
		sched_lock_drop();
		if (!v) {
			host_timer_want(c, sleepers_deadline);
			idle_wait();
			c->idle_ns += time_ns() - now;
			after_timer(c, &ticks_seen);
			continue;
		}
		run_slice(c, v);
		after_slice(c, v, now);
	}
}
