/* The host's real-time clock, read once at boot to give guests the time. */
#include <arch/x86.h>
#include <keel/platform.h>
#include <keel/rtc.h>

static uint8_t cmos_read(uint8_t index)
{
	outb(0x70, index);
	return inb(0x71);
}

static unsigned from_bcd(uint8_t v, bool bcd)
{
	return bcd ? (v >> 4) * 10u + (v & 0xF) : v;
}

uint64_t host_wallclock(void)
{
	struct rtc_tm tm = {0};
	uint8_t sec, b;

	/* Wait out an update in progress (bounded), then read twice until stable. */
	for (unsigned i = 0; i < 100000 && (cmos_read(0x0A) & 0x80); i++)
		cpu_relax();
	do {
		sec = cmos_read(0x00);
		b = cmos_read(0x0B);
		bool bcd = !(b & 0x04);
		uint8_t hour = cmos_read(0x04);
		bool pm = !(b & 0x02) && (hour & 0x80);
		tm.sec = from_bcd(sec, bcd);
		tm.min = from_bcd(cmos_read(0x02), bcd);
		tm.hour = from_bcd(hour & 0x7F, bcd) % 12 + (pm ? 12 : 0);
		if (b & 0x02)
			tm.hour = from_bcd(hour, bcd);
		tm.mday = from_bcd(cmos_read(0x07), bcd);
		tm.mon = from_bcd(cmos_read(0x08), bcd);
		tm.year = 2000 + (int)from_bcd(cmos_read(0x09), bcd);
	} while (sec != cmos_read(0x00));
	int64_t t = rtc_tm_to_time(&tm);
	return t > 0 ? (uint64_t)t : 0;
}
