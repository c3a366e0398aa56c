/* Unit tests for the guest's 16550 UART (vdev/uart16550.c), driven only
 * through the VM's port bus (core/iobus.c) as a guest would, with the heap and
 * the VM console stubbed (tests/unit/stubs/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <keel/iobus.h>
#include <keel/uart16550.h>
#include <keel/vdev.h>

#include "stubs/stubs.h"

#define COM1 0x3F8
/* Register offsets. THR is RBR on reads, IIR is FCR on writes; with LCR's
 * DLAB bit set, THR and IER are the divisor latch (DLL, DLM). */
enum { THR, IER, IIR, LCR, MCR, LSR, MSR, SCR };

/* The device's snapshot layout, used to build corrupt snapshots. */
#define uart_state uart16550_state

static struct vm vm, vm2;
static struct vm *cur; /* the VM whose ports outb() and inb() access */

static int setup(void **state)
{
	(void)state;
	stub_heap_reset();
	stub_console_reset();
	memset(&vm, 0, sizeof(vm));
	memset(&vm2, 0, sizeof(vm2));
	strcpy(vm.name, "guest");
	cur = &vm;
	assert_int_equal(vdev_uart16550.create(&vm), 0);
	assert_non_null(vm.uart);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vdev_uart16550.destroy(&vm);
	assert_null(vm.uart);
	assert_int_equal(stub_heap_frees, stub_heap_allocs);
	return 0;
}

static void outb(unsigned off, uint8_t value)
{
	assert_true(io_bus_write(&cur->pio, COM1 + off, 1, value));
}

static uint8_t inb(unsigned off)
{
	uint32_t value = 0xFFFFFFFF;

	assert_true(io_bus_read(&cur->pio, COM1 + off, 1, &value));
	assert_true(value <= 0xFF);
	return (uint8_t)value;
}

static void puts_guest(const char *s)
{
	while (*s)
		outb(THR, (uint8_t)*s++);
}

static void expect_line(unsigned i, const char *want)
{
	assert_true(i < stub_console.nlines);
	assert_ptr_equal(stub_console.line_vm[i], cur);
	assert_string_equal(stub_console.line[i], want);
	assert_int_equal(stub_console.line_len[i], strlen(want));
}

static void test_ports(void **state)
{
	uint32_t v;

	(void)state;
	assert_int_equal(vm.pio.n, 1);
	for (unsigned p = COM1; p < COM1 + 8; p++)
		assert_true(io_bus_read(&vm.pio, p, 1, &v));
	assert_false(io_bus_read(&vm.pio, COM1 - 1, 1, &v));
	assert_false(io_bus_read(&vm.pio, COM1 + 8, 1, &v));
	/* A second UART on the same bus is refused, and its memory freed. */
	assert_int_equal(vdev_uart16550.create(&vm), -1);
	assert_int_equal(stub_heap_allocs, 2);
	assert_int_equal(stub_heap_frees, 1);
	/* No memory: refused, nothing registered. */
	stub_heap_fail = true;
	assert_int_equal(vdev_uart16550.create(&vm2), -1);
	assert_null(vm2.uart);
	assert_int_equal(vm2.pio.n, 0);
}

static void test_lines(void **state)
{
	(void)state;
	puts_guest("hello\r\n");
	assert_int_equal(stub_console.nlines, 1);
	expect_line(0, "hello");
	puts_guest("wor");
	puts_guest("ld");
	assert_int_equal(stub_console.nlines, 1); /* nothing until the newline */
	puts_guest("\n");
	expect_line(1, "world");
	puts_guest("a\rb\r\r\nc\td\n");
	expect_line(2, "ab");
	expect_line(3, "c\td");
	/* Empty lines are lines too: the guest's layout is kept. */
	puts_guest("\n\r\n");
	assert_int_equal(stub_console.nlines, 6);
	expect_line(4, "");
	expect_line(5, "");
	assert_int_equal(stub_console.nraw, 0);
}

static void test_long_line_split(void **state)
{
	char line[451], part[201];

	(void)state;
	for (unsigned i = 0; i < 450; i++)
		line[i] = (char)('!' + i % 90);
	line[450] = '\0';
	puts_guest(line);
	assert_int_equal(stub_console.nlines, 2); /* two full pieces already */
	puts_guest("\n");
	assert_int_equal(stub_console.nlines, 3);
	for (unsigned i = 0; i < 3; i++) {
		size_t n = i < 2 ? 200 : 50;
		memcpy(part, line + 200 * i, n);
		part[n] = '\0';
		expect_line(i, part);
	}
	/* Exactly 200 characters and a newline: one line, no empty one. */
	memset(part, 'x', 200);
	part[200] = '\0';
	puts_guest(part);
	puts_guest("\r\n");
	assert_int_equal(stub_console.nlines, 4);
	expect_line(3, part);
}

static void test_receive_fifo(void **state)
{
	const char *in = "0123456789ABCDEFGHIJ";

	(void)state;
	assert_int_equal(inb(LSR), 0x60);
	assert_int_equal(inb(THR), 0); /* empty */
	uart16550_receive(vm.uart, "ab", 2);
	assert_int_equal(inb(LSR), 0x61);
	assert_int_equal(inb(THR), 'a');
	assert_int_equal(inb(LSR), 0x61);
	assert_int_equal(inb(THR), 'b');
	assert_int_equal(inb(LSR), 0x60);
	assert_int_equal(inb(THR), 0);
	/* At most 16 bytes wait; the rest are dropped. */
	uart16550_receive(vm.uart, in, 20);
	for (unsigned i = 0; i < 16; i++) {
		assert_int_equal(inb(LSR), 0x61);
		assert_int_equal(inb(THR), in[i]);
	}
	assert_int_equal(inb(LSR), 0x60);
	/* Around the end of the ring, in order. */
	uart16550_receive(vm.uart, in, 10);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(inb(THR), in[i]);
	uart16550_receive(vm.uart, in + 10, 10); /* 4 + 10 waiting */
	uart16550_receive(vm.uart, "xyz", 3); /* room for 2 */
	for (unsigned i = 6; i < 20; i++)
		assert_int_equal(inb(THR), in[i]);
	assert_int_equal(inb(THR), 'x');
	assert_int_equal(inb(THR), 'y');
	assert_int_equal(inb(LSR), 0x60);
	assert_int_equal(stub_console.nlines, 0); /* receiving echoes nothing */
}

static void test_dlab(void **state)
{
	(void)state;
	uart16550_receive(vm.uart, "z", 1);
	outb(IER, 0x05);
	outb(LCR, 0x83);
	assert_int_equal(inb(LCR), 0x83);
	assert_int_equal(inb(THR), 12); /* 9600 baud after reset */
	assert_int_equal(inb(IER), 0);
	outb(THR, '\n'); /* divisor 10, not a newline */
	outb(IER, 0x02);
	assert_int_equal(inb(THR), 10);
	assert_int_equal(inb(IER), 0x02);
	assert_int_equal(inb(LSR), 0x61); /* the received byte still waits */
	outb(LCR, 0x03);
	assert_int_equal(inb(IER), 0x05);
	assert_int_equal(inb(THR), 'z');
	puts_guest("ok\n");
	assert_int_equal(stub_console.nlines, 1);
	expect_line(0, "ok");
	outb(LCR, 0x80);
	assert_int_equal(inb(THR), 10);
	assert_int_equal(inb(IER), 0x02);
}

static void test_registers(void **state)
{
	(void)state;
	assert_int_equal(inb(SCR), 0);
	for (unsigned v = 0; v < 256; v += 51) {
		outb(SCR, (uint8_t)v);
		assert_int_equal(inb(SCR), v);
	}
	outb(IER, 0xFF);
	assert_int_equal(inb(IER), 0x0F);
	outb(IER, 0xA5);
	assert_int_equal(inb(IER), 0x05);
	outb(MCR, 0xFF);
	assert_int_equal(inb(MCR), 0x1F);
	outb(LCR, 0x1B);
	assert_int_equal(inb(LCR), 0x1B);
	outb(LSR, 0x00); /* read-only: ignored */
	outb(MSR, 0x00);
	assert_int_equal(inb(LSR), 0x60);
	assert_int_equal(inb(MSR), 0xB0);
}

static void test_fifo_control(void **state)
{
	(void)state;
	assert_int_equal(inb(IIR), 0x01); /* no interrupt, FIFOs off */
	outb(IIR, 0x01);
	assert_int_equal(inb(IIR), 0xC1);
	uart16550_receive(vm.uart, "abc", 3);
	outb(IIR, 0x05); /* clear the transmit FIFO only */
	assert_int_equal(inb(LSR), 0x61);
	outb(IIR, 0x03); /* clear the receive FIFO */
	assert_int_equal(inb(LSR), 0x60);
	assert_int_equal(inb(THR), 0);
	assert_int_equal(inb(IIR), 0xC1);
	uart16550_receive(vm.uart, "de", 2);
	assert_int_equal(inb(THR), 'd');
	assert_int_equal(inb(THR), 'e');
	outb(IIR, 0x00);
	assert_int_equal(inb(IIR), 0x01);
}

static void test_attached(void **state)
{
	(void)state;
	puts_guest("ab");
	vmconsole_attach(&vm);
	outb(THR, 'c'); /* pushes out the pending line first */
	assert_int_equal(stub_console.nlines, 1);
	expect_line(0, "ab");
	puts_guest("\r\nd\n");
	assert_int_equal(stub_console.nraw, 5);
	assert_memory_equal(stub_console.raw, "c\r\nd\n", 5);
	for (unsigned i = 0; i < 5; i++)
		assert_ptr_equal(stub_console.raw_vm[i], &vm);
	assert_int_equal(stub_console.nlines, 1);
	/* Another VM attached: lines again. */
	vmconsole_attach(&vm2);
	puts_guest("ef\n");
	vmconsole_attach(NULL);
	puts_guest("g\n");
	assert_int_equal(stub_console.nraw, 5);
	expect_line(1, "ef");
	expect_line(2, "g");
}

static void test_flush(void **state)
{
	(void)state;
	puts_guest("partial");
	assert_int_equal(stub_console.nlines, 0);
	vdev_uart16550.flush(&vm);
	expect_line(0, "partial");
	vdev_uart16550.flush(&vm);
	assert_int_equal(stub_console.nlines, 1);
	puts_guest("rest\n");
	expect_line(1, "rest");
	vdev_uart16550.flush(&vm2); /* no UART: nothing to do */
	assert_int_equal(stub_console.nlines, 2);
}

static void snapshot(struct vm *v, struct uart_state *s)
{
	assert_int_equal(vdev_uart16550.state_size(v), sizeof(*s));
	memset(s, 0, sizeof(*s));
	vdev_uart16550.save(v, s);
}

static void test_save_restore(void **state)
{
	struct uart_state s, s2;

	(void)state;
	outb(LCR, 0x83);
	outb(THR, 0x01);
	outb(IER, 0x02);
	outb(LCR, 0x03);
	outb(IER, 0x01);
	outb(MCR, 0x0B);
	outb(SCR, 0x5A);
	outb(IIR, 0x01);
	uart16550_receive(vm.uart, "0123456789ABCDEF", 16);
	for (unsigned i = 0; i < 15; i++)
		inb(THR);
	uart16550_receive(vm.uart, "ghij", 4); /* wraps around the ring */
	puts_guest("pending");
	snapshot(&vm, &s);
	/* The mirror still matches the device's layout. */
	assert_int_equal(s.ier | s.lcr << 8 | s.mcr << 16 | s.scr << 24, 0x5A0B0301);
	assert_int_equal(s.dll | s.dlm << 8 | s.fcr << 16, 0x010201);
	assert_memory_equal(s.rx, "ghij456789ABCDEF", 16);
	assert_int_equal(s.rx_head | s.rx_count << 8, 0x050F);
	assert_int_equal(s.line_len, 7);
	assert_memory_equal(s.line, "pending", 7);

	/* Into a fresh UART on another VM. */
	cur = &vm2;
	strcpy(cur->name, "copy");
	assert_int_equal(vdev_uart16550.create(cur), 0);
	assert_int_equal(vdev_uart16550.restore(cur, &s), 0);
	snapshot(cur, &s2);
	assert_memory_equal(&s, &s2, sizeof(s));
	assert_int_equal(inb(SCR), 0x5A);
	assert_int_equal(inb(IER), 0x01);
	assert_int_equal(inb(IIR), 0xC4); /* received data waiting, and enabled */
	outb(LCR, 0x83);
	assert_int_equal(inb(THR), 0x01);
	outb(LCR, 0x03);
	for (const char *p = "Fghij"; *p; p++)
		assert_int_equal(inb(THR), *p);
	assert_int_equal(inb(LSR), 0x60);
	outb(THR, '\n');
	expect_line(0, "pending"); /* sent by the copy */
	vdev_uart16550.destroy(cur);
	cur = &vm;
	assert_int_equal(inb(THR), 'F'); /* the original is untouched */
}

static void test_restore_rejects_corrupt(void **state)
{
	struct uart_state good, bad, now;

	(void)state;
	uart16550_receive(vm.uart, "q", 1);
	puts_guest("kept");
	snapshot(&vm, &good);

#define REFUSED(field, value)                                            \
	do {                                                             \
		bad = good;                                              \
		bad.field = value;                                       \
		assert_int_equal(vdev_uart16550.restore(&vm, &bad), -1); \
	} while (0)
	REFUSED(rx_head, 16);
	REFUSED(rx_count, 17);
	REFUSED(line_len, 200);
	REFUSED(line_len, 0xFFFF);
#undef REFUSED
	snapshot(&vm, &now);
	assert_memory_equal(&now, &good, sizeof(now)); /* unchanged by refusals */

	/* The limits themselves are accepted. */
	bad = good;
	bad.rx_head = 15;
	bad.rx_count = 16;
	bad.line_len = 199;
	memset(bad.line, 'L', sizeof(bad.line));
	for (unsigned i = 0; i < 16; i++)
		bad.rx[i] = (uint8_t)('a' + i);
	assert_int_equal(vdev_uart16550.restore(&vm, &bad), 0);
	assert_int_equal(inb(THR), 'p');
	for (unsigned i = 0; i < 15; i++)
		assert_int_equal(inb(THR), 'a' + i);
	outb(THR, 'L'); /* the 200th character sends the line */
	assert_int_equal(stub_console.nlines, 1);
	assert_int_equal(stub_console.line_len[0], 200);
}

/* The interrupt line (IRQ 4) as Linux's 8250 driver uses it. */
static void test_interrupts(void **state)
{
	(void)state;
	outb(MCR, 0x08); /* OUT2: the line reaches the PIC */
	assert_false(stub_console.irq_level[4]);
	outb(IER, 0x02); /* THR empty interrupt: raised at once */
	assert_true(stub_console.irq_level[4]);
	assert_int_equal(inb(IIR) & 0x0F, 0x02);
	assert_false(stub_console.irq_level[4]); /* reading IIR acknowledged it */
	assert_int_equal(inb(IIR) & 0x0F, 0x01);
	outb(THR, 'x'); /* the byte leaves at once: THR empty again */
	assert_true(stub_console.irq_level[4]);
	outb(IER, 0x01); /* only received data now */
	assert_false(stub_console.irq_level[4]);
	uart16550_receive(vm.uart, "k", 1);
	assert_true(stub_console.irq_level[4]);
	assert_int_equal(inb(IIR) & 0x0F, 0x04);
	assert_int_equal(inb(THR), 'k');
	assert_false(stub_console.irq_level[4]);
	uart16550_receive(vm.uart, "z", 1);
	outb(MCR, 0x00); /* without OUT2 the line stays low */
	assert_false(stub_console.irq_level[4]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ports, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_line_split, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_receive_fifo, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dlab, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_registers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fifo_control, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_attached, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_interrupts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flush, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_save_restore, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restore_rejects_corrupt, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
