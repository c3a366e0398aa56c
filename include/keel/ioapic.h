/* A virtual I/O APIC as a pure state machine: no locks, no clocks, no VM,
 * no heap (the caller serialises calls and routes what comes out). Names
 * are ioapic_*; nothing else in Keel drives a host I/O APIC.
 *
 * Model (Intel 82093AA datasheet, with the ICH's version 0x20 additions):
 * - 24 input pins, one 64-bit redirection entry each. Version register
 *   0x00170020: version 0x20 (an ICH-style I/O APIC, as QEMU presents by
 *   default) with max redirection entry 23 in bits 23:16. Version 0x20
 *   brings the EOI register, which Linux uses (io_apic_eoi()) for versions
 *   >= 0x20 to clear a remote IRR instead of flipping the pin to edge and
 *   back; both ways work here. The IRQ pin assertion register (0x20) is
 *   not implemented.
 * - MMIO, offsets within the 4 KiB window (no aliasing): IOREGSEL at 0x00
 *   (bits 7:0 select a register, reads back as written), IOWIN at 0x10
 *   (the selected register), EOI at 0x40 (write-only: bits 7:0 are a
 *   vector, as ioapic_eoi()). Every other offset reads 0 and ignores
 *   writes. Accesses are 32-bit; the caller may pass a narrower IOREGSEL
 *   write zero-extended, and decides what to do with other sizes.
 * - Registers by index: 0x00 ID (bits 27:24 writable, the rest read 0),
 *   0x01 version and 0x02 arbitration (read-only; arbitration reads as the
 *   ID), 0x10 + 2 * pin the low and 0x11 + 2 * pin the high half of a
 *   redirection entry. Other indices (0x03-0x0F, 0x40-0xFF) read all ones
 *   and ignore writes, as QEMU's and KVM's do.
 * - Redirection entry: vector (7:0), delivery mode (10:8), destination
 *   mode (11, 1 logical), delivery status (12), polarity (13, 1 active
 *   low), remote IRR (14), trigger mode (15, 1 level), mask (16) and an
 *   8-bit destination (63:56). Other bits are reserved: they read 0 and
 *   ignore writes. Delivery status and remote IRR are read-only; delivery
 *   status always reads 0 (idle), since a message leaves at once.
 * - Inputs: ioapic_set_irq() gives the raw line (true = electrically
 *   high); the pin is active when the line differs from the polarity bit.
 *   Edge detection happens only there: a polarity change is not an edge.
 * - Edge semantics (trigger bit 0, or delivery mode SMI, NMI, INIT or
 *   ExtINT, which the datasheet says "require" edge): an inactive->active
 *   transition on an unmasked pin sends one message. An edge while the pin
 *   is masked is lost, as on real hardware, and unmasking a pin whose line
 *   is active sends nothing.
 * - Level semantics (trigger bit 1 with fixed or lowest-priority delivery):
 *   while the pin is active and unmasked and its remote IRR is clear, one
 *   message is sent and remote IRR set. This is re-checked after every
 *   ioapic_set_irq() on the pin, write to the entry (so unmasking an active
 *   pin sends), EOI and ioapic_take_msg(). ioapic_eoi(vector) clears the
 *   remote IRR of every level-triggered entry with that vector (masked or
 *   not); a pin still active then sends again. Setting the trigger bit to
 *   edge clears remote IRR (the pre-0x20 way to clear it).
 * - Reserved delivery modes (3, 6) send nothing.
 * - Messages go into a ring of IOAPIC_MSG_QUEUE in the state; one that
 *   finds it full is counted in msg_dropped. An edge message is then lost;
 *   a level message is not sent and remote IRR stays clear, so it goes out
 *   once there is room (at the latest on the next ioapic_take_msg()).
 *
 * The caller, holding its lock, makes any call and then drains:
 *   while (ioapic_take_msg(s, &m)) route m to the local APICs;
 * and reports each level-triggered EOI a local APIC takes (vlapic_take_eoi)
 * with ioapic_eoi(). All state is the plain struct below (no pointers): a
 * snapshot copies it whole; check one with ioapic_state_valid(). */
#ifndef KEEL_IOAPIC_H
#define KEEL_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define IOAPIC_PINS 24
#define IOAPIC_DEFAULT_BASE 0xFEC00000u
#define IOAPIC_VERSION 0x00170020u /* max entry 23, version 0x20 */
#define IOAPIC_MSG_QUEUE 32

/* MMIO offsets. */
#define IOAPIC_IOREGSEL 0x00
#define IOAPIC_IOWIN 0x10
#define IOAPIC_EOI 0x40

/* Register indices (IOREGSEL). */
#define IOAPIC_REG_ID 0x00
#define IOAPIC_REG_VER 0x01
#define IOAPIC_REG_ARB 0x02
#define IOAPIC_REG_REDTBL 0x10 /* + 2 * pin: low half; + 1: high half */

/* Redirection entry fields. */
#define IOAPIC_RTE_VECTOR 0xFFull
#define IOAPIC_RTE_LOGICAL (1ull << 11)
#define IOAPIC_RTE_DELIVS (1ull << 12) /* delivery status, reads 0 */
#define IOAPIC_RTE_ACTIVE_LOW (1ull << 13)
#define IOAPIC_RTE_REMOTE_IRR (1ull << 14)
#define IOAPIC_RTE_LEVEL (1ull << 15)
#define IOAPIC_RTE_MASKED (1ull << 16)
#define IOAPIC_RTE_DEST_SHIFT 56

/* Delivery modes (bits 10:8); 3 and 6 are reserved. */
enum {
	IOAPIC_DM_FIXED = 0,
	IOAPIC_DM_LOWEST = 1,
	IOAPIC_DM_SMI = 2,
	IOAPIC_DM_NMI = 4,
	IOAPIC_DM_INIT = 5,
	IOAPIC_DM_EXTINT = 7,
};

/* An interrupt message for the caller to route. dest is the 8-bit
 * destination field: an APIC ID (physical) or a logical mask, 0xFF being
 * a broadcast (which x2APIC-mode targets see as 0xFFFFFFFF, as KVM does):
 * match it with vlapic_match_dest(). Fixed goes to vlapic_accept() with
 * trigger_level; lowest-priority to any one matching vCPU; SMI, NMI, INIT
 * and ExtINT (vector meaningless: the CPU asks the 8259) are the receiving
 * vCPU's business. */
struct ioapic_msg {
	uint32_t dest;
	uint8_t vector;
	uint8_t delivery; /* IOAPIC_DM_* */
	uint8_t logical; /* 0 physical, 1 logical destination */
	uint8_t trigger_level; /* 1 only for a level fixed/lowest message */
	uint8_t pin; /* the sending pin, for tracing */
};

struct ioapic {
	uint64_t redir[IOAPIC_PINS]; /* as read; delivery status always 0 */
	uint32_t lines; /* raw input levels as last set, bit per pin */
	uint8_t id; /* 4 bits (register bits 27:24) */
	uint8_t ioregsel;
	struct ioapic_msg msg[IOAPIC_MSG_QUEUE];
	uint32_t msg_head, msg_count;
	uint32_t msg_dropped; /* messages that found the queue full */
};

/* Power-on state: ID = ID & 0xF, every entry masked (all else 0), lines
 * low, IOREGSEL 0, queue empty. The caller re-drives asserted lines. */
void ioapic_init(struct ioapic *s, uint8_t id);

/* MMIO at OFFSET within the window (32-bit; see the model above). */
uint32_t ioapic_read(struct ioapic *s, uint32_t offset);
void ioapic_write(struct ioapic *s, uint32_t offset, uint32_t value);

/* Drive input PIN (0-23; others ignored) to the raw line level LEVEL. An
 * edge device pulses: true, then false. */
void ioapic_set_irq(struct ioapic *s, unsigned pin, bool level);
/* A local APIC's EOI of level-triggered VECTOR (also the EOI register). */
void ioapic_eoi(struct ioapic *s, uint8_t vector);

/* The oldest queued message; false if none. */
bool ioapic_take_msg(struct ioapic *s, struct ioapic_msg *out);
/* Whether PIN's entry is unmasked (false for pins out of range): a masked
 * pin sends nothing, so the caller can route the IRQ elsewhere (the 8259). */
bool ioapic_pin_routed(const struct ioapic *s, unsigned pin);

/* True if S is a state this code can run from (every field in range). */
bool ioapic_state_valid(const struct ioapic *s);

#endif
