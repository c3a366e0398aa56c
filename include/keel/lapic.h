/* A virtual local APIC for one vCPU, as a pure state machine: time is an
 * input (now_ns, any monotonic nanosecond clock), nothing here reads a
 * clock, takes a lock, injects an event or knows a VM. Names are vlapic_*
 * (arch/x86/lapic.c owns lapic_* for the host's own APIC).
 *
 * Model (Intel SDM vol. 3, "Advanced Programmable Interrupt Controller"):
 * - Version 0x50014: an integrated APIC, six LVT entries (timer, thermal,
 *   performance, LINT0, LINT1, error; no CMCI), no EOI-broadcast
 *   suppression. xAPIC registers by MMIO offset (vlapic_read/write, the
 *   caller decodes the instruction; 32-bit accesses at 16-byte aligned
 *   offsets 0x000-0x3F0) and x2APIC registers by MSR 0x800-0x83F
 *   (vlapic_msr_read/write). Each interface works only in its mode: MMIO
 *   reads 0 and ignores writes outside xAPIC mode (the caller should not
 *   route it there), MSRs #GP outside x2APIC mode.
 * - Reserved xAPIC offsets set ESR bit 7 (illegal register address) on
 *   read or write; writes to read-only xAPIC registers are ignored. In
 *   x2APIC mode every such access, a write of nonzero bits 63:32 (but to
 *   the ICR), a nonzero EOI or ESR write, and a read of EOI or SELF IPI
 *   give #GP (-1).
 * - ESR: errors collect internally; a write to ESR (any value) copies them
 *   to the readable register and clears the collection. An error also
 *   raises the LVT error vector (edge) if that entry is unmasked.
 * - Priorities: PPR = TPR if TPR[7:4] >= ISRV[7:4], else ISRV & 0xF0, with
 *   ISRV the highest in-service vector. A vector is delivered when its
 *   class (vector[7:4]) is above PPR[7:4]. Vectors 0-15 are illegal: a
 *   fixed interrupt with one sets ESR bit 6 (received) and is dropped, an
 *   ICR fixed/lowest-priority send sets bit 5 (send) and sends nothing.
 * - Software-disabled (SVR bit 8 clear, the reset state): every LVT entry
 *   is masked and stays so; fixed interrupts are not accepted; vectors
 *   already in IRR stay deliverable and EOI works (SDM: "held and require
 *   ... handling by the CPU"). Hardware-disabled (APIC base bit 11 clear):
 *   the APIC is absent, LINT0 is the CPU's INTR and LINT1 its NMI.
 * - Timer input clock: VLAPIC_BUS_HZ = 1 GHz, so one bus tick is 1 ns and
 *   the counter decrements once every `divide` ns (divide 1-128 from the
 *   DCR). CPUID leaf 0x15/0x16 or calibration tells the guest the rate.
 *   One-shot: counts down once and stops at 0. Periodic: reloads the
 *   initial count at 0. A DCR write keeps the current count and counts on
 *   at the new rate (a fraction of a tick is lost). Writing initial count 0
 *   stops the timer. Expiries up to now_ns coalesce into one interrupt.
 * - TSC-deadline mode (LVT timer bits 18:17 = 10): the deadline is given in
 *   ns of the same clock (the caller converts IA32_TSC_DEADLINE, MSR
 *   0x6E0, from and to guest TSC). It fires once and disarms. Initial count
 *   writes are ignored and current count reads 0 in this mode; outside it
 *   the deadline reads 0 and writes are ignored; switching into or out of
 *   it disarms both timers.
 * - ICR writes (xAPIC: the low word sends, x2APIC: MSR 0x830) queue a
 *   vlapic_ipi for the caller to route (vlapic_take_ipi), with two
 *   exceptions handled here: shorthand "self" with fixed delivery (and the
 *   x2APIC SELF IPI MSR) are accepted directly, and an INIT level de-assert
 *   (INIT, level 0, trigger level) is dropped, as modern CPUs do. Shorthand
 *   "all including self" is queued: the caller delivers it to this vCPU
 *   too. "Self" with other delivery modes is invalid and dropped. The
 *   delivery-status bit always reads idle. Lowest-priority IPIs are queued
 *   as such; the caller may deliver them to any one matching vCPU.
 * - EOI clears the highest in-service vector; if it was level-triggered
 *   (its TMR bit set) it is kept for vlapic_take_eoi() so the caller can
 *   tell the IOAPIC; a matching LINT0/LINT1 remote IRR is cleared.
 * - Base MSR (vlapic_set_base): legal transitions only (SDM "x2APIC State
 *   Transitions"): xAPIC <-> disabled, xAPIC -> x2APIC, x2APIC -> disabled,
 *   and no x2APIC -> xAPIC, disabled -> x2APIC or EN=0 with EXTD=1. The
 *   BSP bit is read-only. Disabling resets the APIC to power-on state.
 *   In x2APIC mode the ID is the 32-bit initial ID and LDR is derived from
 *   it: (ID[31:4] << 16) | (1 << ID[3:0]).
 *
 * The caller, after any call that can change IRR or PPR, asks
 * vlapic_pending_vector() and, once the CPU takes that vector, calls
 * vlapic_ack(). All state is the plain struct below (no pointers): a
 * snapshot copies it whole; check one with vlapic_state_valid(). Times in
 * it are on the now_ns clock. */
#ifndef KEEL_LAPIC_H
#define KEEL_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define VLAPIC_BUS_HZ 1000000000u
#define VLAPIC_DEFAULT_BASE 0xFEE00000u
#define VLAPIC_VERSION 0x50014u

/* IA32_APIC_BASE (MSR 0x1B) bits. */
#define VLAPIC_BASE_BSP (1u << 8)
#define VLAPIC_BASE_EXTD (1u << 10) /* x2APIC mode */
#define VLAPIC_BASE_EN (1u << 11)
#define VLAPIC_BASE_ADDR_MASK 0x000FFFFFFFFFF000ull /* MAXPHYADDR 52 */

/* xAPIC register offsets (x2APIC MSR = 0x800 + offset / 16). */
#define VLAPIC_ID 0x020
#define VLAPIC_VER 0x030
#define VLAPIC_TPR 0x080
#define VLAPIC_APR 0x090
#define VLAPIC_PPR 0x0A0
#define VLAPIC_EOI 0x0B0
#define VLAPIC_RRD 0x0C0
#define VLAPIC_LDR 0x0D0
#define VLAPIC_DFR 0x0E0
#define VLAPIC_SVR 0x0F0
#define VLAPIC_ISR 0x100 /* 8 registers, 0x100-0x170 */
#define VLAPIC_TMR 0x180
#define VLAPIC_IRR 0x200
#define VLAPIC_ESR 0x280
#define VLAPIC_ICR_LO 0x300
#define VLAPIC_ICR_HI 0x310
#define VLAPIC_LVT_TIMER 0x320
#define VLAPIC_LVT_THERMAL 0x330
#define VLAPIC_LVT_PERF 0x340
#define VLAPIC_LVT_LINT0 0x350
#define VLAPIC_LVT_LINT1 0x360
#define VLAPIC_LVT_ERROR 0x370
#define VLAPIC_TIMER_ICR 0x380
#define VLAPIC_TIMER_CCR 0x390
#define VLAPIC_TIMER_DCR 0x3E0
#define VLAPIC_SELF_IPI 0x3F0 /* x2APIC only */

#define VLAPIC_MSR_BASE 0x800u
#define VLAPIC_MSR_ICR 0x830u
#define VLAPIC_MSR_SELF_IPI 0x83Fu

/* LVT and ICR fields. */
#define VLAPIC_LVT_MASKED (1u << 16)
#define VLAPIC_LVT_LEVEL (1u << 15) /* trigger mode (LINT0 only) */
#define VLAPIC_LVT_REMOTE_IRR (1u << 14)
#define VLAPIC_TIMER_ONESHOT (0u << 17)
#define VLAPIC_TIMER_PERIODIC (1u << 17)
#define VLAPIC_TIMER_TSC_DEADLINE (2u << 17)

/* ESR bits. */
#define VLAPIC_ESR_SEND_ILLEGAL (1u << 5)
#define VLAPIC_ESR_RECV_ILLEGAL (1u << 6)
#define VLAPIC_ESR_ILLEGAL_REG (1u << 7)

/* Delivery modes (ICR and LVT bits 10:8). */
enum {
	VLAPIC_DM_FIXED = 0,
	VLAPIC_DM_LOWEST = 1,
	VLAPIC_DM_SMI = 2,
	VLAPIC_DM_NMI = 4,
	VLAPIC_DM_INIT = 5,
	VLAPIC_DM_STARTUP = 6,
	VLAPIC_DM_EXTINT = 7,
};

/* Destination shorthands (ICR bits 19:18). */
enum {
	VLAPIC_SH_NONE = 0,
	VLAPIC_SH_SELF = 1,
	VLAPIC_SH_ALL = 2, /* including self */
	VLAPIC_SH_OTHERS = 3, /* all excluding self */
};

/* LVT entries, in register order. */
enum {
	VLAPIC_LVT_I_TIMER,
	VLAPIC_LVT_I_THERMAL,
	VLAPIC_LVT_I_PERF,
	VLAPIC_LVT_I_LINT0,
	VLAPIC_LVT_I_LINT1,
	VLAPIC_LVT_I_ERROR,
	VLAPIC_NR_LVT,
};

/* An interprocessor interrupt for the caller to route. dest is 8 bits in
 * xAPIC mode (0xFF broadcast) and 32 bits in x2APIC mode (0xFFFFFFFF);
 * match it against each vCPU with vlapic_match_dest() unless shorthand
 * says otherwise. Fixed and lowest-priority go to vlapic_accept(); NMI,
 * SMI, INIT and STARTUP (vector = start page, CS:IP = vector << 8 : 0) are
 * the receiving vCPU's business. */
struct vlapic_ipi {
	uint32_t dest;
	uint8_t vector;
	uint8_t delivery; /* VLAPIC_DM_* (never EXTINT) */
	uint8_t logical; /* 0 physical, 1 logical destination */
	uint8_t shorthand; /* VLAPIC_SH_NONE, _ALL or _OTHERS */
	uint8_t level; /* 1 assert (always 1 but for INIT de-assert, dropped) */
	uint8_t trigger_level; /* 1 level, 0 edge */
};

#define VLAPIC_IPI_QUEUE 8

struct vlapic {
	uint64_t base; /* IA32_APIC_BASE */
	uint32_t initial_id; /* from vlapic_reset(): the x2APIC ID */
	uint32_t id; /* xAPIC: 8 bits (register bits 31:24); x2APIC: 32 */
	uint32_t tpr, ldr, dfr, svr;
	uint32_t isr[8], tmr[8], irr[8]; /* bit v % 32 of word v / 32 */
	uint32_t eoi_level[8]; /* level vectors EOI'd, not yet taken */
	uint32_t esr; /* as read */
	uint32_t esr_pending; /* errors since the last ESR write */
	uint32_t icr_lo, icr_hi; /* x2APIC: icr_hi is the 32-bit dest */
	uint32_t lvt[VLAPIC_NR_LVT];
	uint32_t timer_initial; /* initial count register */
	uint32_t timer_dcr; /* divide configuration, bits 0, 1, 3 */
	uint32_t timer_count; /* count at timer_base_ns; 0 = stopped */
	uint64_t timer_base_ns;
	uint64_t tsc_deadline_ns; /* 0 = disarmed */
	struct vlapic_ipi ipi[VLAPIC_IPI_QUEUE];
	uint32_t ipi_head, ipi_count;
	uint32_t ipi_dropped; /* queue overflows (the caller did not drain) */
};

/* Power-on state (also after hardware disable): base 0xFEE00000 enabled
 * in xAPIC mode, BSP bit as given, every register 0 but DFR (all ones),
 * SVR (0xFF: software-disabled) and the LVTs (masked). */
void vlapic_reset(struct vlapic *l, uint32_t apic_id, bool bsp);
/* An INIT signal: as vlapic_reset() but the ID, base MSR (mode
 * included) and, in x2APIC mode, LDR survive. */
void vlapic_init_signal(struct vlapic *l);
/* What a BIOS leaves on the BSP for a direct kernel boot: software
 * enabled, spurious vector 0xFF, LINT0 ExtINT (virtual wire: the 8259
 * reaches the CPU), LINT1 NMI. */
void vlapic_virtual_wire(struct vlapic *l);

/* xAPIC MMIO (offset within the 4 KiB page; other offsets bits ignored). */
uint32_t vlapic_read(struct vlapic *l, uint32_t offset, uint64_t now_ns);
void vlapic_write(struct vlapic *l, uint32_t offset, uint32_t value, uint64_t now_ns);
/* x2APIC MSRs 0x800-0x8FF: 0, or -1 for #GP. */
int vlapic_msr_read(struct vlapic *l, uint32_t msr, uint64_t *val, uint64_t now_ns);
int vlapic_msr_write(struct vlapic *l, uint32_t msr, uint64_t val, uint64_t now_ns);
/* IA32_APIC_BASE write: 0, or -1 for #GP (nothing changed). */
int vlapic_set_base(struct vlapic *l, uint64_t value);
bool vlapic_x2apic(const struct vlapic *l);
bool vlapic_hw_enabled(const struct vlapic *l);
bool vlapic_sw_enabled(const struct vlapic *l);

/* A fixed (or lowest-priority) interrupt arriving: sets IRR, and TMR if
 * LEVEL_TRIGGERED (clears it if not). Dropped if the APIC is disabled. */
void vlapic_accept(struct vlapic *l, uint8_t vector, bool level_triggered);
/* The vector to deliver now (highest IRR above PPR's class), or -1. */
int vlapic_pending_vector(const struct vlapic *l);
/* The CPU took VECTOR (from vlapic_pending_vector()): IRR -> ISR. */
void vlapic_ack(struct vlapic *l, uint8_t vector);
/* A level-triggered vector whose EOI the IOAPIC has not heard, or -1. */
int vlapic_take_eoi(struct vlapic *l);
uint32_t vlapic_ppr(const struct vlapic *l);

/* When the timer next expires (at or before now_ns if it is due), or
 * UINT64_MAX if it is stopped. */
uint64_t vlapic_timer_deadline(const struct vlapic *l, uint64_t now_ns);
/* If the timer expired by now_ns: accept its vector unless the LVT entry
 * is masked, rearm a periodic timer, return true. */
bool vlapic_timer_fire(struct vlapic *l, uint64_t now_ns);
/* IA32_TSC_DEADLINE, in ns (0 disarms). */
void vlapic_set_tsc_deadline(struct vlapic *l, uint64_t deadline_ns, uint64_t now_ns);
uint64_t vlapic_tsc_deadline(const struct vlapic *l);

/* The oldest queued IPI; false if none. */
bool vlapic_take_ipi(struct vlapic *l, struct vlapic_ipi *out);
/* Whether this APIC is a target of DEST in the given destination mode. */
bool vlapic_match_dest(const struct vlapic *l, uint32_t dest, bool logical);

/* What the caller does when a LINT pin is asserted (a rising edge, or a
 * level-triggered LINT0 while high). */
enum vlapic_lint_action {
	VLAPIC_LINT_NONE, /* masked, or nothing to do */
	VLAPIC_LINT_FIXED, /* accepted here: ask vlapic_pending_vector() */
	VLAPIC_LINT_EXTINT, /* take the vector from the 8259 and inject it */
	VLAPIC_LINT_NMI,
	VLAPIC_LINT_SMI,
	VLAPIC_LINT_INIT,
};
enum vlapic_lint_action vlapic_lint(struct vlapic *l, unsigned pin);

/* True if S is a state this code can run from (every field in range). */
bool vlapic_state_valid(const struct vlapic *s);

#endif
