/* The legacy PC devices every VM gets: the 8259 interrupt controller pair,
 * the 8254 timer (and port 0x61, which gates its channel 2), the CMOS
 * real-time clock and the i8042 keyboard controller (for its reset line),
 * and the IOAPIC. Each ISA interrupt line reaches both interrupt
 * controllers, as on a PC: the 8259 pair (to vCPU 0 through LINT0) and the
 * IOAPIC pin of the same number, but for IRQ 0 (the PIT) on pin 2, as the
 * MADT's interrupt source override says. The guest uses one of them.
 * PCI configuration space is reachable by ports 0xCF8/0xCFC and by ECAM. The models (i8259.c, i8254.c, rtc.c) are pure state
 * machines; this file puts them on the VM's port bus, feeds them time, and
 * connects their interrupt lines. One lock serialises them, since any vCPU
 * (and the shell, for console input) may touch them. */
#include <arch/time.h>
#include <keel/heap.h>
#include <keel/i8042.h>
#include <keel/i8254.h>
#include <keel/ioapic.h>
#include <keel/apic.h>
#include <keel/i8259.h>
#include <keel/platform.h>
#include <keel/rtc.h>
#include <keel/acpi_pm.h>
#include <keel/acpi_tables.h>
#include <keel/fw_cfg.h>
#include <keel/pci_host.h>
#include <keel/spinlock.h>
#include <keel/vdev.h>

#define IRQ_PIT 0
#define IRQ_RTC 8
#define IRQ_SCI 9
#define IRQ_KBD 1
#define IRQ_AUX 12
#define IOAPIC_BASE IOAPIC_DEFAULT_BASE
#define IOAPIC_ID 0 /* as in the MADT */
#define PCI_WINDOW_BASE 0xE0000000u /* the DSDT's PCI0 memory range, up to the IOAPIC */
#define PM_BASE ACPI_PM_PIIX4_BASE
#define ACPI_TABLES_GPA 0xF0000 /* in the e820 hole Linux searches for the RSDP */
/* Never ask for timer work more often than this: a guest may program the
 * PIT with a count of 1 (a deadline every 838 ns). */
#define MIN_TIMER_NS 50000

struct pc_platform {
	spinlock_t lock;
	struct vm *vm;
	struct i8259_pair pic;
	struct i8254 pit;
	struct rtc rtc;
	struct i8042 kbc;
	struct ioapic ioapic;
	struct pci_host pci;
	struct reset_cf9 cf9;
	struct fw_cfg fw_cfg;
	struct acpi_pm pm;
};

static uint64_t boot_wallclock, boot_wallclock_ns;

/* With the lock held: the next moment there is timer work, and INT. */
static void refresh_locked(struct pc_platform *p, uint64_t now)
{
	uint64_t d = i8254_irq0_deadline(&p->pit, now), r = rtc_irq_deadline(&p->rtc, now);
	uint64_t s = acpi_pm_sci_deadline(&p->pm, now);

	if (r < d)
		d = r;
	if (s < d)
		d = s;
	if (d != UINT64_MAX && d < now + MIN_TIMER_NS)
		d = now + MIN_TIMER_NS;
	p->vm->irq_deadline = d;
	p->vm->irq_pending = i8259_pending(&p->pic);
}

/* An ISA line to both interrupt controllers. */
static void set_line_locked(struct pc_platform *p, unsigned irq, bool level)
{
	i8259_set_irq(&p->pic, irq, level);
	ioapic_set_irq(&p->ioapic, irq == IRQ_PIT ? 2 : irq, level);
}

/* The level-triggered lines, as the devices drive them now. */
static void lines_locked(struct pc_platform *p, uint64_t now)
{
	set_line_locked(p, IRQ_RTC, rtc_irq_level(&p->rtc, now));
	set_line_locked(p, IRQ_SCI, acpi_pm_sci_level(&p->pm, now));
	set_line_locked(p, IRQ_KBD, i8042_irq1_level(&p->kbc));
	set_line_locked(p, IRQ_AUX, i8042_irq12_level(&p->kbc));
}

/* The IOAPIC's messages leave its queue under the lock and go to the local
 * APICs after it (delivery takes the APIC and scheduler locks). */
struct outbox {
	unsigned n;
	struct ioapic_msg m[IOAPIC_MSG_QUEUE];
};

static void collect_locked(struct pc_platform *p, struct outbox *o)
{
	while (o->n < IOAPIC_MSG_QUEUE && ioapic_take_msg(&p->ioapic, &o->m[o->n]))
		o->n++;
}

static void send(struct vm *vm, const struct outbox *o)
{
	for (unsigned i = 0; i < o->n; i++)
		apic_deliver_msg(vm, o->m[i].dest, o->m[i].vector, o->m[i].delivery,
				 o->m[i].logical, o->m[i].trigger_level);
}

void vm_irq_line(struct vm *vm, unsigned irq, bool level)
{
	struct pc_platform *p = vm->platform;
	struct outbox o = {0};

	if (!p || irq > 15)
		return;
	spin_lock(&p->lock);
	set_line_locked(p, irq, level);
	vm->irq_pending = i8259_pending(&p->pic);
	collect_locked(p, &o);
	spin_unlock(&p->lock);
	send(vm, &o);
}

void platform_poll(struct vm *vm, uint64_t now)
{
	struct pc_platform *p = vm->platform;
	struct outbox o = {0};

	if (!p || now < vm->irq_deadline)
		return;
	spin_lock(&p->lock);
	if (i8254_irq0_ticks(&p->pit, now)) {
		/* Missed ticks merge into one interrupt, as on a busy real PIC. */
		set_line_locked(p, IRQ_PIT, true);
		set_line_locked(p, IRQ_PIT, false);
	}
	lines_locked(p, now);
	refresh_locked(p, now);
	collect_locked(p, &o);
	spin_unlock(&p->lock);
	send(vm, &o);
}

void platform_eoi(struct vm *vm, uint8_t vector)
{
	struct pc_platform *p = vm->platform;
	struct outbox o = {0};

	if (!p)
		return;
	spin_lock(&p->lock);
	ioapic_eoi(&p->ioapic, vector);
	collect_locked(p, &o);
	spin_unlock(&p->lock);
	send(vm, &o);
}

int platform_acknowledge(struct vm *vm)
{
	struct pc_platform *p = vm->platform;
	int vec;

	spin_lock(&p->lock);
	vec = i8259_acknowledge(&p->pic);
	vm->irq_pending = i8259_pending(&p->pic);
	spin_unlock(&p->lock);
	return vec;
}

/* Port accesses wider than a byte reach consecutive byte registers. */
enum which { PIC, PIT, PORT61, RTC, KBC, PCI, FWCFG, PM };

static uint8_t byte_read(struct pc_platform *p, enum which w, uint16_t port, uint64_t now)
{
	switch (w) {
	case PIC:
		return i8259_read(&p->pic, port);
	case PIT:
	case PORT61:
		return i8254_read(&p->pit, port, now);
	case RTC:
		return rtc_read(&p->rtc, port, now);
	case KBC:
		return i8042_read(&p->kbc, port);
	default:
		return 0xFF;
	}
}

static void byte_write(struct pc_platform *p, enum which w, uint16_t port, uint8_t v, uint64_t now)
{
	switch (w) {
	case PIC:
		i8259_write(&p->pic, port, v);
		break;
	case PIT:
	case PORT61:
		i8254_write(&p->pit, port, v, now);
		break;
	case RTC:
		rtc_write(&p->rtc, port, v, now);
		break;
	case KBC:
		i8042_write(&p->kbc, port, v);
		break;
	default:
		break;
	}
}

struct port_dev {
	struct pc_platform *p;
	enum which which;
	uint16_t base;
};

static uint32_t port_read(void *dev, uint64_t off, unsigned size)
{
	struct port_dev *d = dev;
	struct pc_platform *p = d->p;
	uint16_t port = (uint16_t)(d->base + off);
	uint64_t now = time_ns();
	uint32_t v = 0;
	struct outbox o = {0};

	spin_lock(&p->lock);
	if (d->which == PCI && port == 0xCF9 && size == 1)
		v = reset_cf9_read(&p->cf9, port, size);
	else if (d->which == PCI)
		v = pci_host_read(&p->pci, port, size);
	else if (d->which == FWCFG)
		v = fw_cfg_read(&p->fw_cfg, port, size);
	else if (d->which == PM)
		v = acpi_pm_read(&p->pm, port, size, now);
	else
		for (unsigned i = 0; i < size; i++)
			v |= (uint32_t)byte_read(p, d->which, (uint16_t)(port + i), now) << (8 * i);
	lines_locked(p, now);
	refresh_locked(p, now);
	collect_locked(p, &o);
	spin_unlock(&p->lock);
	send(p->vm, &o);
	return v;
}

static void port_write(void *dev, uint64_t off, unsigned size, uint32_t value)
{
	struct port_dev *d = dev;
	struct pc_platform *p = d->p;
	uint16_t port = (uint16_t)(d->base + off);
	uint64_t now = time_ns();
	enum acpi_pm_request req = ACPI_PM_REQ_NONE;
	struct outbox o = {0};

	spin_lock(&p->lock);
	if (d->which == PCI && port == 0xCF9 && size == 1) {
		reset_cf9_write(&p->cf9, port, size, value);
		req = reset_cf9_take_request(&p->cf9);
	} else if (d->which == PCI) {
		pci_host_write(&p->pci, port, size, value);
	} else if (d->which == FWCFG) {
		fw_cfg_write(&p->fw_cfg, port, size, value);
	} else if (d->which == PM) {
		acpi_pm_write(&p->pm, port, size, value, now);
		req = acpi_pm_take_request(&p->pm);
	} else {
		for (unsigned i = 0; i < size; i++)
			byte_write(p, d->which, (uint16_t)(port + i), (uint8_t)(value >> (8 * i)),
				   now);
		if (d->which == KBC && i8042_take_reset(&p->kbc))
			req = ACPI_PM_REQ_RESET;
	}
	lines_locked(p, now);
	refresh_locked(p, now);
	collect_locked(p, &o);
	spin_unlock(&p->lock);
	send(p->vm, &o);
	/* Outside the platform lock: stopping a VM takes the scheduler's. */
	if (req == ACPI_PM_REQ_POWEROFF)
		vm_stop(p->vm, "powered off by the guest (ACPI S5)");
	else if (req == ACPI_PM_REQ_RESET)
		vm_restart(p->vm, "reset by the guest");
}

/* The IOAPIC's window: 32-bit accesses (narrower ones zero-extended, as
 * Linux never makes them; the model ignores offsets it does not know). */
static uint32_t ioapic_mmio_read(void *dev, uint64_t off, unsigned size)
{
	struct pc_platform *p = dev;
	uint32_t v;

	spin_lock(&p->lock);
	v = ioapic_read(&p->ioapic, (uint32_t)off);
	spin_unlock(&p->lock);
	return size < 4 ? v & ((1u << (8 * size)) - 1) : v;
}

/* The PCI memory window: BARs of the functions on bus 0. The device table
 * is fixed before the VM runs, so no platform lock: each function takes
 * its own. Nothing there reads all ones, as a master abort does. */
static uint32_t pci_window_read(void *dev, uint64_t off, unsigned size)
{
	struct pc_platform *p = dev;
	uint32_t v;

	if (!pci_host_mem_read(&p->pci, PCI_WINDOW_BASE + off, size, &v))
		v = size < 4 ? (1u << (8 * size)) - 1 : 0xFFFFFFFFu;
	return v;
}

static void pci_window_write(void *dev, uint64_t off, unsigned size, uint32_t value)
{
	struct pc_platform *p = dev;

	pci_host_mem_write(&p->pci, PCI_WINDOW_BASE + off, size, value);
}

int platform_pci_add(struct vm *vm, unsigned devfn, const struct pci_dev_ops *ops, void *dev)
{
	struct pc_platform *p = vm->platform;
	int rc;

	if (!p)
		return -1;
	spin_lock(&p->lock);
	rc = pci_host_add_device(&p->pci, devfn, ops, dev);
	spin_unlock(&p->lock);
	return rc;
}

static uint32_t ecam_read(void *dev, uint64_t off, unsigned size)
{
	struct pc_platform *p = dev;
	uint32_t v;

	spin_lock(&p->lock);
	v = pci_host_ecam_read(&p->pci, off, size);
	spin_unlock(&p->lock);
	return v;
}

static void ecam_write(void *dev, uint64_t off, unsigned size, uint32_t value)
{
	struct pc_platform *p = dev;

	spin_lock(&p->lock);
	pci_host_ecam_write(&p->pci, off, size, value);
	spin_unlock(&p->lock);
}

static void ioapic_mmio_write(void *dev, uint64_t off, unsigned size, uint32_t value)
{
	struct pc_platform *p = dev;
	struct outbox o = {0};

	(void)size;
	spin_lock(&p->lock);
	ioapic_write(&p->ioapic, (uint32_t)off, value);
	collect_locked(p, &o); /* unmasking an active level line sends */
	spin_unlock(&p->lock);
	send(p->vm, &o);
}

#define NPORTS 11

struct pc_platform_dev {
	struct pc_platform p;
	struct port_dev ports[NPORTS];
};

static const struct {
	uint16_t base, len;
	enum which which;
} port_map[NPORTS] = {
    {0x20, 2, PIC},           {0xA0, 2, PIC},
    {0x4D0, 2, PIC},          {0x40, 4, PIT},
    {0x61, 1, PORT61},        {0x70, 2, RTC},
    {0xCF8, 8, PCI},          {0x510, 2, FWCFG},
    {PM_BASE, 12, PM},        {I8042_PORT_DATA, 1, KBC},
    {I8042_PORT_CMD, 1, KBC},
};

/* The VM's ACPI tables, in guest memory where Linux looks for the RSDP. */
static int write_acpi_tables(struct vm *vm)
{
	const struct acpi_vm_desc desc = {
	    .nvcpus = vm->nvcpus,
	    .lapic_base = 0xFEE00000,
	    .ioapic_base = IOAPIC_BASE,
	    .pm1a_evt = PM_BASE,
	    .pm1a_cnt = PM_BASE + 4,
	    .pm_tmr = PM_BASE + 8,
	    .sci_irq = IRQ_SCI,
	    .reset_reg = true,
	    .ecam_base = PCI_HOST_ECAM_BASE,
	};
	/* Built in place: the area lies in one RAM chunk, which the VM owns. */
	uint8_t *buf = gpa_to_hva(vm, ACPI_TABLES_GPA, ACPI_TABLES_MAX_SIZE);

	if (!buf)
		return -1;
	return acpi_build_tables(&desc, ACPI_TABLES_GPA, buf, ACPI_TABLES_MAX_SIZE) ? 0 : -1;
}

/* CMOS bytes a BIOS leaves describing memory, for guests that read them:
 * RAM below the PCI hole in 0x15-0x18, 0x30-0x31 and 0x34-0x35, RAM from
 * 4 GiB up in 64 KiB units in 0x5B-0x5D (as QEMU's BIOS reads them). */
static void cmos_memory_size(struct rtc *r, uint64_t ram, uint64_t high)
{
	uint64_t ext_k = ram > (1 << 20) ? (ram - (1 << 20)) >> 10 : 0;
	uint64_t above16_64k = ram > (16 << 20) ? (ram - (16 << 20)) >> 16 : 0;

	if (ext_k > 0xFFFF)
		ext_k = 0xFFFF;
	if (above16_64k > 0xFFFF)
		above16_64k = 0xFFFF;
	rtc_cmos_set(r, 0x15, 640 & 0xFF);
	rtc_cmos_set(r, 0x16, 640 >> 8);
	rtc_cmos_set(r, 0x17, (uint8_t)ext_k);
	rtc_cmos_set(r, 0x18, (uint8_t)(ext_k >> 8));
	rtc_cmos_set(r, 0x30, (uint8_t)ext_k);
	rtc_cmos_set(r, 0x31, (uint8_t)(ext_k >> 8));
	rtc_cmos_set(r, 0x34, (uint8_t)above16_64k);
	rtc_cmos_set(r, 0x35, (uint8_t)(above16_64k >> 8));
	rtc_cmos_set(r, 0x5B, (uint8_t)(high >> 16));
	rtc_cmos_set(r, 0x5C, (uint8_t)(high >> 24));
	rtc_cmos_set(r, 0x5D, (uint8_t)(high >> 32));
}

static int platform_create(struct vm *vm)
{
	struct pc_platform_dev *d = kzalloc(sizeof(*d));
	uint64_t now = time_ns();

	if (!d)
		return -1;
	if (!boot_wallclock_ns) {
		boot_wallclock = host_wallclock();
		boot_wallclock_ns = now ? now : 1;
	}
	struct pc_platform *p = &d->p;
	p->vm = vm;
	i8259_init(&p->pic);
	i8254_init(&p->pit, now);
	rtc_init(&p->rtc, boot_wallclock + (now - boot_wallclock_ns) / 1000000000ULL, now);
	cmos_memory_size(&p->rtc, vm_ram_low(vm), vm_ram_high(vm));
	i8042_init(&p->kbc);
	ioapic_init(&p->ioapic, IOAPIC_ID);
	pci_host_init(&p->pci);
	reset_cf9_init(&p->cf9);
	fw_cfg_init(&p->fw_cfg, (uint16_t)vm->nvcpus, vm->ram_size);
	acpi_pm_init(&p->pm, PM_BASE, now);
	refresh_locked(p, now);
	if (write_acpi_tables(vm)) {
		kfree(d);
		return -1;
	}
	for (unsigned i = 0; i < NPORTS; i++) {
		d->ports[i] = (struct port_dev){p, port_map[i].which, port_map[i].base};
		struct io_range r = {port_map[i].base, port_map[i].len, &d->ports[i], port_read,
				     port_write};
		if (io_bus_register(&vm->pio, &r)) {
			kfree(d);
			return -1;
		}
	}
	const struct io_range ioapic_window = {IOAPIC_BASE, 0x1000, p, ioapic_mmio_read,
					       ioapic_mmio_write};
	const struct io_range pci_window = {PCI_WINDOW_BASE, IOAPIC_BASE - PCI_WINDOW_BASE, p,
					    pci_window_read, pci_window_write};
	const struct io_range ecam_window = {PCI_HOST_ECAM_BASE, PCI_HOST_ECAM_SIZE, p, ecam_read,
					     ecam_write};
	if (io_bus_register(&vm->mmio, &ioapic_window) ||
	    io_bus_register(&vm->mmio, &ecam_window) || io_bus_register(&vm->mmio, &pci_window)) {
		kfree(d);
		return -1;
	}
	vm->platform = p;
	return 0;
}

static void platform_destroy(struct vm *vm)
{
	kfree(vm->platform); /* the platform is the first member of its allocation */
	vm->platform = NULL;
}

const struct vdev_type vdev_pc_platform = {
    .name = "pc-platform",
    .create = platform_create,
    .destroy = platform_destroy,
};
