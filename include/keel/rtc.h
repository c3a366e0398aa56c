/* The PC's real-time clock and CMOS RAM (Motorola MC146818A) at ports 0x70
 * (index; bit 7 masks NMI) and 0x71 (data), as a pure state machine: the
 * wall clock and the time are inputs (a Unix time at creation, then now_ns
 * on any monotonic nanosecond clock); nothing here reads a clock or locks.
 *
 * Model:
 * - Time registers (0x00 seconds, 0x02 minutes, 0x04 hours, 0x06 day of
 *   week (1 = Sunday), 0x07 day, 0x08 month, 0x09 year, 0x32 century) show
 *   the creation time advanced by the elapsed now_ns, in BCD or binary
 *   (register B bit 2) and 12- or 24-hour form (bit 1), year 0000-9999.
 *   They are computed from one seconds count, so switching format shows the
 *   same time in the new format (a real chip would show garbage).
 * - Setting the time: with register B's SET bit on (as Linux and BIOSes do)
 *   the clock stands still and field writes are kept as written (clamped to
 *   their ranges) until SET goes off, when the clock restarts at a second
 *   boundary. A field written with SET off takes effect at once. The day of
 *   week is derived from the date; writes to it are ignored.
 * - Register A: UIP (bit 7) is on in the last 244 us before each second
 *   boundary (never while stopped), so guests waiting for it terminate; the
 *   divider bits 6-4 must be 010 (32.768 kHz) for the clock and the
 *   periodic interrupt to run; any other value (11x: divider reset) holds
 *   them, and on release the first update comes 500 ms later. Bits 3-0:
 *   the periodic rate. Register B as written, except that SET clears UIE. Register C:
 *   IRQF/PF/AF/UF, cleared by reading. Register D reads 0x80 (valid RAM).
 * - Interrupts (IRQ 8): periodic, alarm (with "don't care" >= 0xC0 fields)
 *   and update-ended flags are set as time passes, whether enabled or not;
 *   IRQF and the IRQ 8 output follow flag AND enable until register C is
 *   read.
 * - Bytes 0x0E-0x7F (but 0x32) are RAM; only the first 128-byte bank exists.
 *
 * State is the plain struct below, copied whole by snapshots; to move one
 * to another now_ns clock, shift ref_ns and div_ns (and add the wall-clock
 * time that passed to secs if the guest should not lose it). */
#ifndef KEEL_RTC_H
#define KEEL_RTC_H

#include <stdbool.h>
#include <stdint.h>

#define RTC_PORT_INDEX 0x70
#define RTC_PORT_DATA 0x71
#define RTC_REG_CENTURY 0x32 /* the FADT's century field must name it */

/* A calendar time (proleptic Gregorian, UTC-like: no time zones). */
struct rtc_tm {
	int64_t year; /* e.g. 2024 */
	uint8_t mon; /* 1-12 */
	uint8_t mday; /* 1-31 */
	uint8_t hour, min, sec;
	uint8_t wday; /* 0 = Sunday */
};

/* Days since 1970-01-01 of Y-M-D (M 1-12, D 1-31; a D past the end of the
 * month runs into the next). */
int64_t rtc_days_from_civil(int64_t y, unsigned m, unsigned d);
/* Calendar fields of Unix time T, and back (rtc_tm_to_time ignores wday). */
void rtc_time_to_tm(int64_t t, struct rtc_tm *tm);
int64_t rtc_tm_to_time(const struct rtc_tm *tm);

struct rtc {
	uint8_t index; /* selected register, 0-0x7F */
	uint8_t nmi_masked; /* port 0x70 bit 7 as last written */
	uint8_t frozen; /* SET on or divider held: `held` is the time */
	uint8_t flags; /* register C's PF, AF, UF (0x40, 0x20, 0x10) */
	uint8_t cmos[128]; /* registers A, B, alarms and RAM (time: below) */
	struct rtc_tm held; /* the time while frozen */
	int64_t secs; /* the time (Unix seconds) at ref_ns, while running */
	uint64_t ref_ns; /* start of second `secs` */
	uint64_t div_ns; /* when the divider started: the periodic phase */
	int64_t seen_secs; /* updates and alarms up to here are in `flags` */
	uint64_t seen_tick; /* periodic ticks (32768 Hz) up to here too */
};

/* A running clock at Unix time UNIX_SECS (clamped to year 9999) at NOW_NS;
 * 24-hour BCD, no interrupts, RAM zeroed. */
void rtc_init(struct rtc *r, uint64_t unix_secs, uint64_t now_ns);
/* Ports 0x70 and 0x71 (0x70 reads 0xFF; others read 0xFF, ignore writes). */
uint8_t rtc_read(struct rtc *r, uint16_t port, uint64_t now_ns);
void rtc_write(struct rtc *r, uint16_t port, uint8_t v, uint64_t now_ns);
/* Preset a CMOS RAM byte (0x0E-0x7F but 0x32); false for other indexes. */
bool rtc_cmos_set(struct rtc *r, uint8_t index, uint8_t value);
/* The guest's clock now, Unix seconds (what to persist across reboots). */
int64_t rtc_time(const struct rtc *r, uint64_t now_ns);
bool rtc_nmi_masked(const struct rtc *r);
/* The IRQ 8 output at now_ns (register C's IRQF), after setting the flags
 * of every event up to now_ns. Call it after each guest access to the RTC
 * ports and when rtc_irq_deadline() passes, and drive IRQ 8 with it. */
bool rtc_irq_level(struct rtc *r, uint64_t now_ns);
/* When the IRQ 8 output will next rise, given what is enabled: at or
 * before now_ns means now; UINT64_MAX if never (or if it is high already:
 * it cannot rise again until the guest reads register C). */
uint64_t rtc_irq_deadline(const struct rtc *r, uint64_t now_ns);
/* True if S is a state this code can run from (every field in range). */
bool rtc_state_valid(const struct rtc *s);

#endif
