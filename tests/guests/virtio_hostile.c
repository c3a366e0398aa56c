/*
 * virtio_hostile: drives the VM's virtio-rng (PCI 00:03.0) as a driver
 * would, then hands it malformed rings: descriptors outside RAM, loops,
 * next indices and heads out of range, lengths that run past RAM or wrap,
 * indirect tables outside RAM, an available index far ahead. After each,
 * the device must say NEEDS_RESET, complete nothing, and leave the guest's
 * memory as it was; after a reset a good ring must work again (16 random
 * bytes). Prints one line per case, then RESULT.
 */
#include "guest.h"

#define PCI_DEV 3
#define STATUS_ACK 0x01
#define STATUS_DRIVER 0x02
#define STATUS_DRIVER_OK 0x04
#define STATUS_FEATURES_OK 0x08
#define STATUS_NEEDS_RESET 0x40
#define F_INDIRECT (1u << 28)
#define D_NEXT 1
#define D_WRITE 2
#define D_INDIRECT 4
#define QSIZE 16

struct __attribute__((packed)) common_cfg {
	uint32_t dfselect, df, gfselect, gf;
	uint16_t msix, numq;
	uint8_t status, cfggen;
	uint16_t q_select, q_size, q_msix, q_enable, q_notify_off;
	uint32_t q_desc_lo, q_desc_hi, q_driver_lo, q_driver_hi, q_device_lo, q_device_hi;
};

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct ring {
	struct desc desc[QSIZE] __attribute__((aligned(16)));
	struct {
		uint16_t flags, idx, ring[QSIZE], used_event;
	} avail __attribute__((aligned(4)));
	struct {
		uint16_t flags, idx;
		struct {
			uint32_t id, len;
		} ring[QSIZE];
		uint16_t avail_event;
	} used __attribute__((aligned(4)));
};

static struct ring ring;
static uint8_t buf[64] __attribute__((aligned(16)));
static uint8_t canary[4096]; /* the rest of the guest's memory a device could touch */
static volatile struct common_cfg *cc;
static volatile uint16_t *notify;

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static uint32_t cfg_read(unsigned off)
{
	outl(0xCF8, 0x80000000u | (PCI_DEV << 11) | (off & 0xFC));
	return inl(0xCFC);
}

static void cfg_write(unsigned off, uint32_t v)
{
	outl(0xCF8, 0x80000000u | (PCI_DEV << 11) | (off & 0xFC));
	outl(0xCFC, v);
}

/* Walk the capability list for the virtio structures in BAR 0. */
static void find_device(void)
{
	uint32_t id = cfg_read(0), bar = cfg_read(0x10) & ~0xFu, notify_mult = 0;
	uint32_t common_off = ~0u, notify_off = ~0u;

	if (id != 0x10441AF4)
		xtf_failure("no virtio-rng at 00:03.0 (ID %#x)", id);
	if (!bar)
		xtf_failure("BAR 0 not assigned");
	cfg_write(0x04, 0x0006); /* memory decode, bus master */
	for (unsigned p = cfg_read(0x34) & 0xFF; p; p = (cfg_read(p) >> 8) & 0xFF) {
		uint32_t h = cfg_read(p);
		if ((h & 0xFF) != 0x09)
			continue;
		unsigned type = (h >> 24) & 0xFF;
		if (type == 1)
			common_off = cfg_read(p + 8);
		if (type == 2) {
			notify_off = cfg_read(p + 8);
			notify_mult = cfg_read(p + 16);
		}
	}
	if (common_off == ~0u || notify_off == ~0u)
		xtf_failure("virtio capabilities missing");
	cc = (volatile struct common_cfg *)(uintptr_t)(bar + common_off);
	cc->q_select = 0;
	notify =
	    (volatile uint16_t *)(uintptr_t)(bar + notify_off + cc->q_notify_off * notify_mult);
}

/* Reset, negotiate (VERSION_1, indirect descriptors), set up queue 0. */
static void setup(void)
{
	cc->status = 0;
	if (cc->status != 0)
		xtf_failure("reset did not clear the status");
	cc->status = STATUS_ACK | STATUS_DRIVER;
	cc->dfselect = 0;
	uint32_t f0 = cc->df;
	cc->gfselect = 0;
	cc->gf = f0 & F_INDIRECT;
	cc->gfselect = 1;
	cc->gf = 1; /* VERSION_1 */
	cc->status = STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK;
	if (!(cc->status & STATUS_FEATURES_OK))
		xtf_failure("FEATURES_OK refused");
	if (!(f0 & F_INDIRECT))
		xtf_failure("the device does not offer indirect descriptors");
	memset(&ring, 0, sizeof(ring));
	cc->q_select = 0;
	cc->q_size = QSIZE;
	cc->q_desc_lo = (uint32_t)(uintptr_t)ring.desc;
	cc->q_desc_hi = 0;
	cc->q_driver_lo = (uint32_t)(uintptr_t)&ring.avail;
	cc->q_driver_hi = 0;
	cc->q_device_lo = (uint32_t)(uintptr_t)&ring.used;
	cc->q_device_hi = 0;
	cc->q_enable = 1;
	cc->status = STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK;
}

static void submit(uint16_t head, uint16_t idx)
{
	ring.avail.ring[0] = head;
	__asm__ volatile("" ::: "memory");
	ring.avail.idx = idx;
	__asm__ volatile("" ::: "memory");
	*notify = 0;
}

static void good_request(const char *after)
{
	setup();
	memset(buf, 0, sizeof(buf));
	ring.desc[0] = (struct desc){(uint32_t)(uintptr_t)buf, 16, D_WRITE, 0};
	submit(0, 1);
	if (ring.used.idx != 1 || ring.used.ring[0].id != 0 || ring.used.ring[0].len != 16)
		xtf_failure("after %s: good request not completed (used idx %u, len %u)", after,
			    ring.used.idx, ring.used.ring[0].len);
	unsigned nonzero = 0;
	for (int i = 0; i < 16; i++)
		nonzero += buf[i] != 0;
	if (nonzero < 8 || buf[16] != 0)
		xtf_failure("after %s: implausible random bytes", after);
}

struct hostile {
	const char *name;
	struct desc d[3];
	uint16_t head, idx;
};

#define OUT 0x40000000ULL /* beyond an 8 MiB VM's RAM (and not a device) */

static void run_case(const struct hostile *h)
{
	setup();
	memset(canary, 0x5A, sizeof(canary));
	for (int i = 0; i < 3; i++)
		ring.desc[i] = h->d[i];
	submit(h->head, h->idx);
	if (!(cc->status & STATUS_NEEDS_RESET))
		xtf_failure("%s: the device did not ask for a reset (status %#x)", h->name,
			    cc->status);
	if (ring.used.idx != 0)
		xtf_failure("%s: the device completed %u requests", h->name, ring.used.idx);
	for (unsigned i = 0; i < sizeof(canary); i++)
		if (canary[i] != 0x5A)
			xtf_failure("%s: guest memory changed at %#x", h->name,
				    (unsigned)(uintptr_t)&canary[i]);
	good_request(h->name);
	printf("refused: %s\n", h->name);
}

void guest_main(uint32_t magic, const struct mb_info *mbi)
{
	const uint32_t c = (uint32_t)(uintptr_t)canary;
	const struct hostile cases[] = {
	    {"descriptor outside RAM", {{OUT, 16, D_WRITE, 0}}, 0, 1},
	    {"loop in a chain",
	     {{c, 8, D_WRITE | D_NEXT, 1}, {c + 8, 8, D_WRITE | D_NEXT, 0}},
	     0,
	     1},
	    {"self loop", {{c, 8, D_WRITE | D_NEXT, 0}}, 0, 1},
	    {"next index out of range", {{c, 8, D_WRITE | D_NEXT, 200}}, 0, 1},
	    {"head out of range", {{c, 8, D_WRITE, 0}}, 99, 1},
	    {"length past the end of RAM", {{c, 0xFFFFFF00u, D_WRITE, 0}}, 0, 1},
	    {"address and length wrap", {{0xFFFFFFFFFFFFFFF0ULL, 64, D_WRITE, 0}}, 0, 1},
	    {"indirect table outside RAM", {{OUT, 64, D_INDIRECT, 0}}, 0, 1},
	    {"indirect table of odd size", {{c, 24, D_INDIRECT, 0}}, 0, 1},
	    {"available index far ahead", {{c, 8, D_WRITE, 0}}, 0, 100},
	};

	xtf_check_boot(magic, mbi);
	find_device();
	good_request("start-up");
	puts("good request: 16 random bytes");
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	xtf_success("virtio-rng refused %u hostile rings",
		    (unsigned)(sizeof(cases) / sizeof(cases[0])));
}
