/* Keel's start: from the boot loader's hand-over to every CPU scheduling VMs. */
#include <arch/acpi.h>
#include <arch/fpu.h>
#include <arch/lapic.h>
#include <arch/time.h>
#include <arch/trap.h>
#include <arch/x86.h>
#include <keel/backend.h>
#include <keel/bootinfo.h>
#include <keel/config.h>
#include <keel/console.h>
#include <keel/datastore.h>
#include <keel/exit.h>
#include <keel/heap.h>
#include <keel/host_driver.h>
#include <keel/host_timer.h>
#include <keel/mem.h>
#include <keel/panic.h>
#include <keel/pmm.h>
#include <keel/power.h>
#include <keel/sched.h>
#include <keel/smp.h>
#include <keel/string.h>
#include <keel/vswitch.h>

#define KEEL_VERSION "0.1"

const struct backend_ops *backend;
static struct cfg config;
static char config_name[BOOT_MODNAME_MAX];
extern bool mem_percpu_ready;

static const struct heap_ops keel_heap_ops = {heap_page_alloc, page_free, mem_account_heap};

static void config_error(void *ctx, const char *file, int line, const char *msg)
{
	(void)ctx;
	klog("config: %s:%d: %s", file, line, msg);
}

/* The configuration is the module named by config=NAME on Keel's command
 * line, else the first module whose name ends in ".conf". */
static const struct boot_module *find_config(char *name, size_t len)
{
	const char *p = boot.cmdline;

	while ((p = strchr(p, 'c')) != NULL) {
		if (!strncmp(p, "config=", 7) && (p == boot.cmdline || p[-1] == ' ')) {
			size_t n = 0;
			p += 7;
			while (p[n] && p[n] != ' ' && n + 1 < len)
				n++;
			memcpy(name, p, n);
			name[n] = '\0';
			return boot_find_module(name);
		}
		p++;
	}
	for (unsigned i = 0; i < boot.nmods; i++) {
		size_t n = strlen(boot.mods[i].name);
		if (n > 5 && !strcmp(boot.mods[i].name + n - 5, ".conf")) {
			strlcpy(name, boot.mods[i].name, len);
			return &boot.mods[i];
		}
	}
	strlcpy(name, "(none)", len);
	return NULL;
}

static void load_config(void)
{
	char name[BOOT_MODNAME_MAX];
	const struct boot_module *m = find_config(name, sizeof(name));

	strlcpy(config_name, name, sizeof(config_name));

	if (!m) {
		klog("no configuration module (looked for %s); no VMs to run. Pass one as a boot "
		     "module and name it with config=NAME on Keel's command line",
		     name);
		return;
	}
	int errors =
	    cfg_parse((const char *)m->start, m->end - m->start, name, &config, config_error, NULL);
	if (errors)
		klog("config: %s: %d error%s; VMs with errors are not created, the others are",
		     name, errors, errors == 1 ? "" : "s");
	power_off_when_idle = config.poweroff_when_idle;
	shell_debug_commands = config.debug_commands;
	sched_timeslice_ns = config.timeslice_us * 1000;
	datastore_mount(&config); /* VMs with disks fail to start if it does not mount */
	for (unsigned i = 0; i < config.nvms; i++) {
		const struct cfg_vm *c = &config.vms[i];
		for (unsigned cpu = ncpus; cpu < CFG_MAX_CPUS; cpu++)
			if (c->cpus[cpu / 64] & (1ULL << (cpu % 64)))
				klog("config: %s:%d: vm %s is pinned to CPU %u, which this machine "
				     "does not have",
				     name, c->line, c->name, cpu);
		if (!vm_create(c))
			klog("vm %s: cannot create: out of memory", c->name);
	}
	const char *why = vswitch_setup_uplink(&config);
	if (why)
		klog("config: %s: uplink = %s %s: %s", config_name, config.uplink_switch,
		     config.uplink_dev, why);
}

static void start_vms(void)
{
	char err[160];
	unsigned started = 0, total = 0;

	for (unsigned i = 0; i < MAX_VMS; i++) {
		struct vm *vm = vms[i];
		if (!vm)
			continue;
		total++;
		if (!vm->cfg->autostart)
			continue;
		if (vm_start(vm, err, sizeof(err)))
			klog("vm %s (%s:%d): cannot start: %s", vm->name, config_name,
			     vm->cfg->line, err);
		else
			started++;
	}
	klog("%u VM%s configured, %u started; shell on COM1 (type 'help')", total,
	     total == 1 ? "" : "s", started);
	power_boot_done = true;
	power_check_idle();
}

void cpu_main(struct cpu *c)
{
	if (c->id) {
		fpu_init_cpu();
		if (backend->cpu_enable(c))
			panic("CPU %u: cannot enable %s", c->id, backend->name);
	}
	c->online = true;
	host_timer_start(c);
	sched_loop(c);
}

static void mask_legacy_pic(void)
{
	outb(0x21, 0xFF);
	outb(0xA1, 0xFF);
}

void kmain(uint32_t magic, uint32_t info);
void kmain(uint32_t magic, uint32_t info)
{
	char why[160];

	uart_init();
	kprintf("\n");
	klog("Keel hypervisor %s starting", KEEL_VERSION);
	if (bootinfo_parse(magic, info))
		panic("not started by a Multiboot loader (magic %#x); boot Keel with GRUB "
		      "(multiboot2) or QEMU -kernel",
		      magic);
	mem_init();
	heap_init(&keel_heap_ops);
	struct cpu *bsp = cpu_alloc(0, 0);
	if (!bsp)
		panic("out of memory at boot");
	cpu_tables_init_for(bsp);
	mem_percpu_ready = true;
	ncpus = 1;
	if (acpi_init(boot.rsdp))
		klog("no valid ACPI tables: running on the boot CPU only, no ACPI power-off");
	mask_legacy_pic();
	lapic_init(acpi.lapic_base);
	bsp->arch.lapic_id = lapic_id();
	tsc_calibrate();
	lapic_timer_calibrate();
	fpu_init_cpu();
	klog("%s boot, %lu MiB usable RAM, %lu MiB free for VMs, TSC %lu MHz", boot.protocol,
	     mem_total_usable() >> 20, pmm_free_pages(&keel_pmm) * PAGE_SIZE >> 20,
	     tsc_khz() / 1000);

	backend = svm_probe(why, sizeof(why));
	if (!backend) {
		char why_vmx[160];
		backend = vmx_probe(why_vmx, sizeof(why_vmx));
		if (!backend) {
			klog("cannot run virtual machines: AMD-V: %s; Intel VT-x: %s", why,
			     why_vmx);
			panic("no usable hardware virtualization");
		}
	}
	backend->describe(why, sizeof(why));
	klog("%s", why);
	if (backend->cpu_enable(bsp))
		panic("cannot enable %s on the boot CPU", backend->name);
	cpuid_policy_init();
	sched_init();
	/* Before the other CPUs start: they then never hold a stale
	 * translation of the device registers the drivers map uncached. */
	host_drivers_init();

	smp_start_cpus();
	for (unsigned i = 1; i < ncpus; i++)
		while (!cpus[i]->online)
			cpu_relax();
	klog("%u CPU%s online", ncpus, ncpus == 1 ? "" : "s");
	load_config();
	start_vms();
	cpu_main(bsp);
}
