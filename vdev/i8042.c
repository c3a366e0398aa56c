/* The 8042 keyboard controller with nothing plugged in (see
 * include/keel/i8042.h for the model). Everything is synchronous: each
 * write finishes its work, so the only state between accesses is the
 * output buffer and a command still waiting for its data byte. */
#include <keel/i8042.h>

#define CMD_READ_CTR 0x20
#define CMD_WRITE_CTR 0x60
#define CMD_AUX_DISABLE 0xA7
#define CMD_AUX_ENABLE 0xA8
#define CMD_AUX_TEST 0xA9
#define CMD_SELF_TEST 0xAA
#define CMD_KBD_TEST 0xAB
#define CMD_KBD_DISABLE 0xAD
#define CMD_KBD_ENABLE 0xAE
#define CMD_READ_INPORT 0xC0
#define CMD_READ_OUTPORT 0xD0
#define CMD_WRITE_OUTPORT 0xD1
#define CMD_WRITE_KBD_OBUF 0xD2
#define CMD_WRITE_AUX_OBUF 0xD3
#define CMD_WRITE_AUX 0xD4
#define CMD_PULSE 0xF0 /* 0xF0-0xFF: pulse output-port bits 0-3 where clear */

#define SELF_TEST_OK 0x55
#define PORT_TEST_OK 0x00
#define INPORT_VALUE 0x80 /* keyboard not inhibited; board straps 0 */
#define CTR_RESERVED 0x80
#define OUTPORT_DERIVED (I8042_OUT_IRQ1 | I8042_OUT_IRQ12)
#define POWER_ON_CTR (I8042_CTR_KBDINT | I8042_CTR_SYS | I8042_CTR_XLATE)
#define POWER_ON_OUTPORT 0xCF
/* The status bits kept in `status`; the rest are derived or constant. */
#define STATUS_STORED (I8042_STR_OBF | I8042_STR_CMD | I8042_STR_AUXDATA | I8042_STR_TIMEOUT)

/* A byte arrives in the output buffer. FLAGS: I8042_STR_AUXDATA if it came
 * from the aux side, I8042_STR_TIMEOUT if it reports a failed send. The
 * buffer holds one byte, so it replaces any unread one and its flags. */
static void put_output(struct i8042 *s, uint8_t v, uint8_t flags)
{
	s->out = v;
	s->status = (uint8_t)((s->status & I8042_STR_CMD) | I8042_STR_OBF | flags);
}

/* Output-port bit 0 low is the CPU reset line asserted. The request is what
 * the caller sees; bit 0 is not kept low, as the machine restarts. */
static void write_outport(struct i8042 *s, uint8_t v)
{
	if (!(v & I8042_OUT_RESET))
		s->reset = 1;
	s->outport = (uint8_t)((v & ~OUTPORT_DERIVED) | I8042_OUT_RESET);
}

static uint8_t read_outport(const struct i8042 *s)
{
	uint8_t v = s->outport;

	if (i8042_irq1_level(s))
		v |= I8042_OUT_IRQ1;
	if (i8042_irq12_level(s))
		v |= I8042_OUT_IRQ12;
	return v;
}

static void command(struct i8042 *s, uint8_t cmd)
{
	/* A new command abandons one still waiting for its data byte. */
	s->pending = 0;
	if (cmd >= CMD_PULSE) {
		/* Only the reset pulse (bit 0) has an effect that outlasts it. */
		if (!(cmd & I8042_OUT_RESET))
			s->reset = 1;
		return;
	}
	switch (cmd) {
	case CMD_READ_CTR:
		put_output(s, s->ctr, 0);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTPORT:
	case CMD_WRITE_KBD_OBUF:
	case CMD_WRITE_AUX_OBUF:
	case CMD_WRITE_AUX:
		s->pending = cmd;
		break;
	case CMD_AUX_DISABLE:
		s->ctr |= I8042_CTR_AUXDIS;
		break;
	case CMD_AUX_ENABLE:
		s->ctr &= (uint8_t)~I8042_CTR_AUXDIS;
		break;
	case CMD_KBD_DISABLE:
		s->ctr |= I8042_CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		s->ctr &= (uint8_t)~I8042_CTR_KBDDIS;
		break;
	case CMD_AUX_TEST:
	case CMD_KBD_TEST:
		/* The port's clock and data lines are fine with nothing on them. */
		put_output(s, PORT_TEST_OK, 0);
		break;
	case CMD_SELF_TEST:
		s->ctr |= I8042_CTR_SYS;
		put_output(s, SELF_TEST_OK, 0);
		break;
	case CMD_READ_INPORT:
		put_output(s, INPORT_VALUE, 0);
		break;
	case CMD_READ_OUTPORT:
		put_output(s, read_outport(s), 0);
		break;
	default:
		/* RAM access, password and vendor commands: not modelled. */
		break;
	}
}

/* A byte at port 0x60: the data of a waiting command, else a byte for the
 * keyboard, which is not there. */
static void data(struct i8042 *s, uint8_t v)
{
	uint8_t cmd = s->pending;

	s->pending = 0;
	switch (cmd) {
	case CMD_WRITE_CTR:
		s->ctr = v & (uint8_t)~CTR_RESERVED;
		break;
	case CMD_WRITE_OUTPORT:
		write_outport(s, v);
		break;
	case CMD_WRITE_KBD_OBUF:
		put_output(s, v, 0);
		break;
	case CMD_WRITE_AUX_OBUF:
		put_output(s, v, I8042_STR_AUXDATA);
		break;
	case CMD_WRITE_AUX:
		put_output(s, I8042_NO_DEVICE, I8042_STR_AUXDATA | I8042_STR_TIMEOUT);
		break;
	default:
		put_output(s, I8042_NO_DEVICE, I8042_STR_TIMEOUT);
		break;
	}
}

void i8042_init(struct i8042 *s)
{
	s->ctr = POWER_ON_CTR;
	s->outport = POWER_ON_OUTPORT;
	s->out = 0;
	s->status = 0;
	s->pending = 0;
	s->reset = 0;
}

uint8_t i8042_read(struct i8042 *s, uint16_t port)
{
	uint8_t v;

	switch (port) {
	case I8042_PORT_DATA:
		/* Reading empties the buffer; an empty one repeats its last byte. */
		s->status &= (uint8_t) ~(I8042_STR_OBF | I8042_STR_AUXDATA | I8042_STR_TIMEOUT);
		return s->out;
	case I8042_PORT_CMD:
		v = (uint8_t)(s->status | I8042_STR_UNLOCKED);
		if (s->ctr & I8042_CTR_SYS)
			v |= I8042_STR_SYS;
		return v;
	default:
		return 0xFF;
	}
}

void i8042_write(struct i8042 *s, uint16_t port, uint8_t val)
{
	switch (port) {
	case I8042_PORT_DATA:
		s->status &= (uint8_t)~I8042_STR_CMD;
		data(s, val);
		break;
	case I8042_PORT_CMD:
		s->status |= I8042_STR_CMD;
		command(s, val);
		break;
	default:
		break;
	}
}

bool i8042_take_reset(struct i8042 *s)
{
	bool r = s->reset;

	s->reset = 0;
	return r;
}

bool i8042_irq1_level(const struct i8042 *s)
{
	return (s->status & (I8042_STR_OBF | I8042_STR_AUXDATA)) == I8042_STR_OBF &&
	       (s->ctr & I8042_CTR_KBDINT);
}

bool i8042_irq12_level(const struct i8042 *s)
{
	uint8_t full = I8042_STR_OBF | I8042_STR_AUXDATA;

	return (s->status & full) == full && (s->ctr & I8042_CTR_AUXINT);
}

bool i8042_a20(const struct i8042 *s)
{
	return s->outport & I8042_OUT_A20;
}

bool i8042_state_valid(const struct i8042 *s)
{
	bool pending_ok = s->pending == 0 || s->pending == CMD_WRITE_CTR ||
			  (s->pending >= CMD_WRITE_OUTPORT && s->pending <= CMD_WRITE_AUX);

	/* AUXDATA and TIMEOUT describe the byte in the buffer: never alone. */
	if ((s->status & (I8042_STR_AUXDATA | I8042_STR_TIMEOUT)) && !(s->status & I8042_STR_OBF))
		return false;
	return pending_ok && !(s->ctr & CTR_RESERVED) && (s->outport & I8042_OUT_RESET) &&
	       !(s->outport & OUTPORT_DERIVED) && !(s->status & ~STATUS_STORED) && s->reset <= 1;
}
