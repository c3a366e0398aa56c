/* The ACPI PM1 block and PM timer of a PIIX4-like chipset, and the 0xCF9
 * reset register (see include/keel/acpi_pm.h).
 *
 * The timer is one number, ref_ns, when it read 0: at now_ns it has run
 * floor((now_ns - ref_ns) * 3579545 / 1e9) ticks, computed in two parts
 * so that nothing overflows or needs a 128-bit division. TMR_STS is
 * brought up to date lazily, at each access, from the count of bit-23
 * changes (ticks >> 23) seen so far. */
#include <keel/acpi_pm.h>
#include <keel/string.h>

#define NS_PER_S 1000000000ULL
#define FLIP_SHIFT 23 /* TMR_STS: each change of the timer's bit 23 */

#define STS_MASK                                                                       \
	(ACPI_PM1_TMR_STS | ACPI_PM1_BM_STS | ACPI_PM1_GBL_STS | ACPI_PM1_PWRBTN_STS | \
	 ACPI_PM1_RTC_STS | ACPI_PM1_WAK_STS)
#define EN_MASK (ACPI_PM1_TMR_EN | ACPI_PM1_GBL_EN | ACPI_PM1_PWRBTN_EN | ACPI_PM1_RTC_EN)
#define CNT_MASK (ACPI_PM1_BM_RLD | ACPI_PM1_SLP_TYP) /* bits kept */

static uint32_t ones(unsigned size)
{
	return size == 1 ? 0xFFu : size == 2 ? 0xFFFFu : 0xFFFFFFFFu;
}

static bool valid_size(unsigned size)
{
	return size == 1 || size == 2 || size == 4;
}

/* Timer ticks since init (the full count, not wrapped). */
static uint64_t ticks(const struct acpi_pm *pm, uint64_t now)
{
	uint64_t d = now > pm->ref_ns ? now - pm->ref_ns : 0;

	return d / NS_PER_S * ACPI_PM_TMR_HZ + d % NS_PER_S * ACPI_PM_TMR_HZ / NS_PER_S;
}

/* The first nanosecond (relative to ref_ns) at which T ticks have run:
 * ceil(T * 1e9 / HZ), or UINT64_MAX if beyond. */
static uint64_t ticks_to_ns(uint64_t t)
{
	uint64_t q = t / ACPI_PM_TMR_HZ, r = t % ACPI_PM_TMR_HZ;
	uint64_t frac = (r * NS_PER_S + ACPI_PM_TMR_HZ - 1) / ACPI_PM_TMR_HZ;

	if (q > (UINT64_MAX - frac) / NS_PER_S)
		return UINT64_MAX;
	return q * NS_PER_S + frac;
}

static void update(struct acpi_pm *pm, uint64_t now)
{
	uint64_t flips = ticks(pm, now) >> FLIP_SHIFT;

	if (flips > pm->seen_flips) {
		pm->sts |= ACPI_PM1_TMR_STS;
		pm->seen_flips = flips;
	}
}

void acpi_pm_init(struct acpi_pm *pm, uint16_t base, uint64_t now_ns)
{
	memset(pm, 0, sizeof(*pm));
	pm->base = base;
	pm->ref_ns = now_ns;
	pm->request = ACPI_PM_REQ_NONE;
}

/* The block offset of byte I of an access at PORT, or ACPI_PM_LEN or more
 * if that byte is not in the block (also past port 0xFFFF: no wrap). */
static uint32_t offset(const struct acpi_pm *pm, uint16_t port, unsigned i)
{
	uint32_t p = (uint32_t)port + i;

	return p > 0xFFFF || p < pm->base ? ACPI_PM_LEN : p - pm->base;
}

/* Byte OFF (0-11) of the block; TMR is the timer's value. */
static uint8_t read_byte(const struct acpi_pm *pm, unsigned off, uint32_t tmr)
{
	uint32_t v;

	switch (off & ~1u) {
	case ACPI_PM1_STS:
		v = pm->sts;
		break;
	case ACPI_PM1_EN:
		v = pm->en;
		break;
	case ACPI_PM1_CNT:
		v = pm->cnt | ACPI_PM1_SCI_EN;
		break;
	case ACPI_PM_TMR:
	case ACPI_PM_TMR + 2:
		return (uint8_t)(tmr >> (8 * (off - ACPI_PM_TMR)));
	default:
		return 0;
	}
	return (uint8_t)(v >> (8 * (off & 1)));
}

static void write_byte(struct acpi_pm *pm, unsigned off, uint8_t b)
{
	unsigned sh = 8 * (off & 1);
	uint16_t v = (uint16_t)(b << sh), lane = (uint16_t)(0xFF << sh);

	switch (off & ~1u) {
	case ACPI_PM1_STS:
		pm->sts &= (uint16_t) ~(v & STS_MASK);
		break;
	case ACPI_PM1_EN:
		pm->en = (uint16_t)((pm->en & ~lane) | (v & EN_MASK));
		break;
	case ACPI_PM1_CNT:
		pm->cnt = (uint16_t)((pm->cnt & ~lane) | (v & CNT_MASK));
		if (v & ACPI_PM1_SLP_EN) {
			unsigned typ = (pm->cnt & ACPI_PM1_SLP_TYP) >> ACPI_PM1_SLP_TYP_SHIFT;

			pm->request = typ == ACPI_PM_SLP_TYP_S5 ? ACPI_PM_REQ_POWEROFF
								: ACPI_PM_REQ_SLEEP_OTHER;
		}
		break;
	default:
		break; /* the timer and the reserved bytes are read-only */
	}
}

uint32_t acpi_pm_read(struct acpi_pm *pm, uint16_t port, unsigned size, uint64_t now_ns)
{
	uint32_t v = 0, tmr;

	if (!valid_size(size))
		return ones(size);
	update(pm, now_ns);
	tmr = (uint32_t)(ticks(pm, now_ns) & ACPI_PM_TMR_MASK);
	for (unsigned i = 0; i < size; i++) {
		uint32_t off = offset(pm, port, i);
		uint8_t b = off < ACPI_PM_LEN ? read_byte(pm, off, tmr) : 0xFF;

		v |= (uint32_t)b << (8 * i);
	}
	return v;
}

void acpi_pm_write(struct acpi_pm *pm, uint16_t port, unsigned size, uint32_t value,
		   uint64_t now_ns)
{
	if (!valid_size(size))
		return;
	/* Timer flips up to now are status the guest may be clearing. */
	update(pm, now_ns);
	for (unsigned i = 0; i < size; i++) {
		uint32_t off = offset(pm, port, i);

		if (off < ACPI_PM_LEN)
			write_byte(pm, off, (uint8_t)(value >> (8 * i)));
	}
}

enum acpi_pm_request acpi_pm_take_request(struct acpi_pm *pm)
{
	enum acpi_pm_request r = (enum acpi_pm_request)pm->request;

	pm->request = ACPI_PM_REQ_NONE;
	return r;
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
	pm->sts |= ACPI_PM1_PWRBTN_STS;
}

bool acpi_pm_sci_level(struct acpi_pm *pm, uint64_t now_ns)
{
	update(pm, now_ns);
	return (pm->sts & pm->en) != 0;
}

uint64_t acpi_pm_sci_deadline(const struct acpi_pm *pm, uint64_t now_ns)
{
	uint64_t at;

	if (pm->sts & pm->en || !(pm->en & ACPI_PM1_TMR_EN))
		return UINT64_MAX; /* high already, or only the timer can raise it */
	if ((ticks(pm, now_ns) >> FLIP_SHIFT) > pm->seen_flips)
		return now_ns; /* a flip not yet seen: rises at the next look */
	if (pm->seen_flips >= UINT64_MAX >> FLIP_SHIFT)
		return UINT64_MAX;
	at = ticks_to_ns((pm->seen_flips + 1) << FLIP_SHIFT);
	return at > UINT64_MAX - pm->ref_ns ? UINT64_MAX : pm->ref_ns + at;
}

bool acpi_pm_state_valid(const struct acpi_pm *s)
{
	return !(s->sts & ~STS_MASK) && !(s->en & ~EN_MASK) && !(s->cnt & ~CNT_MASK) &&
	       s->request <= ACPI_PM_REQ_RESET;
}

void reset_cf9_init(struct reset_cf9 *r)
{
	r->rc = 0;
	r->request = ACPI_PM_REQ_NONE;
}

uint32_t reset_cf9_read(struct reset_cf9 *r, uint16_t port, unsigned size)
{
	if (port != RESET_CF9_PORT || size != 1)
		return ones(size);
	return r->rc;
}

void reset_cf9_write(struct reset_cf9 *r, uint16_t port, unsigned size, uint32_t value)
{
	if (port != RESET_CF9_PORT || size != 1)
		return;
	r->rc = (uint8_t)(value & (RESET_CF9_SRST | RESET_CF9_FULL));
	if (value & RESET_CF9_RCPU)
		r->request = ACPI_PM_REQ_RESET;
}

enum acpi_pm_request reset_cf9_take_request(struct reset_cf9 *r)
{
	enum acpi_pm_request req = (enum acpi_pm_request)r->request;

	r->request = ACPI_PM_REQ_NONE;
	return req;
}
