/* A 16550A UART at 0x3F8 (COM1 of the guest). Transmitted bytes are
 * collected into lines and handed to the host console whole, so the output
 * of several VMs never interleaves mid-line. Received bytes (from an
 * attached console) wait in a 16-byte FIFO for the guest to poll; interrupts
 * arrive with the virtual interrupt controllers. */
#include <keel/heap.h>
#include <keel/platform.h>
#include <keel/spinlock.h>
#include <keel/string.h>
#include <keel/uart16550.h>
#include <keel/vdev.h>

#define UART_BASE 0x3F8
#define UART_PORTS 8
#define LINE_MAX UART_LINE_MAX
#define RX_FIFO UART_RX_FIFO

#define LCR_DLAB 0x80
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define IIR_NO_INT 0x01
#define IIR_FIFO 0xC0

struct uart16550 {
	struct vm *vm;
	spinlock_t lock; /* the vCPU and the console (input) both touch it */
	bool irq_level; /* last level given to the interrupt line */
	struct uart16550_state s;
};

#define IER_RDI 0x01 /* received data available */
#define IER_THRI 0x02 /* transmitter holding register empty */
#define MCR_OUT2 0x08 /* gates the interrupt line on PCs */
#define IRQ_COM1 4
#define IIR_RDI 0x04
#define IIR_THRI 0x02

/* The interrupt line follows the enabled conditions, as on the chip. */
static void update_irq(struct uart16550 *u)
{
	const struct uart16550_state *s = &u->s;
	bool level =
	    (((s->ier & IER_RDI) && s->rx_count) || ((s->ier & IER_THRI) && s->thre_pending)) &&
	    (s->mcr & MCR_OUT2);

	if (level != u->irq_level) { /* only changes reach the PIC */
		u->irq_level = level;
		vm_irq_line(u->vm, IRQ_COM1, level);
	}
}

static void flush_line(struct uart16550 *u)
{
	vmconsole_output(u->vm, u->s.line, u->s.line_len);
	u->s.line_len = 0;
}

static void transmit(struct uart16550 *u, uint8_t c)
{
	if (vmconsole_attached() == u->vm) {
		if (u->s.line_len)
			flush_line(u);
		vmconsole_raw(u->vm, (char)c);
		return;
	}
	if (c == '\r')
		return;
	if (c == '\n') {
		if (!u->s.wrapped)
			flush_line(u);
		u->s.wrapped = false;
		return;
	}
	u->s.wrapped = false;
	u->s.line[u->s.line_len++] = (char)c;
	if (u->s.line_len == LINE_MAX) {
		flush_line(u); /* an overlong line is split, never dropped */
		u->s.wrapped = true;
	}
}

void uart16550_show_partial_line(struct uart16550 *u)
{
	spin_lock(&u->lock);
	for (unsigned i = 0; i < u->s.line_len; i++)
		vmconsole_raw(u->vm, u->s.line[i]);
	u->s.line_len = 0;
	spin_unlock(&u->lock);
}

static uint32_t uart_read_locked(struct uart16550 *u, uint64_t off, unsigned size);

static uint32_t uart_read(void *dev, uint64_t off, unsigned size)
{
	struct uart16550 *u = dev;

	spin_lock(&u->lock);
	uint32_t v = uart_read_locked(u, off, size);
	update_irq(u);
	spin_unlock(&u->lock);
	return v;
}

static uint32_t uart_read_locked(struct uart16550 *u, uint64_t off, unsigned size)
{
	struct uart16550_state *s = &u->s;
	uint8_t v = 0;

	(void)size;
	switch (off) {
	case 0:
		if (s->lcr & LCR_DLAB) {
			v = s->dll;
		} else if (s->rx_count) {
			v = s->rx[s->rx_head];
			s->rx_head = (uint8_t)((s->rx_head + 1) % RX_FIFO);
			s->rx_count--;
		}
		break;
	case 1:
		v = (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
		break;
	case 2:
		if ((s->ier & IER_RDI) && s->rx_count) {
			v = IIR_RDI;
		} else if ((s->ier & IER_THRI) && s->thre_pending) {
			v = IIR_THRI;
			s->thre_pending = false; /* reading IIR acknowledges it */
		} else {
			v = IIR_NO_INT;
		}
		v |= (s->fcr & 1) ? IIR_FIFO : 0;
		break;
	case 3:
		v = s->lcr;
		break;
	case 4:
		v = s->mcr;
		break;
	case 5:
		v = LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0);
		break;
	case 6:
		v = 0xB0; /* DCD, DSR, CTS: a connected terminal */
		break;
	case 7:
		v = s->scr;
		break;
	default:
		break;
	}
	return v;
}

static void uart_write_locked(struct uart16550 *u, uint64_t off, unsigned size, uint32_t value);

static void uart_write(void *dev, uint64_t off, unsigned size, uint32_t value)
{
	struct uart16550 *u = dev;

	spin_lock(&u->lock);
	uart_write_locked(u, off, size, value);
	update_irq(u);
	spin_unlock(&u->lock);
}

static void uart_write_locked(struct uart16550 *u, uint64_t off, unsigned size, uint32_t value)
{
	struct uart16550_state *s = &u->s;
	uint8_t v = (uint8_t)value;

	(void)size;
	switch (off) {
	case 0:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
		} else {
			transmit(u, v);
			s->thre_pending = true; /* the byte left at once: THR is empty again */
		}
		break;
	case 1:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
		} else {
			/* Enabling the THRE interrupt with THR empty raises it. */
			if ((v & IER_THRI) && !(s->ier & IER_THRI))
				s->thre_pending = true;
			s->ier = v & 0x0F;
		}
		break;
	case 2:
		s->fcr = v;
		if (v & 2)
			s->rx_count = 0;
		break;
	case 3:
		s->lcr = v;
		break;
	case 4:
		s->mcr = v & 0x1F;
		break;
	case 7:
		s->scr = v;
		break;
	default:
		break;
	}
}

size_t uart16550_rx_room(struct uart16550 *u)
{
	return RX_FIFO - u->s.rx_count;
}

void uart16550_receive(struct uart16550 *u, const char *buf, size_t n)
{
	struct uart16550_state *s = &u->s;

	spin_lock(&u->lock);
	for (size_t i = 0; i < n && s->rx_count < RX_FIFO; i++) {
		s->rx[(s->rx_head + s->rx_count) % RX_FIFO] = (uint8_t)buf[i];
		s->rx_count++;
	}
	update_irq(u);
	spin_unlock(&u->lock);
}

static int uart_create(struct vm *vm)
{
	struct uart16550 *u = kzalloc(sizeof(*u));
	struct io_range r = {UART_BASE, UART_PORTS, NULL, uart_read, uart_write};

	if (!u)
		return -1;
	u->vm = vm;
	u->s.dll = 12; /* 9600 baud until the guest says otherwise */
	r.dev = u;
	if (io_bus_register(&vm->pio, &r)) {
		kfree(u);
		return -1;
	}
	vm->uart = u;
	return 0;
}

static void uart_flush(struct vm *vm)
{
	if (vm->uart && vm->uart->s.line_len)
		flush_line(vm->uart);
}

static void uart_destroy(struct vm *vm)
{
	kfree(vm->uart);
	vm->uart = NULL;
}

static size_t uart_state_size(struct vm *vm)
{
	(void)vm;
	return sizeof(struct uart16550_state);
}

static void uart_save(struct vm *vm, void *buf)
{
	memcpy(buf, &vm->uart->s, sizeof(vm->uart->s));
}

static int uart_restore(struct vm *vm, const void *buf)
{
	struct uart16550_state s;

	memcpy(&s, buf, sizeof(s));
	if (s.rx_head >= RX_FIFO || s.rx_count > RX_FIFO || s.line_len >= LINE_MAX)
		return -1;
	vm->uart->s = s;
	return 0;
}

const struct vdev_type vdev_uart16550 = {
    .name = "uart16550",
    .create = uart_create,
    .destroy = uart_destroy,
    .flush = uart_flush,
    .state_size = uart_state_size,
    .save = uart_save,
    .restore = uart_restore,
};
