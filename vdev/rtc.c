/* The MC146818A RTC and CMOS RAM (see include/keel/rtc.h for the model).
 *
 * A running clock is one number: `secs` seconds at `ref_ns`, so the time
 * at now_ns is secs + (now_ns - ref_ns) / 1e9 and the registers are that
 * time's calendar fields. A stopped clock (SET bit, or the divider held) is
 * the calendar fields themselves (`held`), so a guest may write them in any
 * order, as on the chip. Interrupt flags are brought up to date lazily, at
 * each access, from the seconds and 32768 Hz ticks seen so far. */
#include <keel/rtc.h>
#include <keel/string.h>

#define NS_PER_S 1000000000ULL
#define DAY 86400
#define RTC_HZ 32768
#define UIP_NS 244141 /* 8 cycles of 32768 Hz before each update */
#define NEVER UINT64_MAX
#define T_MIN (-62167219200LL) /* 0000-01-01 00:00:00 */
#define T_MAX 253402300799LL /* 9999-12-31 23:59:59 */
#define SEEN_MAX (1LL << 40)

#define REG_A 0x0A
#define REG_B 0x0B
#define REG_C 0x0C
#define REG_D 0x0D
#define A_UIP 0x80
#define A_DIV 0x70
#define A_DIV_RUN 0x20 /* 32.768 kHz time base, divider running */
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_BINARY 0x04
#define B_24H 0x02
#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10
#define D_VRT 0x80

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t rtc_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t mm = m, era, yoe, doy, doe;

	if (mm <= 2)
		y--;
	era = floor_div(y, 400);
	yoe = y - era * 400; /* 0-399, years starting in March */
	doy = (153 * (mm > 2 ? mm - 3 : mm + 9) + 2) / 5 + (int64_t)d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468; /* 719468: 0000-03-01 to 1970-01-01 */
}

static uint8_t weekday(int64_t days)
{
	return (uint8_t)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
}

void rtc_time_to_tm(int64_t t, struct rtc_tm *tm)
{
	int64_t days = floor_div(t, DAY), sod = t - days * DAY;
	int64_t z = days + 719468, era = floor_div(z, 146097), doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153, m = mp < 10 ? mp + 3 : mp - 9;

	tm->year = yoe + era * 400 + (m <= 2);
	tm->mon = (uint8_t)m;
	tm->mday = (uint8_t)(doy - (153 * mp + 2) / 5 + 1);
	tm->hour = (uint8_t)(sod / 3600);
	tm->min = (uint8_t)(sod / 60 % 60);
	tm->sec = (uint8_t)(sod % 60);
	tm->wday = weekday(days);
}

int64_t rtc_tm_to_time(const struct rtc_tm *tm)
{
	return rtc_days_from_civil(tm->year, tm->mon, tm->mday) * DAY + tm->hour * 3600 +
	       tm->min * 60 + tm->sec;
}

static int64_t clamp_time(int64_t t)
{
	return t < T_MIN ? T_MIN : t > T_MAX ? T_MAX : t;
}

static bool divider_runs(const struct rtc *r)
{
	return (r->cmos[REG_A] & A_DIV) == A_DIV_RUN;
}

static bool should_freeze(const struct rtc *r)
{
	return (r->cmos[REG_B] & B_SET) || !divider_runs(r);
}

static uint64_t elapsed(const struct rtc *r, uint64_t now)
{
	return now > r->ref_ns ? now - r->ref_ns : 0;
}

static int64_t cur_secs(const struct rtc *r, uint64_t now)
{
	if (r->frozen)
		return rtc_tm_to_time(&r->held);
	return r->secs + (int64_t)(elapsed(r, now) / NS_PER_S);
}

static void cur_tm(const struct rtc *r, uint64_t now, struct rtc_tm *tm)
{
	if (r->frozen) {
		*tm = r->held;
		tm->wday = weekday(rtc_days_from_civil(tm->year, tm->mon, tm->mday));
	} else {
		rtc_time_to_tm(cur_secs(r, now), tm);
	}
}

/* 32768 Hz ticks since the divider started. */
static uint64_t ticks(const struct rtc *r, uint64_t now)
{
	uint64_t d = now > r->div_ns ? now - r->div_ns : 0;

	return d / NS_PER_S * RTC_HZ + d % NS_PER_S * RTC_HZ / NS_PER_S;
}

/* The periodic interrupt's period in 32768 Hz ticks, 0 if off. */
static uint64_t period(const struct rtc *r)
{
	unsigned rs = r->cmos[REG_A] & 15;

	if (rs == 0)
		return 0;
	if (rs <= 2)
		rs += 7; /* rates 1 and 2 repeat 8 and 9 */
	return 1ULL << (rs - 1);
}

static uint8_t encode(const struct rtc *r, unsigned v)
{
	if (r->cmos[REG_B] & B_BINARY)
		return (uint8_t)v;
	return (uint8_t)((v / 10 % 10) << 4 | v % 10);
}

static unsigned decode(const struct rtc *r, uint8_t v)
{
	if (r->cmos[REG_B] & B_BINARY)
		return v;
	return (v >> 4) * 10u + (v & 15);
}

static unsigned clampu(unsigned v, unsigned lo, unsigned hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* An hours byte in the current format to 0-23 (-1 if out of range). */
static int decode_hour(const struct rtc *r, uint8_t v)
{
	unsigned h = decode(r, v & 0x7F);

	if (r->cmos[REG_B] & B_24H)
		return h < 24 ? (int)h : -1;
	if (h < 1 || h > 12)
		return -1;
	return (int)(h % 12 + (v & 0x80 ? 12 : 0));
}

/* Alarm fields: a value, or -1 for "don't care" (0xC0-0xFF). False if
 * the alarm can never match. */
static bool alarm_fields(const struct rtc *r, int *h, int *m, int *s)
{
	const uint8_t raw[3] = {r->cmos[5], r->cmos[3], r->cmos[1]};
	int *out[3] = {h, m, s};

	for (unsigned i = 0; i < 3; i++) {
		int v;

		if ((raw[i] & 0xC0) == 0xC0) {
			*out[i] = -1;
			continue;
		}
		v = i == 0 ? decode_hour(r, raw[i]) : (int)decode(r, raw[i]);
		if (v < 0 || v > 59)
			return false;
		*out[i] = v;
	}
	return true;
}

/* The first second after AFTER at which the alarm matches, or INT64_MAX.
 * Each step fixes the largest mismatching field, clearing the ones below;
 * a few steps always settle it. */
static int64_t next_alarm(const struct rtc *r, int64_t after)
{
	int ah, am, as;
	int64_t t = after + 1;

	if (!alarm_fields(r, &ah, &am, &as))
		return INT64_MAX;
	for (unsigned i = 0; i < 12; i++) {
		int64_t day = floor_div(t, DAY) * DAY, sod = t - day;
		int h = (int)(sod / 3600), m = (int)(sod / 60 % 60), s = (int)(sod % 60);

		if (ah >= 0 && h != ah)
			t = day + ah * 3600 + (ah < h ? DAY : 0);
		else if (am >= 0 && m != am)
			t = day + h * 3600 + am * 60 + (am < m ? 3600 : 0);
		else if (as >= 0 && s != as)
			t = day + h * 3600 + m * 60 + as + (as < s ? 60 : 0);
		else
			return t;
	}
	return INT64_MAX;
}

/* Set the flags of every event up to NOW. */
static void settle(struct rtc *r, uint64_t now)
{
	uint64_t t, p;
	int64_t s;

	if (!r->frozen) {
		s = cur_secs(r, now);
		if (s > r->seen_secs) {
			r->flags |= C_UF;
			if (next_alarm(r, r->seen_secs) <= s)
				r->flags |= C_AF;
			r->seen_secs = s;
		}
	}
	if (divider_runs(r)) {
		t = ticks(r, now);
		p = period(r);
		if (t > r->seen_tick) {
			if (p && t / p > r->seen_tick / p)
				r->flags |= C_PF;
			r->seen_tick = t;
		}
	}
}

static bool irqf(const struct rtc *r)
{
	return r->flags & r->cmos[REG_B] & (C_PF | C_AF | C_UF); /* same bits as B's enables */
}

/* Stop or restart the clock to match SET and the divider. FIRST_NS: how
 * long until the first update after a restart. */
static void update_frozen(struct rtc *r, uint64_t now, uint64_t first_ns)
{
	uint64_t back = NS_PER_S - first_ns;

	if (should_freeze(r) && !r->frozen) {
		rtc_time_to_tm(cur_secs(r, now), &r->held);
		r->frozen = 1;
	} else if (!should_freeze(r) && r->frozen) {
		r->secs = clamp_time(rtc_tm_to_time(&r->held));
		r->ref_ns = now > back ? now - back : 0;
		r->seen_secs = r->secs;
		r->frozen = 0;
	}
}

static uint8_t read_time(const struct rtc *r, unsigned idx, uint64_t now)
{
	struct rtc_tm tm;
	unsigned h;

	cur_tm(r, now, &tm);
	switch (idx) {
	case 0x00:
		return encode(r, tm.sec);
	case 0x02:
		return encode(r, tm.min);
	case 0x04:
		if (r->cmos[REG_B] & B_24H)
			return encode(r, tm.hour);
		h = tm.hour % 12 ? tm.hour % 12u : 12u;
		return (uint8_t)(encode(r, h) | (tm.hour >= 12 ? 0x80 : 0));
	case 0x06:
		return encode(r, tm.wday + 1u);
	case 0x07:
		return encode(r, tm.mday);
	case 0x08:
		return encode(r, tm.mon);
	case 0x09:
		return encode(r, (unsigned)(tm.year % 100));
	default: /* century */
		return encode(r, (unsigned)(tm.year / 100 % 100));
	}
}

static void write_time(struct rtc *r, unsigned idx, uint8_t v, uint64_t now)
{
	unsigned x = decode(r, v);
	struct rtc_tm tm;
	int h;

	cur_tm(r, now, &tm);
	switch (idx) {
	case 0x00:
		tm.sec = (uint8_t)clampu(x, 0, 59);
		break;
	case 0x02:
		tm.min = (uint8_t)clampu(x, 0, 59);
		break;
	case 0x04:
		h = decode_hour(r, v);
		tm.hour = (uint8_t)(h < 0 ? 0 : h);
		break;
	case 0x07:
		tm.mday = (uint8_t)clampu(x, 1, 31);
		break;
	case 0x08:
		tm.mon = (uint8_t)clampu(x, 1, 12);
		break;
	case 0x09:
		tm.year = tm.year / 100 * 100 + clampu(x, 0, 99);
		break;
	case 0x32:
		tm.year = clampu(x, 0, 99) * 100 + tm.year % 100;
		break;
	default: /* day of week: derived from the date */
		return;
	}
	if (r->frozen) {
		r->held = tm;
		return;
	}
	r->ref_ns = now - elapsed(r, now) % NS_PER_S; /* keep the phase */
	r->secs = clamp_time(rtc_tm_to_time(&tm));
	r->seen_secs = r->secs;
}

static uint8_t read_reg(struct rtc *r, unsigned idx, uint64_t now)
{
	uint8_t v;

	switch (idx) {
	case 0x00:
	case 0x02:
	case 0x04:
	case 0x06:
	case 0x07:
	case 0x08:
	case 0x09:
	case RTC_REG_CENTURY:
		return read_time(r, idx, now);
	case REG_A:
		v = r->cmos[REG_A];
		if (!r->frozen && elapsed(r, now) % NS_PER_S >= NS_PER_S - UIP_NS)
			v |= A_UIP;
		return v;
	case REG_C:
		v = (uint8_t)(r->flags | (irqf(r) ? C_IRQF : 0));
		r->flags = 0;
		return v;
	case REG_D:
		return D_VRT;
	default: /* B, alarms, RAM */
		return r->cmos[idx];
	}
}

static void write_reg(struct rtc *r, unsigned idx, uint8_t v, uint64_t now)
{
	bool ran;

	switch (idx) {
	case 0x00:
	case 0x02:
	case 0x04:
	case 0x06:
	case 0x07:
	case 0x08:
	case 0x09:
	case RTC_REG_CENTURY:
		write_time(r, idx, v, now);
		break;
	case REG_A:
		ran = divider_runs(r);
		r->cmos[REG_A] = v & (uint8_t)~A_UIP;
		if (!ran && divider_runs(r)) {
			r->div_ns = now;
			r->seen_tick = 0;
		}
		update_frozen(r, now, NS_PER_S / 2);
		break;
	case REG_B:
		if (v & B_SET)
			v &= (uint8_t)~B_UIE;
		r->cmos[REG_B] = v;
		update_frozen(r, now, NS_PER_S);
		break;
	case REG_C:
	case REG_D:
		break; /* read-only */
	default:
		r->cmos[idx] = v;
		break;
	}
}

void rtc_init(struct rtc *r, uint64_t unix_secs, uint64_t now_ns)
{
	memset(r, 0, sizeof(*r));
	r->cmos[REG_A] = A_DIV_RUN | 6; /* 32.768 kHz, 1024 Hz rate selected */
	r->cmos[REG_B] = B_24H;
	r->secs = unix_secs > (uint64_t)T_MAX ? T_MAX : (int64_t)unix_secs;
	r->seen_secs = r->secs;
	r->ref_ns = now_ns;
	r->div_ns = now_ns;
	rtc_time_to_tm(r->secs, &r->held); /* unused while running, but valid */
}

uint8_t rtc_read(struct rtc *r, uint16_t port, uint64_t now_ns)
{
	if (port != RTC_PORT_DATA)
		return 0xFF; /* the index port is write-only */
	settle(r, now_ns);
	return read_reg(r, r->index & 0x7F, now_ns);
}

void rtc_write(struct rtc *r, uint16_t port, uint8_t v, uint64_t now_ns)
{
	if (port == RTC_PORT_INDEX) {
		r->index = v & 0x7F;
		r->nmi_masked = v >> 7;
	} else if (port == RTC_PORT_DATA) {
		settle(r, now_ns);
		write_reg(r, r->index & 0x7F, v, now_ns);
	}
}

bool rtc_cmos_set(struct rtc *r, uint8_t index, uint8_t value)
{
	if (index < 0x0E || index > 0x7F || index == RTC_REG_CENTURY)
		return false;
	r->cmos[index] = value;
	return true;
}

int64_t rtc_time(const struct rtc *r, uint64_t now_ns)
{
	return cur_secs(r, now_ns);
}

bool rtc_nmi_masked(const struct rtc *r)
{
	return r->nmi_masked;
}

bool rtc_irq_level(struct rtc *r, uint64_t now_ns)
{
	settle(r, now_ns);
	return irqf(r);
}

/* When second T of the running clock starts (ref_ns if already past). */
static uint64_t second_time(const struct rtc *r, int64_t t)
{
	int64_t d = t - r->secs;

	if (d <= 0)
		return r->ref_ns;
	if ((uint64_t)d > (UINT64_MAX - 1 - r->ref_ns) / NS_PER_S)
		return NEVER;
	return r->ref_ns + (uint64_t)d * NS_PER_S;
}

/* When periodic tick K happens: div_ns + ceil(K * 1e9 / 32768). */
static uint64_t tick_time(const struct rtc *r, uint64_t k)
{
	uint64_t s = k / RTC_HZ, off = (k % RTC_HZ * NS_PER_S + RTC_HZ - 1) / RTC_HZ;

	if (s > (UINT64_MAX - 1 - r->div_ns - off) / NS_PER_S)
		return NEVER;
	return r->div_ns + s * NS_PER_S + off;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t rtc_irq_deadline(const struct rtc *r, uint64_t now_ns)
{
	uint8_t b = r->cmos[REG_B];
	uint64_t best = NEVER, p = period(r);
	int64_t t;

	(void)now_ns; /* the answer follows from what was seen */
	if (irqf(r))
		return NEVER;
	if ((b & B_PIE) && p && divider_runs(r))
		best = tick_time(r, (r->seen_tick / p + 1) * p);
	if (r->frozen)
		return best;
	if (b & B_UIE)
		best = min64(best, second_time(r, r->seen_secs + 1));
	if (b & B_AIE) {
		t = next_alarm(r, r->seen_secs);
		if (t != INT64_MAX)
			best = min64(best, second_time(r, t));
	}
	return best;
}

bool rtc_state_valid(const struct rtc *s)
{
	const struct rtc_tm *h = &s->held;

	if (s->frozen &&
	    (h->year < 0 || h->year > 9999 || h->mon < 1 || h->mon > 12 || h->mday < 1 ||
	     h->mday > 31 || h->hour > 23 || h->min > 59 || h->sec > 59))
		return false;
	return s->index < 0x80 && s->nmi_masked <= 1 && s->frozen == should_freeze(s) &&
	       !(s->flags & ~(C_PF | C_AF | C_UF)) && !(s->cmos[REG_A] & A_UIP) &&
	       s->secs >= T_MIN && s->secs <= T_MAX && s->seen_secs >= -SEEN_MAX &&
	       s->seen_secs <= SEEN_MAX;
}
