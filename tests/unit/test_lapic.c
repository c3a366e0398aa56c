/* Unit tests for the virtual local APIC (vdev/lapic.c), driven the way
 * Linux drives one: SVR enable, TPR, EOI, timer in its three modes, ICR
 * for INIT/SIPI and IPIs, x2APIC MSRs; devices are played by
 * vlapic_accept() and the CPU by vlapic_pending_vector() + vlapic_ack(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <keel/lapic.h>

#define ICR_INIT 0x00004500u /* INIT, level assert, edge */
#define ICR_INIT_DEASSERT 0x00008500u
#define ICR_SIPI 0x00004600u
#define ICR_LOGICAL (1u << 11)
#define SH_SELF (1u << 18)
#define SH_ALL (2u << 18)
#define SH_OTHERS (3u << 18)
#define DIV1 0xB
#define DIV2 0x0
#define DIV16 0x3

static struct vlapic l;

static int setup(void **state)
{
	(void)state;
	vlapic_reset(&l, 0, true);
	return 0;
}

static uint32_t rd(uint32_t off)
{
	return vlapic_read(&l, off, 0);
}

static void wr(uint32_t off, uint32_t v)
{
	vlapic_write(&l, off, v, 0);
}

static void enable(void)
{
	wr(VLAPIC_SVR, 0x1FF);
}

/* The CPU takes the pending vector, if any. */
static int take(void)
{
	int v = vlapic_pending_vector(&l);

	if (v >= 0)
		vlapic_ack(&l, (uint8_t)v);
	return v;
}

static uint32_t esr(void)
{
	wr(VLAPIC_ESR, 0);
	return rd(VLAPIC_ESR);
}

static void test_reset_values(void **state)
{
	(void)state;
	vlapic_reset(&l, 3, false);
	assert_int_equal(rd(VLAPIC_ID), 0x03000000);
	assert_int_equal(rd(VLAPIC_VER), 0x50014);
	assert_int_equal(rd(VLAPIC_DFR), 0xFFFFFFFF);
	assert_int_equal(rd(VLAPIC_SVR), 0xFF);
	assert_int_equal(rd(VLAPIC_TPR), 0);
	for (uint32_t off = VLAPIC_LVT_TIMER; off <= VLAPIC_LVT_ERROR; off += 0x10)
		assert_int_equal(rd(off), VLAPIC_LVT_MASKED);
	assert_int_equal(l.base, 0xFEE00800);
	vlapic_reset(&l, 0, true);
	assert_int_equal(l.base, 0xFEE00900);
	assert_true(vlapic_state_valid(&l));
	/* Software-disabled: LVTs stay masked, fixed interrupts are dropped. */
	wr(VLAPIC_LVT_TIMER, 0x30);
	assert_int_equal(rd(VLAPIC_LVT_TIMER), 0x10030);
	vlapic_accept(&l, 0x40, false);
	assert_int_equal(vlapic_pending_vector(&l), -1);
	/* The ID is writable in xAPIC mode. */
	wr(VLAPIC_ID, 0x05000000);
	assert_int_equal(rd(VLAPIC_ID), 0x05000000);
	assert_true(vlapic_match_dest(&l, 5, false));
}

static void test_svr_enable(void **state)
{
	(void)state;
	enable();
	assert_true(vlapic_sw_enabled(&l));
	wr(VLAPIC_LVT_TIMER, 0x30);
	wr(VLAPIC_LVT_LINT0, 0x700);
	assert_int_equal(rd(VLAPIC_LVT_TIMER), 0x30);
	assert_int_equal(rd(VLAPIC_LVT_LINT0), 0x700);
	vlapic_accept(&l, 0x40, false);
	assert_int_equal(vlapic_pending_vector(&l), 0x40);
	wr(VLAPIC_SVR, 0xFF); /* disable: every LVT masked, IRR held */
	assert_int_equal(rd(VLAPIC_LVT_TIMER), 0x10030);
	assert_int_equal(rd(VLAPIC_LVT_LINT0), 0x10700);
	assert_int_equal(vlapic_pending_vector(&l), 0x40);
	vlapic_accept(&l, 0x50, false);
	assert_int_equal(vlapic_pending_vector(&l), 0x40);
}

static void test_tpr_ppr(void **state)
{
	(void)state;
	enable();
	wr(VLAPIC_TPR, 0x55);
	assert_int_equal(rd(VLAPIC_PPR), 0x55);
	vlapic_accept(&l, 0x51, false);
	assert_int_equal(vlapic_pending_vector(&l), -1); /* same class as TPR */
	wr(VLAPIC_TPR, 0x4F);
	assert_int_equal(take(), 0x51);
	assert_int_equal(rd(VLAPIC_PPR), 0x50); /* ISRV class above TPR's */
	vlapic_accept(&l, 0x5F, false);
	assert_int_equal(vlapic_pending_vector(&l), -1); /* same class as ISRV */
	vlapic_accept(&l, 0x61, false);
	assert_int_equal(take(), 0x61);
	assert_int_equal(rd(VLAPIC_PPR), 0x60);
	wr(VLAPIC_EOI, 0);
	wr(VLAPIC_EOI, 0);
	assert_int_equal(rd(VLAPIC_PPR), 0x4F);
	assert_int_equal(take(), 0x5F);
	wr(VLAPIC_TPR, 0xFFFFFFFF);
	assert_int_equal(rd(VLAPIC_TPR), 0xFF);
}

static void test_nested_eoi(void **state)
{
	(void)state;
	enable();
	vlapic_accept(&l, 0x40, false);
	assert_int_equal(rd(VLAPIC_IRR + 0x20), 1u); /* vector 0x40: IRR word 2 */
	assert_int_equal(take(), 0x40);
	assert_int_equal(rd(VLAPIC_IRR + 0x20), 0);
	assert_int_equal(rd(VLAPIC_ISR + 0x20), 1u);
	vlapic_accept(&l, 0x41, false); /* same class: waits */
	assert_int_equal(take(), -1);
	vlapic_accept(&l, 0xEC, false); /* higher: nests */
	assert_int_equal(take(), 0xEC);
	assert_int_equal(rd(VLAPIC_ISR + 0x70), 1u << 12);
	wr(VLAPIC_EOI, 0);
	assert_int_equal(rd(VLAPIC_ISR + 0x70), 0);
	assert_int_equal(rd(VLAPIC_ISR + 0x20), 1u);
	assert_int_equal(take(), -1);
	wr(VLAPIC_EOI, 0);
	assert_int_equal(take(), 0x41);
	wr(VLAPIC_EOI, 0);
	wr(VLAPIC_EOI, 0); /* nothing in service: harmless */
	assert_int_equal(rd(VLAPIC_ISR + 0x20), 0);
	assert_int_equal(vlapic_take_eoi(&l), -1); /* all edge */
}

static void test_level_eoi(void **state)
{
	(void)state;
	enable();
	vlapic_accept(&l, 0x31, true);
	vlapic_accept(&l, 0x52, false);
	assert_int_equal(rd(VLAPIC_TMR + 0x10), 1u << 17);
	assert_int_equal(take(), 0x52);
	assert_int_equal(take(), -1);
	wr(VLAPIC_EOI, 0);
	assert_int_equal(vlapic_take_eoi(&l), -1);
	assert_int_equal(take(), 0x31);
	wr(VLAPIC_EOI, 0);
	assert_int_equal(vlapic_take_eoi(&l), 0x31);
	assert_int_equal(vlapic_take_eoi(&l), -1);
	/* The same vector later edge-triggered clears its TMR bit. */
	vlapic_accept(&l, 0x31, false);
	assert_int_equal(rd(VLAPIC_TMR + 0x10), 0);
}

static void test_timer_oneshot(void **state)
{
	(void)state;
	enable();
	assert_int_equal(vlapic_timer_deadline(&l, 0), UINT64_MAX);
	vlapic_write(&l, VLAPIC_LVT_TIMER, 0x20, 0);
	vlapic_write(&l, VLAPIC_TIMER_DCR, DIV1, 0);
	vlapic_write(&l, VLAPIC_TIMER_ICR, 1000, 100);
	assert_int_equal(vlapic_timer_deadline(&l, 100), 1100);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CCR, 500), 600);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_ICR, 500), 1000);
	assert_false(vlapic_timer_fire(&l, 1099));
	assert_int_equal(vlapic_pending_vector(&l), -1);
	assert_true(vlapic_timer_fire(&l, 1100));
	assert_int_equal(take(), 0x20);
	assert_false(vlapic_timer_fire(&l, 5000));
	assert_int_equal(vlapic_timer_deadline(&l, 5000), UINT64_MAX);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CCR, 5000), 0);
	/* Divide by 16: 100 counts take 1600 ns. */
	vlapic_write(&l, VLAPIC_TIMER_DCR, DIV16, 10000);
	vlapic_write(&l, VLAPIC_TIMER_ICR, 100, 10000);
	assert_int_equal(vlapic_timer_deadline(&l, 10000), 11600);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CCR, 10160), 90);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CCR, 10175), 90);
	/* Initial count 0 stops it. */
	vlapic_write(&l, VLAPIC_TIMER_ICR, 0, 10200);
	assert_int_equal(vlapic_timer_deadline(&l, 10200), UINT64_MAX);
	assert_false(vlapic_timer_fire(&l, 20000));
}

static void test_timer_periodic(void **state)
{
	uint64_t t = 0;
	int fires = 0;

	(void)state;
	enable();
	vlapic_write(&l, VLAPIC_TIMER_DCR, DIV1, 0);
	vlapic_write(&l, VLAPIC_LVT_TIMER, VLAPIC_TIMER_PERIODIC | 0xEF, 0);
	vlapic_write(&l, VLAPIC_TIMER_ICR, 1000, 100);
	for (int i = 0; i < 5; i++) {
		t = vlapic_timer_deadline(&l, t);
		assert_int_equal(t, 1100 + 1000 * (uint64_t)i);
		assert_false(vlapic_timer_fire(&l, t - 1));
		if (vlapic_timer_fire(&l, t))
			fires++;
		assert_int_equal(take(), 0xEF);
		vlapic_write(&l, VLAPIC_EOI, 0, t);
	}
	assert_int_equal(fires, 5);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CCR, 5100), 1000);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CCR, 5600), 500);
	/* Late by 10.5 periods: one interrupt, the next expiry after now. */
	assert_true(vlapic_timer_fire(&l, 16600));
	assert_int_equal(take(), 0xEF);
	assert_int_equal(take(), -1);
	assert_int_equal(vlapic_timer_deadline(&l, 16600), 17100);
	/* The current count is right even before a late expiry is collected. */
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CCR, 18350), 750);
	/* Periodic -> one-shot: the current period ends, then it stops. */
	vlapic_write(&l, VLAPIC_LVT_TIMER, 0xEF, 16700);
	assert_true(vlapic_timer_fire(&l, 17100));
	assert_int_equal(vlapic_timer_deadline(&l, 17100), UINT64_MAX);
}

static void test_timer_masked(void **state)
{
	(void)state;
	enable();
	vlapic_write(&l, VLAPIC_TIMER_DCR, DIV1, 0);
	vlapic_write(&l, VLAPIC_LVT_TIMER, VLAPIC_LVT_MASKED | 0x30, 0);
	vlapic_write(&l, VLAPIC_TIMER_ICR, 50, 0);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CCR, 20), 30);
	assert_true(vlapic_timer_fire(&l, 60));
	assert_int_equal(vlapic_pending_vector(&l), -1);
	assert_int_equal(vlapic_timer_deadline(&l, 60), UINT64_MAX);
}

static void test_timer_divide_change(void **state)
{
	(void)state;
	enable();
	vlapic_write(&l, VLAPIC_TIMER_DCR, DIV1, 0);
	vlapic_write(&l, VLAPIC_LVT_TIMER, 0x30, 0);
	vlapic_write(&l, VLAPIC_TIMER_ICR, 1000, 0);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CCR, 400), 600);
	vlapic_write(&l, VLAPIC_TIMER_DCR, DIV2, 400);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_DCR, 400), DIV2);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CCR, 1000), 300);
	assert_int_equal(vlapic_timer_deadline(&l, 1000), 1600);
	/* Every divide value: 1, 2, 4, ... 128. */
	static const uint32_t dcr[8] = {0xB, 0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xA};
	for (unsigned i = 0; i < 8; i++) {
		vlapic_write(&l, VLAPIC_TIMER_DCR, dcr[i], 10000);
		vlapic_write(&l, VLAPIC_TIMER_ICR, 10, 10000);
		assert_int_equal(vlapic_timer_deadline(&l, 10000), 10000 + (10u << i));
	}
}

static void test_timer_tsc_deadline(void **state)
{
	(void)state;
	enable();
	/* Ignored outside TSC-deadline mode. */
	vlapic_set_tsc_deadline(&l, 5000, 0);
	assert_int_equal(vlapic_tsc_deadline(&l), 0);
	vlapic_write(&l, VLAPIC_TIMER_ICR, 1000, 0);
	vlapic_write(&l, VLAPIC_LVT_TIMER, VLAPIC_TIMER_TSC_DEADLINE | 0x22, 0);
	assert_int_equal(vlapic_read(&l, VLAPIC_LVT_TIMER, 0), VLAPIC_TIMER_TSC_DEADLINE | 0x22);
	/* The switch disarmed the count timer; ICR writes are ignored. */
	assert_int_equal(vlapic_timer_deadline(&l, 0), UINT64_MAX);
	vlapic_write(&l, VLAPIC_TIMER_ICR, 1000, 0);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_ICR, 0), 0);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CCR, 10), 0);
	vlapic_set_tsc_deadline(&l, 5000, 0);
	assert_int_equal(vlapic_tsc_deadline(&l), 5000);
	assert_int_equal(vlapic_timer_deadline(&l, 0), 5000);
	assert_false(vlapic_timer_fire(&l, 4999));
	assert_true(vlapic_timer_fire(&l, 5000));
	assert_int_equal(take(), 0x22);
	assert_int_equal(vlapic_tsc_deadline(&l), 0);
	assert_false(vlapic_timer_fire(&l, 9000));
	/* A deadline in the past fires at once; 0 disarms. */
	vlapic_set_tsc_deadline(&l, 100, 9000);
	assert_true(vlapic_timer_fire(&l, 9000));
	vlapic_set_tsc_deadline(&l, 20000, 9000);
	vlapic_set_tsc_deadline(&l, 0, 9000);
	assert_false(vlapic_timer_fire(&l, 30000));
	/* Leaving the mode disarms the deadline. */
	vlapic_set_tsc_deadline(&l, 40000, 30000);
	vlapic_write(&l, VLAPIC_LVT_TIMER, 0x22, 30000);
	assert_int_equal(vlapic_tsc_deadline(&l), 0);
	assert_false(vlapic_timer_fire(&l, 50000));
}

static void expect_ipi(uint8_t delivery, uint8_t vector, uint32_t dest, uint8_t logical,
		       uint8_t shorthand)
{
	struct vlapic_ipi ipi;

	assert_true(vlapic_take_ipi(&l, &ipi));
	assert_int_equal(ipi.delivery, delivery);
	assert_int_equal(ipi.vector, vector);
	assert_int_equal(ipi.dest, dest);
	assert_int_equal(ipi.logical, logical);
	assert_int_equal(ipi.shorthand, shorthand);
	assert_int_equal(ipi.level, 1);
}

static void test_icr_init_sipi(void **state)
{
	struct vlapic_ipi ipi;

	(void)state;
	enable();
	/* Linux's wakeup_secondary_cpu_via_init(): INIT assert, de-assert,
	 * then two STARTUPs. */
	wr(VLAPIC_ICR_HI, 0x01000000);
	wr(VLAPIC_ICR_LO, ICR_INIT | (1u << 15));
	expect_ipi(VLAPIC_DM_INIT, 0, 1, 0, VLAPIC_SH_NONE);
	wr(VLAPIC_ICR_LO, ICR_INIT_DEASSERT);
	assert_false(vlapic_take_ipi(&l, &ipi));
	wr(VLAPIC_ICR_LO, ICR_SIPI | 0x9A);
	assert_int_equal(rd(VLAPIC_ICR_LO) & (1u << 12), 0); /* delivery idle */
	assert_int_equal(rd(VLAPIC_ICR_LO), ICR_SIPI | 0x9A);
	assert_int_equal(rd(VLAPIC_ICR_HI), 0x01000000);
	wr(VLAPIC_ICR_LO, ICR_SIPI | 0x9A);
	expect_ipi(VLAPIC_DM_STARTUP, 0x9A, 1, 0, VLAPIC_SH_NONE);
	expect_ipi(VLAPIC_DM_STARTUP, 0x9A, 1, 0, VLAPIC_SH_NONE);
	assert_false(vlapic_take_ipi(&l, &ipi));
	/* NMI to all but self (Linux's NMI backtrace). */
	wr(VLAPIC_ICR_LO, SH_OTHERS | 0x400);
	expect_ipi(VLAPIC_DM_NMI, 0, 1, 0, VLAPIC_SH_OTHERS);
}

static void test_icr_fixed(void **state)
{
	struct vlapic_ipi ipi;

	(void)state;
	enable();
	wr(VLAPIC_ICR_HI, 0x02000000);
	wr(VLAPIC_ICR_LO, 0xFB);
	expect_ipi(VLAPIC_DM_FIXED, 0xFB, 2, 0, VLAPIC_SH_NONE);
	wr(VLAPIC_ICR_HI, 0x0C000000);
	wr(VLAPIC_ICR_LO, ICR_LOGICAL | 0x1FC); /* lowest priority, logical */
	expect_ipi(VLAPIC_DM_LOWEST, 0xFC, 0x0C, 1, VLAPIC_SH_NONE);
	wr(VLAPIC_ICR_LO, SH_ALL | 0xFD);
	expect_ipi(VLAPIC_DM_FIXED, 0xFD, 0x0C, 0, VLAPIC_SH_ALL);
	wr(VLAPIC_ICR_LO, SH_OTHERS | 0xFE);
	expect_ipi(VLAPIC_DM_FIXED, 0xFE, 0x0C, 0, VLAPIC_SH_OTHERS);
	/* Self: accepted here, nothing queued. */
	wr(VLAPIC_ICR_LO, SH_SELF | 0xF3);
	assert_false(vlapic_take_ipi(&l, &ipi));
	assert_int_equal(take(), 0xF3);
	/* An illegal vector sends nothing and sets ESR "send illegal". */
	wr(VLAPIC_ICR_LO, 0x05);
	assert_false(vlapic_take_ipi(&l, &ipi));
	assert_int_equal(esr(), VLAPIC_ESR_SEND_ILLEGAL);
	/* A full queue drops and counts. */
	for (int i = 0; i < VLAPIC_IPI_QUEUE + 2; i++)
		wr(VLAPIC_ICR_LO, 0x40 + (uint32_t)i);
	assert_int_equal(l.ipi_dropped, 2);
	for (int i = 0; i < VLAPIC_IPI_QUEUE; i++)
		expect_ipi(VLAPIC_DM_FIXED, (uint8_t)(0x40 + i), 0x0C, 0, VLAPIC_SH_NONE);
	assert_false(vlapic_take_ipi(&l, &ipi));
}

static void test_esr_latch(void **state)
{
	(void)state;
	enable();
	assert_int_equal(rd(0x2F0), 0); /* CMCI: not with max LVT 5 */
	assert_int_equal(rd(VLAPIC_ESR), 0); /* not latched yet */
	wr(VLAPIC_ESR, 0);
	assert_int_equal(rd(VLAPIC_ESR), VLAPIC_ESR_ILLEGAL_REG);
	assert_int_equal(rd(VLAPIC_ESR), VLAPIC_ESR_ILLEGAL_REG);
	wr(VLAPIC_ESR, 0);
	assert_int_equal(rd(VLAPIC_ESR), 0);
	wr(VLAPIC_SELF_IPI, 0x40); /* x2APIC only */
	wr(0x040, 1);
	assert_int_equal(esr(), VLAPIC_ESR_ILLEGAL_REG);
	/* Read-only registers ignore writes without an error. */
	wr(VLAPIC_VER, 0);
	wr(VLAPIC_PPR, 0);
	wr(VLAPIC_IRR, 0xFFFFFFFF);
	assert_int_equal(rd(VLAPIC_VER), 0x50014);
	assert_int_equal(rd(VLAPIC_IRR), 0);
	assert_int_equal(esr(), 0);
	/* An unmasked LVT error entry raises its vector. */
	wr(VLAPIC_LVT_ERROR, 0xFE);
	vlapic_accept(&l, 3, false);
	assert_int_equal(take(), 0xFE);
	assert_int_equal(esr(), VLAPIC_ESR_RECV_ILLEGAL);
}

static void x2apic_on(uint32_t id)
{
	vlapic_reset(&l, id, true);
	assert_int_equal(vlapic_set_base(&l, 0xFEE00000 | VLAPIC_BASE_EN | VLAPIC_BASE_EXTD), 0);
	assert_true(vlapic_x2apic(&l));
}

static void test_x2apic_msrs(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(vlapic_msr_read(&l, 0x802, &v, 0), -1); /* xAPIC mode */
	x2apic_on(0x123);
	assert_int_equal(rd(VLAPIC_ID), 0); /* MMIO is gone */
	assert_int_equal(vlapic_msr_read(&l, 0x802, &v, 0), 0);
	assert_int_equal(v, 0x123);
	assert_int_equal(vlapic_msr_write(&l, 0x802, 5, 0), -1);
	assert_int_equal(vlapic_msr_read(&l, 0x80D, &v, 0), 0);
	assert_int_equal(v, (0x12u << 16) | (1u << 3));
	assert_int_equal(vlapic_msr_write(&l, 0x80D, 0, 0), -1);
	assert_int_equal(vlapic_msr_read(&l, 0x80E, &v, 0), -1); /* no DFR */
	assert_int_equal(vlapic_msr_read(&l, 0x831, &v, 0), -1); /* no ICR2 */
	assert_int_equal(vlapic_msr_read(&l, 0x809, &v, 0), -1); /* no APR */
	assert_int_equal(vlapic_msr_read(&l, 0x8FF, &v, 0), -1);
	assert_int_equal(vlapic_msr_write(&l, 0x80F, 0x1FF, 0), 0);
	assert_int_equal(vlapic_msr_write(&l, 0x808, 1ull << 32, 0), -1);
	assert_int_equal(vlapic_msr_write(&l, 0x803, 0, 0), -1); /* read-only */
	/* SELF IPI, then EOI: nonzero #GP, read #GP. */
	assert_int_equal(vlapic_msr_read(&l, VLAPIC_MSR_SELF_IPI, &v, 0), -1);
	assert_int_equal(vlapic_msr_write(&l, VLAPIC_MSR_SELF_IPI, 0x50, 0), 0);
	assert_int_equal(take(), 0x50);
	assert_int_equal(vlapic_msr_read(&l, 0x810 + 2, &v, 0), 0);
	assert_int_equal(v, 1u << 16);
	assert_int_equal(vlapic_msr_read(&l, 0x80B, &v, 0), -1);
	assert_int_equal(vlapic_msr_write(&l, 0x80B, 1, 0), -1);
	assert_int_equal(vlapic_msr_write(&l, 0x80B, 0, 0), 0);
	assert_int_equal(vlapic_msr_read(&l, 0x810 + 2, &v, 0), 0);
	assert_int_equal(v, 0);
	/* ESR: only 0 may be written. */
	assert_int_equal(vlapic_msr_write(&l, 0x828, 1, 0), -1);
	assert_int_equal(vlapic_msr_write(&l, 0x828, 0, 0), 0);
	/* ICR: one 64-bit MSR with a 32-bit destination. */
	assert_int_equal(
	    vlapic_msr_write(&l, VLAPIC_MSR_ICR, (0x10002ull << 32) | ICR_SIPI | 0x10, 0), 0);
	expect_ipi(VLAPIC_DM_STARTUP, 0x10, 0x10002, 0, VLAPIC_SH_NONE);
	assert_int_equal(vlapic_msr_read(&l, VLAPIC_MSR_ICR, &v, 0), 0);
	assert_int_equal(v, (0x10002ull << 32) | ICR_SIPI | 0x10);
	/* Timer through MSRs. */
	assert_int_equal(vlapic_msr_write(&l, 0x83E, DIV1, 0), 0);
	assert_int_equal(vlapic_msr_write(&l, 0x832, 0x31, 0), 0);
	assert_int_equal(vlapic_msr_write(&l, 0x838, 100, 0), 0);
	assert_int_equal(vlapic_msr_read(&l, 0x839, &v, 40), 0);
	assert_int_equal(v, 60);
	assert_int_equal(vlapic_msr_write(&l, 0x839, 0, 0), -1);
	/* Destinations: x2APIC cluster and broadcast. */
	assert_true(vlapic_match_dest(&l, 0x123, false));
	assert_false(vlapic_match_dest(&l, 0x23, false));
	assert_true(vlapic_match_dest(&l, 0xFFFFFFFF, false));
	assert_true(vlapic_match_dest(&l, (0x12u << 16) | 0x000C, true));
	assert_false(vlapic_match_dest(&l, (0x12u << 16) | 0x0004, true));
	assert_false(vlapic_match_dest(&l, (0x13u << 16) | 0x0008, true));
	assert_true(vlapic_state_valid(&l));
}

static void test_base_transitions(void **state)
{
	const uint64_t addr = 0xFEE00000, en = VLAPIC_BASE_EN, extd = VLAPIC_BASE_EXTD;
	uint64_t v;

	(void)state;
	enable();
	vlapic_accept(&l, 0x40, false);
	assert_int_equal(vlapic_set_base(&l, addr | extd), -1); /* EXTD without EN */
	assert_int_equal(vlapic_set_base(&l, addr | en | 1), -1); /* reserved bit */
	assert_int_equal(vlapic_set_base(&l, (1ull << 52) | en), -1);
	assert_int_equal(vlapic_set_base(&l, addr | en | extd), 0);
	assert_int_equal(l.base & VLAPIC_BASE_BSP, VLAPIC_BASE_BSP); /* kept */
	assert_int_equal(vlapic_pending_vector(&l), 0x40); /* state survives */
	assert_int_equal(vlapic_set_base(&l, addr | en), -1); /* x2APIC -> xAPIC */
	assert_int_equal(vlapic_set_base(&l, addr), 0); /* -> disabled */
	assert_false(vlapic_hw_enabled(&l));
	assert_int_equal(vlapic_pending_vector(&l), -1);
	assert_int_equal(vlapic_msr_read(&l, 0x802, &v, 0), -1);
	assert_int_equal(vlapic_set_base(&l, addr | en | extd), -1); /* disabled -> x2APIC */
	assert_int_equal(vlapic_set_base(&l, addr | en), 0);
	/* Back in power-on state. */
	assert_int_equal(rd(VLAPIC_SVR), 0xFF);
	assert_int_equal(rd(VLAPIC_IRR + 0x20), 0);
	assert_int_equal(l.base & VLAPIC_BASE_BSP, VLAPIC_BASE_BSP);
	/* The BSP bit is read-only. */
	assert_int_equal(vlapic_set_base(&l, addr | en), 0);
	assert_int_equal(l.base, addr | en | VLAPIC_BASE_BSP);
	assert_true(vlapic_state_valid(&l));
}

static void test_match_dest(void **state)
{
	(void)state;
	vlapic_reset(&l, 2, false);
	assert_true(vlapic_match_dest(&l, 2, false));
	assert_false(vlapic_match_dest(&l, 3, false));
	assert_true(vlapic_match_dest(&l, 0xFF, false));
	/* Flat: one LDR bit per APIC, any common bit matches. */
	wr(VLAPIC_LDR, 0x04000000);
	assert_int_equal(rd(VLAPIC_LDR), 0x04000000);
	assert_true(vlapic_match_dest(&l, 0x0C, true));
	assert_false(vlapic_match_dest(&l, 0x03, true));
	assert_true(vlapic_match_dest(&l, 0xFF, true));
	/* Cluster: high nibble cluster, low nibble member bits. */
	wr(VLAPIC_DFR, 0x0FFFFFFF);
	assert_int_equal(rd(VLAPIC_DFR), 0x0FFFFFFF);
	wr(VLAPIC_LDR, 0x21000000);
	assert_true(vlapic_match_dest(&l, 0x23, true));
	assert_false(vlapic_match_dest(&l, 0x13, true));
	assert_false(vlapic_match_dest(&l, 0x22, true));
	assert_true(vlapic_match_dest(&l, 0xFF, true));
	/* A disabled APIC matches nothing. */
	assert_int_equal(vlapic_set_base(&l, 0xFEE00000), 0);
	assert_false(vlapic_match_dest(&l, 0xFF, false));
}

static void test_lint(void **state)
{
	(void)state;
	/* Reset: LINT entries masked. */
	assert_int_equal(vlapic_lint(&l, 0), VLAPIC_LINT_NONE);
	vlapic_virtual_wire(&l);
	assert_int_equal(vlapic_lint(&l, 0), VLAPIC_LINT_EXTINT);
	assert_int_equal(vlapic_lint(&l, 1), VLAPIC_LINT_NMI);
	assert_int_equal(vlapic_lint(&l, 2), VLAPIC_LINT_NONE);
	/* LINT0 fixed, level-triggered: remote IRR until EOI. */
	wr(VLAPIC_LVT_LINT0, VLAPIC_LVT_LEVEL | 0x60);
	assert_int_equal(vlapic_lint(&l, 0), VLAPIC_LINT_FIXED);
	assert_int_equal(rd(VLAPIC_LVT_LINT0), VLAPIC_LVT_LEVEL | VLAPIC_LVT_REMOTE_IRR | 0x60);
	assert_int_equal(vlapic_lint(&l, 0), VLAPIC_LINT_NONE);
	assert_int_equal(take(), 0x60);
	wr(VLAPIC_EOI, 0);
	assert_int_equal(rd(VLAPIC_LVT_LINT0), VLAPIC_LVT_LEVEL | 0x60);
	assert_int_equal(vlapic_take_eoi(&l), 0x60);
	/* Hardware-disabled: the pins go straight to the CPU. */
	assert_int_equal(vlapic_set_base(&l, 0xFEE00000), 0);
	assert_int_equal(vlapic_lint(&l, 0), VLAPIC_LINT_EXTINT);
	assert_int_equal(vlapic_lint(&l, 1), VLAPIC_LINT_NMI);
}

static void test_init_signal(void **state)
{
	uint64_t v;

	(void)state;
	x2apic_on(0x42);
	assert_int_equal(vlapic_msr_write(&l, 0x80F, 0x1FF, 0), 0);
	vlapic_accept(&l, 0x40, false);
	vlapic_init_signal(&l);
	assert_true(vlapic_x2apic(&l));
	assert_int_equal(vlapic_pending_vector(&l), -1);
	assert_int_equal(vlapic_msr_read(&l, 0x802, &v, 0), 0);
	assert_int_equal(v, 0x42);
	assert_int_equal(vlapic_msr_read(&l, 0x80F, &v, 0), 0);
	assert_int_equal(v, 0xFF);
	assert_true(vlapic_state_valid(&l));
}

static uint32_t rnd(void)
{
	return (uint32_t)rand() << 16 ^ (uint32_t)rand();
}

static void test_hostile(void **state)
{
	struct vlapic s;
	struct vlapic_ipi ipi;
	uint64_t v, t = 0;

	(void)state;
	srand(1);
	for (int round = 0; round < 4; round++) {
		vlapic_reset(&l, round * 0x55u, round & 1);
		if (round >= 2)
			assert_int_equal(vlapic_set_base(&l, 0xFEE00C00), 0);
		for (int i = 0; i < 20000; i++) {
			uint32_t off = (i & 1) ? rnd() : rnd() & 0x3F0;

			t += rnd() % 1000;
			vlapic_write(&l, off, rnd(), t);
			(void)vlapic_read(&l, rnd(), t);
			(void)vlapic_msr_write(&l, 0x800 + (off & 0xFF),
					       (uint64_t)rnd() << (i & 32), t);
			(void)vlapic_msr_read(&l, 0x7F0 + (off & 0x1FF), &v, t);
			vlapic_accept(&l, (uint8_t)rnd(), rnd() & 1);
			if (i % 7 == 0)
				(void)vlapic_take_ipi(&l, &ipi);
			(void)vlapic_timer_fire(&l, t);
			if (take() >= 0 && (i & 1))
				vlapic_write(&l, VLAPIC_EOI, 0, t);
			(void)vlapic_take_eoi(&l);
			(void)vlapic_lint(&l, rnd());
			vlapic_set_tsc_deadline(&l, t + rnd() % 5000, t);
			if (i % 4096 == 0)
				(void)vlapic_set_base(&l, (uint64_t)rnd() << 32 | rnd());
			(void)vlapic_match_dest(&l, rnd(), rnd() & 1);
			assert_true(vlapic_state_valid(&l));
		}
	}
	/* Bad snapshots are refused. */
	vlapic_reset(&l, 1, false);
	s = l;
	s.base |= VLAPIC_BASE_EXTD;
	s.base &= ~(uint64_t)VLAPIC_BASE_EN;
	assert_false(vlapic_state_valid(&s));
	s = l;
	s.ipi_head = VLAPIC_IPI_QUEUE;
	assert_false(vlapic_state_valid(&s));
	s = l;
	s.lvt[VLAPIC_LVT_I_TIMER] = 0; /* unmasked while software-disabled */
	assert_false(vlapic_state_valid(&s));
	s = l;
	s.dfr = 0x12345678;
	assert_false(vlapic_state_valid(&s));
	s = l;
	s.irr[0] = 1;
	assert_false(vlapic_state_valid(&s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_reset_values, setup),
	    cmocka_unit_test_setup(test_svr_enable, setup),
	    cmocka_unit_test_setup(test_tpr_ppr, setup),
	    cmocka_unit_test_setup(test_nested_eoi, setup),
	    cmocka_unit_test_setup(test_level_eoi, setup),
	    cmocka_unit_test_setup(test_timer_oneshot, setup),
	    cmocka_unit_test_setup(test_timer_periodic, setup),
	    cmocka_unit_test_setup(test_timer_masked, setup),
	    cmocka_unit_test_setup(test_timer_divide_change, setup),
	    cmocka_unit_test_setup(test_timer_tsc_deadline, setup),
	    cmocka_unit_test_setup(test_icr_init_sipi, setup),
	    cmocka_unit_test_setup(test_icr_fixed, setup),
	    cmocka_unit_test_setup(test_esr_latch, setup),
	    cmocka_unit_test_setup(test_x2apic_msrs, setup),
	    cmocka_unit_test_setup(test_base_transitions, setup),
	    cmocka_unit_test_setup(test_match_dest, setup),
	    cmocka_unit_test_setup(test_lint, setup),
	    cmocka_unit_test_setup(test_init_signal, setup),
	    cmocka_unit_test_setup(test_hostile, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
