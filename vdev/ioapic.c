/* A virtual I/O APIC (see include/keel/ioapic.h for the model). Entries are
 * kept as read: only writable bits and remote IRR are ever set. Whether a
 * pin is active is derived (line XOR polarity), never stored. */
#include <keel/ioapic.h>
#include <keel/string.h>

#define DM(e) ((unsigned)((e) >> 8) & 7u)
#define LOW_WRITABLE 0x0001AFFFull /* all of 16:0 but delivery status, remote IRR */
#define HIGH_WRITABLE 0xFF000000ull /* destination */
#define ENTRY_BITS (LOW_WRITABLE | IOAPIC_RTE_REMOTE_IRR | (HIGH_WRITABLE << 32))
#define ID_SHIFT 24
#define ID_MASK 0xFu
#define PIN_MASK ((1u << IOAPIC_PINS) - 1)

static bool dm_valid(unsigned dm)
{
	return dm != 3 && dm != 6;
}

/* Level semantics: a level trigger with a delivery mode that gets an EOI. */
static bool level_sem(uint64_t e)
{
	return (e & IOAPIC_RTE_LEVEL) && (DM(e) == IOAPIC_DM_FIXED || DM(e) == IOAPIC_DM_LOWEST);
}

static bool pin_active(const struct ioapic *s, unsigned pin)
{
	bool line = s->lines & (1u << pin);

	return line != !!(s->redir[pin] & IOAPIC_RTE_ACTIVE_LOW);
}

void ioapic_init(struct ioapic *s, uint8_t id)
{
	memset(s, 0, sizeof(*s));
	s->id = id & ID_MASK;
	for (unsigned i = 0; i < IOAPIC_PINS; i++)
		s->redir[i] = IOAPIC_RTE_MASKED;
}

/* Queue PIN's message as its entry says now: true if queued. */
static bool send(struct ioapic *s, unsigned pin)
{
	uint64_t e = s->redir[pin];
	struct ioapic_msg *m;

	if (!dm_valid(DM(e)))
		return false;
	if (s->msg_count >= IOAPIC_MSG_QUEUE) {
		s->msg_dropped++;
		return false;
	}
	m = &s->msg[(s->msg_head + s->msg_count) % IOAPIC_MSG_QUEUE];
	*m = (struct ioapic_msg){
	    .dest = (uint32_t)(e >> IOAPIC_RTE_DEST_SHIFT),
	    .vector = (uint8_t)(e & IOAPIC_RTE_VECTOR),
	    .delivery = (uint8_t)DM(e),
	    .logical = !!(e & IOAPIC_RTE_LOGICAL),
	    .trigger_level = level_sem(e),
	    .pin = (uint8_t)pin,
	};
	s->msg_count++;
	return true;
}

/* Level semantics: send if active, unmasked and not awaiting an EOI. Edge
 * pins send only from ioapic_set_irq(), so this leaves them alone. */
static void service_level(struct ioapic *s, unsigned pin)
{
	uint64_t e = s->redir[pin];

	if (!level_sem(e) || (e & (IOAPIC_RTE_MASKED | IOAPIC_RTE_REMOTE_IRR)))
		return;
	if (pin_active(s, pin) && send(s, pin))
		s->redir[pin] |= IOAPIC_RTE_REMOTE_IRR;
}

void ioapic_set_irq(struct ioapic *s, unsigned pin, bool level)
{
	bool was;

	if (pin >= IOAPIC_PINS)
		return;
	was = pin_active(s, pin);
	if (level)
		s->lines |= 1u << pin;
	else
		s->lines &= ~(1u << pin);
	if (level_sem(s->redir[pin]))
		service_level(s, pin);
	else if (!was && pin_active(s, pin) && !(s->redir[pin] & IOAPIC_RTE_MASKED))
		send(s, pin); /* a lost edge (queue full) is only counted */
}

void ioapic_eoi(struct ioapic *s, uint8_t vector)
{
	for (unsigned i = 0; i < IOAPIC_PINS; i++) {
		uint64_t e = s->redir[i];

		if ((e & IOAPIC_RTE_LEVEL) && (e & IOAPIC_RTE_VECTOR) == vector) {
			s->redir[i] &= ~IOAPIC_RTE_REMOTE_IRR;
			service_level(s, i);
		}
	}
}

bool ioapic_take_msg(struct ioapic *s, struct ioapic_msg *out)
{
	if (!s->msg_count || s->msg_head >= IOAPIC_MSG_QUEUE)
		return false;
	*out = s->msg[s->msg_head];
	s->msg_head = (s->msg_head + 1) % IOAPIC_MSG_QUEUE;
	s->msg_count--;
	/* Room again: level messages that found the queue full go now. */
	for (unsigned i = 0; i < IOAPIC_PINS; i++)
		service_level(s, i);
	return true;
}

bool ioapic_pin_routed(const struct ioapic *s, unsigned pin)
{
	return pin < IOAPIC_PINS && !(s->redir[pin] & IOAPIC_RTE_MASKED);
}

/* ---- Registers ---- */

static uint32_t reg_read(const struct ioapic *s, unsigned idx)
{
	unsigned pin = (idx - IOAPIC_REG_REDTBL) / 2;

	switch (idx) {
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB:
		return (uint32_t)s->id << ID_SHIFT;
	case IOAPIC_REG_VER:
		return IOAPIC_VERSION;
	default:
		if (idx < IOAPIC_REG_REDTBL || pin >= IOAPIC_PINS)
			return 0xFFFFFFFF;
		return (uint32_t)(s->redir[pin] >> (idx & 1 ? 32 : 0));
	}
}

static void write_entry(struct ioapic *s, unsigned pin, bool high, uint32_t v)
{
	uint64_t e = s->redir[pin];

	if (high) {
		e = (e & ~(HIGH_WRITABLE << 32)) | ((uint64_t)v & HIGH_WRITABLE) << 32;
	} else {
		e = (e & ~LOW_WRITABLE) | (v & LOW_WRITABLE);
		if (!(e & IOAPIC_RTE_LEVEL))
			e &= ~IOAPIC_RTE_REMOTE_IRR;
	}
	s->redir[pin] = e;
	service_level(s, pin); /* e.g. unmasking an active level pin */
}

static void reg_write(struct ioapic *s, unsigned idx, uint32_t v)
{
	unsigned pin = (idx - IOAPIC_REG_REDTBL) / 2;

	if (idx == IOAPIC_REG_ID)
		s->id = (uint8_t)((v >> ID_SHIFT) & ID_MASK);
	else if (idx >= IOAPIC_REG_REDTBL && pin < IOAPIC_PINS)
		write_entry(s, pin, idx & 1, v);
	/* version, arbitration and nonexistent registers ignore writes */
}

uint32_t ioapic_read(struct ioapic *s, uint32_t offset)
{
	switch (offset) {
	case IOAPIC_IOREGSEL:
		return s->ioregsel;
	case IOAPIC_IOWIN:
		return reg_read(s, s->ioregsel);
	default: /* EOI is write-only */
		return 0;
	}
}

void ioapic_write(struct ioapic *s, uint32_t offset, uint32_t value)
{
	switch (offset) {
	case IOAPIC_IOREGSEL:
		s->ioregsel = (uint8_t)value;
		break;
	case IOAPIC_IOWIN:
		reg_write(s, s->ioregsel, value);
		break;
	case IOAPIC_EOI:
		ioapic_eoi(s, (uint8_t)value);
		break;
	default:
		break;
	}
}

bool ioapic_state_valid(const struct ioapic *s)
{
	if (s->id > ID_MASK || (s->lines & ~PIN_MASK))
		return false;
	for (unsigned i = 0; i < IOAPIC_PINS; i++) {
		uint64_t e = s->redir[i];

		if ((e & ~ENTRY_BITS) || ((e & IOAPIC_RTE_REMOTE_IRR) && !(e & IOAPIC_RTE_LEVEL)))
			return false;
	}
	if (s->msg_head >= IOAPIC_MSG_QUEUE || s->msg_count > IOAPIC_MSG_QUEUE)
		return false;
	for (uint32_t i = 0; i < s->msg_count; i++) {
		const struct ioapic_msg *m = &s->msg[(s->msg_head + i) % IOAPIC_MSG_QUEUE];
		bool eoi_mode = m->delivery == IOAPIC_DM_FIXED || m->delivery == IOAPIC_DM_LOWEST;

		if (m->dest > 0xFF || m->delivery > 7 || !dm_valid(m->delivery) || m->logical > 1 ||
		    m->trigger_level > (eoi_mode ? 1 : 0) || m->pin >= IOAPIC_PINS)
			return false;
	}
	return true;
}
