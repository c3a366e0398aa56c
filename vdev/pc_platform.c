/* The legacy PC devices every VM gets: the 8259 interrupt controller pair,
 * the 8254 timer (and port 0x61, which gates its channel 2), and the CMOS
 * real-time clock. The models (i8259.c, i8254.c, rtc.c) are pure state
 * machines; this file puts them on the VM's port bus, feeds them time, and
 * connects their interrupt lines. One lock serialises them, since any vCPU
 * (and the shell, for console input) may touch them. */
#include <arch/time.h>
#include <keel/heap.h>
#include <keel/i8254.h>
#include <keel/i8259.h>
#include <keel/platform.h>
#include <keel/rtc.h>
#include <keel/spinlock.h>
#include <keel/vdev.h>

#define IRQ_PIT 0
#define IRQ_RTC 8
/* Never ask for timer work more often than this: a guest may program the
 * PIT with a count of 1 (a deadline every 838 ns). */
#define MIN_TIMER_NS 50000

struct pc_platform {
	spinlock_t lock;
	struct vm *vm;
	struct i8259_pair pic;
	struct i8254 pit;
	struct rtc rtc;
};

static uint64_t boot_wallclock, boot_wallclock_ns;

/* With the lock held: the next moment there is timer work, and INT. */
static void refresh_locked(struct pc_platform *p, uint64_t now)
{
	uint64_t d = i8254_irq0_deadline(&p->pit, now), r = rtc_irq_deadline(&p->rtc, now);

	if (r < d)
		d = r;
	if (d != UINT64_MAX && d < now + MIN_TIMER_NS)
		d = now + MIN_TIMER_NS;
	p->vm->irq_deadline = d;
	p->vm->irq_pending = i8259_pending(&p->pic);
}

void vm_irq_line(struct vm *vm, unsigned irq, bool level)
{
	struct pc_platform *p = vm->platform;

	if (!p || irq > 15)
		return;
	spin_lock(&p->lock);
	i8259_set_irq(&p->pic, irq, level);
	vm->irq_pending = i8259_pending(&p->pic);
	spin_unlock(&p->lock);
}

void platform_poll(struct vm *vm, uint64_t now)
{
	struct pc_platform *p = vm->platform;

	if (!p || now < vm->irq_deadline)
		return;
	spin_lock(&p->lock);
	if (i8254_irq0_ticks(&p->pit, now)) {
		/* Missed ticks merge into one interrupt, as on a busy real PIC. */
		i8259_set_irq(&p->pic, IRQ_PIT, true);
		i8259_set_irq(&p->pic, IRQ_PIT, false);
	}
	i8259_set_irq(&p->pic, IRQ_RTC, rtc_irq_level(&p->rtc, now));
	refresh_locked(p, now);
	spin_unlock(&p->lock);
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
enum which { PIC, PIT, PORT61, RTC };

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
	}
	return 0xFF;
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
		i8259_set_irq(&p->pic, IRQ_RTC, rtc_irq_level(&p->rtc, now));
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
	uint64_t now = time_ns();
	uint32_t v = 0;

	spin_lock(&d->p->lock);
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)byte_read(d->p, d->which, (uint16_t)(d->base + off + i), now)
		     << (8 * i);
	refresh_locked(d->p, now);
	spin_unlock(&d->p->lock);
	return v;
}

static void port_write(void *dev, uint64_t off, unsigned size, uint32_t value)
{
	struct port_dev *d = dev;
	uint64_t now = time_ns();

	spin_lock(&d->p->lock);
	for (unsigned i = 0; i < size; i++)
		byte_write(d->p, d->which, (uint16_t)(d->base + off + i),
			   (uint8_t)(value >> (8 * i)), now);
	refresh_locked(d->p, now);
	spin_unlock(&d->p->lock);
}

struct pc_platform_dev {
	struct pc_platform p;
	struct port_dev ports[6];
};

static const struct {
	uint16_t base, len;
	enum which which;
} port_map[6] = {
    {0x20, 2, PIC}, {0xA0, 2, PIC},    {0x4D0, 2, PIC},
    {0x40, 4, PIT}, {0x61, 1, PORT61}, {0x70, 2, RTC},
};

/* CMOS bytes a BIOS leaves describing memory, for guests that read them. */
static void cmos_memory_size(struct rtc *r, uint64_t ram)
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
	cmos_memory_size(&p->rtc, vm->ram_size);
	refresh_locked(p, now);
	for (unsigned i = 0; i < 6; i++) {
		d->ports[i] = (struct port_dev){p, port_map[i].which, port_map[i].base};
		struct io_range r = {port_map[i].base, port_map[i].len, &d->ports[i], port_read,
				     port_write};
		if (io_bus_register(&vm->pio, &r)) {
			kfree(d);
			return -1;
		}
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
