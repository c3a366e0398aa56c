/* The 8254 PIT and port 0x61 (see include/keel/i8254.h for the model).
 *
 * Time is counted in edges of the 1193182 Hz input clock since init_ns.
 * A counting channel is described by the edge `base` at which it held
 * `val` (modes 0/1/4/5, counting down by one per edge, wrapping) or its
 * reload count `n` (modes 2/3, periodic from `base`); everything else
 * (current count, OUT, edges of OUT) is computed from the edge index now,
 * so nothing has to run between two guest accesses.
 *
 * No 128-bit division here: the hypervisor links without libgcc. */
#include <keel/i8254.h>
#include <keel/string.h>

#define NS_PER_S 1000000000ULL
#define HZ ((uint64_t)I8254_HZ)
#define NEVER UINT64_MAX
#define REFRESH_CLOCKS 18 /* channel 1's DRAM refresh period, as a BIOS sets it */
#define MAX_EDGE (1ULL << 62) /* ~122,000 years of clock edges */

/* Clock edges by time T: floor((T - init_ns) * HZ / 1e9), exactly. */
static uint64_t edges(const struct i8254 *p, uint64_t t)
{
	uint64_t d;

	if (t <= p->init_ns)
		return 0;
	d = t - p->init_ns;
	return d / NS_PER_S * HZ + d % NS_PER_S * HZ / NS_PER_S;
}

/* When edge K happens: init_ns + ceil(K * 1e9 / HZ), at most UINT64_MAX - 1. */
static uint64_t edge_time(const struct i8254 *p, uint64_t k)
{
	uint64_t s = k / HZ, off = (k % HZ * NS_PER_S + HZ - 1) / HZ;
	uint64_t room = UINT64_MAX - 1 - p->init_ns - off;

	if (s > room / NS_PER_S)
		return UINT64_MAX - 1;
	return p->init_ns + s * NS_PER_S + off;
}

/* Modes 6 and 7 are modes 2 and 3. */
static unsigned mode_of(const struct i8254_channel *c)
{
	return c->mode > 5 ? c->mode - 4u : c->mode;
}

static bool periodic(const struct i8254_channel *c)
{
	return mode_of(c) == 2 || mode_of(c) == 3;
}

static uint32_t modulus(const struct i8254_channel *c)
{
	return c->bcd ? 10000 : 65536;
}

static uint16_t to_bcd(uint32_t v)
{
	v %= 10000;
	return (uint16_t)(v / 1000 << 12 | v / 100 % 10 << 8 | v / 10 % 10 << 4 | v % 10);
}

/* A count register value as clocks: 0 is the full range. */
static uint32_t count_of(const struct i8254_channel *c, uint16_t raw)
{
	uint32_t m = modulus(c), n = raw;

	if (c->bcd)
		n = ((raw >> 12) * 1000u + (raw >> 8 & 15) * 100u + (raw >> 4 & 15) * 10u +
		     (raw & 15)) %
		    m;
	return n ? n : m;
}

/* The periodic schedule in force at edge E: a pending count takes over at
 * the end of the period it was written in. */
static void schedule(const struct i8254_channel *c, uint64_t e, uint64_t *base, uint32_t *n)
{
	if (c->next_n && e >= c->switch_edge) {
		*base = c->switch_edge;
		*n = c->next_n;
	} else {
		*base = c->base;
		*n = c->n;
	}
}

/* The counter's value (binary) and OUT at edge E. */
static bool eval(const struct i8254_channel *c, uint64_t e, uint32_t *val)
{
	unsigned mode = mode_of(c);
	uint32_t m = modulus(c), n, ph, half;
	uint64_t base, k;

	*val = c->val;
	if (c->phase == I8254_IDLE)
		return mode != 0;
	if (c->phase != I8254_COUNTING) /* armed or stopped */
		return mode != 0 || c->dist == 0;
	schedule(c, e, &base, &n);
	if (e < base) /* the count loads at edge `base` */
		return mode != 0;
	k = e - base;
	switch (mode) {
	case 2:
		ph = (uint32_t)(k % n);
		*val = (n - ph) % m;
		return n == 1 || ph != n - 1; /* low for the clock at count 1 */
	case 3:
		ph = (uint32_t)(k % n);
		half = (n + 1) / 2; /* odd counts: high one clock longer */
		if (ph >= half)
			ph -= half;
		*val = ((n & 1) ? n - 1 - 2 * ph : n - 2 * ph) % m;
		return (uint32_t)(k % n) < half;
	case 0:
	case 1:
		*val = (uint32_t)((c->val + m - k % m) % m);
		return !c->dist || k >= c->dist;
	default: /* 4, 5: low for the one clock at terminal count */
		*val = (uint32_t)((c->val + m - k % m) % m);
		return !c->dist || k != c->dist;
	}
}

static uint64_t periods(uint64_t base, uint32_t n, uint64_t x)
{
	return x < base ? 0 : (x - base) / n;
}

/* Count-driven rising edges of OUT at edges <= X under the current
 * programming (a monotonic count: callers take differences). */
static uint64_t rises(const struct i8254_channel *c, uint64_t x)
{
	if (c->phase != I8254_COUNTING)
		return 0;
	switch (mode_of(c)) {
	case 2:
	case 3:
		if (c->next_n && x >= c->switch_edge)
			return periods(c->base, c->n, c->switch_edge) +
			       periods(c->switch_edge, c->next_n, x);
		return periods(c->base, c->n, x);
	case 0:
	case 1:
		return c->dist && x >= c->base + c->dist;
	default:
		return c->dist && x >= c->base + c->dist + 1;
	}
}

/* The first rising edge of OUT after edge X, or NEVER. */
static uint64_t next_rise(const struct i8254_channel *c, uint64_t x)
{
	uint64_t base, t;
	uint32_t n;

	if (c->phase != I8254_COUNTING)
		return NEVER;
	switch (mode_of(c)) {
	case 2:
	case 3:
		schedule(c, x, &base, &n);
		return x < base ? base + n : base + ((x - base) / n + 1) * n;
	case 0:
	case 1:
		t = c->base + c->dist;
		break;
	default:
		t = c->base + c->dist + 1;
		break;
	}
	return c->dist && t > x ? t : NEVER;
}

/* Bring the state to edge E: count IRQ 0 edges, apply due count switches. */
static uint64_t advance(struct i8254 *p, uint64_t now)
{
	uint64_t e = edges(p, now);

	if (e <= p->irq0_seen) {
		e = p->irq0_seen; /* time never runs backwards for the device */
	} else {
		p->irq0_backlog += rises(&p->ch[0], e) - rises(&p->ch[0], p->irq0_seen);
		p->irq0_seen = e;
	}
	for (unsigned i = 0; i < 3; i++) {
		struct i8254_channel *c = &p->ch[i];

		if (c->phase != I8254_COUNTING)
			continue;
		if (c->next_n && e >= c->switch_edge) {
			c->base = c->switch_edge;
			c->n = c->next_n;
			c->next_n = 0;
		}
		if (!c->next_n && e >= c->base)
			c->null_count = 0;
	}
	return e;
}

static void freeze(struct i8254_channel *c, uint64_t e)
{
	uint32_t v;

	(void)eval(c, e, &v);
	c->val = v;
}

/* A complete count N written at edge E. */
static void load(struct i8254_channel *c, uint32_t n, uint64_t e)
{
	c->null_count = 1;
	if (mode_of(c) == 1 || mode_of(c) == 5) {
		c->n = n; /* used by the next trigger */
		if (c->phase != I8254_COUNTING)
			c->phase = I8254_ARMED;
		return;
	}
	if (periodic(c) && c->phase == I8254_COUNTING && e >= c->base) {
		if (!c->next_n)
			c->switch_edge = c->base + ((e - c->base) / c->n + 1) * c->n;
		c->next_n = n;
		return;
	}
	c->n = n;
	c->val = n % modulus(c);
	c->dist = n;
	c->next_n = 0;
	c->base = e + 1;
	c->phase = c->gate ? I8254_COUNTING : I8254_STOPPED;
}

static void write_count(struct i8254_channel *c, uint8_t v, uint64_t e)
{
	uint16_t raw;

	switch (c->rw) {
	case 1:
		raw = v;
		break;
	case 2:
		raw = (uint16_t)(v << 8);
		break;
	default:
		if (!c->write_msb) {
			c->lsb = v;
			c->write_msb = 1;
			if (mode_of(c) == 0) { /* the first byte stops the count */
				freeze(c, e);
				c->phase = I8254_IDLE;
			}
			return;
		}
		c->write_msb = 0;
		raw = (uint16_t)(c->lsb | v << 8);
		break;
	}
	load(c, count_of(c, raw), e);
}

static void latch_count(struct i8254_channel *c, uint64_t e)
{
	uint32_t v;

	if (c->count_latched)
		return; /* the first latch holds until read */
	(void)eval(c, e, &v);
	c->latch = c->bcd ? to_bcd(v) : (uint16_t)v;
	c->count_latched = 1;
}

static void latch_status(struct i8254_channel *c, uint64_t e)
{
	uint32_t v;
	bool out = eval(c, e, &v);

	if (c->status_latched)
		return;
	c->status =
	    (uint8_t)((out ? 0x80 : 0) | c->null_count << 6 | c->rw << 4 | c->mode << 1 | c->bcd);
	c->status_latched = 1;
}

static void control(struct i8254 *p, uint8_t v, uint64_t e)
{
	struct i8254_channel *c;

	if (v >> 6 == 3) { /* read-back: bit 5 clear latches counts, bit 4 status */
		for (unsigned i = 0; i < 3; i++) {
			if (!(v & 2 << i))
				continue;
			if (!(v & 0x10))
				latch_status(&p->ch[i], e);
			if (!(v & 0x20))
				latch_count(&p->ch[i], e);
		}
		return;
	}
	c = &p->ch[v >> 6];
	if (!(v & 0x30)) {
		latch_count(c, e);
		return;
	}
	freeze(c, e);
	c->rw = (v >> 4) & 3;
	c->mode = (v >> 1) & 7;
	c->bcd = v & 1;
	if (c->n > modulus(c))
		c->n = modulus(c); /* unused until a count comes, but in range */
	c->phase = I8254_IDLE;
	c->null_count = 1;
	c->next_n = 0;
	c->dist = 0;
	c->write_msb = 0;
	c->read_msb = 0;
	c->count_latched = 0;
	c->status_latched = 0;
}

static uint8_t read_counter(struct i8254_channel *c, uint64_t e)
{
	uint16_t raw;
	uint32_t v;
	bool msb;

	if (c->status_latched) {
		c->status_latched = 0;
		return c->status;
	}
	if (c->count_latched) {
		raw = c->latch;
	} else {
		(void)eval(c, e, &v);
		raw = c->bcd ? to_bcd(v) : (uint16_t)v;
	}
	msb = c->rw == 2 || (c->rw == 3 && c->read_msb);
	if (c->rw == 3)
		c->read_msb ^= 1;
	if (c->rw != 3 || !c->read_msb)
		c->count_latched = 0; /* every byte of the latch read */
	return (uint8_t)(msb ? raw >> 8 : raw);
}

static void set_gate(struct i8254_channel *c, uint8_t g, uint64_t e)
{
	unsigned mode = mode_of(c);

	if (g == c->gate)
		return;
	c->gate = g;
	if (g) {
		if ((mode == 1 || mode == 5) && c->phase != I8254_IDLE) {
			c->phase = I8254_COUNTING; /* (re)trigger */
			c->base = e + 1;
			c->val = c->n % modulus(c);
			c->dist = c->n;
		} else if (c->phase == I8254_STOPPED) {
			c->phase = I8254_COUNTING;
			if (mode == 0 || mode == 4) {
				c->base = e; /* resumes from the frozen count */
			} else { /* 2, 3: the rising gate reloads */
				if (c->next_n)
					c->n = c->next_n;
				c->next_n = 0;
				c->base = e + 1;
				c->val = c->n % modulus(c);
			}
		}
		return;
	}
	if (c->phase != I8254_COUNTING || mode == 1 || mode == 5)
		return;
	if ((mode == 0 || mode == 4) && e >= c->base)
		c->dist = c->dist > e - c->base ? c->dist - (uint32_t)(e - c->base) : 0;
	freeze(c, e);
	c->phase = I8254_STOPPED;
}

void i8254_init(struct i8254 *p, uint64_t now_ns)
{
	memset(p, 0, sizeof(*p));
	p->init_ns = now_ns;
	for (unsigned i = 0; i < 3; i++) {
		p->ch[i].rw = 3;
		p->ch[i].n = 65536;
		p->ch[i].gate = i < 2; /* channels 0 and 1 are gated on */
	}
}

uint8_t i8254_read(struct i8254 *p, uint16_t port, uint64_t now_ns)
{
	uint64_t e;
	uint32_t v;
	uint8_t b;

	if (port != I8254_PORT_B && (port < I8254_PORT_BASE || port > I8254_PORT_BASE + 2))
		return 0xFF; /* also the write-only control port */
	e = advance(p, now_ns);
	if (port != I8254_PORT_B)
		return read_counter(&p->ch[port - I8254_PORT_BASE], e);
	b = p->port_b;
	if (e / REFRESH_CLOCKS & 1)
		b |= 0x10;
	if (eval(&p->ch[2], e, &v))
		b |= 0x20;
	return b;
}

void i8254_write(struct i8254 *p, uint16_t port, uint8_t v, uint64_t now_ns)
{
	uint64_t e;

	if (port != I8254_PORT_B && (port < I8254_PORT_BASE || port > I8254_PORT_CTRL))
		return;
	e = advance(p, now_ns);
	if (port == I8254_PORT_B) {
		p->port_b = v & 0x0F;
		set_gate(&p->ch[2], v & 1, e);
	} else if (port == I8254_PORT_CTRL) {
		control(p, v, e);
	} else {
		write_count(&p->ch[port - I8254_PORT_BASE], v, e);
	}
}

uint64_t i8254_irq0_deadline(const struct i8254 *p, uint64_t now_ns)
{
	uint64_t k;

	if (p->irq0_backlog)
		return now_ns;
	k = next_rise(&p->ch[0], p->irq0_seen);
	return k == NEVER ? NEVER : edge_time(p, k);
}

unsigned i8254_irq0_ticks(struct i8254 *p, uint64_t now_ns)
{
	uint64_t t;

	advance(p, now_ns);
	t = p->irq0_backlog;
	p->irq0_backlog = 0;
	return t > UINT32_MAX ? UINT32_MAX : (unsigned)t;
}

bool i8254_out(const struct i8254 *p, unsigned ch, uint64_t now_ns)
{
	uint32_t v;

	return ch < 3 && eval(&p->ch[ch], edges(p, now_ns), &v);
}

static bool channel_valid(const struct i8254_channel *c)
{
	const uint8_t flags[] = {c->bcd,      c->gate,          c->null_count,    c->write_msb,
				 c->read_msb, c->count_latched, c->status_latched};
	uint32_t m = modulus(c);

	for (size_t i = 0; i < sizeof(flags); i++)
		if (flags[i] > 1)
			return false;
	return c->mode < 8 && c->rw >= 1 && c->rw <= 3 && c->phase <= I8254_STOPPED && c->n >= 1 &&
	       c->n <= m && c->next_n <= m && c->val < 65536 && c->dist <= 65536 &&
	       c->base < MAX_EDGE && c->switch_edge < MAX_EDGE &&
	       (!c->next_n || c->switch_edge >= c->base);
}

bool i8254_state_valid(const struct i8254 *s)
{
	for (unsigned i = 0; i < 3; i++)
		if (!channel_valid(&s->ch[i]))
			return false;
	return s->port_b <= 0x0F && s->irq0_seen < MAX_EDGE && s->init_ns < UINT64_MAX / 2;
}
