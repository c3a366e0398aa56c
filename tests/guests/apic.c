/*
 * apic: the local APIC a Keel vCPU has, driven the way a modern kernel
 * drives it: x2APIC mode (MSRs), a self IPI, the timer in one-shot,
 * periodic and TSC-deadline modes, and an NMI sent to itself through the
 * ICR (taken even with interrupts off). Each step checks what the guest can
 * see: the interrupt arrives, at the right time, exactly as often as asked.
 * Two thousand self IPIs in a row must each be taken exactly once, each
 * waking the HLT that waits for it.
 * It also prints how late a TSC-deadline interrupt comes, in microseconds
 * (the TSC rate measured against the APIC timer's 1 GHz count).
 *
 * With test=init (a VM of two vCPUs) it checks INIT instead: the second
 * vCPU, started by INIT-SIPI in real mode, is stopped by an INIT while it
 * runs, with an NMI still queued for it; a SIPI restarts it with no old
 * event left over and NMIs unblocked.
 */
#include "guest.h"

#define MSR_APIC_BASE 0x1B
#define MSR_TSC_DEADLINE 0x6E0
#define X2_ID 0x802
#define X2_VERSION 0x803
#define X2_EOI 0x80B
#define X2_SVR 0x80F
#define X2_ICR 0x830
#define X2_LVT_TIMER 0x832
#define X2_TIMER_ICR 0x838
#define X2_TIMER_CCR 0x839
#define X2_TIMER_DCR 0x83E
#define X2_SELF_IPI 0x83F
#define BASE_BSP (1u << 8)
#define BASE_EXTD (1u << 10)
#define BASE_EN (1u << 11)
#define TIMER_VECTOR 0x40
#define IPI_VECTOR 0x41
#define LVT_PERIODIC (1u << 17)
#define LVT_TSC_DEADLINE (2u << 17)
#define LVT_MASKED (1u << 16)

/* Counted by the handlers below (asm: no C prologue in an interrupt). */
volatile uint32_t timer_hits, ipi_hits, nmi_hits;

__asm__(".text\n"
	"eoi_and_return:\n"
	"	pushl %eax; pushl %ecx; pushl %edx\n"
	"	movl $0x80B, %ecx; xorl %eax, %eax; xorl %edx, %edx; wrmsr\n"
	"	popl %edx; popl %ecx; popl %eax\n"
	"	iret\n"
	"timer_isr: lock incl timer_hits; jmp eoi_and_return\n"
	/* The IPI handler stays a while (about 60,000 instructions) with
	 * interrupts off, so a second delivery has time to come. */
	"ipi_isr: pushl %ecx; movl $20000, %ecx\n"
	"1:	pause; loop 1b\n"
	"	popl %ecx; lock incl ipi_hits; jmp eoi_and_return\n"
	"nmi_isr: lock incl nmi_hits; iret\n");
extern char timer_isr[], ipi_isr[], nmi_isr[];

/* The second vCPU's code, copied to AP_CODE and started there in real mode
 * by a SIPI: count starts, then count forever with interrupts on (so any
 * host can preempt it). Its NMI handler (real-mode IVT entry 2) counts the
 * NMI and goes on counting without an IRET: NMIs stay blocked. */
#define AP_CODE 0x7000
#define AP_STARTS 0x6000
#define AP_COUNT 0x6004
#define AP_NMIS 0x6008
__asm__(".text\n"
	".code16\n"
	"ap_code: cli; xorw %ax, %ax; movw %ax, %ds; movw %ax, %ss; movw $0x6000, %sp\n"
	"	lock incl 0x6000\n"
	"	sti\n"
	"1:	lock incl 0x6004; jmp 1b\n"
	"ap_nmi: lock incl 0x6008\n"
	"	sti\n"
	"2:	lock incl 0x6004; jmp 2b\n"
	"ap_code_end:\n"
	".code32\n");
extern char ap_code[], ap_nmi[], ap_code_end[];

struct __attribute__((packed)) dtr {
	uint16_t limit;
	uint32_t base;
};

struct gate {
	uint16_t off_lo, sel;
	uint8_t zero, type;
	uint16_t off_hi;
};

static const uint64_t gdt[3] = {0, 0x00CF9A000000FFFFULL, 0x00CF92000000FFFFULL};
static struct gate idt[256];

static void set_gate(unsigned vec, void *handler)
{
	uint32_t a = (uint32_t)(uintptr_t)handler;

	idt[vec] = (struct gate){(uint16_t)a, 0x08, 0, 0x8E, (uint16_t)(a >> 16)};
}

/* Our own GDT (a Multiboot loader promises none) and IDT. */
static void setup_tables(void)
{
	static struct dtr g, i;

	g = (struct dtr){sizeof(gdt) - 1, (uint32_t)(uintptr_t)gdt};
	i = (struct dtr){sizeof(idt) - 1, (uint32_t)(uintptr_t)idt};
	__asm__ volatile("lgdt %0\n"
			 "ljmp $0x08, $1f\n"
			 "1: movl $0x10, %%eax\n"
			 "movl %%eax, %%ds; movl %%eax, %%es; movl %%eax, %%ss\n"
			 "movl %%eax, %%fs; movl %%eax, %%gs\n"
			 "lidt %1"
			 :
			 : "m"(g), "m"(i)
			 : "eax", "memory");
	set_gate(2, nmi_isr);
	set_gate(TIMER_VECTOR, timer_isr);
	set_gate(IPI_VECTOR, ipi_isr);
}

static uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
			 :
			 : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

/* Sleep until the counter reaches N; fail after many wake-ups without it. */
static void wait_for(volatile uint32_t *counter, uint32_t n, const char *what)
{
	for (uint32_t i = 0; *counter < n; i++) {
		if (i > 100000)
			xtf_failure("%s: %u of %u interrupts", what, *counter, n);
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
}

static void check_cpuid(void)
{
	uint32_t a, b, c, d;

	cpuid(1, 0, &a, &b, &c, &d);
	if (!(d & (1u << 9)) || !(c & (1u << 21)) || !(c & (1u << 24)))
		xtf_failure("CPUID.1 lacks APIC (%u), x2APIC (%u) or TSC-deadline (%u)",
			    (d >> 9) & 1, (c >> 21) & 1, (c >> 24) & 1);
}

static void enter_x2apic(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);

	if ((uint32_t)base != (0xFEE00000u | BASE_EN | BASE_BSP))
		xtf_failure("APIC base %#x, expected 0xfee00900", (uint32_t)base);
	wrmsr(MSR_APIC_BASE, base | BASE_EXTD);
	if (!(rdmsr(MSR_APIC_BASE) & BASE_EXTD))
		xtf_failure("x2APIC mode did not stick");
	if (rdmsr(X2_ID) != 0)
		xtf_failure("x2APIC ID %u, expected 0", (uint32_t)rdmsr(X2_ID));
	if ((rdmsr(X2_VERSION) & 0xFF) < 0x10)
		xtf_failure("APIC version %#x is not an integrated APIC",
			    (uint32_t)rdmsr(X2_VERSION));
	wrmsr(X2_SVR, 0x1FF); /* software-enable, spurious vector 0xFF */
	puts("x2APIC mode: ID 0");
}

static void one_shot(void)
{
	wrmsr(X2_TIMER_DCR, 0xB); /* divide by 1 */
	wrmsr(X2_LVT_TIMER, TIMER_VECTOR);
	wrmsr(X2_TIMER_ICR, 2000000);
	uint64_t ccr = rdmsr(X2_TIMER_CCR);
	if (ccr == 0 || ccr > 2000000)
		xtf_failure("one-shot: current count %u right after arming", (uint32_t)ccr);
	wait_for(&timer_hits, 1, "one-shot timer");
	delay_loop(2000000);
	if (timer_hits != 1 || rdmsr(X2_TIMER_CCR) != 0)
		xtf_failure("one-shot fired %u times, count now %u", timer_hits,
			    (uint32_t)rdmsr(X2_TIMER_CCR));
	puts("one-shot timer: 1 interrupt, count 0");
}

static void periodic(void)
{
	wrmsr(X2_LVT_TIMER, TIMER_VECTOR | LVT_PERIODIC);
	wrmsr(X2_TIMER_ICR, 500000);
	wait_for(&timer_hits, 6, "periodic timer");
	wrmsr(X2_LVT_TIMER, TIMER_VECTOR | LVT_MASKED);
	wrmsr(X2_TIMER_ICR, 0);
	puts("periodic timer: 5 interrupts");
}

/* TSC cycles per microsecond, from the free-running APIC timer (masked,
 * divide by 1: one count per ns). */
static uint32_t tsc_per_us(void)
{
	wrmsr(X2_LVT_TIMER, LVT_MASKED);
	wrmsr(X2_TIMER_DCR, 0xB);
	wrmsr(X2_TIMER_ICR, 0xFFFFFFFF);
	uint64_t t0 = rdtsc_fenced();
	uint32_t c0 = (uint32_t)rdmsr(X2_TIMER_CCR);
	delay_loop(5000000);
	uint64_t t1 = rdtsc_fenced();
	uint32_t c1 = (uint32_t)rdmsr(X2_TIMER_CCR);
	wrmsr(X2_TIMER_ICR, 0);
	uint32_t ns = c0 - c1, rem;
	if (ns < 1000)
		xtf_failure("the APIC timer did not count (%u ns)", ns);
	return (uint32_t)div64_32((t1 - t0) * 1000, ns, &rem);
}

static void tsc_deadline(void)
{
	uint64_t deadline;
	uint32_t per_us = tsc_per_us(), rem;

	wrmsr(X2_LVT_TIMER, TIMER_VECTOR | LVT_TSC_DEADLINE);
	deadline = rdtsc() + 3000000;
	wrmsr(MSR_TSC_DEADLINE, deadline);
	if (rdmsr(MSR_TSC_DEADLINE) == 0)
		xtf_failure("TSC deadline reads 0 while armed");
	wait_for(&timer_hits, 7, "TSC-deadline timer");
	uint64_t now = rdtsc();
	if (now < deadline)
		xtf_failure("TSC-deadline interrupt %u cycles early", (uint32_t)(deadline - now));
	printf("TSC-deadline lateness: %u us\n",
	       per_us ? (uint32_t)div64_32(now - deadline, per_us, &rem) : 0);
	if (rdmsr(MSR_TSC_DEADLINE) != 0)
		xtf_failure("TSC deadline still armed after it fired");
	/* A deadline already past fires at once. */
	wrmsr(MSR_TSC_DEADLINE, 1);
	wait_for(&timer_hits, 8, "past TSC deadline");
	wrmsr(X2_LVT_TIMER, LVT_MASKED);
	puts("TSC-deadline timer: fired at its deadline, then disarmed");
}

static void ipis(void)
{
	wrmsr(X2_SELF_IPI, IPI_VECTOR);
	wait_for(&ipi_hits, 1, "self IPI");
	/* An NMI to our own ID through the ICR: taken with interrupts off. */
	wrmsr(X2_ICR, (0ULL << 32) | (4u << 8));
	for (int i = 0; i < 1000 && !nmi_hits; i++)
		delay_loop(1000);
	if (nmi_hits != 1 || ipi_hits != 1)
		xtf_failure("NMI IPI: %u NMIs, %u self IPIs", nmi_hits, ipi_hits);
	puts("self IPI and NMI IPI delivered");
}

/* Many self IPIs, one at a time, each sent with interrupts off and waited
 * for with STI; HLT: each must be taken exactly once, and wake that HLT. A
 * hypervisor whose injection path delivers an interrupt twice (as
 * QEMU 7.2's VMRUN does with EVENTINJ under TCG, the second time with IF
 * clear) shows up here as one IPI counted twice; one that lets the
 * interrupt in between STI and HLT (QEMU 7.2's VMRUN drops the STI shadow)
 * as a guest asleep for good. */
#define STORM_IPIS 2000

static void ipi_storm(void)
{
	uint32_t base = ipi_hits;

	for (uint32_t i = 1; i <= STORM_IPIS; i++) {
		wrmsr(X2_SELF_IPI, IPI_VECTOR);
		wait_for(&ipi_hits, base + i, "IPI storm");
		if (ipi_hits != base + i)
			xtf_failure("IPI storm: IPI %u was taken %u times", i,
				    ipi_hits - base - i + 1);
	}
	puts("IPI storm: 2000 self IPIs, each taken once");
}

/* Guest-physical memory below the image (paging is off); laundered so
 * the compiler does not take a small constant address for a null pointer. */
static volatile uint32_t *low(uint32_t addr)
{
	volatile uint32_t *p;

	__asm__("" : "=r"(p) : "0"(addr));
	return p;
}

#define ICR_TO_AP(mode) ((1ULL << 32) | (1u << 14) | ((mode) << 8))
#define DM_NMI 4u
#define DM_INIT 5u
#define DM_STARTUP 6u

/* Until the AP's count stands still; false if it never does. */
static int ap_stops(void)
{
	for (int i = 0; i < 200; i++) {
		uint32_t before = *low(AP_COUNT);
		delay_loop(200000);
		if (*low(AP_COUNT) == before)
			return 1;
	}
	return 0;
}

/* Until the AP has counted N more; false if it does not. */
static int ap_runs(uint32_t n)
{
	uint32_t from = *low(AP_COUNT);

	for (int i = 0; i < 2000 && *low(AP_COUNT) - from < n; i++)
		delay_loop(100000);
	return *low(AP_COUNT) - from >= n;
}

static void ap_started(uint32_t starts, const char *what)
{
	for (int i = 0; i < 2000 && *low(AP_STARTS) < starts; i++)
		delay_loop(100000);
	if (*low(AP_STARTS) != starts || !ap_runs(1000))
		xtf_failure("%s: AP started %u times, expected %u (%u NMIs taken)", what,
			    *low(AP_STARTS), starts, *low(AP_NMIS));
}

/* INIT and SIPI back to back, as Linux sends them on current CPUs: the
 * running AP must start again; then a last INIT stops it for good. */
static NORETURN void restart_and_stop(void)
{
	wrmsr(X2_ICR, ICR_TO_AP(DM_INIT));
	wrmsr(X2_ICR, ICR_TO_AP(DM_STARTUP) | (AP_CODE >> 12));
	ap_started(3, "INIT and SIPI back to back");
	puts("INIT and SIPI back to back restart the running AP");

	wrmsr(X2_ICR, ICR_TO_AP(DM_INIT));
	if (!ap_stops())
		xtf_failure("INIT did not stop the AP the last time");
	xtf_success("INIT stops a running vCPU and clears its events");
}

static void init_while_running(const struct mb_info *mbi)
{
	uint32_t len = (uint32_t)(ap_code_end - ap_code);

	memcpy((void *)low(AP_CODE), ap_code, len);
	*low(AP_STARTS) = *low(AP_COUNT) = *low(AP_NMIS) = 0;
	*low(2 * 4) = AP_CODE + (uint32_t)(ap_nmi - ap_code); /* IVT[2] = 0000:handler */

	wrmsr(X2_ICR, ICR_TO_AP(DM_INIT));
	wrmsr(X2_ICR, ICR_TO_AP(DM_STARTUP) | (AP_CODE >> 12));
	ap_started(1, "INIT-SIPI");
	puts("AP started by INIT-SIPI and running");

	/* An NMI it takes, then one its handler blocks: queued in the host. */
	wrmsr(X2_ICR, ICR_TO_AP(DM_NMI));
	for (int i = 0; i < 2000 && !*low(AP_NMIS); i++)
		delay_loop(100000);
	wrmsr(X2_ICR, ICR_TO_AP(DM_NMI));
	if (*low(AP_NMIS) != 1 || !ap_runs(1000) || *low(AP_NMIS) != 1)
		xtf_failure("NMIs to the AP: %u taken, expected 1 (the second is blocked)",
			    *low(AP_NMIS));
	puts("AP took one NMI; the second waits while its handler runs");

	wrmsr(X2_ICR, ICR_TO_AP(DM_INIT));
	if (!ap_stops())
		xtf_failure("INIT did not stop the running AP");
	wrmsr(X2_ICR, ICR_TO_AP(DM_NMI)); /* dropped: it waits for a SIPI */
	puts("INIT stopped the running AP");

	/* An NMI left over would be taken before the first instruction. */
	wrmsr(X2_ICR, ICR_TO_AP(DM_STARTUP) | (AP_CODE >> 12));
	if (!ap_runs(1000) || *low(AP_NMIS) != 1)
		xtf_failure("after INIT and SIPI the AP took %u NMIs sent before them",
			    *low(AP_NMIS) - 1);
	ap_started(2, "SIPI after INIT");
	puts("SIPI restarted the AP with no NMI left from before the INIT");

	if (strcmp(cmdline_get(mbi, "unblock", "check"), "skip") == 0) {
		puts("NMI unblocking after INIT not checked (unblock=skip)");
		restart_and_stop();
	}
	wrmsr(X2_ICR, ICR_TO_AP(DM_NMI));
	for (int i = 0; i < 2000 && *low(AP_NMIS) < 2; i++)
		delay_loop(100000);
	if (*low(AP_NMIS) != 2)
		xtf_failure("an NMI after INIT and SIPI was not taken: NMIs still blocked");
	puts("NMIs are unblocked after INIT");
	restart_and_stop();
}

void guest_main(uint32_t magic, const struct mb_info *mbi)
{
	xtf_check_boot(magic, mbi);
	check_cpuid();
	setup_tables();
	enter_x2apic();
	if (strcmp(cmdline_get(mbi, "test", "local"), "init") == 0)
		init_while_running(mbi);
	ipis();
	ipi_storm();
	one_shot();
	periodic();
	tsc_deadline();
	xtf_success("local APIC in x2APIC mode");
}
