/* The management shell on COM1. Polled by the boot CPU at every scheduler
 * tick; commands act through the same VM calls as everything else. */
#include <arch/time.h>
#include <keel/blkdev.h>
#include <keel/console.h>
#include <keel/datastore.h>
#include <keel/exit.h>
#include <keel/heap.h>
#include <keel/mem.h>
#include <keel/netdev.h>
#include <keel/panic.h>
#include <keel/pmm.h>
#include <keel/power.h>
#include <keel/sched.h>
#include <keel/string.h>
#include <keel/vdev.h>
#include <keel/virtio_console.h>

#define SHELL_LINE_MAX 128
#define DETACH_CHAR 0x1d /* Ctrl-] */

static char line[SHELL_LINE_MAX];
static unsigned line_len;

static void prompt(void)
{
	kprintf("keel> ");
}

/* One line each: kprintf formats into a bounded buffer. */
static const char *const help_lines[] = {
    "  list              VMs: state, vCPUs, memory, exits, CPU time",
    "  start NAME        start a stopped VM",
    "  stop NAME         stop a VM now (its guest is not asked)",
    "  pause NAME        take a VM's vCPUs off the CPUs",
    "  resume NAME       let a paused VM run again",
    "  console NAME      attach to a VM's serial console; Ctrl-] detaches",
    "  console NAME hvc  attach to its virtio-console (hvc0) instead",
    "  stats             CPUs, memory and exits by kind",
    "  disks             host disks, the datastore and its volumes",
    "  nics              host NICs and their frame counters",
    "  poweroff          stop everything and power the machine off",
};

static void cmd_help(const char *arg)
{
	(void)arg;
	kprintf("commands:\n");
	for (unsigned i = 0; i < sizeof(help_lines) / sizeof(help_lines[0]); i++)
		kprintf("%s\n", help_lines[i]);
}

static void cmd_list(const char *arg)
{
	(void)arg;
	kprintf("%-16s %-9s %5s %8s %10s %10s\n", "NAME", "STATE", "VCPUS", "MEMORY", "EXITS",
		"CPU-MS");
	for (unsigned i = 0; i < MAX_VMS; i++) {
		struct vm *vm = vms[i];
		uint64_t exits = 0, ns = 0;
		if (!vm)
			continue;
		sched_lock_take();
		for (unsigned j = 0; j < vm->nvcpus; j++) {
			ns += sched_vcpu_time_locked(vm->vcpu[j]);
			for (unsigned k = 0; k < EXIT_KIND_COUNT; k++)
				exits += vm->vcpu[j]->exits[k];
		}
		sched_lock_drop();
		kprintf("%-16s %-9s %5u %7luM %10lu %10lu\n", vm->name, vm_state_name(vm->state),
			vm->cfg->vcpus, vm->cfg->memory >> 20, exits, ns / 1000000);
	}
}

static void cmd_disks(const char *arg)
{
	(void)arg;
	kprintf("%-16s %10s %12s\n", "HOST-DISK", "BLOCK", "SIZE-MIB");
	for (unsigned i = 0; i < blkdev_count(); i++) {
		const struct blkdev *b = blkdev_get(i);
		kprintf("%-16s %10u %12lu\n", b->name, b->block_size,
			b->nblocks * b->block_size >> 20);
	}
	datastore_print();
}

static void cmd_nics(const char *arg)
{
	(void)arg;
	kprintf("%-16s %-17s %10s %10s %10s %10s\n", "HOST-NIC", "MAC", "RX", "TX", "RX-DROP",
		"TX-DROP");
	for (unsigned i = 0; i < netdev_count(); i++) {
		const struct netdev *n = netdev_get(i);
		kprintf("%-16s %02x:%02x:%02x:%02x:%02x:%02x %10lu %10lu %10lu %10lu\n", n->name,
			n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5],
			n->rx_frames, n->tx_frames, n->rx_dropped, n->tx_dropped);
	}
}

static struct vm *named_vm(const char *arg)
{
	struct vm *vm = *arg ? vm_find(arg) : NULL;

	if (!vm)
		kprintf("no VM named '%s' (see 'list')\n", arg);
	return vm;
}

static void cmd_start(const char *arg)
{
	struct vm *vm = named_vm(arg);
	char err[160];

	if (vm && vm_start(vm, err, sizeof(err)))
		kprintf("cannot start %s: %s\n", vm->name, err);
}

static void cmd_stop(const char *arg)
{
	struct vm *vm = named_vm(arg);

	if (vm)
		vm_cancel_restart(vm);
	if (vm && vm->state != VM_STOPPED)
		vm_stop(vm, "stopped by the operator");
	else if (vm)
		kprintf("%s is already stopped\n", vm->name);
}

static void cmd_pause(const char *arg)
{
	struct vm *vm = named_vm(arg);

	if (!vm)
		return;
	if (vm->state != VM_RUNNING) {
		kprintf("%s is %s\n", vm->name, vm_state_name(vm->state));
		return;
	}
	vm_pause(vm);
	klog("vm %s: paused", vm->name);
}

static void cmd_resume(const char *arg)
{
	struct vm *vm = named_vm(arg);

	if (!vm)
		return;
	if (vm->state != VM_PAUSED) {
		kprintf("%s is %s\n", vm->name, vm_state_name(vm->state));
		return;
	}
	vm_resume(vm);
	klog("vm %s: resumed", vm->name);
}

/* Under vm->lock a VM's devices cannot be freed (core/vm.c destroys them
 * under it), and a VM seen running or paused has them. Not sched_lock:
 * console input raises the UART's interrupt, whose delivery may take
 * sched_lock while a vCPU holds the UART's lock. */
static bool vm_alive_locked(const struct vm *vm)
{
	return (vm->state == VM_RUNNING || vm->state == VM_PAUSED) && vm->uart;
}

/* The same for the device behind one of its consoles. */
static bool console_alive_locked(const struct vm *vm, enum vmconsole_port port)
{
	return vm_alive_locked(vm) && (port == VMCONSOLE_SERIAL || vm->console);
}

/* `console NAME` attaches to a VM's serial port, `console NAME hvc` to its
 * virtio-console. */
static void cmd_console(const char *arg)
{
	enum vmconsole_port port = VMCONSOLE_SERIAL;
	char name[CFG_NAME_MAX];
	size_t n = 0;

	while (arg[n] && arg[n] != ' ' && n < sizeof(name) - 1) {
		name[n] = arg[n];
		n++;
	}
	name[n] = '\0';
	const char *which = arg + n;
	while (*which == ' ')
		which++;
	if (!strcmp(which, "hvc") || !strcmp(which, "hvc0")) {
		port = VMCONSOLE_HVC;
	} else if (*which) {
		kprintf("usage: console NAME [hvc]\n");
		return;
	}
	struct vm *vm = named_vm(name);
	if (!vm)
		return;
	if (vm->state == VM_STOPPED) {
		kprintf("%s is stopped\n", vm->name);
		return;
	}
	if (port == VMCONSOLE_HVC && !vm->cfg->virtio_console) {
		kprintf("%s has no virtio-console (virtio-console = yes)\n", vm->name);
		return;
	}
	kprintf("attached to %s%s; press Ctrl-] to detach\n", vm->name,
		port == VMCONSOLE_HVC ? " hvc0" : "");
	vmconsole_attach_port(vm, port);
	/* What the guest printed without a line end yet (a shell's prompt). */
	spin_lock(&vm->lock);
	if (console_alive_locked(vm, port)) {
		if (port == VMCONSOLE_HVC)
			virtio_console_show_partial_line(vm->console);
		else
			uart16550_show_partial_line(vm->uart);
	}
	spin_unlock(&vm->lock);
}

static void cmd_stats(const char *arg)
{
	(void)arg;
	kprintf("CPU   BUSY-MS    IDLE-MS   RUNNING\n");
	for (unsigned i = 0; i < ncpus; i++) {
		struct cpu *c = cpus[i];
		struct vcpu *v = c ? c->current : NULL;
		if (c)
			kprintf("%-3u %9lu %10lu   %s\n", i, c->busy_ns / 1000000,
				c->idle_ns / 1000000, v ? v->vm->name : "-");
	}
	uint64_t total = keel_pmm.total_pages * PAGE_SIZE,
		 free = pmm_free_pages(&keel_pmm) * PAGE_SIZE;
	uint64_t guest = 0;
	for (unsigned i = 0; i < MAX_VMS; i++) {
		if (vms[i] && vms[i]->state != VM_STOPPED) {
			guest += vms[i]->ram_size;
		}
	}
	kprintf("memory: %lu MiB managed, %lu MiB free, %lu MiB guest RAM, %lu KiB Keel heap\n",
		total >> 20, free >> 20, guest >> 20, heap_bytes_in_use() >> 10);
	kprintf("per-VM Keel memory (excluding guest RAM):");
	for (unsigned i = 0; i < MAX_VMS; i++)
		if (vms[i] && vms[i]->state != VM_STOPPED)
			kprintf(" %s=%luK", vms[i]->name, vms[i]->hv_bytes >> 10);
	kprintf("\n");
	for (unsigned i = 0; i < MAX_VMS; i++) {
		struct vm *vm = vms[i];
		if (!vm || vm->state == VM_STOPPED)
			continue;
		kprintf("exits of %s:", vm->name);
		for (unsigned k = 0; k < EXIT_KIND_COUNT; k++) {
			uint64_t n = 0;
			for (unsigned j = 0; j < vm->nvcpus; j++)
				n += vm->vcpu[j]->exits[k];
			if (n)
				kprintf(" %s=%lu", exit_kind_name(k), n);
		}
		kprintf("\n");
	}
}

bool shell_debug_commands;

/* Exercises Keel's own crash handling, for tests and for checking a new
 * machine's serial console: only with `debug-commands = yes` in [keel]. */
static void cmd_debug(const char *arg)
{
	if (!shell_debug_commands) {
		kprintf("debug commands are off (set debug-commands = yes in [keel])\n");
		return;
	}
	if (!strcmp(arg, "fault")) {
		/* A general-protection fault in Keel: a non-canonical address. */
		volatile uint64_t *bad = (volatile uint64_t *)0x8000000000000000ULL;
		kprintf("reading %p on purpose\n", (void *)(uintptr_t)bad);
		(void)*bad;
	} else if (!strcmp(arg, "panic")) {
		panic("operator asked for a test crash");
	} else {
		kprintf("debug fault | debug panic\n");
	}
}

static void cmd_poweroff(const char *arg)
{
	(void)arg;
	/* Power off once the last VM has finished stopping (its CPU frees it),
	 * not while some are still mid-stop. */
	power_off_when_idle = true;
	power_shutting_down = true;
	for (unsigned i = 0; i < MAX_VMS; i++)
		if (vms[i] && vms[i]->state != VM_STOPPED)
			vm_stop(vms[i], "host powering off");
	power_check_idle();
}

static const struct {
	const char *name;
	void (*fn)(const char *arg);
} commands[] = {
    {"help", cmd_help},         {"list", cmd_list},       {"ls", cmd_list},
    {"start", cmd_start},       {"stop", cmd_stop},       {"pause", cmd_pause},
    {"resume", cmd_resume},     {"console", cmd_console}, {"stats", cmd_stats},
    {"poweroff", cmd_poweroff}, {"debug", cmd_debug},     {"disks", cmd_disks},
    {"nics", cmd_nics},
};

static void run_line(char *l)
{
	while (*l == ' ')
		l++;
	char *arg = l;
	while (*arg && *arg != ' ')
		arg++;
	if (*arg)
		*arg++ = '\0';
	while (*arg == ' ')
		arg++;
	for (char *end = arg + strlen(arg); end > arg && end[-1] == ' ';)
		*--end = '\0';
	if (!*l)
		return;
	for (unsigned i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(l, commands[i].name)) {
			commands[i].fn(arg);
			return;
		}
	}
	kprintf("unknown command '%s'; type 'help'\n", l);
}

static void detach(struct vm *vm, enum vmconsole_port port)
{
	uint64_t dropped = 0;

	vmconsole_attach(NULL);
	spin_lock(&vm->lock);
	if (port == VMCONSOLE_HVC && console_alive_locked(vm, port))
		dropped = virtio_console_input_dropped(vm->console);
	spin_unlock(&vm->lock);
	kprintf("\ndetached from %s\n", vm->name);
	if (dropped)
		kprintf("%lu typed bytes dropped so far: %s's hvc0 was not reading\n", dropped,
			vm->name);
	prompt();
}

/* Console input for the attached VM: false when its UART is full. The
 * virtio-console buffers, then drops: it never holds input back, so
 * Ctrl-] gets through whatever the guest does. */
static bool attached_input(struct vm *vm, enum vmconsole_port port)
{
	bool alive, room;

	spin_lock(&vm->lock);
	alive = console_alive_locked(vm, port);
	room = alive && (port == VMCONSOLE_HVC || uart16550_rx_room(vm->uart));
	spin_unlock(&vm->lock);
	if (!alive) {
		detach(vm, port);
		return true;
	}
	if (!room)
		return false; /* leave the byte in COM1 until the guest reads */
	int ch = uart_getc();
	if (ch < 0)
		return false;
	char c = (char)ch;
	if (c == DETACH_CHAR) {
		detach(vm, port);
		return true;
	}
	spin_lock(&vm->lock);
	if (console_alive_locked(vm, port)) {
		if (port == VMCONSOLE_HVC)
			virtio_console_receive(vm->console, &c, 1);
		else
			uart16550_receive(vm->uart, &c, 1);
	}
	spin_unlock(&vm->lock);
	return true;
}

void shell_poll(void)
{
	int ch;

	for (;;) {
		enum vmconsole_port port;
		struct vm *vm = vmconsole_attached_any(&port);
		if (vm) {
			if (!attached_input(vm, port))
				break;
			continue;
		}
		if ((ch = uart_getc()) < 0)
			break;
		char c = (char)ch;
		if (c == '\r' || c == '\n') {
			kprintf("\n");
			line[line_len] = '\0';
			run_line(line);
			line_len = 0;
			if (!vmconsole_attached_any(&port))
				prompt();
		} else if ((c == 0x7F || c == '\b') && line_len) {
			line_len--;
			kprintf("\b \b");
		} else if (c >= 0x20 && c < 0x7F && line_len < SHELL_LINE_MAX - 1) {
			line[line_len++] = c;
			console_write(&c, 1);
		}
	}
}
