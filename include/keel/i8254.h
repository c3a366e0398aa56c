/* The PC's 8254 programmable interval timer (ports 0x40-0x43) and the
 * system control port B (0x61), as a pure state machine: time is an input
 * (now_ns, any monotonic nanosecond clock), nothing here reads a clock,
 * takes a lock or knows a VM.
 *
 * Model (Intel 8254 datasheet):
 * - The input clock is 1193182 Hz and free-running from i8254_init(): clock
 *   edge k happens at init_ns + ceil(k * 1e9 / 1193182). A count written
 *   between two edges is loaded on the next edge, which does not decrement;
 *   so in mode 0 a count N written at t makes OUT rise at the (N + 1)th edge
 *   after t, exactly as on the chip (Linux's TSC calibration included).
 * - Modes 0 (interrupt on terminal count), 2 (rate generator) and 3 (square
 *   wave) are complete, gates included. Modes 1 and 5 trigger on a rising
 *   gate (channel 2 only: the gates of channels 0 and 1 are tied high, so
 *   there they never start); mode 4 strobes once per count written.
 * - A count written in mode 2 or 3 while counting takes effect at the end
 *   of the current period (the 8254 switches mode 3 at the end of a
 *   half-cycle; this model waits for the whole period).
 * - Counter latch, read-back (count and status), LSB / MSB / LSB-then-MSB
 *   access, count 0 = 65536 (10000 in BCD). BCD counting is supported;
 *   digits above 9 are taken at face value. Port 0x43 reads 0xFF.
 * - Port 0x61: bit 0 gate 2, bit 1 speaker data enable, bits 2-3 kept as
 *   written, bit 4 the refresh toggle (flips every 18 PIT clocks, ~15 us,
 *   derived from time), bit 5 OUT2, bits 6-7 read 0.
 * - Only count-driven OUT edges count as IRQ 0 edges: a control word that
 *   happens to switch OUT from low to high raises none.
 *
 * All state is in the plain structs below (no pointers): snapshots copy
 * them whole. Every time in them counts from init_ns, so moving a snapshot
 * to another now_ns clock means shifting init_ns alone. */
#ifndef KEEL_I8254_H
#define KEEL_I8254_H

#include <stdbool.h>
#include <stdint.h>

#define I8254_HZ 1193182u
#define I8254_PORT_BASE 0x40 /* 0x40-0x42 counters, 0x43 control */
#define I8254_PORT_CTRL 0x43
#define I8254_PORT_B 0x61

/* One counter. Flags are uint8_t holding 0 or 1. */
struct i8254_channel {
	uint8_t mode; /* as written, 0-7 (6 and 7 work as 2 and 3) */
	uint8_t rw; /* 1: LSB only, 2: MSB only, 3: LSB then MSB */
	uint8_t bcd;
	uint8_t gate; /* input level */
	uint8_t phase; /* I8254_IDLE ... I8254_STOPPED */
	uint8_t null_count; /* a written count is not loaded yet */
	uint8_t write_msb; /* LSB-then-MSB: the LSB came, the MSB is next */
	uint8_t read_msb; /* LSB-then-MSB: the next read returns the MSB */
	uint8_t count_latched; /* `latch` holds a count not yet read in full */
	uint8_t status_latched;
	uint8_t status;
	uint8_t lsb; /* the LSB written, waiting for the MSB */
	uint16_t latch;
	uint32_t n; /* the count in clocks, 1-65536 (1-10000 in BCD) */
	uint32_t next_n; /* modes 2/3: count taking over at switch_edge, or 0 */
	uint32_t val; /* counter value (binary) at edge `base`, or frozen */
	uint32_t dist; /* modes 0/1/4/5: clocks from base to terminal count,
			  0 once reached */
	uint64_t base; /* edge index at which the counter held `val` */
	uint64_t switch_edge;
};

enum {
	I8254_IDLE, /* a control word came, no count yet (or mode 0 mid-write) */
	I8254_ARMED, /* modes 1/5: count written, waiting for a gate edge */
	I8254_COUNTING,
	I8254_STOPPED, /* gate low in modes 0/2/3/4 */
};

struct i8254 {
	struct i8254_channel ch[3];
	uint64_t init_ns; /* edge 0 of the input clock */
	uint8_t port_b; /* bits 0-3 of port 0x61 as written */
	uint64_t irq0_seen; /* IRQ 0 edges up to this clock edge are counted */
	uint64_t irq0_backlog; /* counted but not yet returned */
};

/* Power-on: every counter waits for a control word (OUT0 low, so no IRQ 0
 * until the guest programs channel 0), gate 2 low. A BIOS would program
 * channel 0 in mode 3 with count 0 (18.2 Hz); a direct kernel boot does
 * without. */
void i8254_init(struct i8254 *p, uint64_t now_ns);
/* Ports 0x40-0x43 and 0x61 (others read 0xFF and ignore writes). */
uint8_t i8254_read(struct i8254 *p, uint16_t port, uint64_t now_ns);
void i8254_write(struct i8254 *p, uint16_t port, uint8_t v, uint64_t now_ns);
/* When OUT0 next rises: the first rising edge not yet returned by
 * i8254_irq0_ticks() (so it can be at or before now_ns: then it is due),
 * or UINT64_MAX if none will come without the guest reprogramming. */
uint64_t i8254_irq0_deadline(const struct i8254 *p, uint64_t now_ns);
/* Rising edges of OUT0 up to now_ns since the previous call (saturated at
 * UINT32_MAX). The caller raises IRQ 0 once (pulse) when > 0: missed ticks
 * coalesce into one interrupt, as with a late interrupt on real hardware;
 * Linux keeps time from its clocksource, not by counting ticks. */
unsigned i8254_irq0_ticks(struct i8254 *p, uint64_t now_ns);
/* OUT of counter CH (0-2) at now_ns; false for other CH. */
bool i8254_out(const struct i8254 *p, unsigned ch, uint64_t now_ns);
/* True if S is a state this code can run from (every field in range). */
bool i8254_state_valid(const struct i8254 *s);

#endif
