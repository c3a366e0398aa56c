/* A virtual local APIC (see include/keel/lapic.h for the model). Registers
 * are handled by index (offset / 16, 0x00-0x3F), shared by the xAPIC MMIO
 * and the x2APIC MSR interfaces; the few differences test `x2`. */
#include <keel/lapic.h>
#include <keel/string.h>

#define NR_REGS 0x40
#define LVT_TIMER_MODE(v) (((v) >> 17) & 3u)
#define MODE_ONESHOT 0u
#define MODE_PERIODIC 1u
#define MODE_TSC_DEADLINE 2u
#define SVR_ENABLE (1u << 8)
#define SVR_MASK 0x3FFu
#define ICR_LO_MASK 0x000CCFFFu /* vector, mode, dest mode, level, trigger, shorthand */
#define DFR_FLAT 0xFFFFFFFFu
#define DFR_CLUSTER 0x0FFFFFFFu
#define ESR_MASK 0xFFu

/* Writable bits of each LVT entry (remote IRR and delivery status are not). */
static const uint32_t lvt_mask[VLAPIC_NR_LVT] = {
    0x000700FF, /* timer: vector, mask, mode */
    0x000107FF, /* thermal: vector, delivery mode, mask */
    0x000107FF, /* performance */
    0x0001A7FF, /* LINT0: vector, delivery mode, polarity, trigger, mask */
    0x0001A7FF, /* LINT1 (always edge-triggered, the bit is kept) */
    0x000100FF, /* error */
};

static bool test_vec(const uint32_t *bm, unsigned v)
{
	return bm[(v >> 5) & 7] & (1u << (v & 31));
}

static void set_vec(uint32_t *bm, unsigned v)
{
	bm[(v >> 5) & 7] |= 1u << (v & 31);
}

static void clear_vec(uint32_t *bm, unsigned v)
{
	bm[(v >> 5) & 7] &= ~(1u << (v & 31));
}

/* The highest vector set in BM, or -1. */
static int highest(const uint32_t *bm)
{
	for (int i = 7; i >= 0; i--)
		if (bm[i])
			return i * 32 + 31 - __builtin_clz(bm[i]);
	return -1;
}

bool vlapic_hw_enabled(const struct vlapic *l)
{
	return l->base & VLAPIC_BASE_EN;
}

bool vlapic_x2apic(const struct vlapic *l)
{
	return (l->base & (VLAPIC_BASE_EN | VLAPIC_BASE_EXTD)) ==
	       (VLAPIC_BASE_EN | VLAPIC_BASE_EXTD);
}

bool vlapic_sw_enabled(const struct vlapic *l)
{
	return vlapic_hw_enabled(l) && (l->svr & SVR_ENABLE);
}

static uint32_t x2apic_ldr(uint32_t id)
{
	return ((id >> 4) << 16) | (1u << (id & 0xF));
}

void vlapic_reset(struct vlapic *l, uint32_t apic_id, bool bsp)
{
	memset(l, 0, sizeof(*l));
	l->base = VLAPIC_DEFAULT_BASE | VLAPIC_BASE_EN | (bsp ? VLAPIC_BASE_BSP : 0);
	l->initial_id = apic_id;
	l->id = apic_id & 0xFF;
	l->dfr = DFR_FLAT;
	l->svr = 0xFF;
	for (unsigned i = 0; i < VLAPIC_NR_LVT; i++)
		l->lvt[i] = VLAPIC_LVT_MASKED;
}

void vlapic_init_signal(struct vlapic *l)
{
	uint64_t base = l->base;
	uint32_t id = l->id, ldr = l->ldr;

	vlapic_reset(l, l->initial_id, false);
	l->base = base;
	l->id = id;
	if (vlapic_x2apic(l))
		l->ldr = ldr;
}

void vlapic_virtual_wire(struct vlapic *l)
{
	l->svr = SVR_ENABLE | 0xFF;
	l->lvt[VLAPIC_LVT_I_LINT0] = (uint32_t)VLAPIC_DM_EXTINT << 8;
	l->lvt[VLAPIC_LVT_I_LINT1] = (uint32_t)VLAPIC_DM_NMI << 8;
}

uint32_t vlapic_ppr(const struct vlapic *l)
{
	int isrv = highest(l->isr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xF0;

	return (l->tpr & 0xF0) >= isr_class ? l->tpr & 0xFF : isr_class;
}

static void set_irr(struct vlapic *l, unsigned vector, bool level)
{
	set_vec(l->irr, vector);
	if (level)
		set_vec(l->tmr, vector);
	else
		clear_vec(l->tmr, vector);
}

/* Record ERRORS; raise the LVT error vector if unmasked (an illegal one
 * there is only recorded, so this cannot recurse). */
static void raise_error(struct vlapic *l, uint32_t errors)
{
	uint32_t lvt = l->lvt[VLAPIC_LVT_I_ERROR];
	unsigned vec = lvt & 0xFF;

	l->esr_pending |= errors;
	if (lvt & VLAPIC_LVT_MASKED || !vlapic_sw_enabled(l))
		return;
	if (vec < 16)
		l->esr_pending |= VLAPIC_ESR_RECV_ILLEGAL;
	else
		set_irr(l, vec, false);
}

void vlapic_accept(struct vlapic *l, uint8_t vector, bool level_triggered)
{
	if (!vlapic_sw_enabled(l))
		return;
	if (vector < 16) {
		raise_error(l, VLAPIC_ESR_RECV_ILLEGAL);
		return;
	}
	set_irr(l, vector, level_triggered);
}

int vlapic_pending_vector(const struct vlapic *l)
{
	int v;

	if (!vlapic_hw_enabled(l))
		return -1;
	v = highest(l->irr);
	if (v < 0 || ((uint32_t)v & 0xF0) <= (vlapic_ppr(l) & 0xF0))
		return -1;
	return v;
}

void vlapic_ack(struct vlapic *l, uint8_t vector)
{
	if (!test_vec(l->irr, vector))
		return;
	clear_vec(l->irr, vector);
	set_vec(l->isr, vector);
}

static void eoi(struct vlapic *l)
{
	int v = highest(l->isr);

	if (v < 0)
		return;
	clear_vec(l->isr, (unsigned)v);
	if (!test_vec(l->tmr, (unsigned)v))
		return;
	set_vec(l->eoi_level, (unsigned)v);
	for (unsigned i = VLAPIC_LVT_I_LINT0; i <= VLAPIC_LVT_I_LINT1; i++)
		if ((l->lvt[i] & 0xFF) == (uint32_t)v)
			l->lvt[i] &= ~VLAPIC_LVT_REMOTE_IRR;
}

int vlapic_take_eoi(struct vlapic *l)
{
	int v = highest(l->eoi_level);

	if (v >= 0)
		clear_vec(l->eoi_level, (unsigned)v);
	return v;
}

/* ---- Timer ---- */

static uint32_t timer_mode(const struct vlapic *l)
{
	return LVT_TIMER_MODE(l->lvt[VLAPIC_LVT_I_TIMER]);
}

/* Bus ticks (ns) per count: DCR bits 3, 1, 0 = 111 -> 1, else 2 << n. */
static uint64_t divisor(const struct vlapic *l)
{
	uint32_t n = (l->timer_dcr & 3) | ((l->timer_dcr >> 1) & 4);

	return n == 7 ? 1 : 2ull << n;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* When the count reaches 0, or UINT64_MAX if stopped. */
static uint64_t count_expiry(const struct vlapic *l)
{
	if (!l->timer_count || timer_mode(l) == MODE_TSC_DEADLINE)
		return UINT64_MAX;
	return add_sat(l->timer_base_ns, (uint64_t)l->timer_count * divisor(l));
}

static uint32_t current_count(const struct vlapic *l, uint64_t now_ns)
{
	uint64_t div = divisor(l), elapsed, ticks, period;

	if (!l->timer_count || timer_mode(l) == MODE_TSC_DEADLINE)
		return 0;
	elapsed = now_ns > l->timer_base_ns ? now_ns - l->timer_base_ns : 0;
	ticks = elapsed / div;
	if (ticks < l->timer_count)
		return l->timer_count - (uint32_t)ticks;
	if (timer_mode(l) != MODE_PERIODIC || !l->timer_initial)
		return 0; /* expired, not yet collected */
	period = (uint64_t)l->timer_initial * div;
	elapsed -= (uint64_t)l->timer_count * div;
	return l->timer_initial - (uint32_t)((elapsed % period) / div);
}

uint64_t vlapic_timer_deadline(const struct vlapic *l, uint64_t now_ns)
{
	(void)now_ns;
	if (!vlapic_hw_enabled(l))
		return UINT64_MAX;
	if (timer_mode(l) == MODE_TSC_DEADLINE)
		return l->tsc_deadline_ns ? l->tsc_deadline_ns : UINT64_MAX;
	return count_expiry(l);
}

bool vlapic_timer_fire(struct vlapic *l, uint64_t now_ns)
{
	uint32_t lvt = l->lvt[VLAPIC_LVT_I_TIMER];
	uint64_t exp = vlapic_timer_deadline(l, now_ns);

	if (exp == UINT64_MAX || now_ns < exp)
		return false;
	if (timer_mode(l) == MODE_TSC_DEADLINE) {
		l->tsc_deadline_ns = 0;
	} else if (timer_mode(l) == MODE_PERIODIC && l->timer_initial) {
		uint64_t period = (uint64_t)l->timer_initial * divisor(l);

		/* Missed periods coalesce; the next expiry is after now_ns. */
		l->timer_base_ns = exp + (now_ns - exp) / period * period;
		l->timer_count = l->timer_initial;
	} else {
		l->timer_base_ns = exp;
		l->timer_count = 0;
	}
	if (!(lvt & VLAPIC_LVT_MASKED))
		vlapic_accept(l, (uint8_t)lvt, false);
	return true;
}

void vlapic_set_tsc_deadline(struct vlapic *l, uint64_t deadline_ns, uint64_t now_ns)
{
	(void)now_ns;
	if (vlapic_hw_enabled(l) && timer_mode(l) == MODE_TSC_DEADLINE)
		l->tsc_deadline_ns = deadline_ns;
}

uint64_t vlapic_tsc_deadline(const struct vlapic *l)
{
	return timer_mode(l) == MODE_TSC_DEADLINE ? l->tsc_deadline_ns : 0;
}

static void write_lvt_timer(struct vlapic *l, uint32_t v, uint64_t now_ns)
{
	uint32_t old = timer_mode(l), mode;

	if (LVT_TIMER_MODE(v) == 3)
		v &= ~(2u << 17); /* reserved mode: keep periodic */
	mode = LVT_TIMER_MODE(v);
	vlapic_timer_fire(l, now_ns); /* expiries so far, under the old mode */
	l->lvt[VLAPIC_LVT_I_TIMER] = v;
	if ((old == MODE_TSC_DEADLINE) != (mode == MODE_TSC_DEADLINE)) {
		l->timer_initial = 0;
		l->timer_count = 0;
		l->tsc_deadline_ns = 0;
	}
}

static void write_timer_dcr(struct vlapic *l, uint32_t v, uint64_t now_ns)
{
	vlapic_timer_fire(l, now_ns);
	l->timer_count = current_count(l, now_ns);
	l->timer_base_ns = now_ns;
	l->timer_dcr = v & 0xB;
}

static void write_timer_icr(struct vlapic *l, uint32_t v, uint64_t now_ns)
{
	if (timer_mode(l) == MODE_TSC_DEADLINE)
		return;
	l->timer_initial = v;
	l->timer_count = v;
	l->timer_base_ns = now_ns;
}

/* ---- IPIs ---- */

static void queue_ipi(struct vlapic *l, const struct vlapic_ipi *ipi)
{
	if (l->ipi_count >= VLAPIC_IPI_QUEUE) {
		l->ipi_dropped++;
		return;
	}
	l->ipi[(l->ipi_head + l->ipi_count) % VLAPIC_IPI_QUEUE] = *ipi;
	l->ipi_count++;
}

bool vlapic_take_ipi(struct vlapic *l, struct vlapic_ipi *out)
{
	if (!l->ipi_count || l->ipi_head >= VLAPIC_IPI_QUEUE)
		return false;
	*out = l->ipi[l->ipi_head];
	l->ipi_head = (l->ipi_head + 1) % VLAPIC_IPI_QUEUE;
	l->ipi_count--;
	return true;
}

static void send_ipi(struct vlapic *l, uint32_t lo, uint32_t dest)
{
	struct vlapic_ipi ipi = {
	    .dest = dest,
	    .vector = (uint8_t)lo,
	    .delivery = (lo >> 8) & 7,
	    .logical = (lo >> 11) & 1,
	    .shorthand = (lo >> 18) & 3,
	    .level = (lo >> 14) & 1,
	    .trigger_level = (lo >> 15) & 1,
	};

	switch (ipi.delivery) {
	case VLAPIC_DM_FIXED:
	case VLAPIC_DM_LOWEST:
		if (ipi.vector < 16) {
			raise_error(l, VLAPIC_ESR_SEND_ILLEGAL);
			return;
		}
		break;
	case VLAPIC_DM_INIT:
		if (!ipi.level && ipi.trigger_level)
			return; /* INIT level de-assert: not on modern CPUs */
		break;
	case VLAPIC_DM_SMI:
	case VLAPIC_DM_NMI:
	case VLAPIC_DM_STARTUP:
		break;
	default:
		return; /* reserved modes, and ExtINT is not an IPI */
	}
	if (ipi.shorthand == VLAPIC_SH_SELF) {
		if (ipi.delivery == VLAPIC_DM_FIXED)
			vlapic_accept(l, ipi.vector, false);
		return;
	}
	ipi.level = 1;
	queue_ipi(l, &ipi);
}

bool vlapic_match_dest(const struct vlapic *l, uint32_t dest, bool logical)
{
	uint32_t d, ldr;

	if (!vlapic_hw_enabled(l))
		return false;
	if (vlapic_x2apic(l)) {
		if (dest == 0xFFFFFFFF)
			return true;
		if (!logical)
			return dest == l->id;
		return (dest >> 16) == (l->ldr >> 16) && (dest & l->ldr & 0xFFFF);
	}
	d = dest & 0xFF;
	if (d == 0xFF)
		return true;
	if (!logical)
		return d == (l->id & 0xFF);
	ldr = l->ldr >> 24;
	if ((l->dfr >> 28) == 0xF)
		return d & ldr; /* flat: one bit per APIC */
	return (d >> 4) == (ldr >> 4) && (d & ldr & 0xF); /* cluster */
}

enum vlapic_lint_action vlapic_lint(struct vlapic *l, unsigned pin)
{
	uint32_t lvt;

	if (pin > 1)
		return VLAPIC_LINT_NONE;
	if (!vlapic_hw_enabled(l))
		return pin ? VLAPIC_LINT_NMI : VLAPIC_LINT_EXTINT;
	lvt = l->lvt[VLAPIC_LVT_I_LINT0 + pin];
	if (lvt & VLAPIC_LVT_MASKED)
		return VLAPIC_LINT_NONE;
	switch ((lvt >> 8) & 7) {
	case VLAPIC_DM_FIXED:
		if (pin == 0 && (lvt & VLAPIC_LVT_LEVEL)) {
			if (lvt & VLAPIC_LVT_REMOTE_IRR)
				return VLAPIC_LINT_NONE;
			l->lvt[VLAPIC_LVT_I_LINT0] |= VLAPIC_LVT_REMOTE_IRR;
			vlapic_accept(l, (uint8_t)lvt, true);
		} else {
			vlapic_accept(l, (uint8_t)lvt, false);
		}
		return VLAPIC_LINT_FIXED;
	case VLAPIC_DM_SMI:
		return VLAPIC_LINT_SMI;
	case VLAPIC_DM_NMI:
		return VLAPIC_LINT_NMI;
	case VLAPIC_DM_INIT:
		return VLAPIC_LINT_INIT;
	case VLAPIC_DM_EXTINT:
		return VLAPIC_LINT_EXTINT;
	default:
		return VLAPIC_LINT_NONE;
	}
}

/* ---- Registers ---- */

/* Register R (offset / 16) into *VAL: 0, or -1 if it does not exist in
 * this mode (xAPIC: illegal register address; x2APIC: #GP). */
static int reg_read(struct vlapic *l, unsigned r, bool x2, uint64_t *val, uint64_t now_ns)
{
	uint64_t v;

	if (r >= 0x10 && r < 0x28) {
		const uint32_t *bank = r < 0x18 ? l->isr : r < 0x20 ? l->tmr : l->irr;

		*val = bank[r & 7];
		return 0;
	}
	if (r >= 0x32 && r < 0x32 + VLAPIC_NR_LVT) {
		*val = l->lvt[r - 0x32];
		return 0;
	}
	switch (r) {
	case 0x02:
		v = x2 ? l->id : (l->id & 0xFF) << 24;
		break;
	case 0x03:
		v = VLAPIC_VERSION;
		break;
	case 0x08:
		v = l->tpr;
		break;
	case 0x09: /* APR, EOI, remote read: xAPIC only, read 0 */
	case 0x0B:
	case 0x0C:
		if (x2)
			return -1;
		v = 0;
		break;
	case 0x0A:
		v = vlapic_ppr(l);
		break;
	case 0x0D:
		v = l->ldr;
		break;
	case 0x0E:
		if (x2)
			return -1;
		v = l->dfr;
		break;
	case 0x0F:
		v = l->svr;
		break;
	case 0x28:
		v = l->esr;
		break;
	case 0x30:
		v = x2 ? (uint64_t)l->icr_hi << 32 | l->icr_lo : l->icr_lo;
		break;
	case 0x31:
		if (x2)
			return -1;
		v = l->icr_hi;
		break;
	case 0x38:
		v = l->timer_initial;
		break;
	case 0x39:
		v = current_count(l, now_ns);
		break;
	case 0x3E:
		v = l->timer_dcr;
		break;
	default: /* reserved, and SELF IPI (write-only) */
		return -1;
	}
	*val = v;
	return 0;
}

/* Write V to register R: 0, or -1 as for reg_read(), or 1 for a write to a
 * read-only register (ignored in xAPIC mode, #GP in x2APIC mode). */
static int reg_write(struct vlapic *l, unsigned r, bool x2, uint64_t v, uint64_t now_ns)
{
	uint32_t lo = (uint32_t)v;

	if (r >= 0x32 && r < 0x32 + VLAPIC_NR_LVT) {
		unsigned i = r - 0x32;

		lo &= lvt_mask[i];
		lo |= l->lvt[i] & VLAPIC_LVT_REMOTE_IRR;
		if (!vlapic_sw_enabled(l))
			lo |= VLAPIC_LVT_MASKED;
		if (i == VLAPIC_LVT_I_TIMER)
			write_lvt_timer(l, lo, now_ns);
		else
			l->lvt[i] = lo;
		return 0;
	}
	switch (r) {
	case 0x02:
		if (x2)
			return 1;
		l->id = lo >> 24;
		return 0;
	case 0x08:
		l->tpr = lo & 0xFF;
		return 0;
	case 0x0B:
		if (x2 && v)
			return -1;
		eoi(l);
		return 0;
	case 0x0D:
		if (x2)
			return 1;
		l->ldr = lo & 0xFF000000;
		return 0;
	case 0x0E:
		if (x2)
			return -1;
		l->dfr = (lo >> 28) ? DFR_FLAT : DFR_CLUSTER;
		return 0;
	case 0x0F:
		l->svr = lo & SVR_MASK;
		if (!(l->svr & SVR_ENABLE))
			for (unsigned i = 0; i < VLAPIC_NR_LVT; i++)
				l->lvt[i] |= VLAPIC_LVT_MASKED;
		return 0;
	case 0x28:
		if (x2 && v)
			return -1;
		l->esr = l->esr_pending & ESR_MASK;
		l->esr_pending = 0;
		return 0;
	case 0x30:
		l->icr_lo = lo & ICR_LO_MASK;
		if (x2)
			l->icr_hi = (uint32_t)(v >> 32);
		send_ipi(l, l->icr_lo, x2 ? l->icr_hi : l->icr_hi >> 24);
		return 0;
	case 0x31:
		if (x2)
			return -1;
		l->icr_hi = lo & 0xFF000000;
		return 0;
	case 0x38:
		write_timer_icr(l, lo, now_ns);
		return 0;
	case 0x3E:
		write_timer_dcr(l, lo, now_ns);
		return 0;
	case 0x3F:
		if (!x2)
			return -1;
		vlapic_accept(l, (uint8_t)lo, false);
		return 0;
	case 0x03: /* read-only registers */
	case 0x0A:
	case 0x39:
		return 1;
	case 0x09:
	case 0x0C:
		return x2 ? -1 : 1;
	default:
		if (r >= 0x10 && r < 0x28)
			return 1;
		return -1;
	}
}

static bool xapic_mode(const struct vlapic *l)
{
	return vlapic_hw_enabled(l) && !vlapic_x2apic(l);
}

uint32_t vlapic_read(struct vlapic *l, uint32_t offset, uint64_t now_ns)
{
	uint64_t v;

	offset &= 0xFFF;
	if (!xapic_mode(l) || (offset & 0xF) || offset >= NR_REGS * 16)
		return 0;
	if (reg_read(l, offset >> 4, false, &v, now_ns) < 0) {
		raise_error(l, VLAPIC_ESR_ILLEGAL_REG);
		return 0;
	}
	return (uint32_t)v;
}

void vlapic_write(struct vlapic *l, uint32_t offset, uint32_t value, uint64_t now_ns)
{
	offset &= 0xFFF;
	if (!xapic_mode(l) || (offset & 0xF) || offset >= NR_REGS * 16)
		return;
	if (reg_write(l, offset >> 4, false, value, now_ns) < 0)
		raise_error(l, VLAPIC_ESR_ILLEGAL_REG);
}

int vlapic_msr_read(struct vlapic *l, uint32_t msr, uint64_t *val, uint64_t now_ns)
{
	if (!vlapic_x2apic(l) || msr < VLAPIC_MSR_BASE || msr >= VLAPIC_MSR_BASE + NR_REGS)
		return -1;
	return reg_read(l, msr - VLAPIC_MSR_BASE, true, val, now_ns) < 0 ? -1 : 0;
}

int vlapic_msr_write(struct vlapic *l, uint32_t msr, uint64_t val, uint64_t now_ns)
{
	if (!vlapic_x2apic(l) || msr < VLAPIC_MSR_BASE || msr >= VLAPIC_MSR_BASE + NR_REGS)
		return -1;
	if (msr != VLAPIC_MSR_ICR && (val >> 32))
		return -1;
	return reg_write(l, msr - VLAPIC_MSR_BASE, true, val, now_ns) == 0 ? 0 : -1;
}

/* 0 disabled, 1 xAPIC, 2 x2APIC, -1 invalid (EXTD without EN). */
static int base_mode(uint64_t base)
{
	if (!(base & VLAPIC_BASE_EN))
		return base & VLAPIC_BASE_EXTD ? -1 : 0;
	return base & VLAPIC_BASE_EXTD ? 2 : 1;
}

int vlapic_set_base(struct vlapic *l, uint64_t value)
{
	const uint64_t ok =
	    VLAPIC_BASE_ADDR_MASK | VLAPIC_BASE_BSP | VLAPIC_BASE_EXTD | VLAPIC_BASE_EN;
	int old = base_mode(l->base), new = base_mode(value);

	if ((value & ~ok) || new < 0 || (old == 2 && new == 1) || (old == 0 && new == 2))
		return -1;
	value = (value & ~(uint64_t)VLAPIC_BASE_BSP) | (l->base & VLAPIC_BASE_BSP);
	if (new == 0 && old != 0)
		vlapic_reset(l, l->initial_id, false);
	if (new == 2 && old != 2) {
		l->id = l->initial_id;
		l->ldr = x2apic_ldr(l->id);
		l->icr_hi = 0;
	}
	l->base = value;
	return 0;
}

bool vlapic_state_valid(const struct vlapic *s)
{
	const uint64_t ok =
	    VLAPIC_BASE_ADDR_MASK | VLAPIC_BASE_BSP | VLAPIC_BASE_EXTD | VLAPIC_BASE_EN;
	bool x2 = vlapic_x2apic(s);

	if ((s->base & ~ok) || base_mode(s->base) < 0)
		return false;
	if (x2 ? (s->id != s->initial_id || s->ldr != x2apic_ldr(s->id))
	       : (s->id > 0xFF || (s->ldr & 0x00FFFFFF) || (s->icr_hi & 0x00FFFFFF)))
		return false;
	if (s->tpr > 0xFF || (s->svr & ~SVR_MASK) || (s->dfr != DFR_FLAT && s->dfr != DFR_CLUSTER))
		return false;
	if ((s->esr & ~ESR_MASK) || (s->esr_pending & ~ESR_MASK) || (s->icr_lo & ~ICR_LO_MASK))
		return false;
	if ((s->irr[0] | s->isr[0]) & 0xFFFF)
		return false;
	for (unsigned i = 0; i < VLAPIC_NR_LVT; i++) {
		uint32_t extra =
		    i == VLAPIC_LVT_I_LINT0 || i == VLAPIC_LVT_I_LINT1 ? VLAPIC_LVT_REMOTE_IRR : 0;

		if (s->lvt[i] & ~(lvt_mask[i] | extra))
			return false;
		if (!(s->svr & SVR_ENABLE) && !(s->lvt[i] & VLAPIC_LVT_MASKED))
			return false;
	}
	if (LVT_TIMER_MODE(s->lvt[VLAPIC_LVT_I_TIMER]) == 3 || (s->timer_dcr & ~0xBu))
		return false;
	if (s->ipi_head >= VLAPIC_IPI_QUEUE || s->ipi_count > VLAPIC_IPI_QUEUE)
		return false;
	for (uint32_t i = 0; i < s->ipi_count; i++) {
		const struct vlapic_ipi *p = &s->ipi[(s->ipi_head + i) % VLAPIC_IPI_QUEUE];

		if (p->delivery > VLAPIC_DM_STARTUP || p->delivery == 3 || p->logical > 1 ||
		    p->shorthand > 3 || p->shorthand == VLAPIC_SH_SELF || p->level != 1 ||
		    p->trigger_level > 1)
			return false;
	}
	return true;
}
