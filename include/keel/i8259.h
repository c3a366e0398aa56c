/* The PC's pair of 8259A programmable interrupt controllers as a pure state
 * machine: no VM, no time, no locks (the caller serialises calls). The
 * master answers at ports 0x20/0x21, the slave at 0xA0/0xA1 with its INT
 * output on the master's IR2, and the ELCR (edge/level control, one bit per
 * IRQ, 1 = level) at 0x4D0 (IRQ 0-7) / 0x4D1 (IRQ 8-15).
 *
 * Model (Intel 8259A datasheet):
 * - Edge-triggered inputs latch their IRR bit on a rising edge and keep it
 *   until the CPU acknowledges it (a pulse is enough); level-triggered inputs
 *   (ELCR bit, or ICW1 LTIM for the whole chip) have IRR follow the line.
 * - The master's IR2 follows the slave's INT output as a level, so the
 *   cascade never loses a slave request however the guest orders its EOIs.
 *   i8259_set_irq(2) is ignored: IRQ 2 is the cascade.
 * - Vectors are always 8086-style (ICW2 & 0xF8 | level); the MCS-80/85 mode
 *   (ICW4 bit 0 clear) is accepted but vectors the same way. A slave's
 *   cascade identity (ICW3) is not checked.
 * - ICW1 clears IMR, ISR, the edge latches, special mask, poll, rotation
 *   and (until an ICW4 says otherwise) auto-EOI; the lowest priority goes
 *   back to IR7. While a chip waits for ICW2-4 it signals nothing.
 * - Spurious: an acknowledge with nothing deliverable (a level input that
 *   dropped, a mask set after i8259_pending()) returns the master's IR7
 *   vector and sets no ISR bit. As IR2 follows the slave, a vanished slave
 *   request also gives IRQ 7 (a PC's edge-latched IR2 would give IRQ 15);
 *   guests handle both.
 * - Supported: OCW1 masks, OCW2 (non-specific/specific EOI, rotate on EOI,
 *   rotate in auto-EOI, set priority), OCW3 (read IRR/ISR, poll, special
 *   mask mode), ICW4 auto-EOI and special fully nested mode (master).
 *
 * State is the struct below, copied whole by snapshots; everything in it
 * is plain data. Check a snapshot with i8259_state_valid() before use. */
#ifndef KEEL_I8259_H
#define KEEL_I8259_H

#include <stdbool.h>
#include <stdint.h>

#define I8259_MASTER_CMD 0x20
#define I8259_MASTER_DATA 0x21
#define I8259_SLAVE_CMD 0xA0
#define I8259_SLAVE_DATA 0xA1
#define I8259_ELCR0 0x4D0
#define I8259_ELCR1 0x4D1
#define I8259_CASCADE_IRQ 2

/* One 8259A. Flags are uint8_t holding 0 or 1 (snapshots are checked). */
struct i8259_chip {
	uint8_t irr, isr, imr;
	uint8_t lines; /* input levels as last set */
	uint8_t elcr; /* 1 = level-triggered (PIIX ELCR) */
	uint8_t vector_base; /* ICW2 & 0xF8 */
	uint8_t icw3, icw4;
	uint8_t init_step; /* 0: ready; 2, 3, 4: the ICW expected next */
	uint8_t lowest; /* the IRQ of lowest priority (IR7 after ICW1) */
	uint8_t need_icw4, single, ltim;
	uint8_t auto_eoi, rotate_aeoi, sfnm;
	uint8_t read_isr, poll, special_mask;
};

/* chip[0] is the master, chip[1] the slave. */
struct i8259_pair {
	struct i8259_chip chip[2];
};

/* Power-on state: both chips uninitialised (vector base 0, all unmasked,
 * ready), every ELCR bit edge. Guests run ICW1-4 before relying on them. */
void i8259_init(struct i8259_pair *p);
/* Port access for 0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1 (others read 0xFF
 * and ignore writes). */
uint8_t i8259_read(struct i8259_pair *p, uint16_t port);
void i8259_write(struct i8259_pair *p, uint16_t port, uint8_t v);
/* Drive input IRQ (0-15; others ignored) to LEVEL. For an edge-triggered
 * IRQ, a device that "pulses" calls this with true then false. */
void i8259_set_irq(struct i8259_pair *p, unsigned irq, bool level);
/* The master's INT output: an interrupt is waiting for the CPU. */
bool i8259_pending(const struct i8259_pair *p);
/* The CPU's INTA cycle: the vector to deliver (0-255). Moves the IRQ from
 * IRR to ISR (or not, in auto-EOI), through the slave for master IR2.
 * With nothing deliverable it returns the spurious vector (IR7 of the chip
 * concerned). Call it when the interrupt is actually injected. */
int i8259_acknowledge(struct i8259_pair *p);
/* True if S is a state this code can run from (every field in range). */
bool i8259_state_valid(const struct i8259_pair *s);
/* Copy S into P if valid (returns false and leaves P alone otherwise). */
bool i8259_restore(struct i8259_pair *p, const struct i8259_pair *s);

#endif
