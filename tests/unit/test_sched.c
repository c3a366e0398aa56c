/* Unit tests for the wake-up rule of core/sched.c: a vCPU is queued only
 * once it is off its physical CPU. A vCPU that halted is still on its CPU
 * until that CPU's after_slice() takes the scheduler lock; a wake-up in
 * that window (another vCPU's IPI, the tick) once queued it there, another
 * CPU picked it, and after_slice() then queued it again: one vCPU ran on
 * two CPUs at once and Linux guests died of it. The rest of sched.c (the
 * loop that enters guests) is stubbed out below. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <asm/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include <arch/fpu.h>
#include <arch/time.h>
#include <arch/x86.h>
#include <keel/apic.h>
#include <keel/exit.h>
#include <keel/host_timer.h>
#include <keel/netdev.h>
#include <keel/platform.h>
#include <keel/sched.h>
#include <keel/smp.h>

/* What core/sched.c calls beyond the policy: never reached by these tests,
 * or harmless. */
struct cpu *cpus[MAX_CPUS];
unsigned ncpus;
struct vm *vms[MAX_VMS];
const struct backend_ops *backend;
bool shell_debug_commands;
void cpu_kick(struct cpu *c)
{
	(void)c;
}
void shell_poll(void)
{
}
void netdev_poll_all(void)
{
}
void vm_finish(struct vm *vm)
{
	(void)vm;
}
void vm_stop(struct vm *vm, const char *fmt, ...)
{
	(void)vm;
	(void)fmt;
}
void irq_deliver_slow(struct vcpu *v)
{
	(void)v;
}
void exit_dispatch(struct vcpu *v, const struct vm_exit *e)
{
	(void)v;
	(void)e;
}
void host_timer_want(struct cpu *c, uint64_t at)
{
	(void)c;
	(void)at;
}
void fpu_save(void *s)
{
	(void)s;
}
void fpu_restore(const void *s)
{
	(void)s;
}
uint64_t fpu_xcr0_supported(void)
{
	return 3;
}
void debugregs_save(uint64_t dr[4])
{
	(void)dr;
}
void debugregs_load(const uint64_t dr[4])
{
	(void)dr;
}
uint64_t time_ns(void)
{
	return 0;
}
bool irq_wakes(struct vcpu *v, uint64_t now)
{
	(void)v;
	(void)now;
	return false;
}
void apic_init_locked(struct vcpu *v)
{
	v->init_pending = false;
	v->state = VCPU_WAIT_SIPI;
}

static struct cpu cpu0, cpu1;
static struct vm vm;
static struct vcpu vcpu;

static int setup(void **state)
{
	(void)state;
	memset(&cpu0, 0, sizeof(cpu0));
	memset(&cpu1, 0, sizeof(cpu1));
	cpu0.self = &cpu0;
	cpu1.self = &cpu1;
	cpu1.id = 1;
	rq_init(&cpu0.rq, 0);
	rq_init(&cpu1.rq, 1);
	cpus[0] = &cpu0;
	cpus[1] = &cpu1;
	ncpus = 2;
	/* this_cpu() reads %gs:0: make this thread CPU 0. */
	assert_int_equal(syscall(SYS_arch_prctl, ARCH_SET_GS, (unsigned long)&cpu0), 0);
	memset(&vm, 0, sizeof(vm));
	memset(&vcpu, 0, sizeof(vcpu));
	vm.state = VM_RUNNING;
	vm.nvcpus = 1;
	vm.vcpu[0] = &vcpu;
	vcpu.vm = &vm;
	vcpu.se.weight = 256;
	vcpu.se.group = &vm.group;
	vcpu.se.cpu = -1;
	return 0;
}

/* A halted vCPU off every CPU is queued where it may run. */
static void test_wake_off_cpu_queues(void **state)
{
	(void)state;
	vcpu.state = VCPU_HALTED;
	sched_wake_locked(&vcpu);
	assert_int_equal(vcpu.state, VCPU_RUNNABLE);
	assert_true(vcpu.se.queued);
	assert_true(vcpu.se.cpu == 0 || vcpu.se.cpu == 1);
	assert_ptr_equal(rq_pick(&cpus[vcpu.se.cpu]->rq, 0), &vcpu.se);
}

/* The window: CPU 1 picked the vCPU (on_cpu_since set), it halted, and a
 * wake-up comes before CPU 1 has taken it off. No CPU may pick it; it is
 * running again on CPU 1, which queues it when it lets go of it. */
static void test_wake_on_cpu_is_left_to_its_cpu(void **state)
{
	(void)state;
	vcpu.se.cpu = 1;
	rq_attach(&cpu1.rq, &vcpu.se);
	cpu1.current = &vcpu;
	vcpu.on_cpu_since = 1000;
	vm.running_vcpus = 1;
	vcpu.state = VCPU_HALTED; /* what handle_hlt() does on CPU 1 */

	sched_wake_locked(&vcpu); /* an IPI from CPU 0 */

	assert_int_equal(vcpu.state, VCPU_RUNNING);
	assert_false(vcpu.se.queued);
	assert_null(rq_pick(&cpu0.rq, 0));
	assert_null(rq_pick(&cpu1.rq, 0));
	assert_null(rq_steal_candidate(&cpu1.rq, 0, UINT64_MAX));
	/* A second wake-up changes nothing either. */
	sched_wake_locked(&vcpu);
	assert_false(vcpu.se.queued);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_wake_off_cpu_queues, setup),
	    cmocka_unit_test_setup(test_wake_on_cpu_is_left_to_its_cpu, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
