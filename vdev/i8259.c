/* The PC's master/slave 8259A pair (see include/keel/i8259.h for the
 * model). Priorities: IRQ (lowest + 1) & 7 is the highest on a chip, then
 * upwards around the ring; "rotation" only moves `lowest`. */
#include <keel/i8259.h>
#include <keel/string.h>

#define MASTER 0
#define SLAVE 1
#define CASCADE_BIT (1u << I8259_CASCADE_IRQ)

/* ELCR bits that exist: IRQ 0, 1, 2, 8 and 13 are always edge on a PC. */
static const uint8_t elcr_writable[2] = {0xF8, 0xDE};

static uint8_t bit(unsigned irq)
{
	return (uint8_t)(1u << (irq & 7));
}

/* Inputs whose IRR follows the line. The master's IR2 is the slave's INT
 * output, treated as a level when the master is cascaded. */
static uint8_t level_mask(const struct i8259_chip *c, unsigned which)
{
	uint8_t m = c->ltim ? 0xFF : c->elcr;

	if (which == MASTER && !c->single)
		m |= CASCADE_BIT;
	return m;
}

/* 0 is the highest priority, 7 the lowest. */
static unsigned prio(const struct i8259_chip *c, unsigned irq)
{
	return (irq - c->lowest - 1) & 7;
}

/* The IRQ of highest priority among BITS, or -1. */
static int highest(const struct i8259_chip *c, uint8_t bits)
{
	for (unsigned i = 0; i < 8; i++) {
		unsigned irq = (c->lowest + 1 + i) & 7;

		if (bits & bit(irq))
			return (int)irq;
	}
	return -1;
}

/* The IRQ this chip would hand the CPU now, or -1: the highest unmasked
 * request, if its priority is above every (relevant) in-service level. */
static int resolve(const struct i8259_chip *c, unsigned which)
{
	uint8_t isr = c->isr;
	int irq, in;

	if (c->init_step)
		return -1;
	irq = highest(c, c->irr & (uint8_t)~c->imr);
	if (irq < 0)
		return -1;
	if (c->special_mask)
		isr &= (uint8_t)~c->imr; /* masked levels in service block nothing */
	in = highest(c, isr);
	if (in < 0)
		return irq;
	if (prio(c, (unsigned)irq) < prio(c, (unsigned)in))
		return irq;
	/* Special fully nested mode: the slave may interrupt its own level. */
	if (which == MASTER && c->sfnm && !c->single && irq == in && irq == I8259_CASCADE_IRQ)
		return irq;
	return -1;
}

/* The slave's INT drives the master's IR2. */
static void sync_cascade(struct i8259_pair *p)
{
	struct i8259_chip *m = &p->chip[MASTER];
	bool out = resolve(&p->chip[SLAVE], SLAVE) >= 0;

	m->lines = (uint8_t)((m->lines & ~CASCADE_BIT) | (out ? CASCADE_BIT : 0));
	if (level_mask(m, MASTER) & CASCADE_BIT)
		m->irr = (uint8_t)((m->irr & ~CASCADE_BIT) | (out ? CASCADE_BIT : 0));
}

/* IRQ leaves IRR (edge inputs) and enters ISR, or is ended at once in
 * auto-EOI mode (rotating if asked to). */
static void accept(struct i8259_chip *c, unsigned which, unsigned irq)
{
	if (!(level_mask(c, which) & bit(irq)))
		c->irr &= (uint8_t)~bit(irq);
	if (c->auto_eoi) {
		if (c->rotate_aeoi)
			c->lowest = (uint8_t)irq;
	} else {
		c->isr |= bit(irq);
	}
}

static void icw1(struct i8259_chip *c, unsigned which, uint8_t v)
{
	c->init_step = 2;
	c->need_icw4 = v & 1;
	c->single = (v >> 1) & 1;
	c->ltim = (v >> 3) & 1;
	c->imr = 0;
	c->isr = 0;
	c->lowest = 7;
	c->icw4 = 0;
	c->auto_eoi = 0;
	c->rotate_aeoi = 0;
	c->sfnm = 0;
	c->read_isr = 0;
	c->poll = 0;
	c->special_mask = 0;
	/* The edge sense is reset: an input already high must rise again. */
	c->irr = c->lines & level_mask(c, which);
}

static void write_data(struct i8259_chip *c, uint8_t v)
{
	switch (c->init_step) {
	case 2:
		c->vector_base = v & 0xF8;
		c->init_step = c->single ? (c->need_icw4 ? 4 : 0) : 3;
		break;
	case 3:
		c->icw3 = v;
		c->init_step = c->need_icw4 ? 4 : 0;
		break;
	case 4:
		c->icw4 = v;
		c->auto_eoi = (v >> 1) & 1;
		c->sfnm = (v >> 4) & 1;
		c->init_step = 0;
		break;
	default:
		c->imr = v; /* OCW1 */
		break;
	}
}

static void ocw2(struct i8259_chip *c, uint8_t v)
{
	unsigned level = v & 7;
	int irq;

	switch (v >> 5) {
	case 0: /* rotate in auto-EOI mode: clear */
		c->rotate_aeoi = 0;
		break;
	case 4: /* rotate in auto-EOI mode: set */
		c->rotate_aeoi = 1;
		break;
	case 1: /* non-specific EOI */
	case 5: /* rotate on non-specific EOI */
		irq = highest(c, c->isr);
		if (irq < 0)
			break;
		c->isr &= (uint8_t)~bit((unsigned)irq);
		if (v >> 5 == 5)
			c->lowest = (uint8_t)irq;
		break;
	case 3: /* specific EOI */
		c->isr &= (uint8_t)~bit(level);
		break;
	case 7: /* rotate on specific EOI */
		c->isr &= (uint8_t)~bit(level);
		c->lowest = (uint8_t)level;
		break;
	case 6: /* set priority */
		c->lowest = (uint8_t)level;
		break;
	default: /* 2: no operation */
		break;
	}
}

static void write_cmd(struct i8259_chip *c, unsigned which, uint8_t v)
{
	if (v & 0x10) {
		icw1(c, which, v);
	} else if (v & 0x08) { /* OCW3 */
		if (v & 0x40)
			c->special_mask = (v >> 5) & 1;
		if (v & 0x04)
			c->poll = 1;
		if (v & 0x02)
			c->read_isr = v & 1;
	} else {
		ocw2(c, v);
	}
}

/* A poll read: an acknowledge without INTA, reported as a status byte. */
static uint8_t poll_read(struct i8259_chip *c, unsigned which)
{
	int irq = resolve(c, which);

	c->poll = 0;
	if (irq < 0)
		return 0;
	accept(c, which, (unsigned)irq);
	return (uint8_t)(0x80 | irq);
}

void i8259_init(struct i8259_pair *p)
{
	memset(p, 0, sizeof(*p));
	for (unsigned i = 0; i < 2; i++)
		p->chip[i].lowest = 7;
}

uint8_t i8259_read(struct i8259_pair *p, uint16_t port)
{
	struct i8259_chip *c;
	unsigned which;
	uint8_t v;

	switch (port) {
	case I8259_MASTER_CMD:
	case I8259_MASTER_DATA:
		which = MASTER;
		break;
	case I8259_SLAVE_CMD:
	case I8259_SLAVE_DATA:
		which = SLAVE;
		break;
	case I8259_ELCR0:
		return p->chip[MASTER].elcr;
	case I8259_ELCR1:
		return p->chip[SLAVE].elcr;
	default:
		return 0xFF;
	}
	c = &p->chip[which];
	if (port & 1)
		return c->imr;
	if (!c->poll)
		return c->read_isr ? c->isr : c->irr;
	v = poll_read(c, which);
	sync_cascade(p);
	return v;
}

void i8259_write(struct i8259_pair *p, uint16_t port, uint8_t v)
{
	switch (port) {
	case I8259_MASTER_CMD:
		write_cmd(&p->chip[MASTER], MASTER, v);
		break;
	case I8259_MASTER_DATA:
		write_data(&p->chip[MASTER], v);
		break;
	case I8259_SLAVE_CMD:
		write_cmd(&p->chip[SLAVE], SLAVE, v);
		break;
	case I8259_SLAVE_DATA:
		write_data(&p->chip[SLAVE], v);
		break;
	case I8259_ELCR0:
	case I8259_ELCR1: {
		unsigned which = port & 1;
		struct i8259_chip *c = &p->chip[which];
		uint8_t lvl;

		c->elcr = v & elcr_writable[which];
		lvl = level_mask(c, which);
		c->irr = (uint8_t)((c->irr & ~lvl) | (c->lines & lvl));
		break;
	}
	default:
		return;
	}
	sync_cascade(p);
}

void i8259_set_irq(struct i8259_pair *p, unsigned irq, bool level)
{
	unsigned which = irq >> 3;
	struct i8259_chip *c;
	uint8_t b;

	if (irq > 15 || irq == I8259_CASCADE_IRQ)
		return;
	c = &p->chip[which];
	b = bit(irq);
	if (level_mask(c, which) & b) {
		c->irr = level ? (uint8_t)(c->irr | b) : (uint8_t)(c->irr & ~b);
	} else if (level && !(c->lines & b)) {
		c->irr |= b; /* rising edge; a falling one leaves the latch */
	}
	c->lines = level ? (uint8_t)(c->lines | b) : (uint8_t)(c->lines & ~b);
	sync_cascade(p);
}

bool i8259_pending(const struct i8259_pair *p)
{
	return resolve(&p->chip[MASTER], MASTER) >= 0;
}

int i8259_acknowledge(struct i8259_pair *p)
{
	struct i8259_chip *m = &p->chip[MASTER], *s = &p->chip[SLAVE];
	int irq = resolve(m, MASTER), sirq;
	int vec;

	if (irq < 0)
		return m->vector_base | 7; /* spurious IRQ 7 */
	accept(m, MASTER, (unsigned)irq);
	if (irq != I8259_CASCADE_IRQ || m->single) {
		vec = m->vector_base | irq;
	} else {
		sirq = resolve(s, SLAVE);
		if (sirq < 0) {
			vec = s->vector_base | 7; /* spurious IRQ 15 */
		} else {
			accept(s, SLAVE, (unsigned)sirq);
			vec = s->vector_base | sirq;
		}
	}
	sync_cascade(p);
	return vec;
}

static bool chip_valid(const struct i8259_chip *c, unsigned which)
{
	const uint8_t flags[] = {c->need_icw4, c->single,   c->ltim, c->auto_eoi,    c->rotate_aeoi,
				 c->sfnm,      c->read_isr, c->poll, c->special_mask};

	for (size_t i = 0; i < sizeof(flags); i++)
		if (flags[i] > 1)
			return false;
	return (c->init_step == 0 || (c->init_step >= 2 && c->init_step <= 4)) && c->lowest < 8 &&
	       !(c->vector_base & 7) && !(c->elcr & ~elcr_writable[which]);
}

bool i8259_state_valid(const struct i8259_pair *s)
{
	return chip_valid(&s->chip[MASTER], MASTER) && chip_valid(&s->chip[SLAVE], SLAVE);
}

bool i8259_restore(struct i8259_pair *p, const struct i8259_pair *s)
{
	if (!i8259_state_valid(s))
		return false;
	*p = *s;
	sync_cascade(p); /* IR2 is derived: never trust a saved copy */
	return true;
}
